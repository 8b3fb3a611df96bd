/**
 * A cheap look at raw bytes an edge receives or sends, before (or without) parsing them: is this a
 * SIP message, and what is its Call-ID? What the edge captures for HEP is decided on this alone, so
 * that STUN, CRLF keep-alives and other garbage are never exported, and a call's messages are
 * sampled by the same key whichever way they went.
 */

/** A request line (`METHOD uri SIP/2.0`) or a status line (`SIP/2.0 200 …`); SIP-Version is case-insensitive. */
const START_LINE = /^(?:SIP\/2\.0 \d{3}(?: .*)?|[A-Za-z0-9.!%*_+`'~-]+ \S+ SIP\/2\.0)$/i;
/** Longest start line looked at (a longer Request-URI is not worth capturing as SIP). */
const MAX_START_LINE = 8192;
const LF = 0x0a;
const CR = 0x0d;
const CRLFCRLF = Buffer.from('\r\n\r\n');
const CALL_ID = /\n(?:call-id|i)[ \t]*:[ \t]*([^\r\n]*)/i;

/** Where the start line begins: leading CRLFs are skipped, as the parser does (§7.5). */
function startOf(data: Uint8Array): number {
  let at = 0;
  while (at + 1 < data.length && data[at] === CR && data[at + 1] === LF) at += 2;
  return at;
}

/** True when `data` begins with a SIP request or status line (after leading CRLFs). */
export function looksLikeSip(data: Uint8Array): boolean {
  const start = startOf(data);
  const first = data[start];
  // A letter: STUN (first byte 0x00 or 0x01), keep-alives and binary garbage are out at once.
  if (first === undefined || !((first >= 0x41 && first <= 0x5a) || (first >= 0x61 && first <= 0x7a))) return false;
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const lf = buf.indexOf(LF, start);
  if (lf < 0 || lf - start > MAX_START_LINE) return false;
  const end = lf > start && buf[lf - 1] === CR ? lf - 1 : lf;
  return START_LINE.test(buf.toString('latin1', start, end));
}

/**
 * The Call-ID (`Call-ID` or its compact form `i`) of a SIP message's bytes, as written and
 * trimmed, from the header section only; undefined when there is none.
 */
export function callIdOf(data: Uint8Array): string | undefined {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const headEnd = buf.indexOf(CRLFCRLF);
  const head = buf.toString('latin1', 0, headEnd < 0 ? buf.length : headEnd + 2);
  const value = CALL_ID.exec(head)?.[1]?.trim();
  return value === undefined || value === '' ? undefined : value;
}
