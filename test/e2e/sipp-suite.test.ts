/**
 * The end-to-end suite: the project's SIPp scenarios (test/sipp) against sipedge as users run it,
 * in standalone mode (one process, in-memory adapters) and in distributed mode (two edge processes
 * behind one address, two worker processes, Redis and NATS), over UDP and over TCP. In distributed
 * mode each UDP datagram reaches either edge and TCP connections alternate between them, so caller
 * and callee are served by different edges and the hand-off between them is on the path.
 *
 * Digest authentication is on: every REGISTER is challenged (401), and an initial INVITE from an
 * untrusted source (only 127.0.0.1/32 is trusted; the digest caller sends from 127.0.0.2) is
 * challenged too (407). Each scenario uses its own AOR, so no binding of one reaches another.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Deployment, type Mode, startDeployment } from '../support/deployment.js';
import { type RunningSipp, type SippResult, type Transport, runSipp, startSipp, summary } from '../support/sipp.js';

const DOMAIN = '127.0.0.1';
const REALM = 'sipedge.test';
const SCENARIOS = ['call', 'cancel', 'busy', 'fork', 'digest', 'load'] as const;
const TRANSPORTS: Transport[] = ['udp', 'tcp'];
const LOAD = { rate: 100, seconds: 30 };

const aor = (scenario: string, transport: Transport, n = '') => `${scenario}${n}-${transport}`;
const passwordOf = (user: string) => `pw-${user}`;
const USERS = ['alice', ...SCENARIOS.flatMap((s) => TRANSPORTS.flatMap((t) => [aor(s, t), aor(s, t, '2')]))];

const ENV: NodeJS.ProcessEnv = {
  SIPEDGE_AUTH_REALM: REALM,
  SIPEDGE_AUTH_SECRET: 'e2e-secret-e2e-secret-e2e-secret-e2e',
  SIPEDGE_AUTH_USERS: USERS.map((u) => `${u}:${passwordOf(u)}`).join(','),
  SIPEDGE_AUTH_PROXY: 'true',
  // SIPp 3.6 answers only an MD5 challenge, and only when it comes first.
  SIPEDGE_AUTH_ALGORITHMS: 'MD5',
  SIPEDGE_TRUSTED: '127.0.0.1/32',
};

function expectAllSucceeded(label: string, results: SippResult[]): void {
  for (const result of results) {
    process.stdout.write(`${summary(`${label} [${result.scenario}]`, result)}\n`);
    expect(result.exitCode, `${label} [${result.scenario}]\n${result.output.slice(-3000)}`).toBe(0);
    expect(result.failed).toBe(0);
    expect(result.succeeded).toBeGreaterThan(0);
  }
}

for (const mode of ['standalone', 'distributed'] as Mode[]) {
  describe(`SIPp end-to-end, ${mode} mode`, () => {
    let deployment: Deployment;

    beforeAll(async () => {
      deployment = await startDeployment(mode, { env: ENV });
    }, 180_000);

    afterAll(async () => {
      await deployment?.stop();
    });

    /** A SIPp callee registered as `user` (REGISTER answered with a digest retry). */
    async function registeredCallee(
      scenario: string,
      user: string,
      transport: Transport,
      calls: number,
      pauseMs = 0,
    ): Promise<RunningSipp> {
      const callee = await startSipp({ scenario, transport, calls, pauseMs, timeoutS: LOAD.seconds + 30 });
      const registered = await runSipp({
        scenario: 'register',
        fill: { expect: 200 },
        transport,
        target: deployment.target,
        service: user,
        auth: { username: user, password: passwordOf(user), uri: DOMAIN },
        keys: { domain: DOMAIN, contact_port: callee.port },
        calls: 1,
        timeoutS: 10,
      });
      expectAllSucceeded(`${mode} ${transport} register ${user}`, [registered]);
      return callee;
    }

    const call = (transport: Transport, service: string, extra: Partial<Parameters<typeof runSipp>[0]> = {}) =>
      runSipp({
        scenario: 'uac-call',
        transport,
        target: deployment.target,
        service,
        keys: { domain: DOMAIN },
        calls: 1,
        timeoutS: 20,
        ...extra,
      });

    for (const transport of TRANSPORTS) {
      const label = `${mode} ${transport}`;

      it(`${transport}: 1. a registered callee is called through Record-Route (INVITE/100/180/200/ACK/BYE)`, async () => {
        const user = aor('call', transport);
        const callee = await registeredCallee('uas-answer', user, transport, 1);
        const caller = await call(transport, user, { pauseMs: 200 });
        expectAllSucceeded(`${label} call`, [caller, await callee.done]);
      });

      it(`${transport}: 2. CANCEL after 180: 487 to the caller, ACKed hop by hop`, async () => {
        const user = aor('cancel', transport);
        const callee = await registeredCallee('uas-ring', user, transport, 1);
        const caller = await runSipp({
          scenario: 'uac-cancel',
          transport,
          target: deployment.target,
          service: user,
          keys: { domain: DOMAIN },
          calls: 1,
          timeoutS: 20,
        });
        expectAllSucceeded(`${label} cancel`, [caller, await callee.done]);
      });

      it(`${transport}: 3. busy: the callee's 486 reaches the caller and is ACKed`, async () => {
        const user = aor('busy', transport);
        const callee = await registeredCallee('uas-busy', user, transport, 1);
        const caller = await runSipp({
          scenario: 'uac-final',
          fill: { expect: 486, within: 10_000 },
          transport,
          target: deployment.target,
          service: user,
          keys: { domain: DOMAIN },
          calls: 1,
          timeoutS: 20,
        });
        expectAllSucceeded(`${label} busy`, [caller, await callee.done]);
      });

      it(`${transport}: 4. parallel forking to two contacts: one busy, one answering`, async () => {
        const user = aor('fork', transport);
        const busy = await registeredCallee('uas-busy', user, transport, 1);
        // The answering contact rings for 500 ms first, so the 486 is in before the 200 (§16.7).
        const answering = await registeredCallee('uas-answer', user, transport, 1, 500);
        const caller = await call(transport, user, { pauseMs: 200 });
        expectAllSucceeded(`${label} fork`, [caller, await busy.done, await answering.done]);
      });

      it(`${transport}: 5. digest: REGISTER and INVITE challenged and accepted; a wrong password is refused`, async () => {
        const user = aor('digest', transport);
        const callee = await registeredCallee('uas-answer', user, transport, 1);
        const untrusted = {
          localIp: '127.0.0.2',
          auth: { username: 'alice', password: passwordOf('alice'), uri: `${user}@${DOMAIN}` },
        };
        const caller = await call(transport, user, { scenario: 'uac-auth-call', pauseMs: 200, ...untrusted });
        const wrongInvite = await runSipp({
          scenario: 'uac-auth-refused',
          transport,
          target: deployment.target,
          service: user,
          keys: { domain: DOMAIN },
          calls: 1,
          timeoutS: 20,
          localIp: '127.0.0.2',
          auth: { username: 'alice', password: 'not-the-password', uri: `${user}@${DOMAIN}` },
        });
        const wrongRegister = await runSipp({
          scenario: 'register',
          fill: { expect: 401 },
          transport,
          target: deployment.target,
          service: aor('digest', transport, '2'),
          auth: { username: aor('digest', transport, '2'), password: 'not-the-password', uri: DOMAIN },
          keys: { domain: DOMAIN, contact_port: 9 },
          calls: 1,
          timeoutS: 10,
        });
        expectAllSucceeded(`${label} digest`, [caller, await callee.done, wrongInvite, wrongRegister]);
      });

      it(`${transport}: 6. OPTIONS to the proxy itself is answered 200 with Allow`, async () => {
        const result = await runSipp({
          scenario: 'options-proxy',
          transport,
          target: deployment.target,
          keys: { domain: DOMAIN },
          calls: 5,
          timeoutS: 10,
        });
        expectAllSucceeded(`${label} options`, [result]);
        expect(result.succeeded).toBe(5);
      });

      it(`${transport}: 7. ${LOAD.seconds} s at ${LOAD.rate} calls/s: every call completes`, async () => {
        const calls = LOAD.rate * LOAD.seconds;
        const user = aor('load', transport);
        const callee = await registeredCallee('uas-answer', user, transport, calls);
        const caller = await call(transport, user, { calls, rate: LOAD.rate, timeoutS: LOAD.seconds + 30 });
        const answered = await callee.done;
        expectAllSucceeded(`${label} load`, [caller, answered]);
        expect(caller.succeeded).toBe(calls);
        expect(answered.succeeded).toBe(calls);
      }, 120_000);
    }
  });
}
