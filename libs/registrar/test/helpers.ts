import { readFileSync } from 'node:fs';
import { type SipMessage, parseMessage } from '@sipedge/sip';
import { MemoryLocationStore } from '@sipedge/store';
import { expect } from 'vitest';
import { type RegisterOptions, processRegister } from '../src/index.js';

/**
 * Epoch ms of every test's "now": 2100-01-01T00:00:00Z. In the future on purpose: the memory twin,
 * like Redis's PEXPIREAT, drops a whole AOR by the real clock once its last binding has expired.
 */
export const T0 = Date.UTC(2100, 0, 1);

export interface RegisterSpec {
  requestUri?: string;
  to?: string;
  from?: string;
  callId?: string;
  cseq?: number;
  contacts?: string[];
  expires?: number | string;
  extra?: string[];
  validate?: boolean;
}

/** A REGISTER on the wire, parsed as the edge would (one Contact row per entry of `contacts`). */
export function registerRequest(spec: RegisterSpec = {}): SipMessage {
  const to = spec.to ?? 'sip:alice@example.com';
  const lines = [
    `REGISTER ${spec.requestUri ?? 'sip:example.com'} SIP/2.0`,
    'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKreg1',
    'Max-Forwards: 70',
    `To: <${to}>`,
    `From: <${spec.from ?? to}>;tag=ft1`,
    `Call-ID: ${spec.callId ?? 'call-1@192.0.2.10'}`,
    `CSeq: ${spec.cseq ?? 1} REGISTER`,
    ...(spec.contacts ?? []).map((c) => `Contact: ${c}`),
    ...(spec.expires === undefined ? [] : [`Expires: ${spec.expires}`]),
    ...(spec.extra ?? []),
    'Content-Length: 0',
  ];
  return parseMessage(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), { validate: spec.validate ?? true });
}

export type Options = Omit<RegisterOptions, 'locations' | 'now' | 'domains'> & {
  now?: number;
  domains?: readonly string[];
};

/** A registrar over one MemoryLocationStore, serving example.com unless told otherwise. */
export function registrar(defaults: Options = {}) {
  const locations = new MemoryLocationStore();
  return {
    locations,
    async send(request: SipMessage, options: Options = {}): Promise<SipMessage> {
      const outcome = await processRegister(request, {
        locations,
        now: T0,
        domains: ['example.com'],
        ...defaults,
        ...options,
      });
      if (outcome.kind !== 'response') throw new Error('expected a response, got not-ours');
      return outcome.response;
    },
  };
}

/** The Contact values of a response, one per row. */
export function contactRows(response: SipMessage): string[] {
  return response.rows.filter((r) => r.key === 'contact').map((r) => r.value);
}

/** Expects a 200 (OK) whose Contact rows are exactly `rows` (§10.3 step 8: every current binding). */
export function expectBindings(response: SipMessage, rows: string[]): void {
  expect(response.status).toBe(200);
  expect(contactRows(response)).toEqual(rows);
}

const TORTURE = new URL('../../sip/test/fixtures/torture/rfc4475/', import.meta.url);

/** An RFC 4475 torture message, parsed (and validated). */
export function torture(name: string): SipMessage {
  return parseMessage(readFileSync(new URL(`${name}.sip`, TORTURE)));
}
