import type { Bus, Subscription } from '@sipedge/bus';
import { SUBJECTS } from '@sipedge/handoff';
import type { EdgeRegistry } from '@sipedge/store';
import type { Logger } from '@sipedge/telemetry';

/** How often the live-edge list is read by default (ms). */
const DEFAULT_REFRESH_MS = 1000;

/** How old the live-edge list may be before an edge missing from it is looked up again (ms). */
const LIVE_EDGES_RECHECK_MS = 250;

/** Edge ids remembered as seen (edges come and go with their pods): beyond this the memory starts over. */
const MAX_SEEN_EDGES = 10_000;

/**
 * The edges with a current heartbeat, as this worker sees them: a copy of the live-edge registry
 * read at `start` and every `refreshMs` after, and the departures edges announce as they stop
 * (SUBJECTS.edgeGone), which take effect at once. A message for an edge that is gone goes to any
 * live edge instead (`EffectRunner.send`). Without a registry every edge counts as live.
 */
export class EdgeDirectory {
  /** Edges with a current heartbeat; undefined until first read (or without a registry). */
  private liveEdges: Set<string> | undefined;
  /** Every edge some list has named: one never named is looked up at once (it has just started). */
  private readonly seenEdges = new Set<string>();
  /** Edges that announced their departure → when this worker heard it (epoch ms). */
  private readonly departed = new Map<string, number>();
  /** When the live-edge list was last read (epoch ms). */
  private liveEdgesReadAt = 0;
  private liveEdgesTimer: NodeJS.Timeout | undefined;
  private departures: Subscription | undefined;

  constructor(
    private readonly edges: EdgeRegistry | undefined,
    private readonly logger: Logger,
    private readonly refreshMs = DEFAULT_REFRESH_MS,
    private readonly bus?: Pick<Bus, 'subscribe'>,
  ) {}

  /** Hears departures, reads the list once and then every `refreshMs` (when there is a registry). */
  async start(): Promise<void> {
    if (this.edges === undefined) return;
    this.departures = await this.bus?.subscribe(SUBJECTS.edgeGone, (message) =>
      this.departedNow(Buffer.from(message.data).toString('utf8')),
    );
    await this.refreshLiveEdges();
    this.liveEdgesTimer = setInterval(() => void this.refreshLiveEdges(), this.refreshMs);
    this.liveEdgesTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.liveEdgesTimer);
    await this.departures?.unsubscribe();
  }

  /**
   * Whether an edge has a current heartbeat. An edge missing from the list is looked up again first
   * when no list has named it yet (it has just started: an edge that starts after its worker, as in
   * standalone mode, is not in the worker's first list, yet hands off messages at once), or when
   * the list is more than LIVE_EDGES_RECHECK_MS old.
   */
  async isLiveEdge(edgeId: string): Promise<boolean> {
    if (this.liveEdges === undefined || this.liveEdges.has(edgeId)) return true;
    if (!this.seenEdges.has(edgeId) || Date.now() - this.liveEdgesReadAt > LIVE_EDGES_RECHECK_MS) {
      await this.refreshLiveEdges();
    }
    return this.liveEdges.has(edgeId);
  }

  /** An edge said it is gone: no message goes to it from now on, whatever a list read earlier says. */
  private departedNow(edgeId: string): void {
    this.liveEdges?.delete(edgeId);
    if (this.departed.size >= MAX_SEEN_EDGES) this.departed.clear();
    this.departed.set(edgeId, Date.now());
  }

  private async refreshLiveEdges(): Promise<void> {
    try {
      const now = Date.now();
      const listed = await this.edges!.live(now);
      // A list read before a departure was heard may still name the edge (it left the list before
      // announcing); a later list naming it again means it is back.
      this.liveEdges = new Set(listed.filter((edgeId) => !((this.departed.get(edgeId) ?? -Infinity) >= now)));
      for (const [edgeId, heardAt] of this.departed) if (heardAt < now) this.departed.delete(edgeId);
      this.liveEdgesReadAt = now;
      if (this.seenEdges.size > MAX_SEEN_EDGES) this.seenEdges.clear();
      for (const edgeId of this.liveEdges) this.seenEdges.add(edgeId);
    } catch (error) {
      // Keep the last known list: sending to a named edge is the better guess while Redis is away.
      this.logger.warn({ err: error }, 'live edges not refreshed');
    }
  }
}
