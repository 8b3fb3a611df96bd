/**
 * The admin API's registrations and drain (admin.ts) over real HTTP on an ops server, on the
 * in-memory location service: listed, searched, removed (and then gone from lookups), every
 * request authenticated.
 */
import { NO_BANS, startTestOpsServer } from './support/ops.js';
import { MemoryCaptureStore, MemoryDialogStore, MemoryLocationStore } from '@sipedge/store';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminRoutes } from '../src/admin.js';
import type { OpsServer } from '../src/http.js';

const TOKEN = 'admin-token-admin-token-admin-token-0123';

describe('admin API: registrations and drain', () => {
  let server: OpsServer;
  let base: string;
  let locations: MemoryLocationStore;
  let dialogs: MemoryDialogStore;
  let drains = 0;

  beforeEach(async () => {
    locations = new MemoryLocationStore();
    dialogs = new MemoryDialogStore();
    drains = 0;
    const now = Date.now();
    for (const user of ['alice', 'bob', 'alina']) {
      const aor = `sip:${user}@example.com`;
      const bindings = ['192.0.2.1', '192.0.2.2'].map((host) => ({
        uriKey: `sip:${user}@${host}`,
        contact: `<sip:${user}@${host}>`,
        expires: 600,
        q: 1,
        data: JSON.stringify({ edgeId: 'edge-1', source: { transport: 'udp', address: host, port: 5060 } }),
      }));
      await locations.register(aor, { type: 'update', callId: `reg-${user}`, cseq: 1, bindings }, now);
    }
    ({ server, base } = await startTestOpsServer(
      adminRoutes({
        token: TOKEN,
        bans: NO_BANS,
        registrations: locations,
        dialogs,
        captures: new MemoryCaptureStore(),
        drain: () => drains++,
      }),
      () => drains > 0,
    ));
  });
  afterEach(() => server.close());

  const call = (method: string, path: string, token = TOKEN) =>
    fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}` } });

  it('refuses a request without the token, or with another one', async () => {
    expect((await fetch(`${base}/admin/registrations`)).status).toBe(401);
    expect((await call('GET', '/admin/registrations', 'x'.repeat(40))).status).toBe(401);
    expect((await call('DELETE', '/admin/registrations?aor=sip:alice@example.com', 'nope')).status).toBe(401);
    expect((await call('POST', '/admin/drain', 'nope')).status).toBe(401);
    expect(drains).toBe(0);
    expect(await locations.lookup('sip:alice@example.com', Date.now())).toHaveLength(2);
  });

  it('lists registrations, searched by a part of the AOR and limited, with how each contact is reached', async () => {
    const all = (await (await call('GET', '/admin/registrations')).json()) as {
      registrations: { aor: string; contacts: Record<string, unknown>[] }[];
      truncated: boolean;
    };
    expect(all.registrations.map((r) => r.aor)).toEqual([
      'sip:alice@example.com',
      'sip:alina@example.com',
      'sip:bob@example.com',
    ]);
    expect(all.truncated).toBe(false);
    expect(all.registrations[0]!.contacts[0]).toMatchObject({
      contact: expect.stringMatching(/^<sip:alice@192\.0\.2\.[12]>$/),
      key: expect.stringMatching(/^sip:alice@192\.0\.2\.[12]$/),
      edgeId: 'edge-1',
      source: { transport: 'udp', port: 5060 },
    });
    const found = (await (await call('GET', '/admin/registrations?match=ALI&limit=1')).json()) as typeof all;
    expect(found.registrations).toHaveLength(1);
    expect(found.registrations[0]!.aor).toMatch(/^sip:ali(ce|na)@example\.com$/);
    expect(found.truncated).toBe(true);
    expect((await call('GET', '/admin/registrations?limit=0')).status).toBe(400);
    expect((await call('GET', '/admin/registrations?limit=many')).status).toBe(400);
  });

  it('removes one contact or every binding of an AOR, which is then gone from lookups', async () => {
    const one = await call('DELETE', '/admin/registrations?aor=sip:alice@example.com&contact=sip:alice@192.0.2.1');
    expect(one.status).toBe(200);
    expect(await one.json()).toEqual({ aor: 'sip:alice@example.com', removed: ['sip:alice@192.0.2.1'] });
    expect((await locations.lookup('sip:alice@example.com', Date.now())).map((b) => b.uriKey)).toEqual([
      'sip:alice@192.0.2.2',
    ]);
    const all = await call('DELETE', '/admin/registrations?aor=sip:bob@example.com');
    expect(((await all.json()) as { removed: string[] }).removed.sort()).toEqual([
      'sip:bob@192.0.2.1',
      'sip:bob@192.0.2.2',
    ]);
    expect(await locations.lookup('sip:bob@example.com', Date.now())).toEqual([]);
    expect((await call('DELETE', '/admin/registrations?aor=sip:bob@example.com')).status).toBe(404);
    expect((await call('DELETE', '/admin/registrations?aor=sip:alice@example.com&contact=sip:x@y')).status).toBe(404);
    expect((await call('DELETE', '/admin/registrations')).status).toBe(400);
  });

  it('lists the live calls, the most recent first, with their number', async () => {
    const now = Date.now();
    for (const n of [1, 2, 3]) {
      const dialog = { id: `c${n};a;b`, callId: `c${n}`, caller: 'sip:a@x', callee: `sip:b${n}@x`, startedAt: now + n };
      await dialogs.open(dialog, now + 60_000 + n);
    }
    const res = await call('GET', '/admin/calls?limit=2');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { total: number; calls: { callId: string; startedAt: string }[] };
    expect(body.total).toBe(3);
    expect(body.calls.map((c) => c.callId)).toEqual(['c3', 'c2']);
    expect(body.calls[0]!.startedAt).toBe(new Date(now + 3).toISOString());
    expect((await call('GET', '/admin/calls', 'nope')).status).toBe(401);
    expect((await call('GET', '/admin/calls?limit=5000')).status).toBe(400);
  });

  it('drains the edge on POST /admin/drain', async () => {
    const res = await call('POST', '/admin/drain');
    expect(res.status).toBe(202);
    expect(drains).toBe(1);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
  });
});
