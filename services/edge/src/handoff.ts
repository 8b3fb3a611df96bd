import { type Bus, BusNoRespondersError, BusRemoteError, BusTimeoutError } from '@sipedge/bus';
import { type HandoffRetrySettings, type InboundMeta, SUBJECTS, encodeInbound } from '@sipedge/handoff';
import type { Logger } from '@sipedge/telemetry';

/**
 * Hands received messages to the transaction workers (queue group `workers` on `sipedge.in`).
 * Over UDP a message is published once: core NATS is at-most-once, and the sender's own
 * retransmissions recover a lost hand-off. Over TCP/TLS nothing retransmits, so the message is a
 * NATS request that the worker answers once it has taken it over; without an answer in time it is
 * sent again (NATS picks a member of the group, so a dead worker is skipped once its connection is
 * gone), up to `attempts` times.
 */
export class Handoff {
  constructor(
    private readonly bus: Bus,
    private readonly settings: HandoffRetrySettings,
    private readonly logger: Logger,
  ) {}

  /** True when a worker has the message (or, over UDP, it was published). Throws BusUnavailableError. */
  async forward(wire: Buffer, meta: InboundMeta, headers: Record<string, string> = {}): Promise<boolean> {
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
