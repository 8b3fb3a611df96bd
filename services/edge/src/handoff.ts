import { type Bus, BusNoRespondersError, BusRemoteError, BusTimeoutError } from '@sipedge/bus';
import { type HandoffRetrySettings, type InboundMeta, SUBJECTS, encodeInbound } from '@sipedge/handoff';
import type { Logger } from '@sipedge/telemetry';

/**
 * Hands received messages to the transaction workers (queue group `workers` on `sipedge.in`).
 * Over UDP a message is published once: core NATS is at-most-once, and the sender's own
 * retransmissions recover a lost hand-off. Over TCP/TLS nothing retransmits, so the message is a
 * NATS request that the worker answers once it has taken it over and sent what it leads to;
 * without an answer in time it is sent again, marked `redelivered` (NATS picks a member of the
 * group, so a dead worker is skipped once its connection is gone), up to `attempts` times.
 *
 * A new INVITE over UDP is handed off the same way (`acknowledged`): its worker answers the caller
 * 100 Trying (§17.2.1) before it forwards the INVITE, and a caller that has a provisional response
 * retransmits no more (§17.1.1.2), so a worker that died between the two would leave the call
 * silent until Timer B. The retry reaches another worker, which sends the fork on (its
 * retransmission timer runs there from then on). Over UDP the caller is not answered 503 when no
 * worker confirms: the hand-off was published, and its own retransmissions go on.
 */
export class Handoff {
  constructor(
    private readonly bus: Bus,
    private readonly settings: HandoffRetrySettings,
    private readonly logger: Logger,
  ) {}

  /**
   * True when a worker has the message (or, over UDP, it was published). `acknowledged`: a UDP
   * message handed off as a NATS request too (a new INVITE). Throws BusUnavailableError.
   */
  async forward(
    wire: Buffer,
    meta: InboundMeta,
    options: { acknowledged?: boolean; headers?: Record<string, string> } = {},
  ): Promise<boolean> {
    const headers = options.headers ?? {};
    const encoded = encodeInbound(meta, headers);
    const udp = meta.transport === 'udp';
    if (udp && options.acknowledged !== true) {
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
    return udp;
  }
}
