/** §18.2.1 received/rport stamping and §18.2.2 response routing (with RFC 3581 rport). */
import { describe, expect, it } from 'vitest';
import { parseMessage, parseVia, responseDestination, stampReceived } from '../src/index.js';
import { INVITE_HEAD, wire } from './helpers.js';

const withVia = (via: string) =>
  parseMessage(wire([INVITE_HEAD[0]!, `Via: ${via}`, ...INVITE_HEAD.slice(2), 'Content-Length: 0']));

describe('received on the top Via (§18.2.1)', () => {
  it('adds received when the sent-by host differs from the source address', () => {
    const m = withVia('SIP/2.0/UDP bobspc.invalid:5060;branch=z9hG4bK1');
    stampReceived(m, '10.0.0.5', 5060);
    expect(m.get('Via')).toBe('SIP/2.0/UDP bobspc.invalid:5060;branch=z9hG4bK1;received=10.0.0.5');
  });

  it('replaces a received the client wrote itself with the source address', () => {
    const m = withVia('SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;received=192.0.2.99');
    const via = stampReceived(m, '10.0.0.5', 5060);
    expect(responseDestination(via!)).toEqual({ address: '10.0.0.5', port: 5060 });
    expect(m.get('Via')).toBe('SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;received=10.0.0.5');
  });

  it('leaves the Via untouched when sent-by is the source address', () => {
    const m = withVia('SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1');
    const before = m.toBuffer();
    stampReceived(m, '10.0.0.5', 5060);
    expect(m.toBuffer().equals(before)).toBe(true);
  });
});

describe('rport (RFC 3581 §4)', () => {
  it('fills in rport and received when the client asks for it', () => {
    const m = withVia('SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bK1');
    const via = stampReceived(m, '10.0.0.5', 40000);
    expect(via?.rport).toBe(40000);
    expect(via?.received).toBe('10.0.0.5');
    expect(responseDestination(via!)).toEqual({ address: '10.0.0.5', port: 40000 });
  });
});

describe('response routing by Via (§18.2.2)', () => {
  it.each([
    ['SIP/2.0/UDP pc.example.com:5070;branch=z9hG4bK1;received=192.0.2.4', { address: '192.0.2.4', port: 5070 }],
    ['SIP/2.0/UDP pc.example.com;branch=z9hG4bK1;received=192.0.2.4', { address: '192.0.2.4', port: 5060 }],
    ['SIP/2.0/UDP 192.0.2.9:5080;branch=z9hG4bK1', { address: '192.0.2.9', port: 5080 }],
    [
      'SIP/2.0/UDP pc.example.com;branch=z9hG4bK1;maddr=239.1.1.1;received=192.0.2.4',
      { address: '239.1.1.1', port: 5060 },
    ],
    ['SIP/2.0/TLS pc.example.com;branch=z9hG4bK1;received=192.0.2.4', { address: '192.0.2.4', port: 5061 }],
    [
      'SIP/2.0/UDP [2001:db8::9]:6050;branch=z9hG4bK1;received=2001:db8::1;rport=7000',
      { address: '2001:db8::1', port: 7000 },
    ],
  ])('%s → %o', (via, expected) => {
    expect(responseDestination(parseVia(via))).toEqual(expected);
  });
});
