import { type SipMessage, isSecureTransport, isWebSocket } from '@sipedge/sip';
import { type Attributes, type Context, extractTraceContext } from '@sipedge/telemetry';
import type { Transport } from './envelope.js';

/** The trace context a hand-off carries in its NATS headers (W3C `traceparent`, set by the encoders). */
export function traceContextOf(headers: Readonly<Record<string, string | undefined>>): Context {
  return extractTraceContext(headers);
}

/**
 * Span attributes of a SIP message: OTel semantic conventions where they exist, `sip.*` otherwise.
 * A header that cannot be read is left out (a span never fails a message).
 */
export function sipAttributes(message: SipMessage, transport?: Transport): Attributes {
  const attributes: Attributes = transport === undefined ? {} : transportAttributes(transport);
  try {
    if (message.isRequest) attributes['sip.method'] = message.method;
    else attributes['sip.status_code'] = message.status;
    attributes['sip.call_id'] = message.callId;
    attributes['sip.cseq_method'] = message.cseq.method;
    const branch = message.topVia?.branch;
    if (branch !== undefined) attributes['sip.branch'] = branch;
  } catch {
    // an unreadable header: the attributes read so far
  }
  return attributes;
}

/**
 * `network.transport` (`udp` or `tcp`), `tls.protocol.name` over TLS and WSS, and
 * `network.protocol.name` `websocket` over WS and WSS (RFC 7118).
 */
export function transportAttributes(transport: Transport): Attributes {
  if (transport === 'udp' || transport === 'tcp') return { 'network.transport': transport };
  return {
    'network.transport': 'tcp',
    ...(isSecureTransport(transport) ? { 'tls.protocol.name': 'tls' } : {}),
    ...(isWebSocket(transport) ? { 'network.protocol.name': 'websocket' } : {}),
  };
}

/** `client.*` or `server.*` attributes of an endpoint. */
export function endpointAttributes(
  prefix: 'client' | 'server',
  endpoint: { address: string; port: number },
): Attributes {
  return { [`${prefix}.address`]: endpoint.address, [`${prefix}.port`]: endpoint.port };
}
