import { parseMessage } from '@sipedge/sip';
import { captureSpans, inSpan } from '@sipedge/telemetry';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeInbound, encodeInbound, encodeOutbound, sipAttributes, traceContextOf } from '../src/index.js';

const meta = {
  transport: 'udp' as const,
  source: { address: '192.0.2.1', port: 5060 },
  local: { address: '127.0.0.1', port: 5060 },
  edgeId: 'e1',
  receivedAt: 1,
};

describe('trace headers in the hand-off', () => {
  let captured: Awaited<ReturnType<typeof captureSpans>>;
  beforeAll(async () => {
    captured = await captureSpans();
  });

  it('the encoders carry the active span as traceparent; a span started from traceContextOf is its child', async () => {
    const encoded = await inSpan('edge', {}, async () => [
      encodeInbound(meta),
      encodeOutbound({ transport: 'udp', destination: meta.source, kind: 'request' }),
    ]);
    const edge = captured.spans().find((s) => s.name === 'edge')!;
    for (const headers of encoded) {
      expect(headers.traceparent).toBe(`00-${edge.traceId}-${edge.spanId}-01`);
      await inSpan('worker', { parent: traceContextOf(headers) }, async () => {});
      const worker = captured.spans().at(-1)!;
      expect(worker).toMatchObject({ name: 'worker', traceId: edge.traceId, parentSpanId: edge.spanId });
    }
    expect(decodeInbound(encoded[0]!)).toEqual(meta);
  });

  it('without an active span no trace header is added', () => {
    expect(encodeInbound(meta)).not.toHaveProperty('traceparent');
  });

  it('sipAttributes: method or status, Call-ID, branch, transport', () => {
    const invite = parseMessage(
      Buffer.from(
        'INVITE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/TLS h;branch=z9hG4bK1\r\nTo: <sip:b@example.com>\r\n' +
          'From: <sip:a@example.com>;tag=1\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n',
      ),
    );
    expect(sipAttributes(invite, 'tls')).toEqual({
      'network.transport': 'tcp',
      'tls.protocol.name': 'tls',
      'sip.method': 'INVITE',
      'sip.call_id': 'c1',
      'sip.cseq_method': 'INVITE',
      'sip.branch': 'z9hG4bK1',
    });
  });
});
