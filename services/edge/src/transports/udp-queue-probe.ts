import { randomBytes } from 'node:crypto';
import { STANDING_WINDOW_MS, StandingDelay } from '@sipedge/handoff';

/** How often a probe is sent (ms). */
const PROBE_INTERVAL_MS = 50;
/** Probes in flight at most: beyond, the oldest is forgotten. */
const MAX_OUTSTANDING = 200;
/**
 * A probe not read back after this long was dropped by the kernel (a full receive queue drops
 * datagrams): the queue stands at least this long, for a window; the probe is given up so that the
 * figure can fall again once later probes come back.
 */
const LOST_AFTER_MS = 2000;
/** A probe starts with NUL: no SIP message or STUN request does (RFC 5626 §4.4.2 STUN starts 0x00 0x01). */
const MAGIC = Buffer.from('\0sipedge-queue-probe:', 'latin1');

/**
 * The probes' standing wait: the least of STANDING_PROBES probes or more within PROBE_STANDING_WINDOW_MS
 * (a queue that held every probe of that long stands; a burst that drains lets one through). The
 * window is the workers' (STANDING_WINDOW_MS, T1): a queue that stood for less than T1 made no
 * sender retransmit (RFC 3261 §17.1.1.2), while bursts near capacity can stand for hundreds of
 * milliseconds without being overload (docs/performance.md).
 */
export const PROBE_STANDING_WINDOW_MS = STANDING_WINDOW_MS;
const STANDING_PROBES = 5;
const newStandingDelay = () => new StandingDelay(PROBE_STANDING_WINDOW_MS, STANDING_PROBES);

/**
 * How long a datagram waits before this edge reads it. Node cannot timestamp a datagram on arrival,
 * and when the process is saturated the wait is mostly in the kernel's receive queue (libuv reads a
 * few dozen datagrams per loop turn): the event loop's lag stays moderate while the queue holds
 * seconds of traffic. So the edge sends itself a probe through its own listening socket every
 * PROBE_INTERVAL_MS and measures when it reads it back: the probe waits behind everything queued
 * before it. A probe carries a random token of this process and a send time; a datagram that
 * does not carry the token is not a probe (and is handled as any other).
 */
export class UdpQueueProbe {
  readonly #token = randomBytes(16).toString('hex');
  readonly #prefix = Buffer.concat([MAGIC, Buffer.from(`${this.#token}:`, 'latin1')]);
  /** Send times (performance-like ms) of the probes not yet read back, oldest first. */
  readonly #outstanding: number[] = [];
  /** The probes' waits, as a standing delay: a burst that drains does not count. */
  #waits = newStandingDelay();
  /** A probe was lost (a full queue drops datagrams): the queue stands at least this long. */
  #lostAt: number | undefined;
  /** The wait of the probe read back last. */
  #lastMs = 0;
  /**
   * A probe has come back since the start: the way to the edge's own socket works. Until then a
   * probe not read back says nothing about the queue (a firewall that drops the edge's datagrams
   * to itself, a namespace whose loopback is down): the probes are judged only once one came back,
   * so that such a set-up never refuses calls as if overloaded.
   */
  #proven = false;
  #timer: NodeJS.Timeout | undefined;

  /** Starts sending a probe every PROBE_INTERVAL_MS through `send` (to the edge's own socket). */
  start(send: (probe: Buffer) => void, now: () => number = Date.now): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => send(this.probe(now())), PROBE_INTERVAL_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#outstanding.length = 0;
    this.#waits = newStandingDelay();
    this.#lostAt = undefined;
    this.#lastMs = 0;
    this.#proven = false;
  }

  /** A probe sent at `sentAt` (public for tests). */
  probe(sentAt: number): Buffer {
    this.#outstanding.push(sentAt);
    if (this.#outstanding.length > MAX_OUTSTANDING) this.#outstanding.shift();
    return Buffer.concat([this.#prefix, Buffer.from(String(sentAt), 'latin1')]);
  }

  /** True when `data` is one of this process' probes, read at `now`: its wait is noted. */
  received(data: Buffer, now: number): boolean {
    if (
      data.length <= this.#prefix.length ||
      data[0] !== 0 ||
      !data.subarray(0, this.#prefix.length).equals(this.#prefix)
    ) {
      return false;
    }
    const sentAt = Number(data.subarray(this.#prefix.length).toString('latin1'));
    const index = this.#outstanding.indexOf(sentAt);
    if (index < 0) return true;
    this.#proven = true;
    this.#outstanding.splice(0, index + 1);
    this.#lastMs = Math.max(0, now - sentAt);
    this.#waits.observe(this.#lastMs, now);
    return true;
  }

  /**
   * The wait that stands in the receive queue now (ms): the least wait of the probes read back
   * over the last window; at least a whole window while a probe has been queued longer than that;
   * LOST_AFTER_MS for a window after a probe was lost; 0 until a probe has come back.
   */
  standingMs(now: number): number {
    while (this.#outstanding.length > 0 && now - this.#outstanding[0]! > LOST_AFTER_MS) {
      this.#outstanding.shift();
      if (this.#proven) this.#lostAt = now;
    }
    if (!this.#proven) return 0;
    if (this.#lostAt !== undefined && now - this.#lostAt < PROBE_STANDING_WINDOW_MS) return LOST_AFTER_MS;
    const oldest = this.#outstanding[0];
    const waiting = oldest === undefined ? 0 : now - oldest;
    return Math.max(this.#waits.value(now), waiting > PROBE_STANDING_WINDOW_MS ? waiting : 0);
  }

  /** The wait now (ms): the last probe's, or longer while one sent before is still queued; 0 until a probe has come back. */
  latestMs(now: number): number {
    if (!this.#proven) return 0;
    const oldest = this.#outstanding[0];
    return Math.max(this.#lastMs, oldest === undefined ? 0 : now - oldest - PROBE_INTERVAL_MS);
  }
}
