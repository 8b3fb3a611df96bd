/**
 * The `sipedge` executable as a process. `sipedge all` (`npm start`) without REDIS_URL and NATS_URL:
 * one edge and one worker on the in-memory twins, no Redis or NATS, the worker on a thread of its
 * own or on the edge's; a UA registers, another calls it over real UDP sockets, and SIGTERM drains
 * and exits 0. The same from a YAML configuration file
 * (`--config`), and a file with an unknown key refused at start.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SipMessage, buildResponse } from '@sipedge/sip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextMessage as next } from '../support/cluster.js';
import { freePort } from '../support/free-port.js';
import { UdpClient, sipRequest } from '../support/sip-client.js';

const root = new URL('../../', import.meta.url).pathname;

interface Sipedge {
  child: ChildProcess;
  /** Standard output and error so far. */
  output(): string;
  exited: Promise<number | null>;
  /** Resolves once the output contains `text`; rejects if the process exits first. */
  printed(text: string, timeoutMs?: number): Promise<void>;
}

/**
 * Spawns `sipedge <args>` from the sources. Settings the test environment may hold are removed, so
 * that only `env` (and a configuration file) configure it.
 */
function sipedge(args: string[], env: Record<string, string> = {}): Sipedge {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(SIPEDGE_|REDIS_URL$|NATS_URL$|LOG_LEVEL$)/.test(name)),
  );
  const child = spawn(
    process.execPath,
    ['--conditions=development', '--import', 'tsx', 'services/sipedge/src/main.ts', ...args],
    { cwd: root, env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const append = (d: Buffer) => (output += d.toString());
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const printed = (text: string, timeoutMs = 30_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sipedge did not print "${text}": ${output}`)), timeoutMs);
      const check = () => {
        if (!output.includes(text)) return;
        clearTimeout(timer);
        resolve();
      };
      child.stdout!.on('data', check);
      void exited.then((code) => reject(new Error(`sipedge exited with ${code}: ${output}`)));
      check();
    });
  return { child, output: () => output, exited, printed };
}

/** Registers `sip:bob@<domain>` at the UA's address and returns the answer. */
async function registerBob(ua: UdpClient, domain: string, sipPort: number): Promise<SipMessage> {
  await ua.send(
    sipRequest('REGISTER', {
      uri: `sip:${domain}`,
      via: `SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-reg-${domain}`,
      callId: `reg-${domain}`,
      extra: [`Contact: <sip:bob@127.0.0.1:${ua.port}>`],
    }).replace(/@example\.com>/g, `@${domain}>`),
    sipPort,
  );
  return next(ua, (m) => m.isResponse);
}

describe.each([
  { threads: '2', worker: 'on a thread of its own' },
  { threads: '1', worker: 'on the edge’s thread' },
])('sipedge all, in memory (standalone mode), the worker $worker', ({ threads }) => {
  let proc: Sipedge;
  let sipPort: number;
  let edgeHttp: number;
  let workerHttp: number;

  beforeAll(async () => {
    sipPort = await freePort();
    edgeHttp = await freePort();
    workerHttp = await freePort();
    proc = sipedge(['all'], {
      SIPEDGE_UDP: `127.0.0.1:${sipPort}`,
      SIPEDGE_TCP: `127.0.0.1:${sipPort}`,
      SIPEDGE_HTTP: `127.0.0.1:${edgeHttp}`,
      SIPEDGE_WORKER_HTTP: `127.0.0.1:${workerHttp}`,
      SIPEDGE_ADVERTISED: `127.0.0.1:${sipPort}`,
      SIPEDGE_DOMAINS: 'example.com',
      SIPEDGE_THREADS: threads,
      LOG_LEVEL: 'info',
    });
    await proc.printed('sipedge standalone: ready');
  }, 40_000);

  afterAll(() => {
    if (proc?.child.exitCode === null) proc.child.kill('SIGKILL');
  });

  it('says where it listens and how to place a first call', () => {
    expect(proc.output()).toContain(`"port":${sipPort}`);
    expect(proc.output()).toContain('then call sip:bob@127.0.0.1');
    const started = proc
      .output()
      .split('\n')
      .find((line) => line.includes('"msg":"worker started"'));
    expect(started).toBeDefined();
    expect(started!.includes('"thread":"worker"')).toBe(threads === '2');
    expect(proc.output()).toContain('"msg":"edge started"');
  });

  it('registers a UA and routes a call to it; SIGTERM exits 0', async () => {
    const [bob, alice] = [await UdpClient.open(), await UdpClient.open()];
    expect((await registerBob(bob, 'example.com', sipPort)).status).toBe(200);
    await alice.send(
      sipRequest('INVITE', { via: `SIP/2.0/UDP 127.0.0.1:${alice.port};branch=z9hG4bKsa-inv`, callId: 'sa-call' }),
      sipPort,
    );
    const invite = await next(bob, (m) => m.isRequest && m.method === 'INVITE');
    expect(invite.requestUriText).toBe(`sip:bob@127.0.0.1:${bob.port}`);
    await bob.send(
      buildResponse(invite, 200, {
        toTag: 'b',
        headers: [
          ...invite.values('Record-Route').map((v): [string, string] => ['Record-Route', v]),
          ['Contact', `<sip:bob@127.0.0.1:${bob.port}>`],
        ],
      }).toBuffer(),
      sipPort,
    );
    expect((await next(alice, (m) => m.isResponse && m.status >= 200)).status).toBe(200);
    bob.close();
    alice.close();
    // Both ops servers: the edge's /metrics and the worker's (SIPEDGE_WORKER_HTTP).
    const edgeMetrics = await (await fetch(`http://127.0.0.1:${edgeHttp}/metrics`)).text();
    expect(edgeMetrics).toMatch(/^sipedge_edge_requests_total\{method="INVITE"\} 1$/m);
    const workerMetrics = await (await fetch(`http://127.0.0.1:${workerHttp}/metrics`)).text();
    for (const series of [
      'sipedge_worker_active_transactions',
      'sipedge_worker_transaction_duration_seconds_count',
      'sipedge_worker_handoff_latency_seconds_count',
      'sipedge_worker_redis_duration_seconds_count{operation="commit"}',
    ]) {
      expect(workerMetrics).toContain(`\n${series} `);
    }
    expect(workerMetrics).toContain('\n# TYPE sipedge_worker_timer_lateness_seconds histogram');
    expect(workerMetrics).toMatch(/^sipedge_worker_handoff_latency_seconds_count [1-9]/m);
    expect((await fetch(`http://127.0.0.1:${workerHttp}/healthz`)).status).toBe(200);
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
  }, 30_000);
});

describe('sipedge all --config FILE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sipedge-config-'));

  it('takes its settings from the file: listens where it says and serves its domains', async () => {
    const sipPort = await freePort();
    const file = join(dir, 'standalone.yaml');
    writeFileSync(
      file,
      [
        'sip:',
        `  udp: ["127.0.0.1:${sipPort}"]`,
        `  tcp: ["127.0.0.1:${sipPort}"]`,
        `  advertised: 127.0.0.1:${sipPort}`,
        'edge:',
        `  http: 127.0.0.1:${await freePort()}`,
        'proxy:',
        '  domains: [example.org]',
        'log:',
        '  level: info',
        '',
      ].join('\n'),
    );
    const proc = sipedge(['all', '--config', file]);
    try {
      await proc.printed('sipedge standalone: ready');
      const ua = await UdpClient.open();
      const answer = await registerBob(ua, 'example.org', sipPort);
      expect(answer.status).toBe(200);
      expect(answer.get('Contact')).toContain(`<sip:bob@127.0.0.1:${ua.port}>`);
      ua.close();
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
    } finally {
      if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
    }
  }, 40_000);

  it('refuses a file with an unknown key: exit code 1 and a message naming the key', async () => {
    const file = join(dir, 'typo.yaml');
    writeFileSync(file, 'sip:\n  udpp: ["127.0.0.1:5060"]\n');
    const proc = sipedge(['all', '--config', file]);
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toContain(`${file}: unknown key \\"sip.udpp\\" (did you mean \\"sip.udp\\"?)`);
    expect(proc.output()).toContain('bad configuration');
  }, 30_000);

  it('answers a usage error with exit code 2 and the usage on stderr', async () => {
    const proc = sipedge(['proxy']);
    expect(await proc.exited).toBe(2);
    expect(proc.output()).toContain('sipedge: unknown role "proxy"');
    expect(proc.output()).toContain('Usage: sipedge [all|edge|worker] [--config FILE]');
  }, 30_000);
});
