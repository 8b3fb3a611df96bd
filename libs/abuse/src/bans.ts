import { parseAddress } from '@sipedge/net';
import { sourceFailureKey } from './failure-keys.js';
import type { AbuseLogger, AbuseState, Ban, BanChannel } from './ports.js';

/** The bus subject on which every ban and lift is announced to every edge and worker. */
export const BAN_SUBJECT = 'sipedge.abuse.bans';

export interface BanSettings {
  /** How long a ban lasts (ms). */
  durationMs: number;
  /** How often the shared ban list's version is read, to catch up with what the bus missed (ms). */
  syncMs: number;
  /** Bans held in this process at most; beyond, the oldest is forgotten (default 100,000). */
  maxBans?: number;
}

/** What travels on BAN_SUBJECT. */
type Announcement = { ban: Ban } | { lift: string };

const DEFAULT_MAX_BANS = 100_000;

/**
 * The ban list of the fleet as one process sees it. Bans live in the shared state (Redis, or the
 * in-memory twin standalone); every process keeps a copy, so that a banned source is refused
 * without a round trip. A ban or lift is written to the shared state and announced on the bus
 * (every edge and worker applies it at once); each process also reads the shared list's version
 * every `syncMs` and reloads the list when it moved (a process that started later, or missed an
 * announcement, catches up). Exempt sources (trusted ones) are never banned.
 */
export class Bans {
  readonly #local = new Map<string, Ban>();
  readonly #maxBans: number;
  #version: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #subscription: { unsubscribe(): Promise<void> } | undefined;
  #syncFailing = false;

  constructor(
    private readonly state: AbuseState,
    private readonly channel: BanChannel,
    private readonly exempt: (address: string) => boolean,
    private readonly settings: BanSettings,
    private readonly logger: AbuseLogger,
  ) {
    this.#maxBans = settings.maxBans ?? DEFAULT_MAX_BANS;
  }

  /** Subscribes to announcements, loads the list, and keeps it in sync. */
  async start(): Promise<void> {
    this.#subscription = await this.channel.subscribe(BAN_SUBJECT, (message) => this.#hear(message.data));
    await this.sync();
    this.#timer = setInterval(() => void this.sync(), this.settings.syncMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#subscription?.unsubscribe();
  }

  /** Whether `address` (as a socket reports it) is banned at `now`. No I/O. */
  isBanned(address: string, now: number): boolean {
    const ban = this.#local.get(unmapped(address));
    if (ban === undefined) return false;
    if (ban.until > now) return true;
    this.#local.delete(ban.address);
    return false;
  }

  /**
   * Bans `address` for the configured time, fleet-wide: in this process at once, then in the shared
   * state, then announced (resolves once announced). Returns the ban, or undefined for an exempt
   * source or one that is not an IP address. A failure to reach the shared state or the bus is
   * logged: the ban holds here, and the others learn of it from the next sync that succeeds.
   */
  async ban(
    address: string,
    reason: string,
    now: number,
    durationMs = this.settings.durationMs,
  ): Promise<Ban | undefined> {
    const canonical = canonicalAddress(address);
    if (canonical === undefined || this.exempt(canonical)) return undefined;
    const ban: Ban = { address: canonical, until: now + durationMs, reason, createdAt: now };
    this.#keep(ban);
    this.logger.warn({ address: canonical, reason, seconds: Math.round(durationMs / 1000) }, 'source banned');
    try {
      await this.state.ban(ban);
      await this.#announce({ ban });
    } catch (error) {
      this.logger.warn({ err: error, address: canonical }, 'ban not shared with the fleet yet');
    }
    return ban;
  }

  /**
   * Lifts a ban fleet-wide and forgets the source's failed authentications (else its next failure
   * would ban it again); false when `address` was not banned. Errors of the shared state reach the
   * caller (an operator); the announcement's are logged, the others catch up at their next sync.
   */
  async lift(address: string): Promise<boolean> {
    const canonical = canonicalAddress(address);
    if (canonical === undefined) return false;
    this.#local.delete(canonical);
    const lifted = await this.state.unban(canonical);
    await this.state.clearFailures([sourceFailureKey(canonical)]);
    try {
      await this.#announce({ lift: canonical });
    } catch (error) {
      this.logger.warn({ err: error, address: canonical }, 'lifted ban not announced to the fleet');
    }
    if (lifted) this.logger.info({ address: canonical }, 'ban lifted');
    return lifted;
  }

  /** The bans in force, from the shared state. */
  list(now: number): Promise<Ban[]> {
    return this.state.bans(now);
  }

  /** Reloads the list when the shared version moved. Called every `syncMs`; errors are logged once. */
  async sync(now = Date.now()): Promise<void> {
    try {
      const version = await this.state.version();
      if (version !== this.#version) {
        const bans = await this.state.bans(now);
        this.#local.clear();
        for (const ban of bans) this.#keep(ban);
        this.#version = version;
      }
      if (this.#syncFailing) this.logger.info({}, 'ban list in sync again');
      this.#syncFailing = false;
    } catch (error) {
      if (!this.#syncFailing) this.logger.warn({ err: error }, 'ban list not synced: keeping the bans known here');
      this.#syncFailing = true;
    }
  }

  #keep(ban: Ban): void {
    this.#local.delete(ban.address);
    if (this.#local.size >= this.#maxBans) {
      const oldest = this.#local.keys().next();
      if (!oldest.done) this.#local.delete(oldest.value);
    }
    this.#local.set(ban.address, ban);
  }

  #hear(data: Uint8Array): void {
    let announcement: Announcement;
    try {
      announcement = JSON.parse(Buffer.from(data).toString('utf8')) as Announcement;
    } catch {
      return;
    }
    if ('ban' in announcement && typeof announcement.ban?.address === 'string') {
      if (!this.exempt(announcement.ban.address)) this.#keep(announcement.ban);
    } else if ('lift' in announcement && typeof announcement.lift === 'string') {
      this.#local.delete(announcement.lift);
    }
  }

  #announce(announcement: Announcement): Promise<void> {
    return this.channel.publish(BAN_SUBJECT, Buffer.from(JSON.stringify(announcement), 'utf8'));
  }
}

/**
 * An address in the one form bans are kept in: IPv4-mapped IPv6 as IPv4, IPv6 compressed
 * (RFC 5952, as Node prints socket addresses). Undefined for anything else.
 */
export function canonicalAddress(address: string): string | undefined {
  return parseAddress(address)?.toString();
}

/** A socket's address without the IPv4-mapped prefix (the cheap part of canonicalAddress, for every message). */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
