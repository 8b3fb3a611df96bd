import type { BusHeaders } from '@sipedge/bus';
import { formatEndpoint, parseEndpoint } from '@sipedge/net';
import { type Transport, isTransport } from '@sipedge/sip';
import { injectTraceContext } from '@sipedge/telemetry';

export type { Transport };

/** What an edge tells a worker about a message it received. */
export interface InboundMeta {
  transport: Transport;
  source: { address: string; port: number };
  local: { address: string; port: number };
  /** The TCP/TLS connection it arrived on. */
  flowId?: string;
  edgeId: string;
  /** Epoch ms when the edge read it. */
  receivedAt: number;
  /**
   * The edge handed off the same initial request (Via branch and sent-by, Call-ID, CSeq) lately:
   * this is a retransmission of a request already taken, never shed as new work (overload.ts).
   */
  retransmission?: true;
  /**
   * The edge handed this very message off before and no worker confirmed it (a TCP/TLS/WebSocket
   * hand-off retry, services/edge/src/handoff.ts): the worker that had it may have died after
   * committing what it decided and before sending it.
   */
  redelivered?: true;
}

/** What a worker asks an edge to send. */
export interface OutboundMeta {
  transport: Transport;
  destination: { address: string; port: number };
  /** Send on this connection if the edge still holds it. */
  flowId?: string;
  /**
   * `response`: if the flow is gone, open a new connection to the destination (§18.2.2).
   * `request`: if the flow is gone or the destination refuses, report a transport error (§16.9).
   */
  kind: 'request' | 'response';
}

/** NATS header names. The encoders also add the active W3C trace context (`traceparent`, `tracestate`). */
export const H = {
  transport: 'sip-transport',
  source: 'sip-source',
  local: 'sip-local',
  destination: 'sip-destination',
  flow: 'sip-flow',
  edge: 'sip-edge',
  receivedAt: 'sip-received-at',
  retransmission: 'sip-retransmission',
  redelivered: 'sip-redelivered',
  kind: 'sip-kind',
  /** Set by an edge in its reply to an outbound request that could not be delivered. */
  deliveryError: 'sip-delivery-error',
} as const;

function transportOf(value: string | undefined): Transport {
  if (!isTransport(value)) throw new TypeError(`bad ${H.transport} "${value}"`);
  return value;
}

function required(headers: BusHeaders, name: string): string {
  const v = headers[name];
  if (v === undefined) throw new TypeError(`missing header ${name}`);
  return v;
}

/**
 * The headers of either direction: the caller's `extra`, the transport, `fields`, the flow when
 * there is one, and the active trace context.
 */
function encode(extra: BusHeaders, meta: InboundMeta | OutboundMeta, fields: BusHeaders): BusHeaders {
  const headers: BusHeaders = { ...extra, [H.transport]: meta.transport, ...fields };
  if (meta.flowId !== undefined) headers[H.flow] = meta.flowId;
  return injectTraceContext(headers);
}

export function encodeInbound(meta: InboundMeta, extra: BusHeaders = {}): BusHeaders {
  return encode(extra, meta, {
    [H.source]: formatEndpoint(meta.source),
    [H.local]: formatEndpoint(meta.local),
    [H.edge]: meta.edgeId,
    [H.receivedAt]: String(meta.receivedAt),
    ...(meta.retransmission === true ? { [H.retransmission]: '1' } : {}),
    ...(meta.redelivered === true ? { [H.redelivered]: '1' } : {}),
  });
}

export function decodeInbound(headers: BusHeaders): InboundMeta {
  const meta: InboundMeta = {
    transport: transportOf(headers[H.transport]),
    source: parseEndpoint(required(headers, H.source)),
    local: parseEndpoint(required(headers, H.local)),
    edgeId: required(headers, H.edge),
    receivedAt: Number(required(headers, H.receivedAt)),
  };
  const flow = headers[H.flow];
  if (flow !== undefined) meta.flowId = flow;
  if (headers[H.retransmission] === '1') meta.retransmission = true;
  if (headers[H.redelivered] === '1') meta.redelivered = true;
  return meta;
}

export function encodeOutbound(meta: OutboundMeta, extra: BusHeaders = {}): BusHeaders {
  return encode(extra, meta, { [H.destination]: formatEndpoint(meta.destination), [H.kind]: meta.kind });
}

export function decodeOutbound(headers: BusHeaders): OutboundMeta {
  const kind = headers[H.kind];
  if (kind !== 'request' && kind !== 'response') throw new TypeError(`bad ${H.kind} "${kind}"`);
  const meta: OutboundMeta = {
    transport: transportOf(headers[H.transport]),
    destination: parseEndpoint(required(headers, H.destination)),
    kind,
  };
  const flow = headers[H.flow];
  if (flow !== undefined) meta.flowId = flow;
  return meta;
}
