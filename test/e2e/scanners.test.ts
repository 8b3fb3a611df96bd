/**
 * SIP scanners against sipedge (issue 14): the Debian package `sipvicious` (svmap, svwar, svcrack)
 * run against a standalone and a distributed deployment with digest authentication on, their
 * findings asserted:
 *
 * - svmap finds the proxy and learns nothing of its software ("unknown" user agent);
 * - svwar finds no extension, by REGISTER, INVITE or OPTIONS, with and without --force, though
 *   the dictionary holds the real users: an unknown user gets the same answer as a known one;
 * - svcrack cracks a password near the top of its list (the control: it can crack this proxy),
 *   but is banned before it reaches the right password further down: it finds nothing, and the
 *   fleet lists its ban.
 *
 * sipvicious 0.3.3 ignores its bind-address option, so the scanners send from 127.0.0.1: here
 * nothing on loopback is trusted (SIPEDGE_TRUSTED names another address), and bans are lifted
 * through the admin API between runs.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { type Deployment, type Mode, startDeployment } from '../support/deployment.js';

const run = promisify(execFile);
const TOKEN = 'scanner-test-admin-token-0123456789abcdef';
const USERS = { alice: 'sesame', bob: 'b0b-passw0rd' };
const FAILURES_BEFORE_BAN = 5;

const ENV: NodeJS.ProcessEnv = {
  SIPEDGE_AUTH_REALM: 'sipedge.test',
  SIPEDGE_AUTH_SECRET: 'scanner-test-digest-secret-0123456789abcd',
  SIPEDGE_AUTH_USERS: Object.entries(USERS)
    .map(([user, password]) => `${user}:${password}`)
    .join(','),
  // svcrack answers MD5 challenges only.
  SIPEDGE_AUTH_ALGORITHMS: 'MD5',
  SIPEDGE_AUTH_PROXY: 'true',
  SIPEDGE_TRUSTED: '192.0.2.1/32',
  SIPEDGE_RATE_LIMIT_TRUSTED: '192.0.2.1/32',
  SIPEDGE_AUTH_FAILURES_PER_SOURCE: String(FAILURES_BEFORE_BAN),
  SIPEDGE_ADMIN_TOKEN: TOKEN,
};

const dir = mkdtempSync(join(tmpdir(), 'sipedge-scanners-'));
const file = (name: string, lines: string[]) => {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
};
const extensions = file('extensions.txt', ['100', '200', 'admin', 'alice', 'bob', 'carol', 'operator']);
const earlyPassword = file('passwords-early.txt', ['123456', USERS.alice]);
const latePassword = file('passwords-late.txt', [
  ...Array.from({ length: 3 * FAILURES_BEFORE_BAN }, (_, i) => `guess-${i}`),
  USERS.alice,
]);

/** Runs a sipvicious tool (bounded in time); its output, whatever its exit code. */
async function sipvicious(tool: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(tool, args, { timeout: 60_000, cwd: dir });
    return stdout + stderr;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    if (failed.stdout === undefined) throw error;
    return `${failed.stdout}${failed.stderr ?? ''}`;
  }
}

async function bans(deployment: Deployment): Promise<{ address: string; reason: string }[]> {
  const response = await fetch(`${deployment.opsUrl}/admin/bans`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  return ((await response.json()) as { bans: { address: string; reason: string }[] }).bans;
}

async function lift(deployment: Deployment, address: string): Promise<void> {
  await fetch(`${deployment.opsUrl}/admin/bans?address=${address}`, {
    method: 'DELETE',
    headers: { Authorization: `Bearer ${TOKEN}` },
  });
}

describe.each<Mode>(['standalone', 'distributed'])('sipvicious against sipedge (%s)', (mode) => {
  let deployment: Deployment;
  let port: string;
  beforeAll(async () => {
    deployment = await startDeployment(mode, { env: ENV });
    port = String(deployment.port);
  }, 180_000);
  afterAll(() => deployment?.stop());

  /** A local port of its own for each run (sipvicious binds 5060 by default). */
  const local = async () => ['-P', String(await freePort())];

  it('svmap finds the proxy and not its software', async () => {
    const out = await sipvicious('svmap', ['127.0.0.1', '-p', port, ...(await local())]);
    expect(out).toMatch(new RegExp(`\\| 127\\.0\\.0\\.1:${port} +\\| unknown +\\|`));
  });

  it.each([
    ['REGISTER', []],
    ['REGISTER', ['--force']],
    ['INVITE', ['--force']],
    ['OPTIONS', ['--force']],
  ])('svwar by %s %s finds no extension', async (method, force) => {
    const out = await sipvicious('svwar', [
      '-m',
      method,
      ...force,
      '-d',
      extensions,
      '--maximumtime',
      '3',
      '127.0.0.1',
      '-p',
      port,
      ...(await local()),
    ]);
    expect(out).toContain('found nothing');
    expect(out).not.toMatch(/\| (alice|bob) /);
    expect(out).not.toMatch(/extension '[^']*' (exists|probably exists)/);
  });

  it('svcrack cracks a password near the top of its list, and is banned before a password further down', async () => {
    const cracked = await sipvicious('svcrack', [
      '-u',
      'alice',
      '-d',
      earlyPassword,
      '127.0.0.1',
      '-p',
      port,
      ...(await local()),
    ]);
    expect(cracked).toMatch(new RegExp(`\\| alice +\\| ${USERS.alice} +\\|`));
    await lift(deployment, '127.0.0.1'); // forgets the control's failed guess

    const out = await sipvicious('svcrack', [
      '-u',
      'alice',
      '-d',
      latePassword,
      '--maximumtime',
      '3',
      '127.0.0.1',
      '-p',
      port,
      ...(await local()),
    ]);
    expect(out).toContain('found nothing');
    expect(out).not.toContain(USERS.alice);
    expect(await bans(deployment)).toEqual([
      expect.objectContaining({
        address: '127.0.0.1',
        reason: `auth failures: ${FAILURES_BEFORE_BAN} from this source in 600 s`,
      }),
    ]);
    await lift(deployment, '127.0.0.1');
  }, 90_000);
});
