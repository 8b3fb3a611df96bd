import { describe, expect, it } from 'vitest';
import {
  HEP_CHUNK,
  HEP_FAMILY,
  HEP_IP_PROTOCOL,
  HEP_PROTOCOL_TYPE,
  HepDecodeError,
  HepTooLargeError,
  type HepPacket,
  decodeHep,
  encodeHep,
} from '../src/hep/codec.js';
import { addressBytes, addressText } from '../src/hep/codec.js';
import { fnv1a32 } from '../src/call-hash.js';
import { keySampler, samplePoint } from '../src/hep/sampling.js';
import { callIdOf, looksLikeSip } from '../src/hep/sniff.js';

const INVITE = Buffer.from(
  [
    'INVITE sip:bob@example.com SIP/2.0',
    'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1',
    'Max-Forwards: 70',
    'From: <sip:alice@example.com>;tag=a',
    'To: <sip:bob@example.com>',
    'Call-ID: call-1@192.0.2.10',
    'CSeq: 1 INVITE',
    'Content-Length: 4',
    '',
    'body',
  ].join('\r\n'),
  'latin1',
);

function packet(overrides: Partial<HepPacket> = {}): HepPacket {
  return {
    ipProtocol: HEP_IP_PROTOCOL.udp,
    source: { address: '192.0.2.10', port: 5062 },
    destination: { address: '198.51.100.1', port: 5060 },
    timeUs: 1_700_000_000_123_456,
    protocolType: HEP_PROTOCOL_TYPE.sip,
    agentId: 2001,
    payload: INVITE,
    ...overrides,
  };
}

/** The chunk layout read by hand, independently of decodeHep: [vendor, type, length] each. */
function chunkHeads(data: Buffer): [number, number, number][] {
  const heads: [number, number, number][] = [];
  for (let at = 6; at < data.length; at += data.readUInt16BE(at + 4)) {
    heads.push([data.readUInt16BE(at), data.readUInt16BE(at + 2), data.readUInt16BE(at + 4)]);
  }
  return heads;
}

describe('HEP3 encoder', () => {
  it('writes the HEP3 header, the total length and the spec chunks in order (IPv4, UDP)', () => {
    const data = encodeHep(packet({ password: 'secret', correlationId: 'call-1@192.0.2.10' }));
    expect(data.subarray(0, 4).toString('latin1')).toBe('HEP3');
    expect(data.readUInt16BE(4)).toBe(data.length);
    expect(chunkHeads(data)).toEqual([
      [0, HEP_CHUNK.ipFamily, 7],
      [0, HEP_CHUNK.ipProtocol, 7],
      [0, HEP_CHUNK.ipv4Source, 10],
      [0, HEP_CHUNK.ipv4Destination, 10],
      [0, HEP_CHUNK.sourcePort, 8],
      [0, HEP_CHUNK.destinationPort, 8],
      [0, HEP_CHUNK.timestampSeconds, 10],
      [0, HEP_CHUNK.timestampMicroseconds, 10],
      [0, HEP_CHUNK.protocolType, 7],
      [0, HEP_CHUNK.agentId, 10],
      [0, HEP_CHUNK.authKey, 6 + 'secret'.length],
      [0, HEP_CHUNK.correlationId, 6 + 'call-1@192.0.2.10'.length],
      [0, HEP_CHUNK.payload, 6 + INVITE.length],
    ]);
    // 6 header + 7+7+10+10+8+8+10+10+7+10 fixed chunks + the three variable ones.
    expect(data.length).toBe(6 + 87 + 12 + 23 + 6 + INVITE.length);
    // The values, at the offsets the layout gives them.
    expect(data[12]).toBe(HEP_FAMILY.ipv4);
    expect(data[19]).toBe(17);
    expect([...data.subarray(26, 30)]).toEqual([192, 0, 2, 10]);
    expect([...data.subarray(36, 40)]).toEqual([198, 51, 100, 1]);
    expect(data.readUInt16BE(46)).toBe(5062);
    expect(data.readUInt16BE(54)).toBe(5060);
    expect(data.readUInt32BE(62)).toBe(1_700_000_000);
    expect(data.readUInt32BE(72)).toBe(123_456);
    expect(data[82]).toBe(1);
    expect(data.readUInt32BE(89)).toBe(2001);
    expect(data.subarray(data.length - INVITE.length).equals(INVITE)).toBe(true);
  });

  it('leaves the auth key and correlation id out when not given', () => {
    const types = chunkHeads(encodeHep(packet())).map(([, type]) => type);
    expect(types).not.toContain(HEP_CHUNK.authKey);
    expect(types).not.toContain(HEP_CHUNK.correlationId);
    expect(types.at(-1)).toBe(HEP_CHUNK.payload);
  });

  it('round-trips through the decoder (IPv4, UDP)', () => {
    const original = packet({ password: 'pässword', correlationId: 'call-1@192.0.2.10' });
    const decoded = decodeHep(encodeHep(original));
    expect(decoded).toMatchObject({
      family: HEP_FAMILY.ipv4,
      ipProtocol: 17,
      source: original.source,
      destination: original.destination,
      timeUs: original.timeUs,
      protocolType: 1,
      agentId: 2001,
      password: 'pässword',
      correlationId: 'call-1@192.0.2.10',
    });
    expect(decoded.payload.equals(INVITE)).toBe(true);
    expect(decoded.chunks).toHaveLength(13);
  });

  it('round-trips IPv6 endpoints over TCP, with 16-byte address chunks', () => {
    const original = packet({
      ipProtocol: HEP_IP_PROTOCOL.tcp,
      source: { address: '2001:db8::10', port: 40000 },
      destination: { address: '2001:db8:0:0:1::1', port: 5061 },
    });
    const data = encodeHep(original);
    expect(chunkHeads(data).slice(0, 4)).toEqual([
      [0, HEP_CHUNK.ipFamily, 7],
      [0, HEP_CHUNK.ipProtocol, 7],
      [0, HEP_CHUNK.ipv6Source, 22],
      [0, HEP_CHUNK.ipv6Destination, 22],
    ]);
    const decoded = decodeHep(data);
    expect(decoded.family).toBe(HEP_FAMILY.ipv6);
    expect(decoded.ipProtocol).toBe(6);
    expect(decoded.source).toEqual({ address: '2001:db8::10', port: 40000 });
    expect(decoded.destination).toEqual({ address: '2001:db8::1:0:0:1', port: 5061 });
    expect(decoded.payload.equals(INVITE)).toBe(true);
  });

  it('writes a mixed pair (an IPv4 client behind a proxy that named it, an IPv6 listener) as IPv6', () => {
    const decoded = decodeHep(
      encodeHep(packet({ source: { address: '192.0.2.10', port: 1 }, destination: { address: '::1', port: 2 } })),
    );
    expect(decoded.family).toBe(HEP_FAMILY.ipv6);
    expect(decoded.source.address).toBe('::ffff:192.0.2.10');
    expect(decoded.destination.address).toBe('::1');
  });

  it('turns IP text into bytes and back (RFC 5952 text)', () => {
    expect([...addressBytes('10.1.2.3', 4)]).toEqual([10, 1, 2, 3]);
    expect(addressBytes('::ffff:10.1.2.3', 16).toString('hex')).toBe('00000000000000000000ffff0a010203');
    expect(addressBytes('fe80::1%eth0', 16).toString('hex')).toBe('fe800000000000000000000000000001');
    expect(addressBytes('::', 16).toString('hex')).toBe('0'.repeat(32));
    for (const text of ['::1', '2001:db8::1', '2001:db8:1:2:3:4:5:6', '1::', '::ffff:10.1.2.3', '2001:0:0:1::1']) {
      expect(addressText(addressBytes(text, 16))).toBe(text);
    }
    expect(addressText(addressBytes('2001:db8:0:0:1:0:0:1', 16))).toBe('2001:db8::1:0:0:1');
  });

  it('refuses what it cannot encode', () => {
    expect(() => encodeHep(packet({ source: { address: 'sip.example.com', port: 1 } }))).toThrow(RangeError);
    expect(() => encodeHep(packet({ destination: { address: '192.0.2.1', port: 70000 } }))).toThrow(RangeError);
    expect(() => encodeHep(packet({ agentId: 2 ** 32 }))).toThrow(RangeError);
    expect(() => encodeHep(packet({ agentId: -1 }))).toThrow(RangeError);
  });

  it('refuses a packet over 65,535 bytes with a HepTooLargeError, and takes the largest that fits', () => {
    const fixed = encodeHep(packet({ payload: Buffer.alloc(0) })).length;
    expect(encodeHep(packet({ payload: Buffer.alloc(65535 - fixed) })).length).toBe(65535);
    expect(() => encodeHep(packet({ payload: Buffer.alloc(65536 - fixed) }))).toThrow(HepTooLargeError);
  });
});

describe('HEP3 decoder', () => {
  const good = encodeHep(packet());

  it.each([
    ['no magic', Buffer.concat([Buffer.from('HEP2'), good.subarray(4)])],
    ['a short header', good.subarray(0, 4)],
    ['a length that does not match', good.subarray(0, good.length - 1)],
    ['a chunk shorter than its header', Buffer.from('HEP3\x00\x0c\x00\x00\x00\x01\x00\x02', 'latin1')],
    ['a chunk past the end', Buffer.from('HEP3\x00\x0d\x00\x00\x00\x01\x00\x09\x02', 'latin1')],
    ['no payload', Buffer.from('HEP3\x00\x0d\x00\x00\x00\x01\x00\x07\x02', 'latin1')],
  ])('refuses %s', (_what, data) => {
    expect(() => decodeHep(data)).toThrow(HepDecodeError);
  });

  it('keeps chunks of other vendors and types it does not know', () => {
    const vendor = Buffer.from([0x00, 0x30, 0x00, 0x01, 0x00, 0x08, 0xab, 0xcd]);
    const data = Buffer.concat([good, vendor]);
    data.writeUInt16BE(data.length, 4);
    const decoded = decodeHep(data);
    expect(decoded.chunks.at(-1)).toEqual({ vendor: 0x30, type: 1, value: Buffer.from([0xab, 0xcd]) });
    expect(decoded.payload.equals(INVITE)).toBe(true);
  });
});

describe('what counts as SIP for capture', () => {
  it.each([
    ['a request', INVITE],
    ['a response', Buffer.from('SIP/2.0 200 OK\r\nCall-ID: x\r\n\r\n')],
    ['a response without a reason phrase', Buffer.from('SIP/2.0 200\r\n\r\n')],
    ['a lower-case version', Buffer.from('OPTIONS sip:a sip/2.0\r\n\r\n')],
    ['a request after leading CRLFs', Buffer.from('\r\n\r\nOPTIONS sip:a SIP/2.0\r\nCall-ID: y\r\n\r\n')],
    ['a malformed request (the edge answers 400)', Buffer.from('INVITE sip:b SIP/2.0\r\nno colon here\r\n\r\n')],
  ])('captures %s', (_what, data) => {
    expect(looksLikeSip(data)).toBe(true);
  });

  it.each([
    ['a STUN binding request', Buffer.from('000100002112a442000000000000000000000000', 'hex')],
    ['a CRLFCRLF keep-alive', Buffer.from('\r\n\r\n')],
    ['a CRLF pong', Buffer.from('\r\n')],
    ['four NULs', Buffer.alloc(4)],
    ['nothing', Buffer.alloc(0)],
    ['HTTP', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
    ['a start line without an end', Buffer.from('INVITE sip:b SIP/2.0')],
    ['text', Buffer.from('hello world\r\n')],
  ])('does not capture %s', (_what, data) => {
    expect(looksLikeSip(data)).toBe(false);
  });

  it('reads the Call-ID (long or compact form) from the header section only', () => {
    expect(callIdOf(INVITE)).toBe('call-1@192.0.2.10');
    expect(callIdOf(Buffer.from('SIP/2.0 200 OK\r\ni : compact-1 \r\nCSeq: 1 BYE\r\n\r\n'))).toBe('compact-1');
    expect(callIdOf(Buffer.from('SIP/2.0 200 OK\r\ncall-id:lower\r\n\r\n'))).toBe('lower');
    expect(callIdOf(Buffer.from('SIP/2.0 200 OK\r\nCSeq: 1 BYE\r\n\r\nCall-ID: in-the-body\r\n'))).toBeUndefined();
    expect(callIdOf(Buffer.from('SIP/2.0 200 OK\r\nCall-Info: <x>\r\n\r\n'))).toBeUndefined();
  });
});

describe('sampling by Call-ID', () => {
  const keys = Array.from({ length: 20_000 }, (_, i) => `${i}-${(i * 2654435761) % 1000003}@host.example`);

  it('takes none at 0 % and all at 100 %', () => {
    expect(keys.some(keySampler(0))).toBe(false);
    expect(keys.every(keySampler(100))).toBe(true);
  });

  it.each([1, 10, 50, 90])('takes about %i % of the calls', (percent) => {
    const taken = keys.filter(keySampler(percent)).length / keys.length;
    expect(taken).toBeGreaterThan(percent / 100 - 0.015);
    expect(taken).toBeLessThan(percent / 100 + 0.015);
  });

  it('decides a call alike every time, on every edge (no seed): whole or not at all', () => {
    const a = keySampler(50);
    const b = keySampler(50);
    for (const key of keys.slice(0, 500)) expect(a(key)).toBe(b(key));
    // A larger share takes every call a smaller one takes.
    const ten = keySampler(10);
    const twenty = keySampler(20);
    for (const key of keys) if (ten(key)) expect(twenty(key)).toBe(true);
  });

  it('hashes with FNV-1a and spreads the hashes over [0, 1)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    const points = keys.map(samplePoint);
    expect(Math.min(...points)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...points)).toBeLessThan(1);
  });

  it('refuses a share outside 0–100', () => {
    expect(() => keySampler(101)).toThrow(RangeError);
    expect(() => keySampler(-1)).toThrow(RangeError);
    expect(() => keySampler(Number.NaN)).toThrow(RangeError);
  });
});
