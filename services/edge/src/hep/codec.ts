import { isIP, isIPv4 } from 'node:net';
import type { Endpoint } from '../transports/types.js';

/**
 * HEP version 3 (HEPv3 / EEP, the Homer project's "HEP3" network protocol): a 6-byte header,
 * `HEP3` and the packet's total length (uint16, big endian), then chunks, each a vendor id
 * (uint16, 0x0000 for the generic chunks), a type id (uint16), its length (uint16, the 6-byte
 * chunk header included) and the value. Integers are big endian.
 *
 * Pure: no I/O, no clock. The exporter (exporter.ts) gives the timestamp.
 */

/** `HEP3` */
export const HEP_MAGIC = Buffer.from('HEP3', 'latin1');
/** Header: magic and total length. */
export const HEP_HEADER_LENGTH = 6;
/** Chunk header: vendor id, type id, length. */
export const HEP_CHUNK_HEADER_LENGTH = 6;
/** A packet's total length is a uint16. */
export const HEP_MAX_LENGTH = 0xffff;

/** The generic chunk types (vendor 0x0000) sipedge writes and reads. */
export const HEP_CHUNK = {
  ipFamily: 0x0001,
  ipProtocol: 0x0002,
  ipv4Source: 0x0003,
  ipv4Destination: 0x0004,
  ipv6Source: 0x0005,
  ipv6Destination: 0x0006,
  sourcePort: 0x0007,
  destinationPort: 0x0008,
  timestampSeconds: 0x0009,
  timestampMicroseconds: 0x000a,
  protocolType: 0x000b,
  agentId: 0x000c,
  authKey: 0x000e,
  payload: 0x000f,
  correlationId: 0x0011,
} as const;

/** Chunk 0x0001: the address family (the values of AF_INET and AF_INET6 on Linux). */
export const HEP_FAMILY = { ipv4: 2, ipv6: 10 } as const;
/** Chunk 0x0002: the IP protocol number. HEP has none for TLS or WebSocket: they are TCP. */
export const HEP_IP_PROTOCOL = { tcp: 6, udp: 17 } as const;
/** Chunk 0x000b: what the payload is. */
export const HEP_PROTOCOL_TYPE = { sip: 1 } as const;

/** One captured message, as a HEP packet holds it. */
export interface HepPacket {
  /** IP protocol number: 17 (UDP) or 6 (TCP, TLS, WS, WSS). */
  ipProtocol: number;
  /** IP literals; a pair of mixed families is written as IPv6 (IPv4-mapped). */
  source: Endpoint;
  destination: Endpoint;
  /** Capture time, epoch microseconds (a whole number). */
  timeUs: number;
  /** Chunk 0x000b (1: SIP). */
  protocolType: number;
  /** Capture agent id (uint32). */
  agentId: number;
  /** Auth key (chunk 0x000e), when the collector wants one. */
  password?: string;
  /** Correlation id (chunk 0x0011): sipedge writes the Call-ID. */
  correlationId?: string;
  /** The captured message's bytes (chunk 0x000f). */
  payload: Uint8Array;
}

/** A decoded packet: the fields of HepPacket, the family, and every chunk as read. */
export interface DecodedHep extends Omit<HepPacket, 'payload' | 'ipProtocol' | 'protocolType' | 'agentId'> {
  /** Chunk 0x0001: 2 (IPv4) or 10 (IPv6). */
  family: number;
  ipProtocol: number | undefined;
  protocolType: number | undefined;
  agentId: number | undefined;
  payload: Buffer;
  /** Every chunk in order (vendor chunks and types this decoder does not know included). */
  chunks: { vendor: number; type: number; value: Buffer }[];
}

/** A packet that would be longer than HEP's 16-bit length allows. */
export class HepTooLargeError extends RangeError {
  override name = 'HepTooLargeError';
}

/** What is wrong with bytes that are not a well-formed HEP3 packet. */
export class HepDecodeError extends Error {
  override name = 'HepDecodeError';
}

/**
 * Encodes one packet. Throws a RangeError when an address is not an IP literal, a port or the
 * agent id is out of range, and a HepTooLargeError when the packet would be longer than 65,535 bytes.
 */
export function encodeHep(packet: HepPacket): Buffer {
  const { source, destination } = packet;
  const bothV4 = isIPv4(source.address) && isIPv4(destination.address);
  const src = addressBytes(source.address, bothV4 ? 4 : 16);
  const dst = addressBytes(destination.address, bothV4 ? 4 : 16);
  checkUint(source.port, 0xffff, 'source port');
  checkUint(destination.port, 0xffff, 'destination port');
  checkUint(packet.agentId, 0xffffffff, 'agent id');
  checkUint(packet.timeUs, Number.MAX_SAFE_INTEGER, 'timestamp');
  const password = packet.password === undefined ? undefined : Buffer.from(packet.password, 'utf8');
  const correlation = packet.correlationId === undefined ? undefined : Buffer.from(packet.correlationId, 'latin1');
  const chunk = (valueLength: number) => HEP_CHUNK_HEADER_LENGTH + valueLength;
  const length =
    HEP_HEADER_LENGTH +
    chunk(1) + // family
    chunk(1) + // IP protocol
    2 * chunk(src.length) +
    2 * chunk(2) + // ports
    2 * chunk(4) + // timestamp
    chunk(1) + // protocol type
    chunk(4) + // agent id
    (password === undefined ? 0 : chunk(password.length)) +
    (correlation === undefined ? 0 : chunk(correlation.length)) +
    chunk(packet.payload.length);
  if (length > HEP_MAX_LENGTH) {
    throw new HepTooLargeError(`hep: a packet of ${length} bytes is over the ${HEP_MAX_LENGTH}-byte limit`);
  }
  const out = Buffer.allocUnsafe(length);
  HEP_MAGIC.copy(out, 0);
  out.writeUInt16BE(length, 4);
  let at = HEP_HEADER_LENGTH;
  const head = (type: number, valueLength: number): number => {
    out.writeUInt16BE(0x0000, at);
    out.writeUInt16BE(type, at + 2);
    out.writeUInt16BE(chunk(valueLength), at + 4);
    at += HEP_CHUNK_HEADER_LENGTH;
    return at;
  };
  const bytes = (type: number, value: Uint8Array) => {
    out.set(value, head(type, value.length));
    at += value.length;
  };
  out.writeUInt8(bothV4 ? HEP_FAMILY.ipv4 : HEP_FAMILY.ipv6, head(HEP_CHUNK.ipFamily, 1));
  at += 1;
  out.writeUInt8(packet.ipProtocol & 0xff, head(HEP_CHUNK.ipProtocol, 1));
  at += 1;
  bytes(bothV4 ? HEP_CHUNK.ipv4Source : HEP_CHUNK.ipv6Source, src);
  bytes(bothV4 ? HEP_CHUNK.ipv4Destination : HEP_CHUNK.ipv6Destination, dst);
  out.writeUInt16BE(source.port, head(HEP_CHUNK.sourcePort, 2));
  at += 2;
  out.writeUInt16BE(destination.port, head(HEP_CHUNK.destinationPort, 2));
  at += 2;
  out.writeUInt32BE(Math.floor(packet.timeUs / 1e6) >>> 0, head(HEP_CHUNK.timestampSeconds, 4));
  at += 4;
  out.writeUInt32BE(packet.timeUs % 1e6, head(HEP_CHUNK.timestampMicroseconds, 4));
  at += 4;
  out.writeUInt8(packet.protocolType & 0xff, head(HEP_CHUNK.protocolType, 1));
  at += 1;
  out.writeUInt32BE(packet.agentId, head(HEP_CHUNK.agentId, 4));
  at += 4;
  if (password !== undefined) bytes(HEP_CHUNK.authKey, password);
  if (correlation !== undefined) bytes(HEP_CHUNK.correlationId, correlation);
  bytes(HEP_CHUNK.payload, packet.payload);
  return out;
}

/**
 * Decodes one packet (for tests and a receiver of their own; sipedge itself only sends). Throws
 * a HepDecodeError when the bytes are not a HEP3 packet: wrong magic, a length that does not
 * match, a chunk that runs past the end, or no address, port or payload chunk.
 */
export function decodeHep(data: Uint8Array): DecodedHep {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < HEP_HEADER_LENGTH || !buf.subarray(0, 4).equals(HEP_MAGIC)) {
    throw new HepDecodeError('hep: no HEP3 magic');
  }
  const total = buf.readUInt16BE(4);
  if (total !== buf.length) throw new HepDecodeError(`hep: header says ${total} bytes, got ${buf.length}`);
  const chunks: DecodedHep['chunks'] = [];
  let at = HEP_HEADER_LENGTH;
  while (at < total) {
    if (at + HEP_CHUNK_HEADER_LENGTH > total) throw new HepDecodeError(`hep: truncated chunk header at ${at}`);
    const length = buf.readUInt16BE(at + 4);
    if (length < HEP_CHUNK_HEADER_LENGTH || at + length > total) {
      throw new HepDecodeError(`hep: chunk at ${at} has a bad length ${length}`);
    }
    chunks.push({
      vendor: buf.readUInt16BE(at),
      type: buf.readUInt16BE(at + 2),
      value: buf.subarray(at + HEP_CHUNK_HEADER_LENGTH, at + length),
    });
    at += length;
  }
  const value = (type: number) => chunks.find((c) => c.vendor === 0 && c.type === type)?.value;
  const uint = (type: number, size: 1 | 2 | 4): number | undefined => {
    const v = value(type);
    if (v === undefined) return undefined;
    if (v.length !== size) throw new HepDecodeError(`hep: chunk 0x${type.toString(16)} has ${v.length} bytes`);
    return v.readUIntBE(0, size);
  };
  const family = uint(HEP_CHUNK.ipFamily, 1);
  const v6 = family === HEP_FAMILY.ipv6;
  const srcIp = value(v6 ? HEP_CHUNK.ipv6Source : HEP_CHUNK.ipv4Source);
  const dstIp = value(v6 ? HEP_CHUNK.ipv6Destination : HEP_CHUNK.ipv4Destination);
  const srcPort = uint(HEP_CHUNK.sourcePort, 2);
  const dstPort = uint(HEP_CHUNK.destinationPort, 2);
  const payload = value(HEP_CHUNK.payload);
  if (family === undefined || srcIp === undefined || dstIp === undefined) {
    throw new HepDecodeError('hep: no address family or addresses');
  }
  if (srcPort === undefined || dstPort === undefined) throw new HepDecodeError('hep: no ports');
  if (payload === undefined) throw new HepDecodeError('hep: no payload');
  const seconds = uint(HEP_CHUNK.timestampSeconds, 4) ?? 0;
  const micros = uint(HEP_CHUNK.timestampMicroseconds, 4) ?? 0;
  const password = value(HEP_CHUNK.authKey);
  const correlation = value(HEP_CHUNK.correlationId);
  return {
    family,
    ipProtocol: uint(HEP_CHUNK.ipProtocol, 1),
    source: { address: addressText(srcIp), port: srcPort },
    destination: { address: addressText(dstIp), port: dstPort },
    timeUs: seconds * 1e6 + micros,
    protocolType: uint(HEP_CHUNK.protocolType, 1),
    agentId: uint(HEP_CHUNK.agentId, 4),
    ...(password === undefined ? {} : { password: password.toString('utf8') }),
    ...(correlation === undefined ? {} : { correlationId: correlation.toString('latin1') }),
    payload,
    chunks,
  };
}

function checkUint(value: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`hep: bad ${what} ${value}`);
}

/** An IP literal as 4 bytes (IPv4) or 16 (IPv6; an IPv4 address as `::ffff:a.b.c.d`). */
export function addressBytes(address: string, size: 4 | 16): Buffer {
  const text = address.replace(/%.*$/, ''); // an IPv6 zone id is not part of the address
  const family = isIP(text);
  if (family === 0) throw new RangeError(`hep: "${address}" is not an IP address`);
  if (family === 4) {
    const v4 = Buffer.from(text.split('.').map(Number));
    if (size === 4) return v4;
    return Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]), v4]);
  }
  if (size === 4) throw new RangeError(`hep: "${address}" is not an IPv4 address`);
  const out = Buffer.alloc(16);
  let groups = text;
  // An embedded IPv4 tail (`::ffff:192.0.2.1`) is the last two groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted !== null) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    groups = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = groups.split('::') as [string, string | undefined];
  const words = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const before = words(head);
  const after = tail === undefined ? [] : words(tail);
  const all = [...before, ...new Array<number>(8 - before.length - after.length).fill(0), ...after];
  all.forEach((word, i) => out.writeUInt16BE(word, 2 * i));
  return out;
}

/** 4 or 16 address bytes as text: dotted IPv4, or IPv6 per RFC 5952 (IPv4-mapped as `::ffff:a.b.c.d`). */
export function addressText(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.');
  if (bytes.length !== 16) throw new HepDecodeError(`hep: an address of ${bytes.length} bytes`);
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `::ffff:${[...bytes.subarray(12)].join('.')}`;
  }
  const words = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(2 * i));
  // The longest run of two or more zero words (the first of equal ones) becomes `::`.
  let best = { at: -1, length: 0 };
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > best.length && j - i >= 2) best = { at: i, length: j - i };
    i = j;
  }
  const hex = (list: number[]) => list.map((w) => w.toString(16)).join(':');
  if (best.at < 0) return hex(words);
  return `${hex(words.slice(0, best.at))}::${hex(words.slice(best.at + best.length))}`;
}
