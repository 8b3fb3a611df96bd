/**
 * A phone behind a NAT router, built from network namespaces for one test (needs root):
 *
 *   phone ns  10.77.N.2 ──veth── 10.77.N.1  router ns  10.88.N.1 ──veth── 10.88.N.2  this host
 *             10.99.N.2 ──veth── 10.99.N.1  this host (the test's control link to the phone)
 *
 * The router masquerades what the phone sends towards this host (iptables MASQUERADE), so this host
 * sees the phone as 10.88.N.1:<some port>. Nothing has a route out: the phone reaches 10.88.N.0/24
 * through the router and nothing else; the router and this host know only their own links, so this
 * host cannot reach the phone's 10.77 address at all. `remove()` deletes the namespaces and links
 * (call it in `finally`/`afterAll`: it also runs when the lab was only half built).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface NatLab {
  /** The phone's namespace, its address there, and the address of its control link. */
  phone: { netns: string; address: string; controlAddress: string };
  /** This host's address on the router's public link: where sipedge listens for the phone. */
  hostAddress: string;
  /** The router's public address: the phone's address as this host sees it. */
  publicAddress: string;
  /** Sets the router's conntrack UDP timeouts (s): how long an idle NAT binding lives. */
  setUdpTimeout(seconds: number): void;
  remove(): void;
}

const run = (...args: string[]) => execFileSync(args[0]!, args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
const inNs = (netns: string, ...args: string[]) => run('ip', 'netns', 'exec', netns, ...args);

/** Whether this process may build namespaces (root with iproute2 and iptables). */
export function canBuildNatLab(): boolean {
  try {
    run('ip', 'netns', 'list');
    run('iptables', '--version');
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
}

export function buildNatLab(): NatLab {
  const id = randomBytes(3).toString('hex');
  const n = (parseInt(id, 16) % 200) + 20;
  const phoneNs = `se-phone-${id}`;
  const routerNs = `se-nat-${id}`;
  const links = {
    phone: `sp${id}`,
    router: `sr${id}`,
    pub: `su${id}`,
    host: `sh${id}`,
    ctl: `sc${id}`,
    ctlHost: `sk${id}`,
  };
  const lab: NatLab = {
    phone: { netns: phoneNs, address: `10.77.${n}.2`, controlAddress: `10.99.${n}.2` },
    hostAddress: `10.88.${n}.2`,
    publicAddress: `10.88.${n}.1`,
    setUdpTimeout(seconds) {
      inNs(routerNs, 'sysctl', '-q', '-w', `net.netfilter.nf_conntrack_udp_timeout=${seconds}`);
      inNs(routerNs, 'sysctl', '-q', '-w', `net.netfilter.nf_conntrack_udp_timeout_stream=${seconds}`);
    },
    remove() {
      for (const ns of [phoneNs, routerNs]) {
        try {
          run('ip', 'netns', 'del', ns);
        } catch {
          // not created, or gone already
        }
      }
      for (const link of [links.host, links.ctlHost]) {
        try {
          run('ip', 'link', 'del', link);
        } catch {
          // deleted with its peer's namespace, or never created
        }
      }
    },
  };
  try {
    run('ip', 'netns', 'add', phoneNs);
    run('ip', 'netns', 'add', routerNs);
    // phone ⇄ router (private side)
    run('ip', 'link', 'add', links.phone, 'type', 'veth', 'peer', 'name', links.router);
    run('ip', 'link', 'set', links.phone, 'netns', phoneNs);
    run('ip', 'link', 'set', links.router, 'netns', routerNs);
    inNs(phoneNs, 'ip', 'addr', 'add', `${lab.phone.address}/24`, 'dev', links.phone);
    inNs(routerNs, 'ip', 'addr', 'add', `10.77.${n}.1/24`, 'dev', links.router);
    // router ⇄ this host (public side)
    run('ip', 'link', 'add', links.pub, 'type', 'veth', 'peer', 'name', links.host);
    run('ip', 'link', 'set', links.pub, 'netns', routerNs);
    inNs(routerNs, 'ip', 'addr', 'add', `${lab.publicAddress}/24`, 'dev', links.pub);
    run('ip', 'addr', 'add', `${lab.hostAddress}/24`, 'dev', links.host);
    // phone ⇄ this host (the test's control link, no routing through it)
    run('ip', 'link', 'add', links.ctl, 'type', 'veth', 'peer', 'name', links.ctlHost);
    run('ip', 'link', 'set', links.ctl, 'netns', phoneNs);
    inNs(phoneNs, 'ip', 'addr', 'add', `${lab.phone.controlAddress}/30`, 'dev', links.ctl);
    run('ip', 'addr', 'add', `10.99.${n}.1/30`, 'dev', links.ctlHost);
    for (const [ns, devs] of [
      [phoneNs, ['lo', links.phone, links.ctl]],
      [routerNs, ['lo', links.router, links.pub]],
    ] as const) {
      for (const dev of devs) inNs(ns, 'ip', 'link', 'set', dev, 'up');
    }
    run('ip', 'link', 'set', links.host, 'up');
    run('ip', 'link', 'set', links.ctlHost, 'up');
    // The phone reaches the public link through the router, and nothing else.
    inNs(phoneNs, 'ip', 'route', 'add', `10.88.${n}.0/24`, 'via', `10.77.${n}.1`);
    inNs(routerNs, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
    inNs(routerNs, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', links.pub, '-j', 'MASQUERADE');
    return lab;
  } catch (error) {
    lab.remove();
    throw error;
  }
}
