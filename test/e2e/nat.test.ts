/**
 * A phone behind a NAT (issue 15), in network namespaces of the test's own (test/support/nat-lab.ts:
 * a MASQUERADE router, no route out, removed at the end even when a test fails). A real softphone
 * (baresip) in the phone's namespace registers at a standalone sipedge over UDP, or over TCP, with
 * its private address in its Contact; another baresip on this host calls it. The call reaches the
 * phone through its NAT binding (never its private Contact), and BYE from either side arrives.
 *
 * Keep-alives: with the router's conntrack UDP timeout cut to 3 s, a call 6 s after registering
 * fails when sipedge sends no keep-alives (the binding is gone), and gets through when it pings the
 * phone every second or so (SIPEDGE_NAT_KEEPALIVE=options).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Phone, type PhoneTransport, Phone as Softphone } from '../support/baresip.js';
import { type Deployment, startDeployment } from '../support/deployment.js';
import { type NatLab, buildNatLab, canBuildNatLab } from '../support/nat-lab.js';

const CALL = (e: { type: string }) => e.type.startsWith('CALL_');

describe.skipIf(!canBuildNatLab() && process.env.CI === undefined)('a phone behind a NAT', () => {
  let lab: NatLab;
  const running: { phones: Phone[]; deployments: Deployment[] } = { phones: [], deployments: [] };

  beforeAll(() => {
    lab = buildNatLab();
  });
  afterAll(async () => {
    await Promise.all(running.phones.map((p) => p.stop()));
    await Promise.all(running.deployments.map((d) => d.stop()));
    lab?.remove();
  });

  async function deploy(env: NodeJS.ProcessEnv = {}): Promise<Deployment> {
    const deployment = await startDeployment('standalone', { publicAddress: lab.hostAddress, env });
    running.deployments.push(deployment);
    return deployment;
  }

  /** Bob behind the NAT, and Alice on this host, both registered. */
  async function phones(deployment: Deployment, transport: PhoneTransport, tag: string) {
    const domain = lab.hostAddress;
    const bob = await Softphone.start({
      user: `bob-${tag}`,
      domain,
      transport,
      proxy: { host: lab.hostAddress, port: deployment.port },
      address: lab.phone.address,
      netns: { name: lab.phone.netns, controlAddress: lab.phone.controlAddress },
    });
    running.phones.push(bob);
    const alice = await Softphone.start({
      user: `alice-${tag}`,
      domain,
      transport,
      proxy: { host: '127.0.0.1', port: deployment.port },
    });
    running.phones.push(alice);
    return { bob, alice };
  }

  async function stop(...phones: Phone[]): Promise<void> {
    for (const phone of phones) {
      await phone.stop();
      running.phones.splice(running.phones.indexOf(phone), 1);
    }
  }

  it.each<PhoneTransport>(['udp', 'tcp'])(
    'over %s: the phone behind the NAT receives calls, and BYE from either side arrives',
    async (transport) => {
      const deployment = await deploy();
      const { bob, alice } = await phones(deployment, transport, `${transport}-calls`);
      // Bob hangs up the first call, Alice the second.
      for (const [hangsUp, other] of [
        [bob, alice],
        [alice, bob],
      ] as const) {
        const before = [bob.events.length, alice.events.length];
        alice.dial(bob.aor);
        await bob.waitFor((e) => e.type === 'CALL_ESTABLISHED' && bob.events.indexOf(e) >= before[0]!);
        await alice.waitFor((e) => e.type === 'CALL_ESTABLISHED' && alice.events.indexOf(e) >= before[1]!);
        hangsUp.hangup();
        const closed = other === bob ? before[0]! : before[1]!;
        await other.waitFor((e) => e.type === 'CALL_CLOSED' && other.events.indexOf(e) >= closed);
        await new Promise((r) => setTimeout(r, 200));
      }
      const delivery = deployment.processes()[0]!.output();
      expect(delivery).not.toMatch(/not delivered|ENETUNREACH/);
      await stop(bob, alice);
    },
    60_000,
  );

  it('keep-alives hold the NAT binding open: without them a call after it expired fails, with them it succeeds', async () => {
    lab.setUdpTimeout(3);
    try {
      const outcome = async (keepalive: 'off' | 'options') => {
        const deployment = await deploy({
          SIPEDGE_NAT_KEEPALIVE: keepalive,
          SIPEDGE_NAT_KEEPALIVE_INTERVAL_MS: '1000',
        });
        const { bob, alice } = await phones(deployment, 'udp', `keepalive-${keepalive}`);
        await new Promise((r) => setTimeout(r, 6000));
        alice.dial(bob.aor);
        const reached = await bob
          .waitFor((e) => e.type === 'CALL_ESTABLISHED', 6000)
          .then(() => true)
          .catch(() => false);
        const calls = bob.events.filter(CALL).length;
        await stop(bob, alice);
        return { reached, calls };
      };
      expect(await outcome('off')).toEqual({ reached: false, calls: 0 });
      expect((await outcome('options')).reached).toBe(true);
    } finally {
      lab.setUdpTimeout(30);
    }
  }, 90_000);
});
