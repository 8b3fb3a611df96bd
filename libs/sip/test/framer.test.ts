import { describe, expect, it } from 'vitest';
import { StreamFramer } from '../src/index.js';
import { INVITE_HEAD, wire } from './helpers.js';

const message = wire([...INVITE_HEAD, 'Content-Length: 4'], 'v=0\n');

describe('StreamFramer (§18.3, §7.5, RFC 5626 §4.4.1)', () => {
  it('answers a CRLFCRLF ping and ignores a lone CRLF before a start line', () => {
    const framer = new StreamFramer();
    expect(framer.push(Buffer.from('\r\n\r\n')).map((e) => e.type)).toEqual(['keepalive']);
    expect(framer.push(Buffer.concat([Buffer.from('\r\n'), message])).map((e) => e.type)).toEqual(['message']);
  });

  it('does not frame a message early when a lone CRLF before it was consumed in the same push', () => {
    // Regression (found by the chunking property): the size read before consuming the CRLF was reused.
    const framer = new StreamFramer();
    const data = Buffer.concat([Buffer.from('\r\n'), message]);
    expect(framer.push(data.subarray(0, data.length - 2))).toEqual([]);
    const events = framer.push(data.subarray(data.length - 2));
    expect(events.map((e) => e.type)).toEqual(['message']);
    expect(events[0]?.type === 'message' && events[0].message.body.toString()).toBe('v=0\n');
  });

  it('waits for the rest of a ping split across segments', () => {
    const framer = new StreamFramer();
    expect(framer.push(Buffer.from('\r\n'))).toEqual([]);
    expect(framer.push(Buffer.from('\r\n')).map((e) => e.type)).toEqual(['keepalive']);
  });

  it('delivers a message fed one byte at a time', () => {
    const framer = new StreamFramer();
    const events = [];
    for (const byte of message) events.push(...framer.push(Buffer.from([byte])));
    expect(events.map((e) => e.type)).toEqual(['message']);
    const [event] = events;
    expect(event?.type === 'message' && event.message.body.toString()).toBe('v=0\n');
  });

  it('reports an invalid but framed message and goes on with the next', () => {
    const bad = wire(INVITE_HEAD.filter((l) => !l.startsWith('Call-ID')).concat('Content-Length: 0'));
    const events = new StreamFramer().push(Buffer.concat([bad, message]));
    expect(events.map((e) => (e.type === 'error' ? `error:${e.fatal}` : e.type))).toEqual(['error:false', 'message']);
  });

  it('fails the stream on an unusable Content-Length (RFC 4475 §3.1.2.3, §3.3.9)', () => {
    for (const rows of [['Content-Length: -999'], ['Content-Length: 13', 'Content-Length: 5']]) {
      const framer = new StreamFramer();
      const events = framer.push(Buffer.concat([wire([...INVITE_HEAD, ...rows]), message]));
      expect(events).toHaveLength(1);
      expect(events[0]?.type === 'error' && events[0].fatal).toBe(true);
      expect(framer.push(message)).toEqual([]);
    }
  });

  it('fails the stream when a message exceeds the maximum size', () => {
    const small = new StreamFramer({ maxMessageSize: 200 });
    const [event] = small.push(wire([...INVITE_HEAD, 'Content-Length: 5000']));
    expect(event?.type === 'error' && event.fatal && event.error.status).toBe(513);
    const headless = new StreamFramer({ maxMessageSize: 100 });
    const [unterminated] = headless.push(Buffer.from('INVITE sip:a@b SIP/2.0\r\nX: '.padEnd(150, 'y')));
    expect(unterminated?.type === 'error' && unterminated.error.code).toBe('too-large');
  });

  it('is in a message from its first byte until it is complete, never for keep-alive bytes', () => {
    const framer = new StreamFramer();
    const inMessage = (bytes: string | Buffer): boolean => {
      framer.push(typeof bytes === 'string' ? Buffer.from(bytes) : bytes);
      return framer.inMessage;
    };
    expect(framer.inMessage).toBe(false);
    expect([inMessage('\r'), inMessage('\n'), inMessage('\r'), inMessage('\n')]).toEqual([false, false, false, false]);
    expect(inMessage('\r\n')).toBe(false);
    expect(inMessage(message.subarray(0, 1))).toBe(true);
    expect(inMessage(message.subarray(1, message.length - 1))).toBe(true);
    expect(inMessage(message.subarray(message.length - 1))).toBe(false);
    // A push that completes one message and begins the next.
    expect(inMessage(Buffer.concat([message, message.subarray(0, 10)]))).toBe(true);
    const [failure] = framer.push(Buffer.from('\r\nContent-Length: x\r\n\r\n'));
    expect(failure?.type === 'error' && failure.fatal).toBe(true);
    expect(framer.inMessage).toBe(false); // a failed framer holds nothing
  });

  it('treats a missing Content-Length as an empty body on a stream', () => {
    const events = new StreamFramer().push(Buffer.concat([wire(INVITE_HEAD), message]));
    expect(events.map((e) => (e.type === 'message' ? e.message.body.length : -1))).toEqual([0, 4]);
  });
});
