import type { SipMessage, SipParseError, Transport } from '@sipedge/sip';
import type { Arrival, Endpoint, TransportHandler } from '../../src/transports/index.js';

/** What a connection transport reported to its handler, in order. */
export type Event =
  | { kind: 'message'; message: SipMessage; arrival: Arrival }
  | { kind: 'error'; error: SipParseError; fatal: boolean; arrival: Arrival }
  | { kind: 'opened'; flowId: string; transport: Transport; remote: Endpoint }
  | { kind: 'closed'; flowId: string };

/** A TransportHandler that records every callback (connection transports report no datagrams). */
export class Recorder {
  readonly events: Event[] = [];
  /** Hooks a test sets to act inside a callback (e.g. answer a fatal error at once). */
  onError: ((error: SipParseError, fatal: boolean, arrival: Arrival) => void) | undefined;

  readonly handler: TransportHandler = {
    datagram: () => {
      throw new Error('a stream transport reported a datagram');
    },
    streamMessage: (message, arrival) => this.events.push({ kind: 'message', message, arrival }),
    streamError: (error, fatal, arrival) => {
      this.events.push({ kind: 'error', error, fatal, arrival });
      this.onError?.(error, fatal, arrival);
    },
    flowOpened: (flowId, transport, remote) => this.events.push({ kind: 'opened', flowId, transport, remote }),
    flowClosed: (flowId) => this.events.push({ kind: 'closed', flowId }),
  };

  get messages(): Array<Extract<Event, { kind: 'message' }>> {
    return this.events.filter((e): e is Extract<Event, { kind: 'message' }> => e.kind === 'message');
  }
  get errors(): Array<Extract<Event, { kind: 'error' }>> {
    return this.events.filter((e): e is Extract<Event, { kind: 'error' }> => e.kind === 'error');
  }
  get opened(): Array<Extract<Event, { kind: 'opened' }>> {
    return this.events.filter((e): e is Extract<Event, { kind: 'opened' }> => e.kind === 'opened');
  }
  get closed(): string[] {
    return this.events.flatMap((e) => (e.kind === 'closed' ? [e.flowId] : []));
  }
}
