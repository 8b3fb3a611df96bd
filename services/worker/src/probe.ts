import { randomBytes } from 'node:crypto';
import {
  DEFAULT_HOLD_DOWN_MS,
  type DispatcherHealth,
  type DispatcherSet,
  EMPTY_HEALTH,
  type NextHop,
  type ProxyConfig,
  finishForward,
  prepareForward,
  updateHealth,
} from '@sipedge/proxy';
import { MAGIC_COOKIE, type SipMessage, type SipUri, buildRequest, parseUri } from '@sipedge/sip';
import type { RecordStore } from '@sipedge/store';
import type { Logger } from '@sipedge/telemetry';
import type { Hop } from './record.js';
import { updateShared } from './shared-record.js';

/** The fleet's dispatcher health record (one hash tag: one slot in a Redis Cluster). */
export const HEALTH_KEY = 'sipedge:dispatch-health:{probes}';

/** Call-IDs of our probes start with this, followed by the probed hop URI in base64url. */
const PROBE_CALL_ID = 'sipedge-probe.';
/** Branches of our probes: the magic cookie, then `O` (neither a fork `P` nor a stateless `S` branch). */
const PROBE_BRANCH = `${MAGIC_COOKIE}O`;

export interface ProbeSettings {
  /** How often every hop of every set gets an OPTIONS; default 10 s. */
  intervalMs?: number;
  /** A probe unanswered this long marks its hop down; default 5 s (less than the interval). */
  timeoutMs?: number;
  /** How long a failed hop stays down unless a probe succeeds first; default 30 s. */
  holdDownMs?: number;
}

/** The shared record: which hops are down (`DispatcherHealth`) and the probes still unanswered. */
interface HealthRecord extends DispatcherHealth {
  readonly pending: Readonly<Record<string, number>>;
}

const EMPTY_RECORD: HealthRecord = { ...EMPTY_HEALTH, pending: {} };

export interface ProbeDeps {
  records: RecordStore;
  resolve: (hop: NextHop) => Promise<Hop[]>;
  /** Hands a request to an edge; resolves to whether the edge delivered it. */
  send: (wire: Buffer, hop: Hop) => Promise<boolean>;
  logger: Logger;
}

/**
 * OPTIONS health probing of dispatcher hops (the "OPTIONS health probing"; RFC 3261 §11):
 * every `intervalMs` this worker sends an OPTIONS to every hop of every set. Any response but a 503
 * brings the hop up; a 503, a refused delivery, an unresolvable hop or no answer within `timeoutMs`
 * holds it down for `holdDownMs`, and dispatch (`dispatchOrder`) skips it. The state is one
 * compare-and-set record shared by the fleet, so the response may reach any worker; every worker
 * probes (a fleet of N sends N probes per hop and interval).
 */
export class DispatcherProber {
  private copy: HealthRecord = EMPTY_RECORD;
  private timer: NodeJS.Timeout | undefined;
  private readonly hops: string[];
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly holdDownMs: number;

  constructor(
    sets: readonly DispatcherSet[],
    private readonly config: ProxyConfig,
    private readonly deps: ProbeDeps,
    settings: ProbeSettings = {},
  ) {
    this.hops = [...new Set(sets.flatMap((set) => set.hops.map((hop) => hop.uri)))];
    this.intervalMs = settings.intervalMs ?? 10_000;
    this.timeoutMs = settings.timeoutMs ?? 5_000;
    this.holdDownMs = settings.holdDownMs ?? DEFAULT_HOLD_DOWN_MS;
  }

  start(): void {
    if (this.hops.length === 0) return;
    void this.round();
    this.timer = setInterval(() => void this.round(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The health dispatch uses: this worker's copy of the shared record, at most one interval old. */
  health(): DispatcherHealth {
    return this.copy;
  }

  /**
   * A response on our Via: when it answers one of our probes, records the outcome and returns
   * true (the response ends here); false for any other response.
   */
  async answered(response: SipMessage): Promise<boolean> {
    const uri = probedHop(response);
    if (uri === undefined || !this.hops.includes(uri)) return false;
    if (response.status < 200) return true;
    await this.change(Date.now(), (record, now) => observe(record, uri, response.status !== 503, now, this.holdDownMs));
    return true;
  }

  /** One probing round: expire unanswered probes, then probe every hop. */
  async round(): Promise<void> {
    const now = Date.now();
    await this.change(now, (record) => {
      let next = record;
      for (const [uri, sentAt] of Object.entries(record.pending)) {
        if (now - sentAt >= this.timeoutMs) next = observe(next, uri, false, now, this.holdDownMs);
      }
      return next;
    });
    await Promise.all(this.hops.map((uri) => this.probe(uri, now)));
  }

  private async probe(uri: string, now: number): Promise<void> {
    const options = buildRequest({
      method: 'OPTIONS',
      uri,
      from: `<sip:sipedge@${this.config.advertised.host}>;tag=${randomBytes(6).toString('hex')}`,
      to: `<${uri}>`,
      callId: `${PROBE_CALL_ID}${Buffer.from(uri).toString('base64url')}.${randomBytes(6).toString('hex')}`,
      cseq: 1,
      headers: [['Accept', 'application/sdp']],
    });
    try {
      const prepared = prepareForward(options, parseUri(uri) as SipUri, { config: this.config, recordRoute: false });
      const [tuple] = await this.deps.resolve(prepared.nextHop);
      if (tuple === undefined) throw new Error('not resolvable');
      const forwarded = finishForward(prepared, {
        config: this.config,
        branch: `${PROBE_BRANCH}${randomBytes(12).toString('base64url')}`,
        outboundTransport: tuple.transport,
      });
      await this.change(now, (record) =>
        record.pending[uri] === undefined ? { ...record, pending: { ...record.pending, [uri]: now } } : record,
      );
      const delivered = await this.deps.send(forwarded.message.toBuffer(), {
        ...tuple,
        transport: forwarded.transport,
      });
      if (!delivered) throw new Error('not delivered');
    } catch (error) {
      this.deps.logger.warn({ hop: uri, err: error }, 'dispatcher probe failed');
      await this.change(now, (record) => observe(record, uri, false, now, this.holdDownMs));
    }
  }

  /** Compare-and-set on the shared record; a failure is logged, never thrown (probing goes on). */
  private async change(now: number, apply: (record: HealthRecord, now: number) => HealthRecord): Promise<void> {
    try {
      const ttlMs = this.intervalMs * 3 + this.holdDownMs;
      const next = await updateShared(this.deps.records, HEALTH_KEY, ttlMs, EMPTY_RECORD, (r) => apply(r, now));
      if (next === undefined) this.deps.logger.warn('dispatcher health not changed: too many conflicting commits');
      else this.copy = next;
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'dispatcher health not changed');
    }
  }
}

/** One observation of a hop: its probe is answered (or given up on) and its health updated. */
function observe(record: HealthRecord, uri: string, ok: boolean, now: number, holdDownMs: number): HealthRecord {
  const pending = { ...record.pending };
  delete pending[uri];
  return { ...updateHealth(record, uri, ok, now, holdDownMs), pending };
}

/** The hop URI a probe response answers, from its Call-ID and our probe branch; undefined otherwise. */
export function probedHop(response: SipMessage): string | undefined {
  if (response.cseq.method !== 'OPTIONS' || !(response.topVia?.branch ?? '').startsWith(PROBE_BRANCH)) return undefined;
  const callId = response.callId;
  if (!callId.startsWith(PROBE_CALL_ID)) return undefined;
  const encoded = callId.slice(PROBE_CALL_ID.length).split('.')[0] ?? '';
  return Buffer.from(encoded, 'base64url').toString();
}
