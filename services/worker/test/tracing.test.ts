/**
 * The call record carries the trace: the worker's server-transaction span is a child of the
 * edge's span (from the hand-off headers), its traceparent is stored in the record, and a later
 * event (a response, on whichever worker) is traced as its child.
 */
import { buildResponse, parseMessage } from '@sipedge/sip';
import { captureSpans, inSpan } from '@sipedge/telemetry';
import { serverKey } from '@sipedge/transaction';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CallRecord } from '../src/record.js';
import { recordKey } from '../src/call-store.js';
import { contextIdOf } from '../src/worker.js';
import { Harness, sip } from './harness.js';

const UAS = { address: '192.0.2.20', port: 5070 };
const INVITE = sip([
  `INVITE sip:bob@${UAS.address}:${UAS.port} SIP/2.0`,
  'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKtraced',
  'Max-Forwards: 70',
  `To: <sip:bob@${UAS.address}>`,
  'From: <sip:alice@example.com>;tag=a1',
  'Call-ID: traced@uac',
  'CSeq: 1 INVITE',
  'Contact: <sip:alice@192.0.2.1:5060>',
]);

describe('tracing through the call record', () => {
  let captured: Awaited<ReturnType<typeof captureSpans>>;
  let h: Harness;
  beforeAll(async () => {
    captured = await captureSpans();
  });
  beforeEach(async () => {
    h = await Harness.start(2);
  });
  afterEach(() => h.stop());

  it('stores the server transaction traceparent; forks and responses are its children', async () => {
    await inSpan('edge', {}, () => h.receive(INVITE));
    const forked = await h.waitFor((s) => s.message.isRequest && s.message.method === 'INVITE');
    const span = (name: string) => captured.spans().find((s) => s.name === name);
    const edge = span('edge')!;

    const [stored] = await h.stores.records.load([
      recordKey(contextIdOf(serverKey(parseMessage(Buffer.from(INVITE))))),
    ]);
    const record = JSON.parse(stored!.value) as CallRecord;
    const server = span('sip.server_transaction')!;
    expect(server).toMatchObject({ traceId: edge.traceId, parentSpanId: edge.spanId });
    expect(server.attributes).toMatchObject({ 'sip.method': 'INVITE', 'sip.call_id': 'traced@uac' });
    expect(record.trace).toBe(`00-${server.traceId}-${server.spanId}-01`);
    expect(span('sip.client_transaction')).toMatchObject({ traceId: edge.traceId, parentSpanId: server.spanId });
    expect(span('sip.client_transaction')!.attributes).toMatchObject({ 'sip.fork_index': 0 });

    // The 180 comes in untraced (a new trace at its edge): its handling joins the call's trace.
    await h.receive(buildResponse(forked.message, 180, { toTag: 'b1' }).toString(), UAS);
    await h.waitFor((s) => s.message.status === 180);
    await expect.poll(() => span('sip.response')).toMatchObject({ traceId: edge.traceId, parentSpanId: server.spanId });
    expect(span('sip.response')!.attributes).toMatchObject({ 'sip.status_code': 180, 'sip.fork_index': 0 });
  });
});
