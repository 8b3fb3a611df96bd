import { isIPv4, parseAddress } from '@sipedge/net';
import type { Endpoint } from './transports/types.js';

/**
 * STUN Binding on the SIP UDP port (RFC 5626 §4.4.2, RFC 5389): a UA behind a NAT keeps its binding
 * open, and learns its public address, by sending Binding requests to the proxy it registered with.
 * SIP messages start with a letter; a STUN message starts with two zero bits and carries the magic
 * cookie, so the two cannot be mistaken for each other (RFC 5626 §3.5.1, RFC 5389 §6).
 */

const MAGIC_COOKIE = 0x2112a442;
const HEADER_BYTES = 20;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const XOR_MAPPED_ADDRESS = 0x0020;

/** Whether a datagram is a STUN Binding request (RFC 5389 §6: a well-formed header of that type). */
export function isStunBindingRequest(data: Buffer): boolean {
  return (
    data.length >= HEADER_BYTES &&
    (data[0]! & 0xc0) === 0 &&
    data.readUInt16BE(0) === BINDING_REQUEST &&
    data.readUInt16BE(2) + HEADER_BYTES === data.length &&
    data.readUInt16BE(2) % 4 === 0 &&
    data.readUInt32BE(4) === MAGIC_COOKIE
  );
}

/**
 * The Binding success response to `request` (same transaction id) telling the sender the address
 * and port it was seen from, in an XOR-MAPPED-ADDRESS (RFC 5389 §15.2); undefined when the source
 * is not an IP address.
 */
export function stunBindingSuccess(request: Buffer, source: Endpoint): Buffer | undefined {
  const parsed = parseAddress(source.address);
  if (parsed === undefined) return undefined;
  const transaction = request.subarray(8, HEADER_BYTES);
  const v4 = isIPv4(parsed);
  const address = Buffer.from(parsed.toByteArray());
  const mask = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), transaction]);
  const xored = Buffer.from(address.map((byte, i) => byte ^ mask[i]!));
  const value = Buffer.alloc(4);
  value.writeUInt8(0, 0);
  value.writeUInt8(v4 ? 0x01 : 0x02, 1);
  value.writeUInt16BE(source.port ^ (MAGIC_COOKIE >>> 16), 2);
  const attribute = Buffer.alloc(4);
  attribute.writeUInt16BE(XOR_MAPPED_ADDRESS, 0);
  attribute.writeUInt16BE(value.length + xored.length, 2);
  const body = Buffer.concat([attribute, value, xored]);
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(BINDING_SUCCESS, 0);
  header.writeUInt16BE(body.length, 2);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  transaction.copy(header, 8);
  return Buffer.concat([header, body]);
}
