/** The fuzz run's seeds (fuzz-seeds.ts) and the guard that keeps its traffic on loopback (loopback-guard.ts). */
import { parseMessage } from '@sipedge/sip';
import { describe, expect, it } from 'vitest';
import { asResponse } from './fuzz-plan.js';
import { type SeedAddressing, type SeedTransport, requestSeeds, responseSeeds } from './fuzz-seeds.js';
import { type GuardPolicy, datagramProblem, streamProblem } from './loopback-guard.js';

const PROXY = 5060;
const SINK = 5070;
const SENDER = { address: '127.0.0.2', port: 5062 };

const addressing = (transport: SeedTransport): SeedAddressing => ({
  transport,
  proxyPort: PROXY,
  sinkPort: SINK,
  sender: `${SENDER.address}:${SENDER.port}`,
  registrant: transport === 'UDP' ? 'carol' : 'dave',
  callee: 'carol',
  caseId: 'x-00001',
});

const policy: GuardPolicy = {
  sender: SENDER,
  hopPorts: new Set([PROXY, SINK]),
  flowUser: 'dave',
  maxMessageSize: 8192,
};

const text = (lines: string[]) => Buffer.from(`${lines.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`, 'latin1');

const options = (
  uri: string,
  extra: string[] = [],
  via = `SIP/2.0/UDP ${SENDER.address}:${SENDER.port};branch=z9hG4bK1`,
) =>
  text([
    `OPTIONS ${uri} SIP/2.0`,
    `Via: ${via}`,
    'From: <sip:alice@127.0.0.1>;tag=a',
    'To: <sip:bob@127.0.0.1>',
    'Call-ID: g1',
    'CSeq: 1 OPTIONS',
    ...extra,
  ]);

describe('fuzz seeds', () => {
  it.each(['UDP', 'TCP'] as const)('are valid %s requests and responses that the guard lets through', (transport) => {
    for (const seed of requestSeeds(addressing(transport))) {
      expect(parseMessage(seed.bytes).isRequest, seed.name).toBe(true);
      const problem = transport === 'UDP' ? datagramProblem(seed.bytes, policy) : streamProblem(seed.bytes, policy);
      expect(problem, seed.name).toBeUndefined();
    }
    const responses = [...responseSeeds(addressing(transport)), ...requestSeeds(addressing(transport)).map(asResponse)];
    for (const seed of responses) {
      expect(parseMessage(seed.bytes).isResponse, seed.name).toBe(true);
      expect(datagramProblem(seed.bytes, { ...policy, onlyResponses: true }), seed.name).toBeUndefined();
    }
  });
});

describe('loopback guard', () => {
  it('refuses next hops that are not 127.0.0.1 or ::1 at an allowed port', () => {
    expect(datagramProblem(options('sip:bob@12.0.0.1'), policy)).toBe('Request-URI host 12.0.0.1');
    expect(datagramProblem(options('sip:bob@127.0.0.q'), policy)).toBe('Request-URI host 127.0.0.q');
    expect(datagramProblem(options('sip:bob@127.0.0.3'), policy)).toBe('Request-URI host 127.0.0.3');
    expect(datagramProblem(options('sip:bob@127.0.0.1:5071'), policy)).toBe('Request-URI port 5071');
    expect(datagramProblem(options('sip:bob@127.0.0.1;maddr=10.0.0.1'), policy)).toBe('Request-URI maddr 10.0.0.1');
    expect(
      datagramProblem(options('sip:bob@127.0.0.1', ['Route: <sip:127.0.0.1:5060;lr>, <sip:x.invalid;lr>']), policy),
    ).toBe('Route host x.invalid');
    expect(datagramProblem(options('sip:bob@127.0.0.1', ['Route: <http://x>']), policy)).toBe('Route is http://x');
    expect(datagramProblem(options('sip:bob@[::1]:5070'), policy)).toBeUndefined();
    expect(datagramProblem(options('tel:+1555'), policy)).toBeUndefined();
  });

  it('refuses answers that would go to another address than the sender, as the edge stamps the Via', () => {
    const via = (v: string) => options('sip:bob@127.0.0.1', [], v);
    // A `received` the client wrote itself is replaced by its source address: answers come back.
    expect(datagramProblem(via(`SIP/2.0/UDP ${SENDER.address}:5062;received=10.0.0.1`), policy)).toBeUndefined();
    expect(datagramProblem(via('SIP/2.0/UDP 127.0.0.2:5062;maddr=127.0.0.6'), policy)).toBe(
      'answers would go to 127.0.0.6',
    );
    // Another sent-by host gets `received` with the source address: answers come back.
    expect(datagramProblem(via('SIP/2.0/UDP [::1]:5062;received=10.0.0.1;rport'), policy)).toBeUndefined();
    // A request that does not parse is still answered from its Via when it can be.
    const broken = Buffer.concat([via(`SIP/2.0/UDP ${SENDER.address}:5062;maddr=10.0.0.1`), Buffer.from('x')]);
    expect(
      datagramProblem(Buffer.from(broken.toString('latin1').replace('Call-ID: g1', 'Call-ID: a b'), 'latin1'), policy),
    ).toBe('answers would go to 10.0.0.1');
  });

  it('refuses a REGISTER binding contacts elsewhere, and the flow user outside stream REGISTERs', () => {
    const register = (user: string, contact: string) =>
      text([
        'REGISTER sip:127.0.0.1 SIP/2.0',
        `Via: SIP/2.0/TCP ${SENDER.address}:${SENDER.port};branch=z9hG4bK2`,
        `From: <sip:${user}@127.0.0.1>;tag=a`,
        `To: <sip:${user}@127.0.0.1>`,
        'Call-ID: g2',
        'CSeq: 1 REGISTER',
        `Contact: ${contact}`,
      ]);
    expect(datagramProblem(register('carol', '<sip:carol@127.0.0.1:5999>'), policy)).toBe('Contact port 5999');
    expect(datagramProblem(register('carol', '<mailto:carol@x>'), policy)).toBe('Contact is mailto:carol@x');
    expect(datagramProblem(register('carol', '*'), policy)).toBeUndefined();
    expect(streamProblem(register('carol', '<sip:carol@127.0.0.1:5070>'), policy)).toBe(
      'REGISTER over a stream binds another user',
    );
    expect(streamProblem(register('Dave', '<sip:dave@127.0.0.1:5070>'), policy)).toBeUndefined();
    expect(datagramProblem(options('sip:%64ave@127.0.0.1'), policy)).toBe('Request-URI targets the flow user');
  });

  it('refuses a response forwarded anywhere but a hop, and requests among responses', () => {
    const response = (second: string) =>
      text([
        'SIP/2.0 200 OK',
        `Via: SIP/2.0/UDP 127.0.0.1:${PROXY};branch=z9hG4bK3`,
        `Via: ${second}`,
        'From: <sip:alice@127.0.0.1>;tag=a',
        'To: <sip:bob@127.0.0.1>;tag=b',
        'Call-ID: g3',
        'CSeq: 1 OPTIONS',
      ]);
    expect(datagramProblem(response(`SIP/2.0/UDP 127.0.0.1:${SINK}`), policy)).toBeUndefined();
    expect(datagramProblem(response('SIP/2.0/UDP 127.0.0.6:5062'), policy)).toBe('forwarded to 127.0.0.6:5062');
    expect(datagramProblem(response(`SIP/2.0/UDP 127.0.0.1:${SINK};received=10.1.1.1`), policy)).toBe(
      `forwarded to 10.1.1.1:${SINK}`,
    );
    const onlyResponses = { ...policy, onlyResponses: true };
    expect(datagramProblem(options('sip:bob@127.0.0.1'), onlyResponses)).toBe('reads as a request');
    // A status line with a byte flipped reads as a (malformed) request, which may be answered.
    const flipped = Buffer.from(
      response(`SIP/2.0/UDP 127.0.0.1:${SINK}`).toString('latin1').replace('SIP/2.0 200', 'SIQ/2.0 200'),
      'latin1',
    );
    expect(datagramProblem(flipped, onlyResponses)).toBe('reads as a request');
    expect(datagramProblem(Buffer.alloc(0), onlyResponses)).toBeUndefined();
  });

  it('reads a stream as the edge frames it: every message of it, not the cases', () => {
    const good = options('sip:bob@127.0.0.1');
    const bad = options('sip:bob@12.0.0.1');
    expect(streamProblem(Buffer.concat([good, good]), policy)).toBeUndefined();
    expect(streamProblem(Buffer.concat([good, bad]), policy)).toBe('Request-URI host 12.0.0.1');
    // After a fatal framing error the edge closes the connection: what follows is never read.
    const fatal = Buffer.from('OPTIONS sip:x SIP/2.0\r\nContent-Length: abc\r\n\r\n', 'latin1');
    expect(streamProblem(Buffer.concat([fatal, bad]), policy)).toBeUndefined();
  });
});
