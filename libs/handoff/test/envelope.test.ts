import { describe, expect, it } from 'vitest';
import { SUBJECTS, checkEdgeId, decodeInbound, decodeOutbound, encodeInbound, encodeOutbound } from '../src/index.js';

describe('hand-off envelope', () => {
  it('round-trips inbound metadata, IPv6 included, keeping extra headers such as traceparent', () => {
    const meta = {
      transport: 'tcp' as const,
      source: { address: '2001:db8::1', port: 40000 },
      local: { address: '::1', port: 5060 },
      flowId: 'f-edge1-7',
      edgeId: 'edge1',
      receivedAt: 1_763_750_000_123,
    };
    const headers = encodeInbound(meta, { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
    expect(headers['sip-source']).toBe('[2001:db8::1]:40000');
    expect(headers.traceparent).toMatch(/^00-/);
    expect(decodeInbound(headers)).toEqual(meta);
    const again = { ...meta, retransmission: true as const };
    expect(decodeInbound(encodeInbound(again))).toEqual(again);
  });

  it('round-trips outbound metadata and rejects malformed headers', () => {
    const meta = {
      transport: 'udp' as const,
      destination: { address: '192.0.2.4', port: 5060 },
      kind: 'response' as const,
    };
    expect(decodeOutbound(encodeOutbound(meta))).toEqual(meta);
    expect(() => decodeOutbound({ ...encodeOutbound(meta), 'sip-kind': 'other' })).toThrow(TypeError);
    expect(() => decodeInbound({})).toThrow(TypeError);
    expect(() => decodeOutbound({ ...encodeOutbound(meta), 'sip-destination': '2001:db8::1:5060' })).toThrow(
      RangeError,
    );
  });

  it('derives per-edge subjects from safe edge ids only', () => {
    expect(SUBJECTS.edgeOutbound(checkEdgeId('edge-a_1'))).toBe('sipedge.edge.edge-a_1.out');
    expect(() => checkEdgeId('edge.a')).toThrow(RangeError);
    expect(() => checkEdgeId('')).toThrow(RangeError);
  });
});
