/**
 * Real phones (issue 15): two baresip softphones (Debian's baresip-core) register at sipedge and
 * call each other over UDP, TCP and TLS, standalone and distributed (two edges behind one address,
 * two workers, Redis, NATS). The call is established on both sides (the callee's CALL_ESTABLISHED
 * comes with the ACK), the caller's BYE reaches the callee (CALL_CLOSED), and no sipedge process
 * logs a delivery failure. In distributed mode the two phones' connections are held by different
 * edges (TCP connections alternate), so the dialog's requests cross edges on the flows the
 * Record-Route tokens name.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestCertificates } from '@sipedge/edge/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Phone, type PhoneTransport, Phone as Softphone } from '../support/baresip.js';
import { freePort } from '../support/free-port.js';
import { type Deployment, type Mode, startDeployment } from '../support/deployment.js';

const DELIVERY_FAILURE = /not delivered|delivery not confirmed|stateless response not sent/;

/** The delivery failures the deployment's processes logged after `logged` (their output lengths then). */
function deliveryFailuresSince(deployment: Deployment, logged: number[]): string[] {
  return deployment
    .processes()
    .flatMap((p, i) => p.output().slice(logged[i]).split('\n'))
    .filter((line) => DELIVERY_FAILURE.test(line));
}

describe.each<Mode>(['standalone', 'distributed'])('real phones through sipedge (%s)', (mode) => {
  let deployment: Deployment;
  let tlsPort: number;
  let caFile: string;

  beforeAll(async () => {
    const pki = await makeTestCertificates();
    const dir = mkdtempSync(join(tmpdir(), 'sipedge-phones-'));
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    caFile = file('ca.pem', pki.ca);
    tlsPort = await freePort();
    deployment = await startDeployment(mode, {
      env: {
        SIPEDGE_TLS: `127.0.0.1:${tlsPort}`,
        SIPEDGE_TLS_CERT_FILE: file('cert.pem', pki.cert),
        SIPEDGE_TLS_KEY_FILE: file('key.pem', pki.key),
      },
    });
  }, 180_000);
  afterAll(() => deployment?.stop());

  it.each<PhoneTransport>(['udp', 'tcp', 'tls'])(
    'over %s: registered phones call each other; ACK and BYE arrive; no delivery failure',
    async (transport) => {
      const proxy = { host: '127.0.0.1', port: transport === 'tls' ? tlsPort : deployment.port };
      const phone = (user: string) =>
        Softphone.start({ user: `${user}-${transport}`, domain: '127.0.0.1', transport, proxy, caFile });
      const phones: Phone[] = [];
      try {
        const callee = await phone('bob');
        phones.push(callee);
        const caller = await phone('alice');
        phones.push(caller);
        const logged = deployment.processes().map((p) => p.output().length);
        caller.dial(callee.aor);
        await caller.waitFor((e) => e.type === 'CALL_ESTABLISHED');
        await callee.waitFor((e) => e.type === 'CALL_ESTABLISHED');
        await new Promise((r) => setTimeout(r, 300));
        caller.hangup();
        await callee.waitFor((e) => e.type === 'CALL_CLOSED');
        await caller.waitFor((e) => e.type === 'CALL_CLOSED');
        expect(deliveryFailuresSince(deployment, logged)).toEqual([]);
      } finally {
        await Promise.all(phones.map((p) => p.stop()));
      }
    },
    60_000,
  );

  it('a TLS phone and a UDP phone call each other both ways; BYE from either side passes (RFC 5658)', async () => {
    const phones: Phone[] = [];
    try {
      const tls = await Softphone.start({
        user: 'tls-mixed',
        domain: '127.0.0.1',
        transport: 'tls',
        proxy: { host: '127.0.0.1', port: tlsPort },
        caFile,
      });
      phones.push(tls);
      const udp = await Softphone.start({
        user: 'udp-mixed',
        domain: '127.0.0.1',
        transport: 'udp',
        proxy: { host: '127.0.0.1', port: deployment.port },
      });
      phones.push(udp);
      const logged = deployment.processes().map((p) => p.output().length);
      // TLS calls UDP and the UDP callee hangs up; then UDP calls TLS and the TLS callee hangs up.
      for (const [caller, callee, hangsUp] of [
        [tls, udp, udp],
        [udp, tls, tls],
      ] as const) {
        const seen = [caller.events.length, callee.events.length] as const;
        const after = (phone: Phone, from: number, type: string) =>
          phone.waitFor((e) => e.type === type && phone.events.indexOf(e) >= from);
        caller.dial(callee.aor);
        await after(caller, seen[0], 'CALL_ESTABLISHED');
        await after(callee, seen[1], 'CALL_ESTABLISHED');
        hangsUp.hangup();
        await after(caller, seen[0], 'CALL_CLOSED');
        await after(callee, seen[1], 'CALL_CLOSED');
      }
      expect(deliveryFailuresSince(deployment, logged)).toEqual([]);
    } finally {
      await Promise.all(phones.map((p) => p.stop()));
    }
  }, 60_000);
});
