import { type Bus, BusNoRespondersError, BusRemoteError, BusTimeoutError } from '@sipedge/bus';
import { type HandoffRetrySettings, type InboundMeta, type LocalLink, SUBJECTS, encodeInbound } from '@sipedge/handoff';
import type { SipMessage } from '@sipedge/sip';
import type { Logger } from '@sipedge/telemetry';
import type { WorkerDirectory } from './worker-directory.js';

/** Where the receive pipeline hands a parsed message to a worker (`Handoff`, `LocalHandoff`). */
export interface HandoffPort {
  /** True when a worker has the message (or, over UDP, it was handed on). Throws BusUnavailableError. */
  forward(message: SipMessage, meta: InboundMeta): Promise<boolean>;
}

/**
 * Hands received messages to the transaction workers. A message goes to the worker its call is
 * bound to (`WorkerDirectory.pick`, on `sipedge.worker.<instance>.in`), or, while no worker is
 * known, to the queue group `workers` on `sipedge.in`.
 *
 * Over UDP a message is published once: core NATS is at-most-once, and the sender's own
 * retransmissions recover a lost hand-off. One that reaches nobody (the worker is gone; the bus
 * tells, `onUnheard`) is published again to the queue group, and the worker is forgotten. Over
 * TCP/TLS nothing retransmits, so the message is a NATS request that the worker answers once it
 * has taken it over; without an answer in time it is sent again, to the queue group (NATS picks a
 * member, so a dead or stuck worker is skipped once its connection is gone), up to `attempts`
 * times.
 */
export class Handoff implements HandoffPort {
  constructor(
    private readonly bus: Bus,
    private readonly settings: HandoffRetrySettings,
    private readonly logger: Logger,
    private readonly workers?: Pick<WorkerDirectory, 'pick' | 'gone'>,
    private readonly rerouted: () => void = () => undefined,
  ) {}

  async forward(message: SipMessage, meta: InboundMeta, headers: Record<string, string> = {}): Promise<boolean> {
    const wire = message.toBuffer();
    const encoded = encodeInbound(meta, headers);
    const worker = this.workers?.pick(message.callId);
    if (meta.transport === 'udp') {
      if (worker === undefined) {
        await this.bus.publish(SUBJECTS.inbound, wire, encoded);
      } else {
        await this.bus.publish(SUBJECTS.workerInbound(worker), wire, encoded, {
          onUnheard: () => this.#reroute(worker, wire, encoded),
        });
      }
      return true;
    }
    const again = encodeInbound({ ...meta, redelivered: true }, headers);
    let subject = worker === undefined ? SUBJECTS.inbound : SUBJECTS.workerInbound(worker);
    for (let attempt = 1; attempt <= this.settings.attempts; attempt++) {
      try {
        await this.bus.request(subject, wire, {
          timeoutMs: this.settings.ackTimeoutMs,
          headers: attempt === 1 ? encoded : again,
        });
        return true;
      } catch (error) {
        if (!(
          error instanceof BusTimeoutError ||
          error instanceof BusNoRespondersError ||
          error instanceof BusRemoteError
        )) {
          throw error;
        }
        if (error instanceof BusNoRespondersError && subject !== SUBJECTS.inbound) {
          // The call's worker is gone: at once to the group, which is not a redelivery and does
          // not count as an attempt.
          this.#forget(worker!);
          subject = SUBJECTS.inbound;
          attempt -= 1;
          continue;
        }
        subject = SUBJECTS.inbound;
        this.logger.warn({ attempt, err: error, flow: meta.flowId }, 'hand-off not acknowledged, retrying');
        if (error instanceof BusNoRespondersError)
          await new Promise((r) => setTimeout(r, this.settings.ackTimeoutMs / 4));
      }
    }
    return false;
  }

  /** A UDP hand-off reached nobody: its worker is gone, and the queue group gets the message. */
  #reroute(worker: string, wire: Uint8Array, headers: Record<string, string>): void {
    this.#forget(worker);
    this.bus.publish(SUBJECTS.inbound, wire, headers).catch((error: unknown) => {
      this.logger.warn({ err: error }, 'hand-off to the queue group after a gone worker failed; dropped');
    });
  }

  #forget(worker: string): void {
    this.workers?.gone(worker);
    this.rerouted();
  }
}

/**
 * The hand-off to the worker of this process (standalone mode, `LocalLink`): the message as the
 * edge parsed it, by a call. Over UDP it is handed on and not waited for, as a publish is not; over
 * a stream transport the worker's taking it is the confirmation. A worker that fails to take it is
 * logged (and over a stream transport the message counts as not delivered: a request gets 503).
 * While no worker is attached to the link (one on a thread of its own, or one stopped), messages
 * go over the bus.
 */
export class LocalHandoff implements HandoffPort {
  constructor(
    private readonly link: LocalLink,
    private readonly bus: HandoffPort,
    private readonly logger: Logger,
  ) {}

  async forward(message: SipMessage, meta: InboundMeta): Promise<boolean> {
    const worker = this.link.worker;
    if (worker === undefined) return this.bus.forward(message, meta);
    const taken = worker.take(message, meta).then(
      () => true,
      (error: unknown) => {
        this.logger.error({ err: error, flow: meta.flowId }, 'the worker of this process did not take a message');
        return false;
      },
    );
    return meta.transport === 'udp' ? true : taken;
  }
}
