/**
 * The admin API and `sipedge admin` against a running fleet (issue 18): two edges, two workers,
 * Redis and NATS. A phone registers; `sipedge admin registrations` lists it (the location service
 * of the whole fleet, read from Redis), `sipedge admin registrations remove` removes it, and a call
 * to it then finds no one; the API refuses requests without the token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Deployment, startDeployment } from '../support/deployment.js';
import { sipedgeAdmin } from '../support/processes.js';
import { SipPeer } from '../support/sip-peer.js';
import { isFinal, isRequest, register, sendInvite } from '../support/sip-requests.js';

const TOKEN = 'admin-e2e-token-0123456789abcdef0123456789';
const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';

describe('the admin API and CLI against a distributed fleet', () => {
  let deployment: Deployment;
  beforeAll(async () => {
    deployment = await startDeployment('distributed', { env: { SIPEDGE_ADMIN_TOKEN: TOKEN } });
  }, 180_000);
  afterAll(() => deployment?.stop());

  it('lists a registration, removes it, and it is gone from routing; no token, no answer', async () => {
    const env = { SIPEDGE_ADMIN_TOKEN: TOKEN, SIPEDGE_ADMIN_URL: deployment.opsUrl };
    const proxy = { address: '127.0.0.1', port: deployment.port };
    const phone = await SipPeer.open('udp', proxy);
    const caller = await SipPeer.open('udp', proxy);
    try {
      const domain = '127.0.0.1';
      expect(await register(phone, { registrar: `sip:${domain}`, user: 'dora', domain, callId: 'admin-reg' })).toBe(
        200,
      );

      const listed = await sipedgeAdmin(['registrations', '--match', 'dora'], env);
      expect(listed.code).toBe(0);
      expect(listed.out).toMatch(
        new RegExp(`^sip:dora@127\\.0\\.0\\.1 +<sip:dora@127\\.0\\.0\\.1:${phone.port}>`, 'm'),
      );
      const url = `${deployment.opsUrl}/admin/registrations`;
      expect((await fetch(url)).status).toBe(401);
      expect((await fetch(`${url}?aor=sip:dora@127.0.0.1`, { method: 'DELETE' })).status).toBe(401);

      // Routed while registered…
      const to = `<sip:dora@${domain}>`;
      sendInvite(
        caller,
        { uri: `sip:dora@${domain}`, callId: 'admin-1', from: '<sip:eve@127.0.0.1>;tag=e1', to, user: 'eve' },
        SDP,
      );
      const invite = await phone.next(isRequest('INVITE', 'admin-1'));
      phone.answer(invite, 486, 'dora', 'busy');
      expect((await caller.next(isFinal('INVITE', 'admin-1'))).status).toBe(486);

      // …and no more once removed.
      const removed = await sipedgeAdmin(['registrations', 'remove', 'sip:dora@127.0.0.1'], env);
      expect([removed.code, removed.out]).toEqual([0, expect.stringContaining('"removed"')]);
      expect((await sipedgeAdmin(['registrations', '--match', 'dora'], env)).out).toBe('no registrations\n');
      sendInvite(
        caller,
        { uri: `sip:dora@${domain}`, callId: 'admin-2', from: '<sip:eve@127.0.0.1>;tag=e2', to, user: 'eve' },
        SDP,
      );
      expect((await caller.next(isFinal('INVITE', 'admin-2'))).status).toBe(480);
      expect(phone.received.some((m) => m.isRequest && m.callId === 'admin-2')).toBe(false);
    } finally {
      phone.close();
      caller.close();
    }
  }, 60_000);
});
