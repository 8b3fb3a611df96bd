import type { DatagramSender, Senders, StreamSender } from '../senders.js';
import { familyOf } from '../transports/endpoint.js';
import type { Transport } from '@sipedge/sip';
import type { Arrival, Endpoint, TransportHandler } from '../transports/types.js';
import type { CapturedMessage } from './exporter.js';
import { callIdOf, looksLikeSip } from './sniff.js';

/**
 * The capture points of an edge, as decorators around what it already has, so that the receive
 * pipeline and outbound delivery know nothing of who listens (HEP export, the call-flow page):
 *
 * - received: the TransportHandler every listener reports to (a UDP datagram that is a SIP message,
 *   each framed TCP/TLS message and each WebSocket message), captured before the core sees it;
 * - sent: the Senders the core sends through (responses and requests delivered for workers, the
 *   edge's own stateless responses, NAT keep-alive OPTIONS), captured once the transport took them.
 *
 * STUN, CRLF keep-alives and pongs are never captured (they are no SIP message, or never pass here).
 * Invalid messages on a stream reach the core without their bytes (`streamError`) and are not
 * captured either; the edge's 400 to them is.
 */

/** What a capture point hands what it captured to (HepExporter, CallFlowRecorder). */
export interface CaptureSink {
  capture(message: CapturedMessage): void;
  /** A send's timestamp, taken as it is issued (epoch µs). */
  now(): number;
}

/** One sink that hands every message to each of `sinks` (the first one's clock). */
export function fanOut(sinks: readonly CaptureSink[]): CaptureSink {
  if (sinks.length === 1) return sinks[0]!;
  return {
    capture: (message) => {
      for (const sink of sinks) sink.capture(message);
    },
    now: () => sinks[0]!.now(),
  };
}

/** A stream transport whose flows can be looked up (StreamTransport, WebSocketTransport). */
export interface FlowSender extends StreamSender {
  flow(flowId: string): { remote: Endpoint; local: Endpoint } | undefined;
}

/** A UDP transport whose listening addresses are known (UdpTransport). */
export interface ListeningDatagramSender extends DatagramSender {
  addresses(): Endpoint[];
}

export interface CaptureSenders {
  udp?: ListeningDatagramSender | undefined;
  tcp?: FlowSender | undefined;
  tls?: FlowSender | undefined;
  ws?: FlowSender | undefined;
  wss?: FlowSender | undefined;
}

/**
 * How a wildcard listening address (`0.0.0.0`, `::`: the local address of whatever a wildcard-bound
 * UDP socket receives or sends) is written in a capture: the edge's advertised address of that
 * family when it is an IP literal; else the wildcard stays.
 */
export function wildcardResolver(advertised: { host: string; ipv6Host?: string }): (local: Endpoint) => Endpoint {
  const v4 = familyOf(advertised.host) === 4 ? advertised.host : undefined;
  const v6 = [advertised.ipv6Host, advertised.host].find((h) => h !== undefined && familyOf(h) === 6);
  return (local) => {
    if (local.address === '0.0.0.0' && v4 !== undefined) return { address: v4, port: local.port };
    if (local.address === '::' && v6 !== undefined) return { address: v6, port: local.port };
    return local;
  };
}

/** The handler the listeners get: captures what is SIP, then hands everything to `handler` unchanged. */
export function capturingHandler(
  handler: TransportHandler,
  sink: CaptureSink,
  resolveLocal: (local: Endpoint) => Endpoint = (l) => l,
): TransportHandler {
  const received = (payload: Uint8Array, arrival: Arrival) =>
    sink.capture({
      direction: 'in',
      transport: arrival.transport,
      source: arrival.source,
      destination: resolveLocal(arrival.local),
      payload,
      callId: callIdOf(payload),
    });
  return {
    datagram: (data, arrival) => {
      if (looksLikeSip(data)) received(data, arrival);
      handler.datagram(data, arrival);
    },
    // The bytes as framed: the core may change the message (received/rport) once it has it.
    streamMessage: (message, arrival) => {
      received(message.toBuffer(), arrival);
      handler.streamMessage(message, arrival);
    },
    streamError: (error, fatal, arrival) => handler.streamError(error, fatal, arrival),
    flowOpened: (flowId, transport, remote) => handler.flowOpened(flowId, transport, remote),
    flowClosed: (flowId) => handler.flowClosed(flowId),
  };
}

/** Senders that capture each SIP message the transport took, then behave exactly as `senders`. */
export function capturingSenders(
  senders: CaptureSenders,
  sink: CaptureSink,
  resolveLocal: (local: Endpoint) => Endpoint = (l) => l,
): Senders {
  const out: Senders = {};
  const { udp } = senders;
  if (udp !== undefined) {
    out.udp = {
      send: async (data, destination) => {
        const sip = looksLikeSip(data);
        const atUs = sip ? sink.now() : 0;
        await udp.send(data, destination);
        if (!sip) return;
        const local = udpLocal(udp.addresses(), destination.address);
        if (local === undefined) return;
        sink.capture({
          direction: 'out',
          transport: 'udp',
          source: resolveLocal(local),
          destination,
          payload: data,
          callId: callIdOf(data),
          atUs,
        });
      },
    };
  }
  for (const transport of ['tcp', 'tls', 'ws', 'wss'] as const) {
    const stream = senders[transport];
    if (stream !== undefined) out[transport] = capturingStream(transport, stream, sink);
  }
  return out;
}

function capturingStream(transport: Transport, stream: FlowSender, sink: CaptureSink): StreamSender {
  return {
    send: (flowId, data) => {
      // The flow's endpoints before the write: a write over the flow's buffer limit destroys it.
      const flow = looksLikeSip(data) ? stream.flow(flowId) : undefined;
      const atUs = flow === undefined ? 0 : sink.now();
      const ok = stream.send(flowId, data);
      if (ok && flow !== undefined) {
        sink.capture({
          direction: 'out',
          transport,
          source: flow.local,
          destination: flow.remote,
          payload: data,
          callId: callIdOf(data),
          atUs,
        });
      }
      return ok;
    },
    connect: (destination) => stream.connect(destination),
    closeFlow: (flowId) => stream.closeFlow(flowId),
  };
}

/**
 * The listening address a UDP send goes out from, chosen as UdpTransport does: a wildcard socket of
 * the destination's family, else one on (or off) the loopback as the destination is, else the first.
 */
export function udpLocal(addresses: readonly Endpoint[], destination: string): Endpoint | undefined {
  const family = familyOf(destination);
  const sockets = addresses.filter((a) => familyOf(a.address) === family);
  const loopback = isLoopback(destination);
  return (
    sockets.find((a) => a.address === '0.0.0.0' || a.address === '::') ??
    sockets.find((a) => isLoopback(a.address) === loopback) ??
    sockets[0]
  );
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}
