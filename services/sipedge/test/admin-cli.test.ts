/** `sipedge admin`: the requests it makes of the admin API, and its usage errors (no network: a fake fetch). */
import { describe, expect, it } from 'vitest';
import { runAdmin } from '../src/admin-cli.js';
import { parseCommandLine } from '../src/cli.js';

const ENV = { SIPEDGE_ADMIN_TOKEN: 'a-token', SIPEDGE_ADMIN_URL: 'http://edge-1:8080/' };

function fakeFetch(status: number, body: string) {
  const calls: { url: string; method: string; authorization: string | undefined }[] = [];
  const fetch = async (url: string, init: { method: string; headers: Record<string, string> }) => {
    calls.push({ url, method: init.method, authorization: init.headers['Authorization'] });
    return { status, text: async () => body };
  };
  return { calls, fetch };
}

describe('sipedge admin bans', () => {
  it('is a command of its own on the command line', () => {
    expect(parseCommandLine(['admin', 'bans', 'list'])).toEqual({ kind: 'admin', args: ['bans', 'list'] });
  });

  it('lists the bans as a table, with the token from the environment', async () => {
    const bans = [{ address: '192.0.2.7', until: Date.UTC(2030, 0, 1), reason: 'pike: 5000 requests in 10 s' }];
    const { calls, fetch } = fakeFetch(200, JSON.stringify({ bans }));
    const result = await runAdmin(['bans'], ENV, fetch);
    expect(calls).toEqual([{ url: 'http://edge-1:8080/admin/bans', method: 'GET', authorization: 'Bearer a-token' }]);
    expect(result).toEqual({
      exitCode: 0,
      stdout:
        'ADDRESS    UNTIL                     REASON\n192.0.2.7  2030-01-01T00:00:00.000Z  pike: 5000 requests in 10 s\n',
      stderr: '',
    });
  });

  it('adds and lifts bans; --url wins over SIPEDGE_ADMIN_URL', async () => {
    const { calls, fetch } = fakeFetch(201, '{}');
    await runAdmin(['bans', 'add', '2001:db8::1', '--seconds', '60', '--reason', 'manual'], ENV, fetch);
    await runAdmin(['bans', 'lift', '2001:db8::1', '--url', 'http://other:9090'], ENV, fetch);
    expect(calls.map((c) => [c.method, c.url])).toEqual([
      ['POST', 'http://edge-1:8080/admin/bans?address=2001%3Adb8%3A%3A1&seconds=60&reason=manual'],
      ['DELETE', 'http://other:9090/admin/bans?address=2001%3Adb8%3A%3A1'],
    ]);
  });

  it('reports a refusal of the API with exit code 1, and usage errors with 2', async () => {
    const refused = await runAdmin(['bans', 'add', '10.0.0.1'], ENV, fakeFetch(409, '{"error":"trusted"}').fetch);
    expect([refused.exitCode, refused.stderr]).toEqual([1, expect.stringContaining('409')]);
    const unreachable = await runAdmin(['bans'], ENV, async () => {
      throw new Error('connect ECONNREFUSED');
    });
    expect([unreachable.exitCode, unreachable.stderr]).toEqual([1, expect.stringContaining('ECONNREFUSED')]);
    for (const args of [[], ['users'], ['bans', 'add'], ['bans', 'drop', 'x'], ['bans', 'list', 'x'], ['--nope']]) {
      expect((await runAdmin(args, ENV, fakeFetch(200, '{}').fetch)).exitCode).toBe(2);
    }
    expect((await runAdmin(['bans'], {}, fakeFetch(200, '{}').fetch)).exitCode).toBe(2);
  });
});

describe('sipedge admin registrations and drain', () => {
  it('lists registrations as a table, searched and limited', async () => {
    const registrations = [
      {
        aor: 'sip:alice@example.com',
        contacts: [{ contact: '<sip:alice@192.0.2.1>', expiresAt: '2030-01-01T00:00:00.000Z', edgeId: 'edge-1' }],
      },
    ];
    const { calls, fetch } = fakeFetch(200, JSON.stringify({ registrations, truncated: true }));
    const result = await runAdmin(['registrations', '--match', 'ali', '--limit', '5'], ENV, fetch);
    expect(calls.map((c) => [c.method, c.url])).toEqual([
      ['GET', 'http://edge-1:8080/admin/registrations?match=ali&limit=5'],
    ]);
    expect(result.stdout).toBe(
      'AOR                    CONTACT                EXPIRES                   EDGE\n' +
        'sip:alice@example.com  <sip:alice@192.0.2.1>  2030-01-01T00:00:00.000Z  edge-1\n' +
        '(more registrations exist: narrow with --match or raise --limit)\n',
    );
    const empty = await runAdmin(
      ['registrations', 'list'],
      ENV,
      fakeFetch(200, '{"registrations":[],"truncated":false}').fetch,
    );
    expect(empty.stdout).toBe('no registrations\n');
  });

  it('removes a registration or one contact, and drains an edge', async () => {
    const { calls, fetch } = fakeFetch(200, '{}');
    await runAdmin(['registrations', 'remove', 'sip:alice@example.com'], ENV, fetch);
    await runAdmin(
      ['registrations', 'remove', 'sip:alice@example.com', '--contact', 'sip:alice@192.0.2.1'],
      ENV,
      fetch,
    );
    await runAdmin(['drain', '--url', 'http://edge-2:8080'], ENV, fetch);
    expect(calls.map((c) => [c.method, c.url])).toEqual([
      ['DELETE', 'http://edge-1:8080/admin/registrations?aor=sip%3Aalice%40example.com'],
      [
        'DELETE',
        'http://edge-1:8080/admin/registrations?aor=sip%3Aalice%40example.com&contact=sip%3Aalice%40192.0.2.1',
      ],
      ['POST', 'http://edge-2:8080/admin/drain'],
    ]);
    for (const args of [
      ['registrations', 'remove'],
      ['registrations', 'purge'],
      ['registrations', 'list', 'x'],
      ['drain', 'now'],
    ]) {
      expect((await runAdmin(args, ENV, fakeFetch(200, '{}').fetch)).exitCode).toBe(2);
    }
  });
});

describe('sipedge admin calls', () => {
  it('lists the live calls as a table with their number', async () => {
    const calls = [
      { callId: 'c1', caller: 'sip:a@x', callee: 'sip:b@x', startedAt: '2030-01-01T00:00:00.000Z', id: 'c1;a;b' },
    ];
    const { calls: requests, fetch } = fakeFetch(200, JSON.stringify({ total: 7, calls }));
    const result = await runAdmin(['calls', '--limit', '1'], ENV, fetch);
    expect(requests.map((c) => [c.method, c.url])).toEqual([['GET', 'http://edge-1:8080/admin/calls?limit=1']]);
    expect(result.stdout).toBe(
      'STARTED                   CALLER   CALLEE   CALL-ID\n' +
        '2030-01-01T00:00:00.000Z  sip:a@x  sip:b@x  c1\n' +
        '7 live calls\n',
    );
    const none = await runAdmin(['calls'], ENV, fakeFetch(200, '{"total":0,"calls":[]}').fetch);
    expect(none.stdout).toBe('0 live calls\n');
    expect((await runAdmin(['calls', 'kill'], ENV, fakeFetch(200, '{}').fetch)).exitCode).toBe(2);
  });
});
