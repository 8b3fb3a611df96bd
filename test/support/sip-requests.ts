/**
 * Requests a test's SipPeer sends by hand, and matchers for what it waits for: enough of a UA's
 * dialog bookkeeping (route set, tags, CSeq) for end-to-end tests to write calls out line by line.
 */
import type { SipMessage } from '@sipedge/sip';
import { expect } from 'vitest';
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

/**
 * Registers `user`@`domain` at the peer's Contact (no authentication: the proxy must not ask) with
 * a REGISTER to `registrar`; resolves to the final response's status.
 */
export async function register(
  peer: SipPeer,
  { registrar, user, domain, callId }: { registrar: string; user: string; domain: string; callId: string },
): Promise<number> {
  const aor = `<sip:${user}@${domain}>`;
  peer.send(
    requestLines(peer, {
      method: 'REGISTER',
      uri: registrar,
      callId,
      cseq: 1,
      from: `${aor};tag=reg`,
      to: aor,
      contact: peer.contact(user),
      extra: ['Expires: 300'],
    }),
  );
  return (await peer.next(isFinal('REGISTER', callId))).status;
}

/** Sends an initial INVITE with an SDP offer from `user` at the peer's Contact (CSeq 1). */
export function sendInvite(
  peer: SipPeer,
  { uri, callId, from, to, user }: { uri: string; callId: string; from: string; to: string; user: string },
  sdp: string,
): void {
  peer.send(
    requestLines(peer, {
      method: 'INVITE',
      uri,
      callId,
      cseq: 1,
      from,
      to,
      contact: peer.contact(user),
      extra: ['Content-Type: application/sdp'],
    }),
    sdp,
  );
}

/**
 * `peer` hangs up (§15.1.1): a BYE with its route set to `remote`'s Contact `uri`, which answers
 * it 200 (as `remoteUser`, To tag `remoteTag`). Resolves to the BYE as `remote` got it and the
 * status `peer` got back.
 */
export async function hangUp(
  peer: SipPeer,
  remote: SipPeer,
  bye: { uri: string; callId: string; from: string; to: string; route: string[] },
  answerAs: { remoteUser: string; remoteTag: string },
): Promise<{ received: SipMessage; status: number }> {
  peer.send(requestLines(peer, { method: 'BYE', cseq: 1, ...bye }));
  const received = await remote.next(isRequest('BYE', bye.callId));
  remote.answer(received, 200, answerAs.remoteUser, answerAs.remoteTag);
  return { received, status: (await peer.next(isFinal('BYE', bye.callId))).status };
}

const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';

export interface Party {
  peer: SipPeer;
  user: string;
}

/**
 * A call from `caller` to `callee` through the proxy, answered, acknowledged and hung up by the
 * callee. Returns the Record-Routes the callee saw on the INVITE.
 */
export async function call(caller: Party, callee: Party, domain: string, callId: string): Promise<string[]> {
  const from = `<sip:${caller.user}@${domain}>;tag=from-${callId}`;
  const to = `<sip:${callee.user}@${domain}>`;
  sendInvite(caller.peer, { uri: `sip:${callee.user}@${domain}`, callId, from, to, user: caller.user }, SDP);
  const invite = await callee.peer.next(isRequest('INVITE', callId), 10_000);
  const recordRoutes = invite.values('record-route');
  callee.peer.answer(invite, 200, callee.user, `to-${callId}`, SDP);
  const ok = await caller.peer.next(isFinal('INVITE', callId, 1), 10_000);
  expect(ok.status).toBe(200);
  const route = [...ok.values('record-route')].reverse();
  const calleeContact = ok.values('contact')[0]!.replace(/^<|>$/g, '');
  const toTagged = `${to};tag=to-${callId}`;
  caller.peer.send(
    requestLines(caller.peer, { method: 'ACK', uri: calleeContact, callId, cseq: 1, from, to: toTagged, route }),
  );
  await callee.peer.next(isRequest('ACK', callId), 10_000);
  // The callee hangs up (§15.1.1), to the caller's Contact along the route set it learnt.
  const bye = await hangUp(
    callee.peer,
    caller.peer,
    {
      uri: caller.peer.contact(caller.user).replace(/^<|>$/g, ''),
      callId,
      from: `${to};tag=to-${callId}`,
      to: from,
      route: recordRoutes,
    },
    { remoteUser: caller.user, remoteTag: `from-${callId}` },
  );
  expect(bye.status).toBe(200);
  return recordRoutes;
}
