import type { SipMessage, SipParseError, Transport } from '@sipedge/sip';

import type { Endpoint } from '@sipedge/net';

export type { Endpoint };

/** Where a message came from and where it arrived. */
export interface Arrival {
  transport: Transport;
  source: Endpoint;
  local: Endpoint;
  /** Stream transports: the connection it arrived on. */
  flowId?: string;
  /** Epoch ms. */
  receivedAt: number;
}

/** What the listeners report to the edge core. */
export interface TransportHandler {
  /** A UDP datagram, unparsed (the core decides how to parse and protect). */
  datagram(data: Buffer, arrival: Arrival): void;
  /** A framed message from a TCP/TLS flow (already parsed by the flow's StreamFramer). */
  streamMessage(message: SipMessage, arrival: Arrival): void;
  /** A framed but invalid message (`fatal: false`), or a framing error after which the flow is closed. */
  streamError(error: SipParseError, fatal: boolean, arrival: Arrival): void;
  flowOpened(flowId: string, transport: Transport, remote: Endpoint): void;
  flowClosed(flowId: string): void;
}
