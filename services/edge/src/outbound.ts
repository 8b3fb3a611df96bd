import type { Bus, BusMessage, BusReply, Subscription } from '@sipedge/bus';
import {
  H,
  type LocalDelivery,
  type LocalLink,
  type OutboundMeta,
  QUEUES,
  SUBJECTS,
  decodeOutbound,
  endpointAttributes,
  traceContextOf,
  transportAttributes,
} from '@sipedge/handoff';
import { type Context, type Logger, SpanKind, inSpan } from '@sipedge/telemetry';
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
  private detachLink: (() => void) | undefined;
  private inFlight = 0;

  constructor(
    private readonly bus: Bus,
    private readonly edgeId: string,
    private readonly senders: Senders,
    private readonly logger: Logger,
    /** A worker of this process sends through this edge by a call while it is attached (`LocalLink`). */
    private readonly link?: LocalLink,
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
    this.detachLink = this.link?.attachEdge(this.edgeId, this);
  }

  /**
   * Detaches from the link and unsubscribes (a drain: what the bus routed here before is still delivered), then waits for
   * the deliveries under way, `deadlineMs` at most, so that the sockets are not closed under them.
   */
  async stop(deadlineMs = 2000): Promise<void> {
    this.detachLink?.();
    await Promise.all(this.subscriptions.map((s) => s.unsubscribe()));
    this.subscriptions = [];
    const deadline = Date.now() + deadlineMs;
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (this.inFlight > 0) this.logger.warn({ inFlight: this.inFlight }, 'stopping with deliveries under way');
  }

  /**
   * What the worker of this process asks this edge to send (`LocalLink`): delivered as a message
   * from the bus is, in a `sip.send` span that is a child of the active one.
   */
  async send(data: Buffer, meta: OutboundMeta): Promise<LocalDelivery> {
    const result = await this.counted(() => this.deliverTraced(data, meta));
    return result.ok ? result : { ok: false, error: result.error };
  }

  private async handle(message: BusMessage): Promise<BusReply | void> {
    const result = await this.counted(() => {
      const meta = decodeOutbound(message.headers);
      return this.deliverTraced(Buffer.from(message.data), meta, traceContextOf(message.headers));
    });
    if (message.replyTo === undefined) return;
    const headers: Record<string, string> = result.ok
      ? result.flowId === undefined
        ? {}
        : { [H.flow]: result.flowId }
      : { [H.deliveryError]: result.error };
    return { data: new Uint8Array(0), headers };
  }

  /** A delivery counted in `pending` while under way; a failure is logged and returned, never thrown. */
  private async counted(deliver: () => Promise<DeliveryResult>): Promise<DeliveryResult> {
    this.inFlight++;
    try {
      let result: DeliveryResult;
      try {
        result = await deliver();
      } catch (error) {
        result = { ok: false, error: (error as Error).message, cause: error };
      }
      if (!result.ok) this.logger.warn({ err: result.cause, reason: result.error }, 'outbound message not delivered');
      return result;
    } finally {
      this.inFlight--;
    }
  }

  /** `deliver` in a `sip.send` span, child of the worker's span that sent it (`parent`, default the active one). */
  private deliverTraced(data: Buffer, meta: OutboundMeta, parent?: Context): Promise<DeliveryResult> {
    const attributes = () => ({
      ...transportAttributes(meta.transport),
      'sip.kind': meta.kind,
      ...endpointAttributes('server', meta.destination),
    });
    const options = { kind: SpanKind.CLIENT, attributes, ...(parent === undefined ? {} : { parent }) };
    return inSpan('sip.send', options, async (span) => {
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
