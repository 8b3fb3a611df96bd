import type { Transport } from '@sipedge/sip';
import type { Endpoint } from './transports/types.js';

/** What the core needs from the UDP transport. */
export interface DatagramSender {
  send(data: Buffer, destination: Endpoint): Promise<void>;
}

/** What the core needs from a TCP, TLS or WebSocket transport. */
export interface StreamSender {
  /** Writes on an open flow; false when the flow is unknown or closed. */
  send(flowId: string, data: Buffer): boolean;
  /** Opens a new outgoing connection and returns its flow id. */
  connect(destination: Endpoint): Promise<string>;
  /** Ends a flow gracefully (what was written still goes out); false when unknown or closing. */
  closeFlow(flowId: string): boolean;
}

export interface Senders {
  udp?: DatagramSender;
  tcp?: StreamSender;
  tls?: StreamSender;
  ws?: StreamSender;
  wss?: StreamSender;
}

export function streamSender(senders: Senders, transport: Transport): StreamSender | undefined {
  return transport === 'udp' ? undefined : senders[transport];
}
