/**
 * Requests a test's SipPeer sends by hand, and matchers for what it waits for: enough of a UA's
 * dialog bookkeeping (route set, tags, CSeq) for end-to-end tests to write calls out line by line.
 */
import type { SipMessage } from '@sipedge/sip';
import type { SipPeer } from './sip-peer.js';

export interface RequestHeaders {
  method: string;
  uri: string;
  callId: string;
  cseq: number;
  from: string;
  to: string;
  route?: string[];
  contact?: string;
  extra?: string[];
}

/** The header lines of a request `peer` sends (its own Via on top; Content-Length is added by `send`). */
export function requestLines(peer: SipPeer, h: RequestHeaders): string[] {
  return [
    `${h.method} ${h.uri} SIP/2.0`,
    `Via: ${peer.via()}`,
    'Max-Forwards: 70',
    ...(h.route ?? []).map((r) => `Route: ${r}`),
    `From: ${h.from}`,
    `To: ${h.to}`,
    `Call-ID: ${h.callId}`,
    `CSeq: ${h.cseq} ${h.method}`,
    ...(h.contact === undefined ? [] : [`Contact: ${h.contact}`]),
    ...(h.extra ?? []),
  ];
}

export const isRequest = (method: string, callId: string) => (m: SipMessage) =>
  m.isRequest && m.method === method && m.callId === callId;

export const isFinal = (method: string, callId: string, cseq?: number) => (m: SipMessage) =>
  m.isResponse &&
  m.status >= 200 &&
  m.callId === callId &&
  m.cseq.method === method &&
  (cseq === undefined || m.cseq.seq === cseq);
