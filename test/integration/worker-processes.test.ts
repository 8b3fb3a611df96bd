/**
 * A transaction survives its worker. Worker A (a separate process) takes the INVITE and is
 * SIGKILLed; worker B, started afterwards, completes the call (180, 200, ACK, BYE) from the state
 * in Redis, with its timers in BullMQ. Real UDP sockets, an edge, NATS and Redis. Workers are
 * `sipedge worker` processes; `sipedge all` with REDIS_URL and NATS_URL runs on the same servers.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { buildResponse, type SipMessage } from '@sipedge/sip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, nextMessage as next } from '../support/cluster.js';
import { freePort } from '../support/free-port.js';
import { UdpClient, sipRequest } from '../support/sip-client.js';

const root = new URL('../../', import.meta.url).pathname;

describe('a call survives a SIGKILLed worker process', () => {
  let cluster: Cluster;
  let edgePort: number;
  const children: ChildProcess[] = [];

  /** Starts `sipedge <role>` on the cluster's Redis and NATS and resolves once it prints `ready`. */
  async function startSipedge(
    name: string,
    role: 'worker' | 'all',
    env: Record<string, string>,
    ready: string,
  ): Promise<ChildProcess> {
    const child = spawn(
      process.execPath,
      ['--conditions=development', '--import', 'tsx', 'services/sipedge/src/main.ts', role],
      {
        cwd: root,
        env: {
          ...process.env,
          NATS_URL: cluster.natsUrl,
          REDIS_URL: cluster.redisUrl,
          SIPEDGE_FLEET_SECRET: 'worker-processes-fleet-secret-0123456789',
          LOG_LEVEL: 'info',
          ...env,
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`${name} did not start: ${out}`)), 30_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes(ready)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', (code) => reject(new Error(`${name} exited with ${code}: ${out}`)));
    });
    return child;
  }

  /** Starts a worker process and resolves once it is taking messages. */
  const startWorker = (name: string) =>
    startSipedge(
      name,
      'worker',
      { SIPEDGE_WORKER_ID: name, SIPEDGE_ADVERTISED: `127.0.0.1:${edgePort}`, SIPEDGE_DOMAINS: 'example.com' },
      'worker started',
    );

  beforeAll(async () => {
    cluster = await Cluster.start({ workers: 0 });
    edgePort = cluster.edgePort;
  }, 120_000);

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await cluster?.stop();
  });

  it('completes the call on the second worker after the first is killed', async () => {
    const workerA = await startWorker('worker-a');
    const uas = await UdpClient.open();
    const uac = await UdpClient.open();
    await uas.send(
      sipRequest('REGISTER', {
        uri: 'sip:example.com',
        via: `SIP/2.0/UDP 127.0.0.1:${uas.port};branch=z9hG4bKwpreg`,
        callId: 'wp-reg',
        extra: [`Contact: <sip:bob@127.0.0.1:${uas.port}>`, 'Expires: 300'],
      }).replace('From: <sip:alice@example.com>;tag=a1', 'From: <sip:bob@example.com>;tag=r1'),
      edgePort,
    );
    expect((await next(uas, (m) => m.isResponse && m.cseq.method === 'REGISTER')).status).toBe(200);
    await uac.send(
      sipRequest('INVITE', {
        via: `SIP/2.0/UDP 127.0.0.1:${uac.port};branch=z9hG4bKwp1`,
        callId: 'wp-call',
        extra: [`Contact: <sip:alice@127.0.0.1:${uac.port}>`],
      }),
      edgePort,
    );
    const invite = await next(uas, (m) => m.isRequest && m.method === 'INVITE');

    // Worker A took the INVITE. B joins, then A dies without any chance to clean up.
    await startWorker('worker-b');
    workerA.kill('SIGKILL');
    await new Promise((r) => workerA.once('exit', r));

    const rr = invite.values('Record-Route');
    const respond = (request: SipMessage, status: number) =>
      uas.send(
        buildResponse(request, status, {
          toTag: 'b1',
          headers: [
            ...rr.map((r) => ['Record-Route', r] as [string, string]),
            ['Contact', `<sip:bob@127.0.0.1:${uas.port}>`],
          ],
        }).toBuffer(),
        edgePort,
      );
    await respond(invite, 180);
    await next(uac, (m) => m.status === 180);
    await respond(invite, 200);
    const ok = await next(uac, (m) => m.status === 200 && m.cseq.method === 'INVITE');
    const route = ok.values('Record-Route').map((r) => `Route: ${r}`);
    const inDialog = (method: string, cseq: number) =>
      [
        `${method} sip:bob@127.0.0.1:${uas.port} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${uac.port};branch=z9hG4bKwp${method}`,
        'Max-Forwards: 70',
        ...route,
        'To: <sip:bob@example.com>;tag=b1',
        'From: <sip:alice@example.com>;tag=a1',
        'Call-ID: wp-call',
        `CSeq: ${cseq} ${method}`,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
    await uac.send(inDialog('ACK', 1), edgePort);
    await next(uas, (m) => m.isRequest && m.method === 'ACK');
    await uac.send(inDialog('BYE', 2), edgePort);
    const bye = await next(uas, (m) => m.isRequest && m.method === 'BYE');
    await uas.send(buildResponse(bye, 200, { toTag: 'b1' }).toBuffer(), edgePort);
    expect((await next(uac, (m) => m.status === 200 && m.cseq.method === 'BYE')).get('Call-ID')).toBe('wp-call');
    uas.close();
    uac.close();
  }, 90_000);

  it('runs sipedge all on Redis and NATS when both URLs are set', async () => {
    // The workers of the call above would share the queue group: only this process's worker is left.
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    }
    const port = await freePort();
    const all = await startSipedge(
      'all',
      'all',
      {
        SIPEDGE_EDGE_ID: 'all-1',
        SIPEDGE_UDP: `127.0.0.1:${port}`,
        SIPEDGE_TCP: `127.0.0.1:${port}`,
        SIPEDGE_HTTP: `127.0.0.1:${await freePort()}`,
        SIPEDGE_ADVERTISED: `127.0.0.1:${port}`,
      },
      'sipedge all: ready',
    );
    const ua = await UdpClient.open();
    await ua.send(
      sipRequest('OPTIONS', {
        uri: `sip:127.0.0.1:${port}`,
        via: `SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bKall1`,
        callId: 'all-options',
      }),
      port,
    );
    expect((await next(ua, (m) => m.isResponse)).status).toBe(200);
    ua.close();
    const exited = new Promise<number | null>((resolve) => all.once('exit', resolve));
    all.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 60_000);
});
