/**
 * The call-flow page's recording at the edge (callflow/recorder.ts) and its admin API: sampled by
 * Call-ID, credentials redacted, written in batches, searched and read back over HTTP.
 */
import { NO_BANS, startTestOpsServer } from './support/ops.js';
import { MemoryCaptureStore, MemoryDialogStore, MemoryLocationStore } from '@sipedge/store';
import { createLogger } from '@sipedge/telemetry';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { adminRoutes } from '../src/admin.js';
import { CallFlowRecorder, redact } from '../src/callflow/recorder.js';
import type { CapturedMessage } from '../src/hep/index.js';
import type { OpsServer } from '../src/http.js';

const logger = createLogger({ name: 'callflow-test', level: 'silent' });
const TOKEN = 'callflow-token-callflow-token-0123456789';
const UA = { address: '192.0.2.7', port: 5062 };
const EDGE = { address: '127.0.0.1', port: 5060 };
const LIMITS = { retentionMs: 60_000, maxCalls: 100, maxMessagesPerCall: 50 };

function sip(lines: string[]): Buffer {
  return Buffer.from(`${lines.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`);
}

const invite = (callId: string) =>
  sip([
    'INVITE sip:bob@example.com SIP/2.0',
    'Via: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bKcf1',
    'Max-Forwards: 70',
    'From: <sip:alice@example.com>;tag=a',
    'To: <sip:bob@example.com>',
    `Call-ID: ${callId}`,
    'CSeq: 2 INVITE',
    'Proxy-Authorization: Digest username="alice", realm="example.com", nonce="n",',
    '  uri="sip:bob@example.com", response="0123456789abcdef0123456789abcdef"',
    'Authorization: Bearer secret-token',
  ]);

const response = (callId: string, status: number, reason: string) =>
  sip([
    `SIP/2.0 ${status} ${reason}`,
    'Via: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bKcf1',
    'From: <sip:alice@example.com>;tag=a',
    'To: <sip:bob@example.com>;tag=b',
    `Call-ID: ${callId}`,
    'CSeq: 2 INVITE',
  ]);

const captured = (payload: Buffer, callId: string, direction: 'in' | 'out', atUs: number): CapturedMessage => ({
  direction,
  transport: 'udp',
  source: direction === 'in' ? UA : EDGE,
  destination: direction === 'in' ? EDGE : UA,
  payload,
  callId,
  atUs,
});

describe('CallFlowRecorder', () => {
  it('records a sampled call whole, credentials redacted, in one batch, with its summary', async () => {
    const store = new MemoryCaptureStore();
    const recorder = new CallFlowRecorder({ ...LIMITS, samplingPercent: 100 }, { store, edgeId: 'edge-1', logger });
    const t = Date.now() * 1000;
    recorder.capture(captured(invite('cf-1'), 'cf-1', 'in', t));
    recorder.capture(captured(response('cf-1', 100, 'Trying'), 'cf-1', 'out', t + 1000));
    recorder.capture(captured(response('cf-1', 486, 'Busy Here'), 'cf-1', 'out', t + 2000));
    expect(await store.messages('cf-1')).toEqual([]); // batched: not written at once
    await vi.waitFor(async () => expect(await store.messages('cf-1')).toHaveLength(3), { timeout: 2000 });
    const [first, second] = await store.messages('cf-1');
    expect(first).toMatchObject({ edgeId: 'edge-1', direction: 'in', transport: 'udp', source: UA, destination: EDGE });
    expect(first!.at).toBe(t / 1000);
    expect(second!.direction).toBe('out');
    expect(first!.text).toContain('Proxy-Authorization: Digest [redacted]\r\n');
    expect(first!.text).toContain('Authorization: Bearer [redacted]\r\n');
    expect(first!.text).not.toMatch(/0123456789abcdef|secret-token|nonce=/);
    expect(first!.text).toContain('Call-ID: cf-1');
    const [summary] = await store.calls(10);
    expect(summary).toMatchObject({
      callId: 'cf-1',
      method: 'INVITE',
      from: 'sip:alice@example.com',
      to: 'sip:bob@example.com',
      status: 486,
      messages: 3,
    });
    await recorder.close();
  });

  it('records nothing of calls the sampling leaves out, and writes what is pending on close', async () => {
    const store = new MemoryCaptureStore();
    const none = new CallFlowRecorder({ ...LIMITS, samplingPercent: 0 }, { store, edgeId: 'e', logger });
    none.capture(captured(invite('cf-2'), 'cf-2', 'in', Date.now() * 1000));
    await none.close();
    expect(await store.calls(10)).toEqual([]);
    const all = new CallFlowRecorder({ ...LIMITS, samplingPercent: 100 }, { store, edgeId: 'e', logger });
    all.capture(captured(invite('cf-3'), 'cf-3', 'in', Date.now() * 1000));
    await all.close();
    expect((await store.calls(10)).map((c) => c.callId)).toEqual(['cf-3']);
  });

  it('counts a failing store instead of throwing into SIP handling', async () => {
    const store = new MemoryCaptureStore();
    store.add = () => Promise.reject(new Error('Redis is away'));
    const recorder = new CallFlowRecorder({ ...LIMITS, samplingPercent: 100 }, { store, edgeId: 'e', logger });
    expect(() => recorder.capture(captured(invite('cf-4'), 'cf-4', 'in', Date.now() * 1000))).not.toThrow();
    await recorder.close();
    expect(recorder.stats()).toEqual({ dropped: 0, failedBatches: 1 });
  });

  it('redacts folded credential lines and leaves other headers alone', () => {
    expect(redact('Authorization: Digest a=1,\r\n b=2\r\nX-Auth: keep\r\n')).toBe(
      'Authorization: Digest [redacted]\r\nX-Auth: keep\r\n',
    );
  });
});

describe('admin API: recorded calls', () => {
  let server: OpsServer | undefined;
  afterEach(() => server?.close());

  it("searches the recorded calls and returns one call's messages; refuses without the token", async () => {
    const captures = new MemoryCaptureStore();
    const t = Date.now();
    const message = (callId: string, at: number, text: string) => ({
      callId,
      at,
      edgeId: 'edge-1',
      direction: 'in' as const,
      transport: 'udp',
      source: UA,
      destination: EDGE,
      text,
    });
    await captures.add(
      [
        {
          message: message('a b/c', t, 'INVITE sip:bob@x SIP/2.0\r\nX: 1\r\n\r\n'),
          facts: { method: 'INVITE', from: 'sip:alice@x', to: 'sip:bob@x' },
        },
        { message: message('a b/c', t + 5, 'SIP/2.0 200 OK\r\n\r\n'), facts: { status: 200, cseqMethod: 'INVITE' } },
        {
          message: message('other', t + 9, 'OPTIONS sip:x SIP/2.0\r\n\r\n'),
          facts: { method: 'OPTIONS', from: 'sip:carol@x', to: 'sip:x' },
        },
      ],
      LIMITS,
      t,
    );
    let base: string;
    ({ server, base } = await startTestOpsServer(
      adminRoutes({
        token: TOKEN,
        bans: NO_BANS,
        registrations: new MemoryLocationStore(),
        dialogs: new MemoryDialogStore(),
        captures,
        drain: () => undefined,
      }),
    ));
    const get = (path: string, token = TOKEN) =>
      fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const list = async (query: string) =>
      ((await (await get(`/admin/capture/calls${query}`)).json()) as { calls: { callId: string }[] }).calls.map(
        (c) => c.callId,
      );
    expect(await list('')).toEqual(['other', 'a b/c']);
    expect(await list('?match=ALICE')).toEqual(['a b/c']);
    expect(await list('?status=200')).toEqual(['a b/c']);
    expect(await list('?match=carol&status=200')).toEqual([]);
    expect(await list('?limit=1')).toEqual(['other']);
    const one = await get(`/admin/capture/calls/${encodeURIComponent('a b/c')}`);
    expect(one.status).toBe(200);
    const body = (await one.json()) as { callId: string; messages: { firstLine: string; at: string }[] };
    expect(body.callId).toBe('a b/c');
    expect(body.messages.map((m) => m.firstLine)).toEqual(['INVITE sip:bob@x SIP/2.0', 'SIP/2.0 200 OK']);
    expect(body.messages[0]!.at).toBe(new Date(t).toISOString());
    expect((await get('/admin/capture/calls/unknown')).status).toBe(404);
    expect((await get('/admin/capture/calls/%E0%A4%A')).status).toBe(400);
    expect((await get('/admin/capture/calls?status=42')).status).toBe(400);
    expect((await get('/admin/capture/calls', 'wrong')).status).toBe(401);
    expect((await get(`/admin/capture/calls/${encodeURIComponent('a b/c')}`, 'wrong')).status).toBe(401);
  });
});
