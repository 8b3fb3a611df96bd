/**
 * A contact registered from behind a NAT is reached on its binding (the REGISTER's source), unless
 * the request carries a Route: then the Route is the next hop (§16.6 steps 6–7), and the binding
 * is the business of the proxy that Route names. Found by the fuzz run: a request with a pre-loaded
 * strict Route went to the binding with the Route's rewritten Request-URI.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Harness } from './harness.js';
import { registered, request } from './support/requests.js';

const PHONE_PUBLIC = { address: '203.0.113.9', port: 40001 };
const CALLER = { address: '192.0.2.1', port: 5060 };

const invite = (callId: string, route: string[] = []) =>
  request({
    method: 'INVITE',
    uri: 'sip:bob@example.com',
    callId,
    via: CALLER,
    route,
    contact: `<sip:alice@${CALLER.address}:${CALLER.port}>`,
  });

describe('a contact behind a NAT', () => {
  let h: Harness;
  afterEach(() => h?.stop());

  it('is reached at its binding, and a request with a Route goes to the Route', async () => {
    h = await Harness.start(1);
    // The phone's REGISTER names its private address; it comes from the NAT's public side.
    const phone = { address: '10.0.0.5', port: 5060 };
    await registered(h, { contact: phone, callId: 'nat-reg', branch: 'natreg', extra: ['Expires: 600'] }, PHONE_PUBLIC);

    await h.receive(invite('nat-direct'), CALLER);
    const direct = await h.waitFor(
      (s) => s.message.isRequest && s.message.method === 'INVITE' && s.message.callId === 'nat-direct',
    );
    expect(direct.meta.destination).toEqual(PHONE_PUBLIC);

    await h.receive(invite('nat-routed', ['<sip:192.0.2.77:5080;lr>']), CALLER);
    const routed = await h.waitFor(
      (s) => s.message.isRequest && s.message.method === 'INVITE' && s.message.callId === 'nat-routed',
    );
    expect(routed.meta.destination).toEqual({ address: '192.0.2.77', port: 5080 });
    expect(routed.message.requestUriText).toBe('sip:bob@10.0.0.5:5060');
    expect(routed.message.values('route')).toEqual(['<sip:192.0.2.77:5080;lr>']);
  });
});
