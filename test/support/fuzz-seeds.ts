/**
 * The valid messages a fuzz run mutates (sip-mutations.ts): requests of every common kind aimed at
 * the proxy itself, at users of its served domain (its own address, 127.0.0.1) or at a sink UAS on
 * loopback, and responses. Every host is a loopback address, so that a mutated message that still
 * parses names no other machine.
 */

export type SeedTransport = 'UDP' | 'TCP';

export interface SeedAddressing {
  transport: SeedTransport;
  /** The proxy's port on 127.0.0.1 (it serves the domain 127.0.0.1). */
  proxyPort: number;
  /** The sink UAS's port on 127.0.0.1 (UDP and TCP): the contacts users register and out-of-domain targets. */
  sinkPort: number;
  /** The sender's Via sent-by, `<address>:<port>`: where answers go. */
  sender: string;
  /** The user this sender registers (its contact is the sink). */
  registrant: string;
  /** The registered user this sender calls (another sender may have registered it). */
  callee: string;
  /** Makes Call-IDs, tags and branches unique per case (fixed width keeps mutation positions stable). */
  caseId: string;
}

export interface Seed {
  name: string;
  bytes: Buffer;
}

const SDP = [
  'v=0',
  'o=alice 2890844526 2890844526 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 49170 RTP/AVP 0 8 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=sendrecv',
  '',
].join('\r\n');

/** A message from its start line, header rows and body, with a correct Content-Length. */
function message(name: string, startLine: string, rows: readonly string[], body = ''): Seed {
  const text = [startLine, ...rows, `Content-Length: ${Buffer.byteLength(body, 'latin1')}`, '', body].join('\r\n');
  return { name, bytes: Buffer.from(text, 'latin1') };
}

/** The requests of one sender: each a valid message that sipedge answers, forwards to the sink or (ACK) absorbs. */
export function requestSeeds(a: SeedAddressing): Seed[] {
  const proxy = `127.0.0.1:${a.proxyPort}`;
  const sink = `127.0.0.1:${a.sinkPort}`;
  const tcp = a.transport === 'TCP' ? ';transport=tcp' : '';
  const id = a.caseId;
  const via = (rport = '') => `Via: SIP/2.0/${a.transport} ${a.sender};branch=z9hG4bK-fz${id}${rport}`;
  const dialog = (method: string, from = 'alice', to = 'bob', cseq = 1) => [
    `From: "Alice" <sip:${from}@127.0.0.1>;tag=fa${id}`,
    `To: <sip:${to}@127.0.0.1>`,
    `Call-ID: fz${id}@127.0.0.1`,
    `CSeq: ${cseq} ${method}`,
  ];
  const contact = `Contact: <sip:alice@${a.sender}${tcp}>`;
  const digest = (header: string, uri: string) =>
    `${header}: Digest username="alice", realm="127.0.0.1", nonce="bm9uY2U${id}", uri="${uri}", ` +
    `response="0123456789abcdef0123456789abcdef", algorithm=MD5, qop=auth, nc=00000001, cnonce="c${id}"`;
  return [
    message(
      'INVITE with SDP to an unregistered user',
      'INVITE sip:bob@127.0.0.1 SIP/2.0',
      [
        via(),
        'Max-Forwards: 70',
        ...dialog('INVITE'),
        contact,
        'Allow: INVITE, ACK, CANCEL, BYE, OPTIONS',
        'Supported: replaces, timer',
        'Content-Type: application/sdp',
      ],
      SDP,
    ),
    message(
      'INVITE to a registered user',
      `INVITE sip:${a.callee}@127.0.0.1 SIP/2.0`,
      [
        via(';rport'),
        'Max-Forwards: 70',
        ...dialog('INVITE', 'alice', a.callee),
        contact,
        'Content-Type: application/sdp',
      ],
      SDP,
    ),
    message('REGISTER with Contact and Expires', 'REGISTER sip:127.0.0.1 SIP/2.0', [
      via(),
      'Max-Forwards: 70',
      ...dialog('REGISTER', a.registrant, a.registrant),
      `Contact: <sip:${a.registrant}@${sink}${tcp}>;expires=120`,
      'Expires: 120',
    ]),
    message('REGISTER with two contacts and Authorization', 'REGISTER sip:127.0.0.1 SIP/2.0', [
      via(';rport'),
      'Max-Forwards: 70',
      ...dialog('REGISTER', a.registrant, a.registrant, 2),
      `Contact: <sip:${a.registrant}@${sink}${tcp}>;q=0.9, <sip:${a.registrant}-2@${sink}${tcp}>;q=0.5`,
      digest('Authorization', 'sip:127.0.0.1'),
      'Expires: 120',
    ]),
    message('OPTIONS to the proxy', `OPTIONS sip:${proxy} SIP/2.0`, [
      via(),
      'Max-Forwards: 70',
      ...dialog('OPTIONS', 'alice', 'proxy'),
      'Accept: application/sdp, text/plain',
    ]),
    message('OPTIONS to an unregistered user', 'OPTIONS sip:bob@127.0.0.1 SIP/2.0', [
      via(';rport'),
      'Max-Forwards: 70',
      ...dialog('OPTIONS'),
    ]),
    message(
      'MESSAGE with a body',
      `MESSAGE sip:${a.callee}@127.0.0.1 SIP/2.0`,
      [via(), 'Max-Forwards: 70', ...dialog('MESSAGE', 'alice', a.callee), 'Content-Type: text/plain;charset=utf-8'],
      'Hello, sipedge. \u00e9\u00e8 ;,<>"',
    ),
    message('SUBSCRIBE', `SUBSCRIBE sip:${a.callee}@127.0.0.1 SIP/2.0`, [
      via(),
      'Max-Forwards: 70',
      ...dialog('SUBSCRIBE', 'alice', a.callee),
      contact,
      'Event: presence',
      'Accept: application/pidf+xml',
      'Expires: 600',
    ]),
    message('BYE in a dialog through our Route', `BYE sip:${a.callee}@${sink}${tcp} SIP/2.0`, [
      via(),
      'Max-Forwards: 70',
      `Route: <sip:${proxy};lr>`,
      `From: <sip:alice@127.0.0.1>;tag=fa${id}`,
      `To: <sip:${a.callee}@127.0.0.1>;tag=tb${id}`,
      `Call-ID: fz${id}@127.0.0.1`,
      'CSeq: 2 BYE',
    ]),
    message('ACK in a dialog', `ACK sip:${a.callee}@${sink}${tcp} SIP/2.0`, [
      via(),
      'Max-Forwards: 70',
      `From: <sip:alice@127.0.0.1>;tag=fa${id}`,
      `To: <sip:${a.callee}@127.0.0.1>;tag=tb${id}`,
      `Call-ID: fz${id}@127.0.0.1`,
      'CSeq: 1 ACK',
    ]),
    message('CANCEL without its INVITE', `CANCEL sip:${a.callee}@${sink}${tcp} SIP/2.0`, [
      via(),
      'Max-Forwards: 70',
      `From: <sip:alice@127.0.0.1>;tag=fa${id}`,
      `To: <sip:${a.callee}@127.0.0.1>;tag=tc${id}`,
      `Call-ID: fz${id}@127.0.0.1`,
      'CSeq: 1 CANCEL',
    ]),
    message(
      'INVITE with Route, Record-Route and Proxy-Authorization',
      `INVITE sip:bob@${sink}${tcp} SIP/2.0`,
      [
        via(';rport'),
        'Max-Forwards: 70',
        `Route: <sip:${proxy};lr>, <sip:${sink};lr${tcp}>`,
        `Record-Route: <sip:${sink};lr>`,
        ...dialog('INVITE'),
        contact,
        digest('Proxy-Authorization', `sip:bob@${sink}`),
        'Content-Type: application/sdp',
      ],
      SDP,
    ),
    message('OPTIONS from an IPv6 Via with rport', `OPTIONS sip:${proxy} SIP/2.0`, [
      `Via: SIP/2.0/${a.transport} [::1]:5062;branch=z9hG4bK-fz${id};rport`,
      'Max-Forwards: 70',
      ...dialog('OPTIONS', 'alice', 'proxy'),
    ]),
    message(
      'MESSAGE in compact form',
      `MESSAGE sip:${a.callee}@127.0.0.1 SIP/2.0`,
      [
        `v: SIP/2.0/${a.transport} ${a.sender};branch=z9hG4bK-fz${id}`,
        'Max-Forwards: 70',
        `f: <sip:alice@127.0.0.1>;tag=fa${id}`,
        `t: <sip:${a.callee}@127.0.0.1>`,
        `i: fz${id}@127.0.0.1`,
        'CSeq: 1 MESSAGE',
        'c: text/plain',
        'k: 100rel',
        's: compact',
      ],
      'compact',
    ),
    message(
      'INVITE with multi-value headers',
      `INVITE sip:${a.callee}@127.0.0.1 SIP/2.0`,
      [
        `Via: SIP/2.0/${a.transport} ${a.sender};branch=z9hG4bK-fz${id}, SIP/2.0/UDP ${sink};branch=z9hG4bK-up${id}`,
        `Via: SIP/2.0/UDP ${sink};branch=z9hG4bK-up2`,
        'Max-Forwards: 69',
        ...dialog('INVITE', 'alice', a.callee),
        contact,
        'Supported: replaces, 100rel, timer',
        'Allow: INVITE, ACK',
        'Allow: CANCEL, BYE',
        'Accept: application/sdp, multipart/mixed',
        'Content-Type: application/sdp',
      ],
      SDP,
    ),
    message('NOTIFY', `NOTIFY sip:${a.callee}@127.0.0.1 SIP/2.0`, [
      via(),
      'Max-Forwards: 70',
      ...dialog('NOTIFY', 'alice', a.callee),
      'Event: presence',
      'Subscription-State: active;expires=600',
    ]),
    message('an unknown method', `FOO sip:${a.callee}@127.0.0.1 SIP/2.0`, [
      via(),
      'Max-Forwards: 70',
      ...dialog('FOO', 'alice', a.callee),
    ]),
    message('INVITE to a tel: URI', 'INVITE tel:+1-555-0100 SIP/2.0', [via(), 'Max-Forwards: 70', ...dialog('INVITE')]),
  ];
}

/**
 * Responses of one sender (which sipedge must never answer, §18.1.2): a sender's own Via on top
 * (dropped at the edge), and the proxy's Via on top with the sink below it (forwarded to the sink).
 */
export function responseSeeds(a: SeedAddressing): Seed[] {
  const id = a.caseId;
  const rows = (status: string, method = 'INVITE') => [
    `From: <sip:alice@127.0.0.1>;tag=fa${id}`,
    `To: <sip:bob@127.0.0.1>;tag=tb${id}`,
    `Call-ID: fz${id}@127.0.0.1`,
    `CSeq: 1 ${method}`,
    `Server: fuzz ${status}`,
  ];
  const own = `Via: SIP/2.0/${a.transport} ${a.sender};branch=z9hG4bK-fz${id}`;
  return [
    message(
      '200 to INVITE',
      'SIP/2.0 200 OK',
      [own, ...rows('200'), `Contact: <sip:bob@${a.sender}>`, 'Content-Type: application/sdp'],
      SDP,
    ),
    message('180 Ringing', 'SIP/2.0 180 Ringing', [own, ...rows('180')]),
    message('486 to BYE', 'SIP/2.0 486 Busy Here', [own, ...rows('486', 'BYE')]),
    message('100 Trying', 'SIP/2.0 100 Trying', [own, ...rows('100')]),
    message('200 through the proxy', 'SIP/2.0 200 OK', [
      `Via: SIP/2.0/${a.transport} 127.0.0.1:${a.proxyPort};branch=z9hG4bK-fz${id}`,
      `Via: SIP/2.0/${a.transport} 127.0.0.1:${a.sinkPort};branch=z9hG4bK-sink${id}`,
      ...rows('200', 'OPTIONS'),
    ]),
  ];
}
