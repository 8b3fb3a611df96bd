import { type AbuseState, Bans, Pike } from '@sipedge/abuse';
import type { Bus, Subscription } from '@sipedge/bus';
import type { SelfConfig } from '@sipedge/proxy';
import { type KeepaliveTarget, type LocalLink, SUBJECTS, checkEdgeId, judgedDelay } from '@sipedge/handoff';
import type { CaptureStore, ConnectionDirectory, DialogStore, EdgeRegistry } from '@sipedge/store';
import { createLogger, type Logger } from '@sipedge/telemetry';
import { type EdgeConfig, edgeSelf } from './config.js';
import { type RegistrationAdmin, adminRoutes } from './admin.js';
import { Handoff, type HandoffPort, LocalHandoff } from './handoff.js';
import { WorkerDirectory } from './worker-directory.js';
import { callFlowPageRoute } from './callflow/page.js';
import { CallFlowRecorder } from './callflow/recorder.js';
import { HepExporter, capturingHandler, capturingSenders, fanOut, wildcardResolver } from './hep/index.js';
import { type OpsServer, startOpsServer } from './http.js';
import { InboundPipeline } from './inbound.js';
import { NatKeepalive } from './nat-keepalive.js';
import { EdgeMetrics } from './metrics.js';
import { checkOpenFileLimit } from './open-files.js';
import { OutboundDelivery } from './outbound.js';
import { DenyList } from './protection/deny-list.js';
import { RateLimiter } from './protection/rate-limit.js';
import type { Senders } from './senders.js';
import { edgeTlsSockets } from './tls.js';
import {
  ConnectionLimit,
  type Endpoint,
  type StreamRejectReason,
  StreamTransport,
  type TransportHandler,
  UdpQueueProbe,
  UdpTransport,
  WebSocketTransport,
  type WebSocketRejectReason,
  tcpSockets,
} from './transports/index.js';

/**
 * How long a drained edge keeps sending after it announced it is gone: what a worker published
 * for it before hearing the announcement (bus latency: well under a millisecond) still goes out.
 */
const GONE_GRACE_MS = 250;

export interface EdgeDeps {
  bus: Bus;
  connections: ConnectionDirectory;
  edges: EdgeRegistry;
  /** The fleet's abuse counters and bans (Redis, or the in-memory twin). */
  abuse: AbuseState;
  /**
   * The location service: bindings of a contact behind a NAT that stopped answering are removed;
   * the admin API lists and removes registrations.
   */
  locations: RegistrationAdmin;
  /** The fleet's live dialogs, which the admin API lists. */
  dialogs: Pick<DialogStore, 'list'>;
  /** Captured messages of recent calls: this edge records into it, its admin API reads it. */
  captures: CaptureStore;
  logger?: Logger;
  /** Collect Node's default process metrics (off when several edges share a process, as in tests). */
  processMetrics?: boolean;
  /**
   * A wait (ms) the workers report that this edge cannot see itself: the standing hand-off wait of
   * a standalone worker on its own thread, whose backlog builds up between the threads. Overload
   * control judges the larger of it and the UDP receive queue's, so that new calls are refused
   * here, before they cost the saturated worker anything.
   */
  workerBacklogMs?: () => number;
  /**
   * Standalone mode: the worker of this process, reached by a call instead of over the bus while
   * it is attached (`LocalLink`); this edge attaches its outbound delivery to it.
   */
  link?: LocalLink;
}

/**
 * One edge process: the SIP listeners, the receive pipeline, outbound delivery, the connection
 * directory and live-edge heartbeat, and the ops HTTP server. It keeps no transaction state.
 */
export class Edge {
  readonly metrics: EdgeMetrics;
  /** HEP export to a capture server (`hep.*` settings); undefined when off. */
  readonly hep: HepExporter | undefined;
  /** The messages this edge records for the call-flow page (`capture.*` settings); undefined when off. */
  readonly callFlow: CallFlowRecorder | undefined;
  private readonly logger: Logger;
  private readonly udp: UdpTransport | undefined;
  private readonly tcp: StreamTransport | undefined;
  private readonly tls: StreamTransport | undefined;
  private readonly ws: WebSocketTransport | undefined;
  private readonly wss: WebSocketTransport | undefined;
  private readonly inbound: InboundPipeline;
  private readonly outbound: OutboundDelivery;
  /** The fleet's bans as this edge sees them; its admin API manages them. */
  readonly bans: Bans;
  private readonly pike: Pike;
  private readonly keepalive: NatKeepalive;
  /** The live workers, and which one each call's messages go to (call affinity). */
  private readonly workers: WorkerDirectory;
  private keepaliveSubscription: Subscription | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  /** What drives overload control at the edge: the standing wait of its UDP receive queue. */
  private readonly udpQueue = new UdpQueueProbe();
  private ops: OpsServer | undefined;
  private readonly self: SelfConfig;
  private lastHeartbeatOk = 0;
  private draining = false;
  /** Set as stop begins: no heartbeat lists the edge again. */
  private leaving = false;
  private started = false;

  constructor(
    private readonly config: EdgeConfig,
    private readonly deps: EdgeDeps,
  ) {
    checkEdgeId(config.edgeId);
    this.logger = deps.logger ?? createLogger({ name: 'edge' });
    this.metrics = new EdgeMetrics({ defaultMetrics: deps.processMetrics ?? true });
    const log = (component: string) => this.logger.child({ component });
    this.workers = new WorkerDirectory(deps.bus, log('workers'), Date.now, () => this.metrics.callPlacedElsewhere());
    // Capture (HEP export, the call-flow page) wraps what the listeners report to and what the core
    // sends through (hep/capture.ts).
    this.hep = config.hep === undefined ? undefined : new HepExporter(config.hep, { logger: log('hep') });
    this.callFlow =
      config.callFlow === undefined
        ? undefined
        : new CallFlowRecorder(config.callFlow, {
            store: deps.captures,
            edgeId: config.edgeId,
            logger: log('capture'),
          });
    const sinks = [this.hep, this.callFlow].filter((sink) => sink !== undefined);
    const sink = sinks.length === 0 ? undefined : fanOut(sinks);
    const resolveLocal = wildcardResolver(config.advertised);
    const handler =
      sink === undefined ? this.transportHandler() : capturingHandler(this.transportHandler(), sink, resolveLocal);
    const streamOptions = {
      edgeId: config.edgeId,
      handler,
      maxMessageSize: config.maxMessageSize,
      idleTimeoutMs: config.idleTimeoutMs,
      messageTimeoutMs: config.messageTimeoutMs,
      maxConnectionsPerSource: config.maxConnectionsPerSource,
      // One limit for TCP, TLS and WebSocket together: it guards the process's file descriptors and memory.
      connectionLimit: new ConnectionLimit(config.maxConnections),
      onRejected: (reason: StreamRejectReason) => this.metrics.connectionRejected(reason),
      isBanned: (address: string) => this.bans.isBanned(address, Date.now()),
      onMessageTimeout: () => this.metrics.dropped('message-timeout'),
    };
    this.udp =
      config.udp.length > 0
        ? new UdpTransport({
            listen: config.udp,
            handler,
            logger: log('udp'),
            ...(config.overload.maxDelayMs > 0 ? { queueProbe: this.udpQueue } : {}),
          })
        : undefined;
    this.tcp =
      config.tcp.length > 0
        ? new StreamTransport({ ...streamOptions, sockets: tcpSockets(), listen: config.tcp, logger: log('tcp') })
        : undefined;
    this.tls =
      config.tls !== undefined
        ? new StreamTransport({
            ...streamOptions,
            sockets: edgeTlsSockets(config.tls, log('tls')),
            listen: config.tls.listen,
            logger: log('tls'),
          })
        : undefined;
    const { websocket } = config;
    const webSocketOptions = {
      edgeId: config.edgeId,
      handler,
      maxMessageSize: config.maxMessageSize,
      maxConnectionsPerSource: config.maxConnectionsPerSource,
      connectionLimit: streamOptions.connectionLimit,
      isBanned: streamOptions.isBanned,
      onRejected: (reason: WebSocketRejectReason) => this.metrics.connectionRejected(reason),
      origins: websocket.origins,
      trustedProxies: websocket.trustedProxies,
      pingIntervalMs: websocket.pingIntervalMs,
    };
    this.ws =
      websocket.ws.length > 0
        ? new WebSocketTransport({
            ...webSocketOptions,
            transport: 'ws',
            sockets: tcpSockets(),
            listen: websocket.ws,
            logger: log('ws'),
          })
        : undefined;
    if (websocket.wss.length > 0 && config.tls === undefined) {
      throw new Error('WSS listeners need the TLS credentials (config.tls)');
    }
    this.wss =
      websocket.wss.length > 0 && config.tls !== undefined
        ? new WebSocketTransport({
            ...webSocketOptions,
            transport: 'wss',
            sockets: edgeTlsSockets(config.tls, log('wss')),
            listen: websocket.wss,
            logger: log('wss'),
          })
        : undefined;
    const transports = { udp: this.udp, tcp: this.tcp, tls: this.tls, ws: this.ws, wss: this.wss };
    const senders: Senders = sink === undefined ? transports : capturingSenders(transports, sink, resolveLocal);
    const { abuse } = config;
    this.bans = new Bans(deps.abuse, deps.bus, (a) => abuse.exempt.has(a), abuse.bans, log('abuse'));
    this.pike = new Pike(deps.abuse, this.bans, abuse.pike, log('abuse'));
    this.keepalive = new NatKeepalive(config.natKeepalive, {
      send: async (data, destination) => {
        await senders.udp?.send(data, destination);
      },
      remove: (aor, contacts) => deps.locations.remove(aor, contacts),
      advertised: config.advertised,
      logger: log('nat'),
    });
    this.inbound = new InboundPipeline({
      edgeId: config.edgeId,
      self: (this.self = edgeSelf(config)),
      maxMessageSize: config.maxMessageSize,
      deny: new DenyList(config.denyList),
      bans: this.bans,
      banAction: abuse.banAction,
      pike: this.pike,
      keepalives: this.keepalive,
      limiter: new RateLimiter(config.rateLimit),
      rateLimit: config.rateLimit,
      overload: config.overload,
      delayMs: () => {
        const now = Date.now();
        const udp = judgedDelay(this.udpQueue.latestMs(now), this.udpQueue.standingMs(now), config.overload);
        return Math.max(udp, deps.workerBacklogMs?.() ?? 0);
      },
      workerBacklogMs: (callId) => this.workers.backlogOfCall(callId),
      placeElsewhere: (callId) => this.workers.placeElsewhere(callId),
      handoff: this.handoffOf(log('handoff')),
      senders,
      counters: this.metrics,
      logger: log('inbound'),
      transactionLifetimeMs: 64 * config.t1,
    });
    this.outbound = new OutboundDelivery(deps.bus, config.edgeId, senders, log('outbound'), deps.link);
  }

  /** Over the bus, or to the worker of this process while one is attached to the link. */
  private handoffOf(logger: Logger): HandoffPort {
    const bus = new Handoff(this.deps.bus, this.config.handoff, logger, this.workers, () =>
      this.metrics.handoffRerouted(),
    );
    return this.deps.link === undefined ? bus : new LocalHandoff(this.deps.link, bus, logger);
  }

  /** Binds the listeners, subscribes for outbound work, starts heartbeats and the ops server. */
  async start(): Promise<void> {
    if (this.connectionTransports().length > 0) checkOpenFileLimit(this.config.maxConnections, this.logger);
    // The bans first: a banned source is refused from the first message on.
    await this.bans.start();
    await this.workers.start();
    this.pike.start();
    await Promise.all([this.udp?.start(), ...this.connectionTransports().map((t) => t.start())]);
    // Ports configured as 0 are known only now.
    for (const e of Object.values(this.listening()).flat()) (this.self.selfPorts as Set<number>).add(e.port);
    await this.outbound.start();
    this.keepaliveSubscription = await this.deps.bus.subscribe(SUBJECTS.edgeKeepalive(this.config.edgeId), (m) =>
      this.keepOpen(m.data),
    );
    this.keepalive.start();
    await this.heartbeat();
    this.every(this.config.heartbeatTtlMs / 3, () => this.heartbeat());
    this.every(this.config.flowTtlMs / 3, () => this.refreshFlows());
    this.ops = await startOpsServer({
      host: this.config.http.address,
      port: this.config.http.port,
      readiness: () => this.readiness(),
      metrics: this.metrics.registry,
      logger: this.logger.child({ component: 'ops' }),
      // The admin API, and the call-flow page that reads it (the page holds no data of its own).
      routes:
        this.config.adminToken === undefined
          ? {}
          : {
              ...adminRoutes({
                token: this.config.adminToken,
                bans: this.bans,
                registrations: this.deps.locations,
                dialogs: this.deps.dialogs,
                captures: this.deps.captures,
                drain: () => void this.drain(),
              }),
              ...callFlowPageRoute(),
            },
    });
    this.started = true;
    this.logger.info({ edgeId: this.config.edgeId, sip: this.listening(), http: this.ops.address }, 'edge listening');
    if (this.hep !== undefined && this.config.hep !== undefined) {
      const { collector, agentId, samplingPercent } = this.config.hep;
      this.logger.info({ collector, agentId, samplingPercent }, 'hep: exporting what this edge sends and receives');
    }
  }

  /** Where SIP is received (real ports when 0 was configured). */
  listening(): { udp: Endpoint[]; tcp: Endpoint[]; tls: Endpoint[]; ws: Endpoint[]; wss: Endpoint[] } {
    return {
      udp: this.udp?.addresses() ?? [],
      tcp: this.tcp?.addresses() ?? [],
      tls: this.tls?.addresses() ?? [],
      ws: this.ws?.addresses() ?? [],
      wss: this.wss?.addresses() ?? [],
    };
  }

  /** The transports whose flows are connections: TCP, TLS, WS and WSS. */
  private connectionTransports(): (StreamTransport | WebSocketTransport)[] {
    return [this.tcp, this.tls, this.ws, this.wss].filter((t) => t !== undefined);
  }

  get httpAddress(): Endpoint | undefined {
    return this.ops?.address;
  }

  /**
   * SIGTERM: readiness turns false, new initial requests are refused with 503, and the edge waits
   * until no hand-off or delivery is under way for a quiet period, or the deadline passes.
   */
  async drain(): Promise<void> {
    this.draining = true;
    this.inbound.startDraining();
    const deadline = Date.now() + this.config.drainDeadlineMs;
    const quietMs = Math.min(2 * this.config.t1, 2000);
    let quietSince = Date.now();
    while (Date.now() < deadline) {
      if (this.inbound.pending + this.outbound.pending > 0) quietSince = Date.now();
      else if (Date.now() - quietSince >= quietMs) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    this.logger.info({ pending: this.inbound.pending + this.outbound.pending }, 'edge drained');
  }

  /**
   * Leaves the fleet, then closes. The edge is taken off the live-edge list and announces it is
   * gone (SUBJECTS.edgeGone), so that workers send through other edges from then on; after a
   * drain it keeps sending for GONE_GRACE_MS more, for what workers sent before they heard. Its
   * outbound subscriptions are then drained (nothing already routed here is lost) before the
   * sockets close.
   */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.leaving = true;
    await this.deps.edges.remove(this.config.edgeId).catch((error: unknown) => {
      this.logger.warn({ err: error }, 'edge not removed from the live-edge list; it expires there');
    });
    await this.deps.bus.publish(SUBJECTS.edgeGone, Buffer.from(this.config.edgeId)).catch((error: unknown) => {
      this.logger.warn({ err: error }, 'edge departure not announced; workers learn it from the live-edge list');
    });
    if (this.draining) await new Promise((r) => setTimeout(r, GONE_GRACE_MS));
    await this.outbound.stop();
    await Promise.all([this.udp?.close(), ...this.connectionTransports().map((t) => t.close())]);
    await this.hep?.close();
    await this.callFlow?.close();
    this.pike.stop();
    this.keepalive.stop();
    await this.keepaliveSubscription?.unsubscribe();
    await this.bans.stop();
    await this.workers.stop();
    await this.ops?.close();
    this.started = false;
  }

  private transportHandler(): TransportHandler {
    const failed = (error: unknown) => this.logger.error({ err: error }, 'receive path failed');
    return {
      datagram: (data, arrival) => void this.inbound.datagram(data, arrival).catch(failed),
      streamMessage: (message, arrival) => void this.inbound.streamMessage(message, arrival).catch(failed),
      streamError: (error, _fatal, arrival) => void this.inbound.streamError(error, arrival).catch(failed),
      flowOpened: (flowId) => {
        this.metrics.flowOpened();
        this.deps.connections.register(flowId, this.config.edgeId, this.config.flowTtlMs).catch((error: Error) => {
          this.logger.warn({ flowId, err: error }, 'flow not registered in the connection directory');
        });
      },
      flowClosed: (flowId) => {
        this.metrics.flowClosed();
        this.deps.connections.remove(flowId, this.config.edgeId).catch(() => undefined);
      },
    };
  }

  /** A registration behind a NAT a worker asks this edge to keep open (SUBJECTS.edgeKeepalive). */
  private keepOpen(data: Uint8Array): void {
    try {
      const target = JSON.parse(Buffer.from(data).toString('utf8')) as KeepaliveTarget;
      if (typeof target.destination?.address !== 'string' || typeof target.destination.port !== 'number') return;
      this.keepalive.keep(target, Date.now());
    } catch (error) {
      this.logger.warn({ err: error }, 'nat keep-alive request not understood');
    }
  }

  private async heartbeat(): Promise<void> {
    // A heartbeat already under way when the edge left must not list it again.
    if (this.leaving) return;
    try {
      await this.deps.edges.heartbeat(this.config.edgeId, this.config.heartbeatTtlMs, Date.now());
      this.lastHeartbeatOk = Date.now();
    } catch (error) {
      this.logger.warn({ err: error }, 'heartbeat failed');
    }
  }

  private async refreshFlows(): Promise<void> {
    const flows = this.connectionTransports().flatMap((t) => t.flows());
    await Promise.all(
      flows.map((flowId) =>
        this.deps.connections.register(flowId, this.config.edgeId, this.config.flowTtlMs).catch(() => undefined),
      ),
    );
  }

  private readiness() {
    return {
      sockets: this.started,
      nats: this.deps.bus.connected,
      redis: Date.now() - this.lastHeartbeatOk < this.config.heartbeatTtlMs,
      draining: this.draining,
    };
  }

  private every(ms: number, task: () => Promise<void>): void {
    const timer = setInterval(() => void task(), ms);
    timer.unref();
    this.timers.push(timer);
  }
}
