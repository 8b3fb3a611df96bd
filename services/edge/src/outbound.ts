import type { Bus, BusMessage, BusReply, Subscription } from '@sipedge/bus';
import {
  H,
  type OutboundMeta,
  QUEUES,
  SUBJECTS,
  decodeOutbound,
  endpointAttributes,
  traceContextOf,
  transportAttributes,
} from '@sipedge/handoff';
import { type Logger, SpanKind, inSpan } from '@sipedge/telemetry';
import { type Senders, streamSender } from './senders.js';

export type DeliveryResult = { ok: true; flowId?: string } | { ok: false; error: string; cause?: unknown };

/**
 * Sends what the workers publish for this edge (`sipedge.edge.<id>.out`) or for any edge
 * (`sipedge.out`, queue group `edges`). UDP goes out from the listening socket (symmetric). On
 * TCP/TLS the named flow is used while it is open; when it is gone a response gets a new connection
 * to its Via destination (§18.2.2) and a request is reported back as a transport error, which the
 * proxy treats as a 503 (§16.9). A request without a flow opens a connection to its destination.
 * When the worker sent a NATS request, the reply says whether the message went out.
 */
export class OutboundDelivery {
  private subscriptions: Subscription[] = [];
  private inFlight = 0;

  constructor(
    private readonly bus: Bus,
    private readonly edgeId: string,
    private readonly senders: Senders,
    private readonly logger: Logger,
  ) {}

  /** Deliveries under way (the drain waits for them). */
  get pending(): number {
    return this.inFlight;
  }

  async start(): Promise<void> {
    const handler = (message: BusMessage) => this.handle(message);
    this.subscriptions = [
      await this.bus.subscribe(SUBJECTS.edgeOutbound(this.edgeId), handler),
      await this.bus.subscribe(SUBJECTS.anyEdgeOutbound, handler, { queue: QUEUES.edges }),
    ];
  }

  /**
   * Unsubscribes (a drain: what the bus routed here before is still delivered), then waits for
   * the deliveries under way, `deadlineMs` at most, so that the sockets are not closed under them.
   */
  async stop(deadlineMs = 2000): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.unsubscribe()));
    this.subscriptions = [];
    const deadline = Date.now() + deadlineMs;
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (this.inFlight > 0) this.logger.warn({ inFlight: this.inFlight }, 'stopping with deliveries under way');
  }

  private async handle(message: BusMessage): Promise<BusReply | void> {
    this.inFlight++;
    try {
      let result: DeliveryResult;
      try {
        result = await this.deliverTraced(Buffer.from(message.data), decodeOutbound(message.headers), message.headers);
      } catch (error) {
        result = { ok: false, error: (error as Error).message, cause: error };
      }
      if (!result.ok) this.logger.warn({ err: result.cause, reason: result.error }, 'outbound message not delivered');
      if (message.replyTo === undefined) return;
      const headers: Record<string, string> = result.ok
        ? result.flowId === undefined
          ? {}
          : { [H.flow]: result.flowId }
        : { [H.deliveryError]: result.error };
      return { data: new Uint8Array(0), headers };
    } finally {
      this.inFlight--;
    }
  }

  /** `deliver` in a `sip.send` span, child of the worker's span that sent it. */
  private deliverTraced(data: Buffer, meta: OutboundMeta, headers: Record<string, string>): Promise<DeliveryResult> {
    const attributes = () => ({
      ...transportAttributes(meta.transport),
      'sip.kind': meta.kind,
      ...endpointAttributes('server', meta.destination),
    });
    return inSpan('sip.send', { kind: SpanKind.CLIENT, parent: traceContextOf(headers), attributes }, async (span) => {
      const result = await this.deliver(data, meta);
      if (!result.ok) span.setAttribute('sip.delivery_error', result.error);
      return result;
    });
  }

  async deliver(data: Buffer, meta: OutboundMeta): Promise<DeliveryResult> {
    if (meta.transport === 'udp') {
      if (this.senders.udp === undefined) return { ok: false, error: 'no UDP listener' };
      await this.senders.udp.send(data, meta.destination);
      return { ok: true };
    }
    const stream = streamSender(this.senders, meta.transport);
    if (stream === undefined) return { ok: false, error: `no ${meta.transport.toUpperCase()} listener` };
    if (meta.flowId !== undefined && stream.send(meta.flowId, data)) return { ok: true, flowId: meta.flowId };
    if (meta.flowId !== undefined && meta.kind === 'request') {
      return { ok: false, error: `flow ${meta.flowId} is closed` };
    }
    try {
      const flowId = await stream.connect(meta.destination);
      if (!stream.send(flowId, data)) return { ok: false, error: `new flow ${flowId} closed at once` };
      return { ok: true, flowId };
    } catch (error) {
      return {
        ok: false,
        error: `connection to ${meta.destination.address}:${meta.destination.port} failed: ${(error as Error).message}`,
        cause: error,
      };
    }
  }
}
