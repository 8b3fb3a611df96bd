import { CALLER, type Harness, type Sent, sip } from '../harness.js';

/** Where a UA or a proxy sends from (its Via's sent-by) or is reached. */
export interface Address {
  address: string;
  port: number;
}

/**
 * A request as a UA writes it (§8.1.1): only the method, Request-URI and Call-ID are required; the
 * rest defaults to alice (tag a1, at CALLER over UDP) calling bob@example.com, CSeq 1.
 */
export interface RequestSpec {
  method: string;
  uri: string;
  callId: string;
  /** The sender: the top Via's sent-by (default CALLER). */
  via?: Address;
  /** The top Via's transport (default UDP). */
  transport?: 'UDP' | 'TCP';
  /** The top Via's branch after the magic cookie z9hG4bK (§8.1.1.7); default the Call-ID. */
  branch?: string;
  /** Whole values of the Vias below the top one, as the proxies before us added them. */
  lowerVias?: readonly string[];
  /** Max-Forwards (default 70); null leaves the header out. */
  maxForwards?: number | null;
  /** Route values, a preloaded route set or a dialog's (§8.1.2, §12.2.1.1). */
  route?: readonly string[];
  /** Default `<sip:bob@example.com>`. */
  to?: string;
  /** Default `<sip:alice@example.com>;tag=a1`. */
  from?: string;
  /** The CSeq number (default 1); its method is the request's. */
  cseq?: number;
  /** The Contact value, if any. */
  contact?: string;
  /** Further header lines, after all of the above. */
  extra?: readonly string[];
}

/** The start line and header lines of a request, in the order of RequestSpec. */
export function requestLines(r: RequestSpec): string[] {
  const via = r.via ?? CALLER;
  const cseq = r.cseq ?? 1;
  const maxForwards = r.maxForwards === undefined ? 70 : r.maxForwards;
  return [
    `${r.method} ${r.uri} SIP/2.0`,
    `Via: SIP/2.0/${r.transport ?? 'UDP'} ${via.address}:${via.port};branch=z9hG4bK${r.branch ?? r.callId}`,
    ...(r.lowerVias ?? []).map((v) => `Via: ${v}`),
    ...(maxForwards === null ? [] : [`Max-Forwards: ${maxForwards}`]),
    ...(r.route ?? []).map((v) => `Route: ${v}`),
    `To: ${r.to ?? '<sip:bob@example.com>'}`,
    `From: ${r.from ?? '<sip:alice@example.com>;tag=a1'}`,
    `Call-ID: ${r.callId}`,
    `CSeq: ${cseq} ${r.method}`,
    ...(r.contact === undefined ? [] : [`Contact: ${r.contact}`]),
    ...(r.extra ?? []),
  ];
}

/** A request on the wire (Content-Length added). */
export function request(r: RequestSpec, body = ''): string {
  return sip(requestLines(r), body);
}

/** A REGISTER (§10.2) of `user`@example.com from `contact`, binding `<sip:user@contact>`. */
export interface RegisterSpec {
  /** Default bob. */
  user?: string;
  contact: Address;
  callId: string;
  /** Default the Call-ID. */
  branch?: string;
  /** The From tag (default r1). */
  tag?: string;
  /** Default 1. */
  cseq?: number;
  /** The Contact's q (§10.2.1.2), if any. */
  q?: string;
  /** Further header lines (Expires, Authorization), after the Contact. */
  extra?: readonly string[];
}

/** The lines of a REGISTER to example.com. */
export function registerLines({ user = 'bob', contact, tag = 'r1', q, ...r }: RegisterSpec): string[] {
  const aor = `<sip:${user}@example.com>`;
  return requestLines({
    ...r,
    method: 'REGISTER',
    uri: 'sip:example.com',
    via: contact,
    to: aor,
    from: `${aor};tag=${tag}`,
    contact: `<sip:${user}@${contact.address}:${contact.port}>${q === undefined ? '' : `;q=${q}`}`,
  });
}

/** A REGISTER on the wire. */
export function register(r: RegisterSpec): string {
  return sip(registerLines(r));
}

/**
 * Registers through the harness from the contact (or `source`, a NAT's public side) and waits for
 * the 200 to that REGISTER; returns it.
 */
export async function registered(h: Harness, r: RegisterSpec, source: Address = r.contact): Promise<Sent> {
  await h.receive(register(r), source);
  return h.waitFor((s) => s.message.status === 200 && s.message.callId === r.callId);
}
