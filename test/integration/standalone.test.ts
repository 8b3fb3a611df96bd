/**
 * Standalone mode (`npm start`: services/standalone/src/main.ts) as a process: one edge and one
 * worker on the in-memory twins, no Redis or NATS. A UA registers, another calls it over real UDP
 * sockets, and SIGTERM drains and exits 0.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { buildResponse } from '@sipedge/sip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextMessage as next } from '../support/cluster.js';
import { freePort } from '../support/containers.js';
import { UdpClient, sipRequest } from '../support/sip-client.js';

const root = new URL('../../', import.meta.url).pathname;

describe('standalone mode', () => {
  let child: ChildProcess;
  let sipPort: number;
  let output = '';

  beforeAll(async () => {
    sipPort = await freePort();
    child = spawn(
      process.execPath,
      ['--conditions=development', '--import', 'tsx', 'services/standalone/src/main.ts'],
      {
        cwd: root,
        env: {
          ...process.env,
          SIPEDGE_UDP: `127.0.0.1:${sipPort}`,
          SIPEDGE_TCP: `127.0.0.1:${sipPort}`,
          SIPEDGE_HTTP: `127.0.0.1:${await freePort()}`,
          SIPEDGE_ADVERTISED: `127.0.0.1:${sipPort}`,
          SIPEDGE_DOMAINS: 'example.com',
          LOG_LEVEL: 'info',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`standalone did not start: ${output}`)), 30_000);
      child.stdout!.on('data', (d: Buffer) => {
        output += d.toString();
        if (output.includes('sipedge standalone: ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', (code) => reject(new Error(`standalone exited with ${code}: ${output}`)));
    });
  }, 40_000);

  afterAll(() => {
    if (child?.exitCode === null) child.kill('SIGKILL');
  });

  it('says where it listens and how to place a first call', () => {
    expect(output).toContain(`"port":${sipPort}`);
    expect(output).toContain('then call sip:bob@127.0.0.1');
  });

  it('registers a UA and routes a call to it; SIGTERM exits 0', async () => {
    const [bob, alice] = [await UdpClient.open(), await UdpClient.open()];
    await bob.send(
      sipRequest('REGISTER', {
        uri: 'sip:example.com',
        via: `SIP/2.0/UDP 127.0.0.1:${bob.port};branch=z9hG4bKsa-reg`,
        callId: 'sa-reg',
        extra: [`Contact: <sip:bob@127.0.0.1:${bob.port}>`],
      }),
      sipPort,
    );
    expect((await next(bob, (m) => m.isResponse)).status).toBe(200);
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
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 30_000);
});
