import { type Bus, BusNoRespondersError, BusRemoteError, BusTimeoutError } from '@sipedge/bus';
import { type HandoffRetrySettings, type InboundMeta, type LocalLink, SUBJECTS, encodeInbound } from '@sipedge/handoff';
import type { SipMessage } from '@sipedge/sip';
import type { Logger } from '@sipedge/telemetry';

/** Where the receive pipeline hands a parsed message to a worker (`Handoff`, `LocalHandoff`). */
export interface HandoffPort {
  /** True when a worker has the message (or, over UDP, it was handed on). Throws BusUnavailableError. */
  forward(message: SipMessage, meta: InboundMeta): Promise<boolean>;
}

/**
 * Hands received messages to the transaction workers (queue group `workers` on `sipedge.in`).
 * Over UDP a message is published once: core NATS is at-most-once, and the sender's own
 * retransmissions recover a lost hand-off. Over TCP/TLS nothing retransmits, so the message is a
 * NATS request that the worker answers once it has taken it over; without an answer in time it is
 * sent again (NATS picks a member of the group, so a dead worker is skipped once its connection is
 * gone), up to `attempts` times.
 */
export class Handoff implements HandoffPort {
  constructor(
    private readonly bus: Bus,
    private readonly settings: HandoffRetrySettings,
    private readonly logger: Logger,
  ) {}

  async forward(message: SipMessage, meta: InboundMeta, headers: Record<string, string> = {}): Promise<boolean> {
    const wire = message.toBuffer();
    const encoded = encodeInbound(meta, headers);
    if (meta.transport === 'udp') {
      await this.bus.publish(SUBJECTS.inbound, wire, encoded);
      return true;
    }
    const again = encodeInbound({ ...meta, redelivered: true }, headers);
    for (let attempt = 1; attempt <= this.settings.attempts; attempt++) {
      try {
        await this.bus.request(SUBJECTS.inbound, wire, {
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
        this.logger.warn({ attempt, err: error, flow: meta.flowId }, 'hand-off not acknowledged, retrying');
        if (error instanceof BusNoRespondersError)
          await new Promise((r) => setTimeout(r, this.settings.ackTimeoutMs / 4));
      }
    }
    return false;
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
