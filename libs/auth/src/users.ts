/**
 * What the verifier needs to know about a user: precomputed HA1 values (RFC 7616 §3.4.2, per
 * algorithm, hex) or the password itself.
 */
export type UserCredentials =
  { readonly ha1: { readonly md5?: string; readonly sha256?: string } } | { readonly password: string };

/**
 * The credential source port. `username` and `realm` are readable text (UTF-8 decoded). Returns
 * null for an unknown user. Implemented by `StaticUserDirectory` (configuration), `TableUserDirectory`
 * (a shared user table such as Redis) and `firstFound` (several in order).
 */
export interface UserDirectory {
  lookup(username: string, realm: string): Promise<UserCredentials | null>;
}

/** One configured user: a password, or HA1 values computed for `realm`. */
export interface StaticUser {
  readonly username: string;
  readonly password?: string;
  readonly ha1Md5?: string;
  readonly ha1Sha256?: string;
  /** The realm the entry is for; absent: every realm (HA1 values then only verify for the realm they were computed with). */
  readonly realm?: string;
}

const HEX32 = /^[0-9a-fA-F]{32}$/;
const HEX64 = /^[0-9a-fA-F]{64}$/;

/** A user directory from configuration. An entry for the exact realm wins over one for every realm. */
export class StaticUserDirectory implements UserDirectory {
  private readonly byRealm = new Map<string, UserCredentials>();
  private readonly anyRealm = new Map<string, UserCredentials>();

  constructor(users: readonly StaticUser[]) {
    for (const user of users) {
      const credentials = credentialsOf(user);
      const [map, key] =
        user.realm === undefined ? [this.anyRealm, user.username] : [this.byRealm, entryKey(user.username, user.realm)];
      if (map.has(key)) {
        throw new RangeError(`user "${user.username}" is configured twice for the same realm`);
      }
      map.set(key, credentials);
    }
  }

  async lookup(username: string, realm: string): Promise<UserCredentials | null> {
    return this.byRealm.get(entryKey(username, realm)) ?? this.anyRealm.get(username) ?? null;
  }
}

function entryKey(username: string, realm: string): string {
  return JSON.stringify([username, realm]);
}

/** A user's credentials after checking the entry: a password or well-formed HA1 values, not both. */
export function credentialsOf(user: StaticUser): UserCredentials {
  if (user.username.length === 0) throw new RangeError('a user needs a username');
  const hasHa1 = user.ha1Md5 !== undefined || user.ha1Sha256 !== undefined;
  if (user.password !== undefined && hasHa1) {
    throw new RangeError(`user "${user.username}": give a password or HA1 values, not both`);
  }
  if (user.password === undefined && !hasHa1) {
    throw new RangeError(`user "${user.username}": a password or an HA1 value is needed`);
  }
  if (user.ha1Md5 !== undefined && !HEX32.test(user.ha1Md5)) {
    throw new RangeError(`user "${user.username}": ha1Md5 must be 32 hex digits`);
  }
  if (user.ha1Sha256 !== undefined && !HEX64.test(user.ha1Sha256)) {
    throw new RangeError(`user "${user.username}": ha1Sha256 must be 64 hex digits`);
  }
  return user.password !== undefined
    ? { password: user.password }
    : { ha1: { md5: user.ha1Md5?.toLowerCase(), sha256: user.ha1Sha256?.toLowerCase() } };
}

/** Where `TableUserDirectory` reads entries: the store's `UserTable` port has this shape. */
export interface UserEntries {
  get(realm: string, username: string): Promise<string | null>;
}

/**
 * Users from a shared table (per realm, username → JSON `{"password": …}` or `{"ha1Md5": …,
 * "ha1Sha256": …}`), read on every lookup so a change reaches every worker at once. An entry that
 * does not parse or check is reported through `onInvalid` and treated as an unknown user: the
 * request is challenged, never let through.
 */
export class TableUserDirectory implements UserDirectory {
  constructor(
    private readonly entries: UserEntries,
    private readonly onInvalid: (username: string, realm: string, error: Error) => void,
  ) {}

  async lookup(username: string, realm: string): Promise<UserCredentials | null> {
    const text = await this.entries.get(realm, username);
    if (text === null) return null;
    try {
      const entry = JSON.parse(text) as unknown;
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
        throw new RangeError(`user "${username}": the entry must be a JSON object`);
      }
      const { password, ha1Md5, ha1Sha256 } = entry as Record<string, unknown>;
      for (const [name, value] of Object.entries({ password, ha1Md5, ha1Sha256 })) {
        if (value !== undefined && typeof value !== 'string') {
          throw new RangeError(`user "${username}": ${name} must be a string`);
        }
      }
      return credentialsOf({
        username,
        realm,
        ...(password === undefined ? {} : { password: password as string }),
        ...(ha1Md5 === undefined ? {} : { ha1Md5: ha1Md5 as string }),
        ...(ha1Sha256 === undefined ? {} : { ha1Sha256: ha1Sha256 as string }),
      });
    } catch (error) {
      this.onInvalid(username, realm, error as Error);
      return null;
    }
  }
}

/** The first directory that knows the user answers (e.g. configured users, then the shared table). */
export function firstFound(...directories: UserDirectory[]): UserDirectory {
  return {
    async lookup(username, realm) {
      for (const directory of directories) {
        const found = await directory.lookup(username, realm);
        if (found !== null) return found;
      }
      return null;
    },
  };
}
