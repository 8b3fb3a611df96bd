import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isStunBindingRequest, stunBindingSuccess } from '../src/stun.js';

/** A Binding request (RFC 5389 §6) with the given attributes' bytes. */
function bindingRequest(attributes = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(20);
  header.writeUInt16BE(0x0001, 0);
  header.writeUInt16BE(attributes.length, 2);
  header.writeUInt32BE(0x2112a442, 4);
  randomBytes(12).copy(header, 8);
  return Buffer.concat([header, attributes]);
}

/** The XOR-MAPPED-ADDRESS of a Binding success response, decoded (RFC 5389 §15.2). */
function mapped(response: Buffer): { family: number; port: number; address: Buffer } {
  expect(response.readUInt16BE(0)).toBe(0x0101);
  expect(response.readUInt32BE(4)).toBe(0x2112a442);
  const attribute = response.subarray(20);
  expect(attribute.readUInt16BE(0)).toBe(0x0020);
  const family = attribute.readUInt8(5);
  const port = attribute.readUInt16BE(6) ^ 0x2112;
  const mask = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), response.subarray(8, 20)]);
  const x = attribute.subarray(8, 8 + (family === 1 ? 4 : 16));
  return { family, port, address: Buffer.from(x.map((b, i) => b ^ mask[i]!)) };
}

describe('STUN Binding on the SIP UDP port (RFC 5626 §4.4.2)', () => {
  it('recognises a Binding request and nothing SIP', () => {
    expect(isStunBindingRequest(bindingRequest())).toBe(true);
    expect(isStunBindingRequest(bindingRequest(Buffer.alloc(8)))).toBe(true);
    expect(isStunBindingRequest(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\n\r\n'))).toBe(false);
    expect(isStunBindingRequest(Buffer.from('\r\n\r\n'))).toBe(false);
    const wrongLength = bindingRequest();
    wrongLength.writeUInt16BE(4, 2);
    expect(isStunBindingRequest(wrongLength)).toBe(false);
    const noCookie = bindingRequest();
    noCookie.writeUInt32BE(0, 4);
    expect(isStunBindingRequest(noCookie)).toBe(false);
  });

  it('answers with the source address and port, same transaction, IPv4 and IPv6', () => {
    const request = bindingRequest();
    const v4 = stunBindingSuccess(request, { address: '203.0.113.7', port: 40123 })!;
    expect(v4.subarray(8, 20)).toEqual(request.subarray(8, 20));
    expect(mapped(v4)).toEqual({ family: 1, port: 40123, address: Buffer.from([203, 0, 113, 7]) });
    const v6 = stunBindingSuccess(request, { address: '2001:db8::7', port: 5062 })!;
    const six = mapped(v6);
    expect([six.family, six.port, six.address.toString('hex')]).toEqual([2, 5062, '20010db8000000000000000000000007']);
    expect(stunBindingSuccess(request, { address: 'nope', port: 1 })).toBeUndefined();
  });
});
