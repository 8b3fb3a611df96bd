/**
 * The end-to-end suite: the project's SIPp scenarios (test/sipp) against sipedge as users run it,
 * in standalone mode (one process, in-memory adapters) and in distributed mode (two edge processes
 * behind one address, two worker processes, Redis and NATS), over UDP and over TCP. In distributed
 * mode each UDP datagram reaches either edge and TCP connections alternate between them, so caller
 * and callee are served by different edges and the hand-off between them is on the path.
 *
 * Digest authentication is on (common.ts): every REGISTER is challenged, and so is an INVITE from
 * 127.0.0.2, an untrusted source. Each scenario uses its own AOR, so no binding of one reaches another.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Deployment, type Mode, startDeployment } from '../support/deployment.js';
import { type RunningSipp, type Transport, runSipp } from '../support/sipp.js';
import {
  DOMAIN,
  authEnv,
  call as callVia,
  expectAllSucceeded,
  passwordOf,
  registeredCallee as callee,
} from './common.js';

const SCENARIOS = ['call', 'cancel', 'busy', 'fork', 'digest', 'load'] as const;
const TRANSPORTS: Transport[] = ['udp', 'tcp'];
/**
 * The load: 30 s at 100 calls/s in standalone mode; 50 calls/s in distributed mode, where ten
 * processes (two edges, two workers, their cluster primary, Redis, NATS, two SIPp) share the CI
 * machine's two cores — at 100 calls/s there a few calls in thousands outlast SIPp's timers.
 */
const LOAD_SECONDS = 30;
const loadRate = (mode: Mode) => (mode === 'standalone' ? 100 : 50);
/**
 * How long a callee rings before answering, and a caller holds before hanging up (ms). In
 * distributed mode two messages sent back to back (a 180 and its 200, an ACK and its BYE) travel
 * through different edges and workers and may overtake each other, as on any UDP path; real UAs
 * cope, but SIPp fails a call on a 180 that comes after the 200. A human-scale pause avoids that.
 */
const RING_MS = 100;
const HOLD_MS = 200;
/** The load's pauses: at 100 calls/s a worker's event loop can hold a message back for a while. */
const LOAD_RING_MS = 500;
const LOAD_HOLD_MS = 500;

const aor = (scenario: string, transport: Transport, n = '') => `${scenario}${n}-${transport}`;
const USERS = ['alice', ...SCENARIOS.flatMap((s) => TRANSPORTS.flatMap((t) => [aor(s, t), aor(s, t, '2')]))];

for (const mode of ['standalone', 'distributed'] as Mode[]) {
  describe(`SIPp end-to-end, ${mode} mode`, () => {
    let deployment: Deployment;

    beforeAll(async () => {
      deployment = await startDeployment(mode, { env: authEnv(USERS) });
    }, 180_000);

    afterAll(async () => {
      await deployment?.stop();
    });

    const registeredCallee = (
      scenario: string,
      user: string,
      transport: Transport,
      calls: number,
      pauseMs = RING_MS,
    ): Promise<RunningSipp> =>
      callee({ target: deployment.target, scenario, user, transport, calls, pauseMs, timeoutS: LOAD_SECONDS + 30 });

    const call = (transport: Transport, service: string, extra: Parameters<typeof callVia>[3] = {}) =>
      callVia(deployment.target, transport, service, extra);

    for (const transport of TRANSPORTS) {
      const label = `${mode} ${transport}`;

      it(`${transport}: 1. a registered callee is called through Record-Route (INVITE/100/180/200/ACK/BYE)`, async () => {
        const user = aor('call', transport);
        const callee = await registeredCallee('uas-answer', user, transport, 1);
        const caller = await call(transport, user, { pauseMs: HOLD_MS });
        expectAllSucceeded(`${label} call`, [caller, await callee.done]);
      });

      it(`${transport}: 2. CANCEL after 180: 487 to the caller, ACKed hop by hop`, async () => {
        const user = aor('cancel', transport);
        const callee = await registeredCallee('uas-ring', user, transport, 1);
        const caller = await call(transport, user, { scenario: 'uac-cancel' });
        expectAllSucceeded(`${label} cancel`, [caller, await callee.done]);
      });

      it(`${transport}: 3. busy: the callee's 486 reaches the caller and is ACKed`, async () => {
        const user = aor('busy', transport);
        const callee = await registeredCallee('uas-busy', user, transport, 1);
        const caller = await call(transport, user, { scenario: 'uac-final', fill: { expect: 486, within: 10_000 } });
        expectAllSucceeded(`${label} busy`, [caller, await callee.done]);
      });

      it(`${transport}: 4. parallel forking to two contacts: one busy, one answering`, async () => {
        const user = aor('fork', transport);
        const busy = await registeredCallee('uas-busy', user, transport, 1);
        // The answering contact rings for 500 ms first, so the 486 is in before the 200 (§16.7).
        const answering = await registeredCallee('uas-answer', user, transport, 1, 500);
        const caller = await call(transport, user, { pauseMs: HOLD_MS });
        expectAllSucceeded(`${label} fork`, [caller, await busy.done, await answering.done]);
      });

      it(`${transport}: 5. digest: REGISTER and INVITE challenged and accepted; a wrong password is refused`, async () => {
        const user = aor('digest', transport);
        const callee = await registeredCallee('uas-answer', user, transport, 1);
        const untrusted = {
          localIp: '127.0.0.2',
          auth: { username: 'alice', password: passwordOf('alice'), uri: `${user}@${DOMAIN}` },
        };
        const caller = await call(transport, user, { scenario: 'uac-auth-call', pauseMs: HOLD_MS, ...untrusted });
        const wrongInvite = await call(transport, user, {
          scenario: 'uac-auth-refused',
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

      it(`${transport}: 7. ${LOAD_SECONDS} s at ${loadRate(mode)} calls/s: every call completes`, async () => {
        const calls = loadRate(mode) * LOAD_SECONDS;
        const user = aor('load', transport);
        const callee = await registeredCallee('uas-answer', user, transport, calls, LOAD_RING_MS);
        const caller = await call(transport, user, {
          calls,
          rate: loadRate(mode),
          pauseMs: LOAD_HOLD_MS,
          timeoutS: LOAD_SECONDS + 30,
        });
        const answered = await callee.done;
        expectAllSucceeded(`${label} load`, [caller, answered]);
        expect(caller.succeeded).toBe(calls);
        expect(answered.succeeded).toBe(calls);
      }, 120_000);
    }
  });
}
