/**
 * Header field names: canonical spelling, compact forms (RFC 3261 §7.3.3 and the IANA registry:
 * o = Event, u = Allow-Events) and which headers hold comma-separated lists (§7.3.1).
 * Internally a header is identified by its lower-case long name, its "key".
 */

const COMPACT: Record<string, string> = {
  a: 'accept-contact',
  b: 'referred-by',
  c: 'content-type',
  d: 'request-disposition',
  e: 'content-encoding',
  f: 'from',
  i: 'call-id',
  j: 'reject-contact',
  k: 'supported',
  l: 'content-length',
  m: 'contact',
  n: 'identity-info',
  o: 'event',
  r: 'refer-to',
  s: 'subject',
  t: 'to',
  u: 'allow-events',
  v: 'via',
  x: 'session-expires',
  y: 'identity',
};

/** Spellings that title-casing would get wrong. */
const CANONICAL: Record<string, string> = {
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  'www-authenticate': 'WWW-Authenticate',
  'mime-version': 'MIME-Version',
  rack: 'RAck',
  rseq: 'RSeq',
};

/**
 * Headers whose grammar is a comma-separated list (`#element`), so that rows and commas are
 * equivalent. Authorization-type headers are deliberately absent: a credential or challenge is one
 * value even though it contains commas (§7.3.1).
 */
const LIST_HEADERS = new Set([
  'accept',
  'accept-encoding',
  'accept-language',
  'alert-info',
  'allow',
  'allow-events',
  'call-info',
  'contact',
  'content-encoding',
  'content-language',
  'error-info',
  'in-reply-to',
  'path',
  'proxy-require',
  'record-route',
  'require',
  'route',
  'service-route',
  'supported',
  'unsupported',
  'via',
  'warning',
]);

/** Headers that may appear at most once (§20 and RFC 4475 §3.3.8). */
const SINGLE_HEADERS = new Set(['call-id', 'cseq', 'from', 'to', 'max-forwards', 'content-length', 'content-type']);

/** Header names seen at most: names a peer makes up must not grow the caches without end. */
const CACHED_NAMES = 1024;
const keyCache = new Map<string, string>();
const canonicalCache = new Map<string, string>();

/** `derive(name)`, kept in `cache` (while it has room) for the next message with that name. */
function cached(cache: Map<string, string>, name: string, derive: (name: string) => string): string {
  let value = cache.get(name);
  if (value === undefined) {
    value = derive(name);
    if (cache.size < CACHED_NAMES) cache.set(name, value);
  }
  return value;
}

/** The lower-case long name a header name (any case, compact or long) stands for. */
export function headerKey(name: string): string {
  return cached(keyCache, name, keyOf);
}

/** The conventional spelling of a header (e.g. `call-id` → `Call-ID`, `max-forwards` → `Max-Forwards`). */
export function canonicalName(name: string): string {
  return cached(canonicalCache, name, canonicalOf);
}

function keyOf(name: string): string {
  const lower = name.toLowerCase();
  return COMPACT[lower] ?? lower;
}

function canonicalOf(name: string): string {
  const key = headerKey(name);
  return CANONICAL[key] ?? key.replace(/(^|-)([a-z])/g, (_m, dash: string, ch: string) => dash + ch.toUpperCase());
}

export function isListHeader(key: string): boolean {
  return LIST_HEADERS.has(key);
}

export function isSingleValueHeader(key: string): boolean {
  return SINGLE_HEADERS.has(key);
}
