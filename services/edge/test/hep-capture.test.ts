/**
 * The HEP exporter (a real UDP socket to a collector of the test's own on the loopback), the
 * capture decorators around the transports' handler and the Senders, and the `hep.*` settings.
 */
import { type Socket, createSocket } from 'node:dgram';
import { parseMessage } from '@sipedge/sip';
import { captureLogs } from '@sipedge/telemetry';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, edgeConfigFromEnv } from '../src/env.js';
import { type DecodedHep, decodeHep } from '../src/hep/codec.js';
import {
  type FlowSender,
  type CaptureSink,
  capturingHandler,
  capturingSenders,
  udpLocal,
  wildcardResolver,
} from '../src/hep/capture.js';
import { type CapturedMessage, HepExporter, type HepSettings } from '../src/hep/exporter.js';
import type { Arrival, Endpoint, TransportHandler } from '../src/transports/types.js';
import { sipMessage } from './support/sip.js';

const OPTIONS = sipMessage([
  'OPTIONS sip:127.0.0.1 SIP/2.0',
  'Via: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK-o1',
  'Max-Forwards: 70',
  'From: <sip:a@example.com>;tag=1',
  'To: <sip:127.0.0.1>',
  'Call-ID: opt-1',
  'CSeq: 1 OPTIONS',
]);
const STUN = Buffer.from('000100002112a442000000000000000000000000', 'hex');
const UA: Endpoint = { address: '127.0.0.1', port: 40000 };
const EDGE: Endpoint = { address: '127.0.0.1', port: 5060 };

/** A collector on the loopback that decodes what it gets. */
async function collector(): Promise<{ socket: Socket; packets: DecodedHep[]; endpoint: Endpoint }> {
  const socket = createSocket('udp4');
  const packets: DecodedHep[] = [];
  socket.on('message', (data) => packets.push(decodeHep(data)));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, packets, endpoint: { address: '127.0.0.1', port: socket.address().port } };
}

function message(overrides: Partial<CapturedMessage> = {}): CapturedMessage {
  return {
    direction: 'in',
    transport: 'udp',
    source: UA,
    destination: EDGE,
    payload: OPTIONS,
    callId: 'opt-1',
    ...overrides,
  };
}

describe('HepExporter', () => {
  const closing: (() => unknown)[] = [];
  afterEach(async () => {
    for (const close of closing.splice(0)) await close();
  });

  async function exporter(settings: Partial<HepSettings> = {}, options: { maxInFlight?: number } = {}) {
    const c = await collector();
    const logs = captureLogs('hep-test', 'info');
    const hep = new HepExporter(
      { collector: c.endpoint, agentId: 42, samplingPercent: 100, ...settings },
      { logger: logs.logger, ...options },
    );
    closing.push(
      () => hep.close(),
      () => c.socket.close(),
    );
    return { hep, packets: c.packets, logs: logs.lines };
  }

  it('sends one HEP3 packet per message: addresses, ports, protocol, agent id, auth key, Call-ID, payload', async () => {
    const { hep, packets } = await exporter({ password: 'homer-pw' });
    hep.capture(message());
    hep.capture(message({ transport: 'ws', source: EDGE, destination: UA, callId: undefined }));
    await expect.poll(() => packets.length).toBe(2);
    expect(packets[0]).toMatchObject({
      family: 2,
      ipProtocol: 17,
      source: UA,
      destination: EDGE,
      protocolType: 1,
      agentId: 42,
      password: 'homer-pw',
      correlationId: 'opt-1',
    });
    expect(packets[0]!.payload.equals(OPTIONS)).toBe(true);
    // WebSocket (like TLS and WSS) is TCP to HEP; no Call-ID, no correlation chunk.
    expect(packets[1]).toMatchObject({ ipProtocol: 6, source: EDGE, destination: UA });
    expect(packets[1]!.correlationId).toBeUndefined();
    expect(Math.abs(packets[0]!.timeUs / 1000 - Date.now())).toBeLessThan(5000);
    expect(packets[1]!.timeUs).toBeGreaterThan(packets[0]!.timeUs);
    expect(hep.stats()).toMatchObject({ queued: 2, sent: 2, errors: 0 });
  });

  it('takes the timestamp given (the moment a send was issued), and its own clock only goes forward', async () => {
    const { hep, packets } = await exporter();
    const first = hep.now();
    expect(hep.now()).toBeGreaterThan(first);
    hep.capture(message({ atUs: 1_700_000_000_000_001 }));
    await expect.poll(() => packets.length).toBe(1);
    expect(packets[0]!.timeUs).toBe(1_700_000_000_000_001);
  });

  it('exports nothing at 0 %, and at 50 % whole calls: every message of a call or none', async () => {
    const none = await exporter({ samplingPercent: 0 });
    for (let i = 0; i < 20; i++) none.hep.capture(message({ callId: `call-${i}` }));
    expect(none.hep.stats()).toMatchObject({ unsampled: 20, queued: 0 });

    const half = await exporter({ samplingPercent: 50 });
    for (let i = 0; i < 40; i++) {
      for (let copy = 0; copy < 3; copy++) half.hep.capture(message({ callId: `call-${i}` }));
    }
    const { queued, unsampled } = half.hep.stats();
    expect(queued + unsampled).toBe(120);
    await expect.poll(() => half.packets.length).toBe(queued);
    const perCall = new Map<string, number>();
    for (const p of half.packets) perCall.set(p.correlationId!, (perCall.get(p.correlationId!) ?? 0) + 1);
    expect([...perCall.values()].every((n) => n === 3)).toBe(true);
    expect(perCall.size).toBeGreaterThan(5);
    expect(perCall.size).toBeLessThan(35);
    await new Promise((r) => setTimeout(r, 100));
    expect(none.packets).toEqual([]);
  });

  it('drops, counts and logs (once) what finds the socket backed up, never waiting', async () => {
    const { hep, packets, logs } = await exporter({}, { maxInFlight: 3 });
    for (let i = 0; i < 10; i++) hep.capture(message({ callId: `burst-${i}` }));
    expect(hep.inFlight).toBe(3);
    expect(hep.stats()).toMatchObject({ queued: 3, droppedFull: 7 });
    await expect.poll(() => packets.length).toBe(3);
    await expect.poll(() => hep.inFlight).toBe(0);
    hep.capture(message({ callId: 'after' }));
    await expect.poll(() => packets.length).toBe(4);
    expect(logs.filter((l) => String(l['msg']).includes('backed up'))).toHaveLength(1);
  });

  it('drops and counts a message too large for one datagram', async () => {
    const { hep, packets } = await exporter();
    hep.capture(message({ payload: Buffer.alloc(65_500, 0x41) }));
    hep.capture(message({ payload: Buffer.alloc(70_000, 0x41) }));
    expect(hep.stats()).toMatchObject({ droppedOversize: 2, queued: 0, errors: 0 });
    hep.capture(message());
    await expect.poll(() => packets.length).toBe(1);
  });

  it('counts a failure, logs it at most once a minute, and never throws', async () => {
    const { hep, logs } = await exporter();
    expect(() => hep.capture(message({ source: { address: 'not-an-ip', port: 1 } }))).not.toThrow();
    hep.capture(message({ destination: { address: '192.0.2.1', port: 99999 } }));
    expect(hep.stats().errors).toBe(2);
    const failures = logs.filter((l) => String(l['msg']).startsWith('hep: export failed'));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ level: 'warn', errors: 1 });
  });

  it('counts a send the socket refuses at once, leaving nothing in flight', () => {
    const logs = captureLogs('hep-test', 'info');
    // Port 0 passes no setting check (SIPEDGE_HEP_ADDRESS refuses it), but dgram throws on it.
    const hep = new HepExporter(
      { collector: { address: '127.0.0.1', port: 0 }, agentId: 1, samplingPercent: 100 },
      { logger: logs.logger },
    );
    closing.push(() => hep.close());
    hep.capture(message());
    expect(hep.stats()).toMatchObject({ errors: 1, queued: 0 });
    expect(hep.inFlight).toBe(0);
  });

  it('ignores captures once closed, and logs its totals', async () => {
    const { hep, packets, logs } = await exporter();
    hep.capture(message());
    await expect.poll(() => packets.length).toBe(1);
    await hep.close();
    expect(() => hep.capture(message())).not.toThrow();
    expect(hep.stats().queued).toBe(1);
    expect(logs.find((l) => l['msg'] === 'hep: export stopped')).toMatchObject({ queued: 1, sent: 1 });
  });

  it('refuses a collector that is not an IP literal', () => {
    const { logger } = captureLogs('hep-test');
    expect(
      () =>
        new HepExporter({ collector: { address: 'homer', port: 9060 }, agentId: 1, samplingPercent: 100 }, { logger }),
    ).toThrow(RangeError);
  });
});

/** A sink that keeps what it is given. */
function recordingSink(): CaptureSink & { captured: CapturedMessage[] } {
  let t = 1_000_000;
  const captured: CapturedMessage[] = [];
  return { captured, capture: (m) => void captured.push(m), now: () => ++t };
}

const arrival = (overrides: Partial<Arrival> = {}): Arrival => ({
  transport: 'udp',
  source: UA,
  local: EDGE,
  receivedAt: Date.now(),
  ...overrides,
});

describe('capture of what the listeners receive', () => {
  function recordingHandler() {
    const calls: string[] = [];
    const handler: TransportHandler = {
      datagram: (data) => void calls.push(`datagram ${data.length}`),
      streamMessage: (m) => {
        // The core changes what it gets (received/rport); the capture must have the bytes as framed.
        m.replaceFirst('Via', 'SIP/2.0/TCP 127.0.0.1:40000;branch=z9hG4bK-o1;received=127.0.0.1');
        calls.push(`message ${m.method}`);
      },
      streamError: () => void calls.push('error'),
      flowOpened: (flowId) => void calls.push(`opened ${flowId}`),
      flowClosed: (flowId) => void calls.push(`closed ${flowId}`),
    };
    return { calls, handler };
  }

  it('captures a SIP datagram, then hands every datagram on (STUN and keep-alives uncaptured)', () => {
    const sink = recordingSink();
    const { calls, handler } = recordingHandler();
    const wrapped = capturingHandler(handler, sink);
    wrapped.datagram(OPTIONS, arrival());
    wrapped.datagram(STUN, arrival());
    wrapped.datagram(Buffer.from('\r\n\r\n'), arrival());
    wrapped.datagram(Buffer.from('garbage'), arrival());
    expect(calls).toEqual([`datagram ${OPTIONS.length}`, 'datagram 20', 'datagram 4', 'datagram 7']);
    expect(sink.captured).toEqual([
      { direction: 'in', transport: 'udp', source: UA, destination: EDGE, payload: OPTIONS, callId: 'opt-1' },
    ]);
  });

  it('captures a stream message as framed, before the core changes it', () => {
    const sink = recordingSink();
    const { calls, handler } = recordingHandler();
    const wrapped = capturingHandler(handler, sink);
    const bytes = Buffer.from(OPTIONS);
    const m = parseMessage(bytes, { framing: 'stream' });
    wrapped.streamMessage(m, arrival({ transport: 'tls', flowId: 'f1' }));
    expect(calls).toEqual(['message OPTIONS']);
    expect(m.toBuffer().equals(bytes)).toBe(false);
    expect(sink.captured).toHaveLength(1);
    expect(sink.captured[0]).toMatchObject({ transport: 'tls', source: UA, destination: EDGE, callId: 'opt-1' });
    expect(Buffer.from(sink.captured[0]!.payload).equals(bytes)).toBe(true);
  });

  it('hands errors and flow events on untouched, capturing nothing', () => {
    const sink = recordingSink();
    const { calls, handler } = recordingHandler();
    const wrapped = capturingHandler(handler, sink);
    wrapped.flowOpened('f1', 'tcp', UA);
    wrapped.streamError(Object.assign(new Error('bad'), { code: 'bad-start-line' }) as never, false, arrival());
    wrapped.flowClosed('f1');
    expect(calls).toEqual(['opened f1', 'error', 'closed f1']);
    expect(sink.captured).toEqual([]);
  });

  it('writes a wildcard local address as the advertised one of its family', () => {
    const sink = recordingSink();
    const { handler } = recordingHandler();
    const resolve = wildcardResolver({ host: '203.0.113.5', ipv6Host: '2001:db8::5' });
    const wrapped = capturingHandler(handler, sink, resolve);
    wrapped.datagram(OPTIONS, arrival({ local: { address: '0.0.0.0', port: 5060 } }));
    expect(sink.captured[0]!.destination).toEqual({ address: '203.0.113.5', port: 5060 });
    expect(resolve({ address: '::', port: 5060 })).toEqual({ address: '2001:db8::5', port: 5060 });
    expect(resolve({ address: '192.0.2.1', port: 5060 })).toEqual({ address: '192.0.2.1', port: 5060 });
    // An advertised name is no address: the wildcard stays.
    expect(wildcardResolver({ host: 'sip.example.com' })({ address: '0.0.0.0', port: 1 }).address).toBe('0.0.0.0');
  });
});

describe('capture of what the core sends', () => {
  function fakeUdp(fail = false) {
    const sent: { data: Buffer; destination: Endpoint }[] = [];
    return {
      sent,
      udp: {
        addresses: () => [
          { address: '127.0.0.1', port: 5060 },
          { address: '192.0.2.1', port: 5060 },
          { address: '::', port: 5062 },
        ],
        send: (data: Buffer, destination: Endpoint) => {
          if (fail) return Promise.reject(new Error('udp: no socket'));
          sent.push({ data, destination });
          return Promise.resolve();
        },
      },
    };
  }

  function fakeStream(accept = true) {
    const calls: string[] = [];
    const stream: FlowSender = {
      flow: (flowId) =>
        flowId === 'f1'
          ? { remote: { address: '127.0.0.1', port: 41000 }, local: { address: '127.0.0.1', port: 5061 } }
          : undefined,
      send: (flowId) => {
        calls.push(`send ${flowId}`);
        return accept && flowId === 'f1';
      },
      connect: (destination) => {
        calls.push(`connect ${destination.port}`);
        return Promise.resolve('f1');
      },
      closeFlow: (flowId) => {
        calls.push(`close ${flowId}`);
        return true;
      },
    };
    return { calls, stream };
  }

  it('captures a UDP send once the transport took it, from the socket UdpTransport picks', async () => {
    const sink = recordingSink();
    const { udp, sent } = fakeUdp();
    const senders = capturingSenders({ udp }, sink);
    await senders.udp!.send(OPTIONS, UA);
    await senders.udp!.send(OPTIONS, { address: '198.51.100.7', port: 5070 });
    await senders.udp!.send(OPTIONS, { address: '2001:db8::7', port: 5070 });
    await senders.udp!.send(STUN, UA); // a STUN response: sent, not captured
    expect(sent).toHaveLength(4);
    expect(sink.captured.map((c) => [c.source, c.destination, c.transport, c.callId])).toEqual([
      [{ address: '127.0.0.1', port: 5060 }, UA, 'udp', 'opt-1'],
      [{ address: '192.0.2.1', port: 5060 }, { address: '198.51.100.7', port: 5070 }, 'udp', 'opt-1'],
      [{ address: '::', port: 5062 }, { address: '2001:db8::7', port: 5070 }, 'udp', 'opt-1'],
    ]);
    // Timestamps from the moment each send was issued.
    expect(sink.captured.map((c) => c.atUs)).toEqual([1_000_001, 1_000_002, 1_000_003]);
  });

  it('does not capture a UDP send that failed, and the failure reaches the caller', async () => {
    const sink = recordingSink();
    const senders = capturingSenders({ udp: fakeUdp(true).udp }, sink);
    await expect(senders.udp!.send(OPTIONS, UA)).rejects.toThrow('udp: no socket');
    expect(sink.captured).toEqual([]);
  });

  it('captures a stream send the flow took, local to remote; delegates connect and closeFlow', async () => {
    for (const transport of ['tcp', 'tls', 'ws', 'wss'] as const) {
      const sink = recordingSink();
      const { calls, stream } = fakeStream();
      const senders = capturingSenders({ [transport]: stream }, sink);
      const sender = senders[transport]!;
      expect(sender.send('f1', OPTIONS)).toBe(true);
      expect(sender.send('gone', OPTIONS)).toBe(false);
      expect(sender.send('f1', Buffer.from('\r\n'))).toBe(true);
      expect(await sender.connect({ address: '127.0.0.1', port: 5070 })).toBe('f1');
      expect(sender.closeFlow('f1')).toBe(true);
      expect(calls).toEqual(['send f1', 'send gone', 'send f1', 'connect 5070', 'close f1']);
      expect(sink.captured).toEqual([
        {
          direction: 'out',
          transport,
          source: { address: '127.0.0.1', port: 5061 },
          destination: { address: '127.0.0.1', port: 41000 },
          payload: OPTIONS,
          callId: 'opt-1',
          atUs: 1_000_001,
        },
      ]);
    }
  });

  it('does not capture what a flow refused (closed, or over its write buffer)', () => {
    const sink = recordingSink();
    const senders = capturingSenders({ tcp: fakeStream(false).stream }, sink);
    expect(senders.tcp!.send('f1', OPTIONS)).toBe(false);
    expect(sink.captured).toEqual([]);
    expect(senders.udp).toBeUndefined();
    expect(senders.ws).toBeUndefined();
  });

  it('picks the sending socket as UdpTransport does', () => {
    const loopbackOnly = [{ address: '127.0.0.1', port: 1 }];
    expect(udpLocal(loopbackOnly, '192.0.2.1')).toEqual({ address: '127.0.0.1', port: 1 });
    expect(udpLocal(loopbackOnly, '::1')).toBeUndefined();
    const both = [
      { address: '127.0.0.1', port: 1 },
      { address: '0.0.0.0', port: 2 },
    ];
    expect(udpLocal(both, '127.0.0.1')).toEqual({ address: '0.0.0.0', port: 2 });
    expect(
      udpLocal(
        [
          { address: '::1', port: 3 },
          { address: '2001:db8::1', port: 4 },
        ],
        '2001:db8::9',
      ),
    ).toEqual({
      address: '2001:db8::1',
      port: 4,
    });
  });
});

describe('hep.* settings', () => {
  const base = { SIPEDGE_EDGE_ID: 'e1' };

  it('is off without an address', () => {
    expect(edgeConfigFromEnv(base).hep).toBeUndefined();
    expect(edgeConfigFromEnv({ ...base, SIPEDGE_HEP_AGENT_ID: '7' }).hep).toBeUndefined();
  });

  it('reads the collector, agent id, password and sampling', () => {
    expect(edgeConfigFromEnv({ ...base, SIPEDGE_HEP_ADDRESS: '10.0.0.5:9060' }).hep).toEqual({
      collector: { address: '10.0.0.5', port: 9060 },
      agentId: 1,
      samplingPercent: 100,
    });
    expect(
      edgeConfigFromEnv({
        ...base,
        SIPEDGE_HEP_ADDRESS: '[2001:db8::5]:9060',
        SIPEDGE_HEP_AGENT_ID: '4294967295',
        SIPEDGE_HEP_PASSWORD: 'myHep',
        SIPEDGE_HEP_SAMPLING: '0',
      }).hep,
    ).toEqual({
      collector: { address: '2001:db8::5', port: 9060 },
      agentId: 4294967295,
      password: 'myHep',
      samplingPercent: 0,
    });
  });

  it.each([
    ['SIPEDGE_HEP_ADDRESS', 'homer.example.com:9060'],
    ['SIPEDGE_HEP_ADDRESS', '10.0.0.5'],
    ['SIPEDGE_HEP_ADDRESS', '10.0.0.5:0'],
    ['SIPEDGE_HEP_ADDRESS', '10.0.0.5:9060,10.0.0.6:9060'],
    ['SIPEDGE_HEP_AGENT_ID', '-1'],
    ['SIPEDGE_HEP_AGENT_ID', '4294967296'],
    ['SIPEDGE_HEP_AGENT_ID', 'edge-1'],
    ['SIPEDGE_HEP_SAMPLING', '101'],
    ['SIPEDGE_HEP_SAMPLING', '0.5'],
    ['SIPEDGE_HEP_PASSWORD', 'x'.repeat(1025)],
  ])('refuses %s=%s, naming it', (name, value) => {
    const env = { ...base, SIPEDGE_HEP_ADDRESS: '127.0.0.1:9060', [name]: value };
    let error: unknown;
    try {
      edgeConfigFromEnv(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).setting).toBe(name);
  });
});
