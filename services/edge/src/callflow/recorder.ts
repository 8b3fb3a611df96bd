import { parseMessage } from '@sipedge/sip';
import type { CaptureFacts, CaptureLimits, CaptureStore, CapturedSipMessage } from '@sipedge/store';
import type { Logger } from '@sipedge/telemetry';
import type { CaptureSink } from '../hep/capture.js';
import { type CapturedMessage, nowUs } from '../hep/exporter.js';
import { keySampler } from '../hep/sampling.js';

/** What the call-flow page records (`capture.*` settings). */
export interface CallFlowSettings extends CaptureLimits {
  /** Calls recorded, in percent (0–100), chosen by Call-ID as HEP's sampling (a call whole or not at all). */
  samplingPercent: number;
}

/** Captured messages waiting for the next write at most (beyond: dropped and counted). */
const MAX_PENDING = 5000;
/** How often the captured messages are written, in one batch. */
const FLUSH_MS = 200;
/** A failing store is logged at most this often. */
const LOG_EVERY_MS = 60_000;
/** Header lines (with their folded continuations, §7.3.1) whose values are credentials (§22.2, §22.3): redacted before anything is stored. */
const CREDENTIALS = /^((?:proxy-)?authorization[ \t]*:[ \t]*)(\S+)[^\r\n]*(?:\r?\n[ \t]+[^\r\n]*)*/gim;

/**
 * The edge's side of the call-flow page: every captured message of a sampled call, its credentials
 * redacted, written in batches to the fleet's capture store (in memory standalone, Redis in a
 * fleet). It never throws into SIP handling and never waits: a store that fails or falls behind
 * costs captured messages (counted, logged once a minute), not calls.
 */
export class CallFlowRecorder implements CaptureSink {
  readonly #sampled: (key: string) => boolean;
  #pending: { message: CapturedSipMessage; facts: CaptureFacts }[] = [];
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();
  #dropped = 0;
  #failed = 0;
  #loggedAt = 0;

  constructor(
    private readonly settings: CallFlowSettings,
    private readonly deps: { store: CaptureStore; edgeId: string; logger: Logger },
  ) {
    this.#sampled = keySampler(settings.samplingPercent);
  }

  now(): number {
    return nowUs();
  }

  capture(captured: CapturedMessage): void {
    const { callId } = captured;
    if (callId === undefined || !this.#sampled(callId)) return;
    if (this.#pending.length >= MAX_PENDING) {
      this.#dropped++;
      return;
    }
    const text = redact(Buffer.from(captured.payload).toString('utf8'));
    this.#pending.push({
      message: {
        callId,
        at: (captured.atUs ?? nowUs()) / 1000,
        edgeId: this.deps.edgeId,
        direction: captured.direction,
        transport: captured.transport,
        source: { ...captured.source },
        destination: { ...captured.destination },
        text,
      },
      facts: factsOf(captured.payload),
    });
    this.#timer ??= setTimeout(() => this.#flush(), FLUSH_MS);
  }

  /** Messages dropped (queue full) and batches the store refused, so far. */
  stats(): { dropped: number; failedBatches: number } {
    return { dropped: this.#dropped, failedBatches: this.#failed };
  }

  /** Writes what is pending and stops. */
  async close(): Promise<void> {
    clearTimeout(this.#timer);
    this.#flush();
    await this.#writing;
  }

  #flush(): void {
    this.#timer = undefined;
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    this.#writing = this.#writing.then(() =>
      this.deps.store.add(batch, this.settings, Date.now()).catch((error: unknown) => {
        this.#failed++;
        if (Date.now() - this.#loggedAt < LOG_EVERY_MS) return;
        this.#loggedAt = Date.now();
        this.deps.logger.warn(
          { err: error, lost: batch.length, failedBatches: this.#failed },
          'captured messages not stored',
        );
      }),
    );
  }
}

/** The message with the values of its credential headers replaced (their scheme kept). */
export function redact(text: string): string {
  return text.replace(CREDENTIALS, '$1$2 [redacted]');
}

/** What a message says of its call: a request's method, From and To; a response's status and CSeq method. */
function factsOf(payload: Uint8Array): CaptureFacts {
  try {
    const message = parseMessage(Buffer.from(payload), { validate: false });
    if (message.isRequest) {
      return { method: message.method, from: message.from.uri.toString(), to: message.to.uri.toString() };
    }
    return { status: message.status, cseqMethod: message.cseq.method };
  } catch {
    return {};
  }
}
