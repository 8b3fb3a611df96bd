/**
 * Messages the benchmarks run on: one typical INVITE with an SDP offer, and the torture messages
 * (RFC 4475, RFC 5118) that their INDEX.md files class as valid.
 */
import { readFileSync } from 'node:fs';

const CRLF = '\r\n';

const SDP = [
  'v=0',
  'o=alice 2890844526 2890844526 IN IP4 198.51.100.17',
  's=-',
  'c=IN IP4 198.51.100.17',
  't=0 0',
  'm=audio 49170 RTP/AVP 0 8 9 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=sendrecv',
  '',
].join(CRLF);

/**
 * An INVITE as a proxy receives it from an edge proxy: two Vias, Record-Route, the usual
 * UA headers and an SDP offer with four codecs (about 1 KB, like most INVITEs on the wire).
 */
export const TYPICAL_INVITE: Buffer = Buffer.from(
  [
    'INVITE sip:bob@biloxi.example.com SIP/2.0',
    'Via: SIP/2.0/UDP edge1.atlanta.example.com:5060;branch=z9hG4bK2d4790.1;received=192.0.2.101',
    'Via: SIP/2.0/UDP 198.51.100.17:5060;rport=5060;received=198.51.100.17;branch=z9hG4bK74bf9a3c',
    'Max-Forwards: 69',
    'Record-Route: <sip:edge1.atlanta.example.com;lr>',
    'From: "Alice Liddell" <sip:alice@atlanta.example.com>;tag=9fxced76sl',
    'To: Bob <sip:bob@biloxi.example.com>',
    'Call-ID: 3848276298220188511@atlanta.example.com',
    'CSeq: 31862 INVITE',
    'Contact: <sip:alice@198.51.100.17:5060;transport=udp>;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"',
    'Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE, UPDATE, PRACK',
    'Supported: replaces, timer, 100rel, path',
    'Session-Expires: 1800',
    'User-Agent: ExamplePhone/5.2.1 (build 7731)',
    'Content-Type: application/sdp',
    `Content-Length: ${Buffer.byteLength(SDP)}`,
    '',
    SDP,
  ].join(CRLF),
  'latin1',
);

export interface TortureMessage {
  /** `rfc4475/wsinv.sip` */
  id: string;
  /** The class column of INDEX.md, e.g. `valid syntax`. */
  class: string;
  bytes: Buffer;
}

const TORTURE = new URL('../libs/sip/test/fixtures/torture/', import.meta.url);

/** Rows of an INDEX.md table: `| \`name.sip\` | § | title | class | ...`. */
function indexRows(set: string): { name: string; class: string }[] {
  const text = readFileSync(new URL(`${set}/INDEX.md`, TORTURE), 'utf8');
  const rows: { name: string; class: string }[] = [];
  for (const line of text.split('\n')) {
    const m = /^\| `([^`]+\.sip)` \|/.exec(line);
    if (m === null) continue;
    const cells = line.split(' | ');
    rows.push({ name: m[1]!, class: (cells[3] ?? '').trim() });
  }
  return rows;
}

/** Every message listed in the RFC 4475 and RFC 5118 INDEX.md files, with its class. */
export function tortureMessages(): TortureMessage[] {
  const out: TortureMessage[] = [];
  for (const set of ['rfc4475', 'rfc5118']) {
    for (const row of indexRows(set)) {
      out.push({
        id: `${set}/${row.name}`,
        class: row.class,
        bytes: readFileSync(new URL(`${set}/${row.name}`, TORTURE)),
      });
    }
  }
  return out;
}

/** The torture messages whose INDEX.md class starts with "valid" (incl. "valid syntax", "valid (response)"). */
export function validTortureMessages(): TortureMessage[] {
  return tortureMessages().filter((m) => m.class.startsWith('valid'));
}
