import type { EdgeRegistry } from '@sipedge/store';
import type { Logger } from '@sipedge/telemetry';

/** How often the live-edge list is read by default (ms). */
const DEFAULT_REFRESH_MS = 1000;

/** How old the live-edge list may be before an edge missing from it is looked up again (ms). */
const LIVE_EDGES_RECHECK_MS = 250;

/**
 * The edges with a current heartbeat, as this worker sees them: a copy of the live-edge registry
 * read at `start` and every `refreshMs` after. A message for an edge that is gone goes to any live
 * edge instead (`EffectRunner.send`). Without a registry every edge counts as live.
 */
export class EdgeDirectory {
  /** Edges with a current heartbeat; undefined until first read (or without a registry). */
  private liveEdges: Set<string> | undefined;
  /** When the live-edge list was last read (epoch ms). */
  private liveEdgesReadAt = 0;
  private liveEdgesTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly edges: EdgeRegistry | undefined,
    private readonly logger: Logger,
    private readonly refreshMs = DEFAULT_REFRESH_MS,
  ) {}

  /** Reads the list once and then every `refreshMs` (when there is a registry). */
  async start(): Promise<void> {
    if (this.edges === undefined) return;
    await this.refreshLiveEdges();
    this.liveEdgesTimer = setInterval(() => void this.refreshLiveEdges(), this.refreshMs);
    this.liveEdgesTimer.unref();
  }

  stop(): void {
    clearInterval(this.liveEdgesTimer);
  }

  /**
   * Whether an edge has a current heartbeat. An edge missing from a list more than
   * LIVE_EDGES_RECHECK_MS old is looked up again first: it may have started since (an edge that
   * starts after its worker, as in standalone mode, is not in the worker's first list).
   */
  async isLiveEdge(edgeId: string): Promise<boolean> {
    if (this.liveEdges === undefined || this.liveEdges.has(edgeId)) return true;
    if (Date.now() - this.liveEdgesReadAt > LIVE_EDGES_RECHECK_MS) await this.refreshLiveEdges();
    return this.liveEdges.has(edgeId);
  }

  private async refreshLiveEdges(): Promise<void> {
    try {
      const now = Date.now();
      this.liveEdges = new Set(await this.edges!.live(now));
      this.liveEdgesReadAt = now;
    } catch (error) {
      // Keep the last known list: sending to a named edge is the better guess while Redis is away.
      this.logger.warn({ err: (error as Error).message }, 'live edges not refreshed');
    }
  }
}
