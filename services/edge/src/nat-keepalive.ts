import { randomBytes } from 'node:crypto';
import type { KeepaliveTarget } from '@sipedge/handoff';
import type { SipMessage } from '@sipedge/sip';
import type { Logger } from '@sipedge/telemetry';
import type { Endpoint } from './transports/types.js';

/** How registrations behind a NAT are kept open (`nat.keepalive`). */
export interface KeepaliveSettings {
  /** `options`: an OPTIONS the contact answers (a silent one is removed); `crlf`: four bytes; `off`. */
  mode: 'off' | 'crlf' | 'options';
  /** Between two keep-alives to one contact, ± 25 % so that they spread over time (ms). */
  intervalMs: number;
  /** OPTIONS in a row a contact leaves unanswered before its bindings are removed. */
  misses: number;
  /** Contacts kept at most by this edge (default 100,000); beyond, the one ending soonest is dropped. */
  maxContacts?: number;
}

export interface KeepaliveDeps {
  /** Sends a datagram from the edge's UDP socket (the one the contact's NAT binding points at). */
  send(data: Buffer, destination: Endpoint): Promise<void>;
  /** Removes bindings of a contact that stopped answering. */
  remove(aor: string, contacts: readonly string[]): Promise<void>;
  /** The fleet's address, for the OPTIONS' Via and From. */
  advertised: { host: string; port: number; ipv6Host?: string };
  logger: Logger;
}

interface Kept extends KeepaliveTarget {
  nextAt: number;
  misses: number;
  /** The branch of the OPTIONS not answered yet. */
  waiting?: string;
}

/** Our keep-alive OPTIONS carry branches with this prefix (RFC 3261 magic cookie first). */
const BRANCH_PREFIX = 'z9hG4bKka';
const CRLFCRLF = Buffer.from('\r\n\r\n');
const DEFAULT_MAX_CONTACTS = 100_000;

/**
 * Keeps the NAT bindings of UDP contacts open (RFC 5626 §4.4, as Kamailio's nathelper does for
 * phones that know nothing of it): each edge pings the contacts that registered through it, every
 * `intervalMs` ± 25 %, so the fleet's pings spread over edges and time. With `options`, a contact
 * that leaves `misses` pings in a row unanswered has its bindings removed; any response counts as
 * an answer. A registration that ends, or is refreshed through another edge, stops here when its
 * time is up.
 */
export class NatKeepalive {
  readonly #kept = new Map<string, Kept>();
  readonly #byBranch = new Map<string, string>();
  readonly #max: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly settings: KeepaliveSettings,
    private readonly deps: KeepaliveDeps,
  ) {
    this.#max = settings.maxContacts ?? DEFAULT_MAX_CONTACTS;
  }

  get size(): number {
    return this.#kept.size;
  }

  start(): void {
    if (this.settings.mode === 'off') return;
    this.#timer = setInterval(() => void this.tick(Date.now()), Math.min(1000, this.settings.intervalMs / 4));
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Keeps `target` open until its `until` (a new registration of the same source replaces the old). */
  keep(target: KeepaliveTarget, now: number): void {
    if (this.settings.mode === 'off') return;
    const key = keyOf(target.destination);
    const existing = this.#kept.get(key);
    if (existing === undefined && this.#kept.size >= this.#max) this.#dropSoonestEnding();
    this.#kept.set(key, {
      ...target,
      nextAt: existing?.nextAt ?? now + this.#interval(),
      misses: existing?.misses ?? 0,
      ...(existing?.waiting === undefined ? {} : { waiting: existing.waiting }),
    });
  }

  /** Whether a response answers one of our OPTIONS (it is then consumed here). */
  answered(response: SipMessage): boolean {
    const branch = response.topVia?.branch;
    if (branch === undefined || !branch.startsWith(BRANCH_PREFIX)) return false;
    const key = this.#byBranch.get(branch);
    this.#byBranch.delete(branch);
    const kept = key === undefined ? undefined : this.#kept.get(key);
    if (kept !== undefined && kept.waiting === branch) {
      kept.waiting = undefined;
      kept.misses = 0;
    }
    return true;
  }

  /** Sends the keep-alives that are due; counts an OPTIONS left unanswered since the last one as a miss. */
  async tick(now: number): Promise<void> {
    const due = [...this.#kept].filter(([, kept]) => kept.nextAt <= now || kept.until <= now);
    for (const [key, kept] of due) {
      if (kept.until <= now) {
        this.#forget(key, kept);
        continue;
      }
      if (kept.waiting !== undefined) {
        this.#byBranch.delete(kept.waiting);
        kept.waiting = undefined;
        if (++kept.misses >= this.settings.misses) {
          this.#forget(key, kept);
          this.deps.logger.info(
            { aor: kept.aor, contacts: kept.contacts, misses: kept.misses },
            'nat keep-alive: contact does not answer, bindings removed',
          );
          await this.deps.remove(kept.aor, kept.contacts).catch((error: unknown) => {
            this.deps.logger.warn({ err: error, aor: kept.aor }, 'nat keep-alive: bindings not removed');
          });
          continue;
        }
      }
      kept.nextAt = now + this.#interval();
      await this.#ping(key, kept);
    }
  }

  async #ping(key: string, kept: Kept): Promise<void> {
    let data: Buffer = CRLFCRLF;
    if (this.settings.mode === 'options') {
      const branch = `${BRANCH_PREFIX}${randomBytes(8).toString('hex')}`;
      kept.waiting = branch;
      this.#byBranch.set(branch, key);
      data = this.#options(kept.destination, branch);
    }
    await this.deps.send(data, kept.destination).catch((error: unknown) => {
      this.deps.logger.debug({ err: error, destination: kept.destination }, 'nat keep-alive not sent');
    });
  }

  /** An OPTIONS to the contact's public address (§11): any answer shows its binding is open. */
  #options(destination: Endpoint, branch: string): Buffer {
    const { port, ipv6Host } = this.deps.advertised;
    const v6 = destination.address.includes(':');
    // Our address of the contact's family (RFC 5658), so that its answer comes back.
    const host = v6 && ipv6Host !== undefined ? ipv6Host : this.deps.advertised.host;
    const target = v6 ? `[${destination.address}]` : destination.address;
    const ours = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
    return Buffer.from(
      [
        `OPTIONS sip:${target}:${destination.port} SIP/2.0`,
        `Via: SIP/2.0/UDP ${ours}:${port};branch=${branch};rport`,
        'Max-Forwards: 70',
        `From: <sip:keepalive@${ours}>;tag=${randomBytes(6).toString('hex')}`,
        `To: <sip:${target}:${destination.port}>`,
        `Call-ID: ${branch}@${ours}`,
        'CSeq: 1 OPTIONS',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
      'latin1',
    );
  }

  #interval(): number {
    return Math.round(this.settings.intervalMs * (0.75 + Math.random() * 0.5));
  }

  #forget(key: string, kept: Kept): void {
    this.#kept.delete(key);
    if (kept.waiting !== undefined) this.#byBranch.delete(kept.waiting);
  }

  #dropSoonestEnding(): void {
    let soonest: [string, Kept] | undefined;
    for (const entry of this.#kept) if (soonest === undefined || entry[1].until < soonest[1].until) soonest = entry;
    if (soonest !== undefined) this.#forget(soonest[0], soonest[1]);
  }
}

function keyOf(destination: Endpoint): string {
  return `${destination.address}|${destination.port}`;
}
