/** What tests of the engine alone (createCall, applyToCall) feed it: where a request came from, a decision. */
import type { InboundMeta } from '@sipedge/handoff';
import type { SipMessage } from '@sipedge/sip';

/** A request from 192.0.2.1:5060 over UDP, received by edge e1. */
export const UDP_ORIGIN: InboundMeta = {
  transport: 'udp',
  source: { address: '192.0.2.1', port: 5060 },
  local: { address: '127.0.0.1', port: 5060 },
  edgeId: 'e1',
  receivedAt: 0,
};

/** The TU's decision to proxy `template` to bob at 192.0.2.20 over UDP, without Record-Route. */
export const proxyToBob = (template: SipMessage) => ({
  kind: 'proxy' as const,
  template,
  targets: [
    {
      uri: 'sip:bob@192.0.2.20',
      q: 1,
      group: 0,
      hops: [{ transport: 'udp' as const, address: '192.0.2.20', port: 5060 }],
    },
  ],
  recordRoute: null,
});
