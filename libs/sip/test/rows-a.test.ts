/** Parsing and message integrity (RFC 3261 §7, §8.1.1, §16.6, §18, §25) at the library level. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { StreamFramer, buildResponse, headerKey, isAnswerable, parseMessage } from '../src/index.js';
import { INVITE_HEAD, parseErrorOf, wire, withVias } from './helpers.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('case-insensitive header names and compact forms (§7.3.3)', () => {
  it('maps every compact form to its long name', () => {
    const pairs: Record<string, string> = {
      c: 'content-type',
      e: 'content-encoding',
      f: 'from',
      i: 'call-id',
      k: 'supported',
      l: 'content-length',
      m: 'contact',
      s: 'subject',
      t: 'to',
      v: 'via',
      o: 'event',
      u: 'allow-events',
    };
    for (const [short, long] of Object.entries(pairs)) {
      expect(headerKey(short)).toBe(long);
      expect(headerKey(short.toUpperCase())).toBe(long);
    }
  });

  it('reads a request written only in compact and mixed-case names, and keeps its bytes', () => {
    const bytes = wire([
      'INVITE sip:bob@example.com SIP/2.0',
      'v: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKa1',
      'f: <sip:alice@example.com>;tag=1',
      't: <sip:bob@example.com>',
      'i: compact@192.0.2.1',
      'cSeQ: 7 INVITE',
      'm: <sip:alice@192.0.2.1>',
      'l: 0',
    ]);
    const m = parseMessage(bytes);
    expect(m.topVia?.branch).toBe('z9hG4bKa1');
    expect(m.from.tag).toBe('1');
    expect(m.callId).toBe('compact@192.0.2.1');
    expect(m.cseq).toEqual({ seq: 7, method: 'INVITE' });
    expect(m.contentLength).toBe(0);
    m.prepend('Via', 'SIP/2.0/UDP edge.example.com;branch=z9hG4bKedge');
    const out = m.toBuffer().toString('latin1');
    // Untouched rows keep their compact names and values.
    for (const row of ['f: <sip:alice@example.com>;tag=1', 'i: compact@192.0.2.1', 'cSeQ: 7 INVITE', 'l: 0']) {
      expect(out).toContain(`\r\n${row}\r\n`);
    }
  });
});

describe('repeated rows are equivalent to comma lists; same-name order kept (§7.3.1)', () => {
  const base = INVITE_HEAD.slice(0, 7);
  const oneRow = parseMessage(wire([...base, 'Route: <sip:edge.example.com;lr>, <sip:p2;lr>,<sip:p3;lr>', 'l: 0']));
  const threeRows = parseMessage(
    wire([...base, 'Route: <sip:edge.example.com;lr>', 'Route: <sip:p2;lr>', 'Route: <sip:p3;lr>', 'l: 0']),
  );

  it('reads the same Route sequence from both forms', () => {
    const hosts = (m: typeof oneRow) => m.routes.map((r) => r.uri.toString());
    expect(hosts(oneRow)).toEqual(['sip:edge.example.com;lr', 'sip:p2;lr', 'sip:p3;lr']);
    expect(hosts(threeRows)).toEqual(hosts(oneRow));
  });

  it('removing our own Route leaves the rest in order in both forms', () => {
    for (const m of [oneRow.clone(), threeRows.clone()]) {
      expect(m.removeFirst('Route')).toBe('<sip:edge.example.com;lr>');
      expect(m.routes.map((r) => r.uri.toString())).toEqual(['sip:p2;lr', 'sip:p3;lr']);
      const reparsed = parseMessage(m.toBuffer());
      expect(reparsed.values('Route')).toEqual(['<sip:p2;lr>', '<sip:p3;lr>']);
    }
  });

  it('keeps Via order through a response built from the request', () => {
    const req = parseMessage(
      withVias(
        'OPTIONS sip:bob@example.com SIP/2.0',
        [
          'SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/TCP b.example.com;branch=z9hG4bK2',
          'SIP/2.0/UDP c.example.com;branch=z9hG4bK3',
        ],
        '1 OPTIONS',
      ),
    );
    const res = parseMessage(buildResponse(req, 200).toBuffer());
    expect(res.vias.map((v) => v.branch)).toEqual(['z9hG4bK1', 'z9hG4bK2', 'z9hG4bK3']);
  });
});

describe('authorization headers are never split on commas (§7.3.1)', () => {
  const auth =
    'Digest username="alice", realm="atlanta.example.com", nonce="dcd98b,7102dd2", uri="sip:bob@example.com", ' +
    'qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="a,b"';
  const m = parseMessage(
    wire([
      'REGISTER sip:example.com SIP/2.0',
      'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKr1',
      'To: <sip:alice@example.com>',
      'From: <sip:alice@example.com>;tag=x',
      'Call-ID: reg1',
      'CSeq: 2 REGISTER',
      `Authorization: ${auth}`,
      `Proxy-Authorization: ${auth}`,
      'l: 0',
    ]),
  );

  it('keeps each credential as one value with its quoted commas', () => {
    expect(m.values('Authorization')).toEqual([auth]);
    const [credentials] = m.authorizations;
    expect(credentials?.scheme).toBe('Digest');
    expect(credentials?.params.get('opaque')).toBe('"a,b"');
    expect(credentials?.params.get('nonce')).toBe('"dcd98b,7102dd2"');
    expect(credentials?.params.get('nc')).toBe('00000001');
    expect(credentials?.params.get('qop')).toBe('auth');
    expect(m.proxyAuthorizations).toHaveLength(1);
  });

  it('treats WWW-Authenticate and Proxy-Authenticate rows as one challenge each', () => {
    const challenge = 'Digest realm="a,b", nonce="n1", qop="auth,auth-int", algorithm=MD5';
    const res = parseMessage(
      wire([
        'SIP/2.0 401 Unauthorized',
        'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKr1',
        'To: <sip:alice@example.com>;tag=t',
        'From: <sip:alice@example.com>;tag=x',
        'Call-ID: reg1',
        'CSeq: 2 REGISTER',
        `WWW-Authenticate: ${challenge}`,
        `WWW-Authenticate: ${challenge.replace('n1', 'n2')}`,
        `Proxy-Authenticate: ${challenge}`,
        'l: 0',
      ]),
    );
    expect(res.wwwAuthenticates.map((c) => c.params.get('nonce'))).toEqual(['"n1"', '"n2"']);
    expect(res.proxyAuthenticates[0]?.params.get('qop')).toBe('"auth,auth-int"');
  });
});

describe('quoted strings and display names with commas and escapes (§25.1)', () => {
  it('reads the display name and forwards the row byte-identical', () => {
    const from = 'From: "Doe, John \\"JD\\"" <sip:j@x>;tag=1';
    const bytes = wire([...INVITE_HEAD.slice(0, 4), from, ...INVITE_HEAD.slice(5), 'l: 0']);
    const m = parseMessage(bytes);
    expect(m.from.displayText).toBe('Doe, John "JD"');
    expect(m.from.tag).toBe('1');
    expect(m.toBuffer().equals(bytes)).toBe(true);
    m.set('Max-Forwards', '69');
    expect(m.toBuffer().toString('latin1')).toContain(`\r\n${from}\r\n`);
  });

  it('does not split a list value at a comma inside a quoted display name', () => {
    const m = parseMessage(
      wire([...INVITE_HEAD.slice(0, 7), 'Contact: "Doe, John" <sip:j@x>, <sip:k@y>;q=0.5', 'l: 0']),
    );
    expect(m.contacts).toHaveLength(2);
  });
});

describe('header line folding (§7.3.1)', () => {
  it('unfolds a continuation line and keeps the folded bytes on the wire', () => {
    const bytes = wire([...INVITE_HEAD, 'Subject: a', '  b', 'l: 0']);
    const m = parseMessage(bytes);
    expect(m.get('Subject')).toBe('a b');
    expect(m.toBuffer().equals(bytes)).toBe(true);
    m.set('Max-Forwards', '69');
    expect(m.toBuffer().toString('latin1')).toContain('\r\nSubject: a\r\n  b\r\n');
  });

  it('unfolds tab continuations inside structured values', () => {
    const m = parseMessage(wire([...INVITE_HEAD.slice(0, 6), 'CSeq: 314159', '\tINVITE', 'l: 0']));
    expect(m.cseq).toEqual({ seq: 314159, method: 'INVITE' });
  });
});

describe('unknown methods and headers; body untouched; order kept (§16.3 step 1, §16.6 step 1)', () => {
  it('parses an extension method and keeps unknown headers in order through a change', () => {
    const sdp = 'v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';
    const bytes = wire(
      [
        'FOO sip:bob@remote.test SIP/2.0',
        'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKfoo',
        'X-B: second-but-first',
        'To: <sip:bob@remote.test>',
        'From: <sip:a@b.test>;tag=1',
        'X-A: 1',
        'Call-ID: foo1',
        'CSeq: 1 FOO',
        'X-A: 2',
        'Content-Type: application/sdp',
        `Content-Length: ${sdp.length}`,
      ],
      sdp,
    );
    const m = parseMessage(bytes);
    expect(m.method).toBe('FOO');
    m.prepend('Via', 'SIP/2.0/UDP edge.example.com;branch=z9hG4bKx');
    m.set('Max-Forwards', '70');
    const out = parseMessage(m.toBuffer());
    expect(out.rows.filter((r) => r.key.startsWith('x-')).map((r) => `${r.name}: ${r.value}`)).toEqual([
      'X-B: second-but-first',
      'X-A: 1',
      'X-A: 2',
    ]);
    expect(sha256(out.body)).toBe(sha256(Buffer.from(sdp)));
  });
});

describe('mandatory headers and malformed requests (§8.1.1, §16.3 step 1)', () => {
  it('rejects a request without Call-ID with 400 but does not answer it: the response would lack a Call-ID', () => {
    const e = parseErrorOf(() =>
      parseMessage(wire(INVITE_HEAD.filter((l) => !l.startsWith('Call-ID')).concat('l: 0'))),
    );
    expect(e.status).toBe(400);
    expect(e.reason).toBe('Missing Call-ID');
    expect(e.answerable).toBe(false);
    expect(e.topVia).toBe('SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds');
  });

  it('answers only what a well-formed response can be built from (§8.2.6.2: Via, From, To, Call-ID, CSeq)', () => {
    const withRows = (rows: string[]) => parseErrorOf(() => parseMessage(wire(rows.concat('l: 0'))));
    const replace = (name: string, row: string) => INVITE_HEAD.map((l) => (l.startsWith(`${name}:`) ? row : l));
    // Errors elsewhere are answered, and the 400 is a well-formed response.
    for (const e of [
      withRows(replace('Max-Forwards', 'Max-Forwards: 256')),
      withRows([...INVITE_HEAD, 'Contact: <']),
    ]) {
      expect(e.answerable).toBe(true);
      const response = parseMessage(buildResponse(e.partial!, e.status!, { reason: e.reason }).toBuffer());
      expect(response.status).toBe(400);
      expect(response.callId).toBe(e.callId);
    }
    // A copied row missing, repeated or malformed: the 400 would be malformed too, so nothing is sent.
    for (const rows of [
      INVITE_HEAD.filter((l) => !l.startsWith('From')),
      [...INVITE_HEAD, 'To: <sip:other@example.com>'],
      replace('To', 'To: "unbalanced <sip:bob@biloxi.example.com>'),
      replace('CSeq', 'CSeq: 4294967296 INVITE'),
      [...INVITE_HEAD, 'Via: SIP/2.0/UDP 192.0.2.1:99999'],
      replace('Call-ID', 'Call-ID: a b'),
    ]) {
      expect(withRows(rows).answerable).toBe(false);
    }
    expect(isAnswerable(parseMessage(wire([...INVITE_HEAD, 'l: 0'])))).toBe(true);
    const ack = ['ACK sip:bob@biloxi.example.com SIP/2.0', ...replace('CSeq', 'CSeq: 314159 ACK').slice(1), 'l: 0'];
    expect(isAnswerable(parseMessage(wire(ack)))).toBe(false);
  });

  it('drops a request without Via: no status to answer', () => {
    const e = parseErrorOf(() => parseMessage(wire(INVITE_HEAD.filter((l) => !l.startsWith('Via')).concat('l: 0'))));
    expect(e.code).toBe('missing-header');
    expect(e.status).toBeUndefined();
    expect(e.answerable).toBe(false);
  });

  it('turns garbage into a SipParseError, never another exception', () => {
    for (const junk of ['', '\r\n', 'hello', '\x00\x01\x02\xff', 'SIP/2.0', 'INVITE', ':\r\n\r\n', 'A B C\r\n\r\n']) {
      const e = parseErrorOf(() => parseMessage(Buffer.from(junk, 'latin1')));
      expect(e.name).toBe('SipParseError');
    }
  });
});

describe('start-line validation (§7.1, §7.2)', () => {
  it('answers SIP/3.0 with 505', () => {
    const e = parseErrorOf(() => parseMessage(wire(['INVITE sip:a@b SIP/3.0', ...INVITE_HEAD.slice(1), 'l: 0'])));
    expect(e.status).toBe(505);
    expect(e.answerable).toBe(true);
  });

  it('drops a response with a four-digit status code', () => {
    const e = parseErrorOf(() => parseMessage(wire(['SIP/2.0 2000 OK', ...INVITE_HEAD.slice(1), 'l: 0'])));
    expect(e.code).toBe('bad-status-code');
    expect(e.status).toBeUndefined();
  });

  it('rejects a method that is not a token and a request line with other than three parts', () => {
    expect(parseErrorOf(() => parseMessage(wire(['INV@ITE sip:a@b SIP/2.0', ...INVITE_HEAD.slice(1)]))).code).toBe(
      'bad-method',
    );
    expect(parseErrorOf(() => parseMessage(wire(['INVITE sip:a@b', ...INVITE_HEAD.slice(1)]))).code).toBe(
      'bad-start-line',
    );
  });

  it('accepts status codes 100–699 only', () => {
    expect(parseErrorOf(() => parseMessage(wire(['SIP/2.0 099 Odd', ...INVITE_HEAD.slice(1)]))).code).toBe(
      'bad-status-code',
    );
    expect(parseMessage(wire(['SIP/2.0 699 Odd', ...INVITE_HEAD.slice(1), 'l: 0'])).status).toBe(699);
  });
});

describe('Content-Length framing (§18.3)', () => {
  const body20 = '01234567890123456789';

  it('UDP: truncates the body to Content-Length (§18.3)', () => {
    const m = parseMessage(wire([...INVITE_HEAD, 'Content-Length: 10'], body20));
    expect(m.body.toString()).toBe('0123456789');
    expect(m.toBuffer().toString('latin1').endsWith('\r\n\r\n0123456789')).toBe(true);
  });

  it('UDP: a Content-Length beyond the datagram is a 400', () => {
    const e = parseErrorOf(() => parseMessage(wire([...INVITE_HEAD, 'Content-Length: 30'], body20)));
    expect(e.code).toBe('truncated-body');
    expect(e.status).toBe(400);
  });

  it('WebSocket: one message per WebSocket message, Content-Length optional (RFC 7118 §5)', () => {
    const framing = 'websocket';
    expect(parseMessage(wire(INVITE_HEAD, body20), { framing }).body.toString()).toBe(body20);
    const two = Buffer.concat([wire([...INVITE_HEAD, 'Content-Length: 0']), wire([...INVITE_HEAD, 'l: 0'])]);
    const trailing = parseErrorOf(() => parseMessage(two, { framing }));
    expect([trailing.code, trailing.status, trailing.partial?.cseq.seq]).toEqual(['trailing-octets', 400, 314159]);
    const half = parseErrorOf(() => parseMessage(wire([...INVITE_HEAD, 'Content-Length: 30'], body20), { framing }));
    expect(half.code).toBe('truncated-body');
  });

  it('TCP: two messages in one segment and one message split across segments', () => {
    const one = wire([...INVITE_HEAD, 'Content-Length: 20'], body20);
    const two = wire([...INVITE_HEAD.map((l) => l.replace('314159', '314160')), 'Content-Length: 0']);
    const framer = new StreamFramer();
    const joined = Buffer.concat([one, two, one]);
    const first = framer.push(joined.subarray(0, one.length + two.length + 17));
    expect(first.map((e) => e.type)).toEqual(['message', 'message']);
    const rest = framer.push(joined.subarray(one.length + two.length + 17));
    expect(rest.map((e) => e.type)).toEqual(['message']);
    const seqs = [...first, ...rest].map((e) => (e.type === 'message' ? e.message.cseq.seq : -1));
    expect(seqs).toEqual([314159, 314160, 314159]);
    expect(framer.buffered).toBe(0);
  });
});

describe('Content-Length for stream transports (§16.6 step 9 via §18.3)', () => {
  it('inserts the correct Content-Length when the message has none', () => {
    const body = 'v=0\r\n';
    const m = parseMessage(wire(INVITE_HEAD, body));
    expect(m.contentLength).toBeUndefined();
    m.ensureContentLength();
    expect(parseMessage(m.toBuffer(), { framing: 'stream' }).contentLength).toBe(body.length);
  });

  it('recomputes Content-Length when the body changes', () => {
    const m = parseMessage(wire([...INVITE_HEAD, 'Content-Length: 0']));
    m.body = Buffer.from('hello');
    const out = parseMessage(m.toBuffer());
    expect(out.contentLength).toBe(5);
    expect(out.body.toString()).toBe('hello');
  });
});

describe('CSeq and Max-Forwards numeric validation (§8.1.1.5, §20.22)', () => {
  const withRow = (row: string, replace: string) =>
    wire([...INVITE_HEAD.filter((l) => !l.startsWith(replace)), row, 'l: 0']);

  it('rejects a CSeq of 2^32 and accepts 2^31 - 1', () => {
    expect(parseErrorOf(() => parseMessage(withRow('CSeq: 4294967296 INVITE', 'CSeq'))).status).toBe(400);
    expect(parseErrorOf(() => parseMessage(withRow('CSeq: 2147483648 INVITE', 'CSeq'))).status).toBe(400);
    expect(parseMessage(withRow('CSeq: 2147483647 INVITE', 'CSeq')).cseq.seq).toBe(2147483647);
  });

  it('rejects a CSeq method that differs from the request method', () => {
    const e = parseErrorOf(() => parseMessage(withRow('CSeq: 1 BYE', 'CSeq')));
    expect(e.code).toBe('cseq-method-mismatch');
    expect(e.status).toBe(400);
  });

  it('rejects a non-numeric CSeq and Max-Forwards out of 0–255', () => {
    expect(parseErrorOf(() => parseMessage(withRow('CSeq: one INVITE', 'CSeq'))).header).toBe('CSeq');
    expect(parseErrorOf(() => parseMessage(withRow('Max-Forwards: 256', 'Max-Forwards'))).header).toBe('Max-Forwards');
    expect(parseErrorOf(() => parseMessage(withRow('Max-Forwards: -1', 'Max-Forwards'))).status).toBe(400);
    expect(parseMessage(withRow('Max-Forwards: 0070', 'Max-Forwards')).maxForwards).toBe(70);
  });
});

describe('UDP messages up to 65,535 bytes (§18.1.1)', () => {
  it('parses an 8 KB INVITE', () => {
    const body = 'a=x-filler:'.padEnd(8000, 'x') + '\r\n';
    const m = parseMessage(wire([...INVITE_HEAD, `Content-Length: ${body.length}`], body));
    expect(m.body.length).toBe(body.length);
    expect(m.toBuffer().length).toBeGreaterThan(8192);
  });

  it('accepts exactly 65,535 bytes and rejects larger with 513', () => {
    const head = wire([...INVITE_HEAD, 'Content-Length: 00000']);
    const bodyLength = 65535 - head.length;
    const exact = wire(
      [...INVITE_HEAD, `Content-Length: ${String(bodyLength).padStart(5, '0')}`],
      'b'.repeat(bodyLength),
    );
    expect(exact.length).toBe(65535);
    expect(parseMessage(exact).body.length).toBe(bodyLength);
    const e = parseErrorOf(() => parseMessage(Buffer.concat([exact, Buffer.from('b')])));
    expect(e.code).toBe('too-large');
    expect(e.status).toBe(513);
  });
});
