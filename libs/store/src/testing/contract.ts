/**
 * The behaviour every store adapter must have. Run against the in-memory twin (unit tests) and
 * against Redis, single node and Cluster (integration tests).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ban, BindingUpdate, RecordStore, RegisterOp, Stores } from '../index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function storeContract(name: string, make: () => Promise<Stores>): void {
  describe(`store contract: ${name}`, () => {
    let stores: Stores;
    beforeAll(async () => {
      stores = await make();
    });
    afterAll(async () => {
      await stores?.close();
    });
    /** A fresh hash tag per test, so tests never see each other's keys. */
    const tag = () => `{t${randomUUID()}}`;

    describe('records', () => {
      it('loads missing records as null, in the order asked', async () => {
        const t = tag();
        await stores.records.commit([{ key: `${t}:a`, expectedVersion: 0, value: 'A', ttlMs: 60_000 }]);
        expect(await stores.records.load([`${t}:missing`, `${t}:a`])).toEqual([null, { value: 'A', version: 1 }]);
      });

      it('creates with version 0, then each commit needs the current version', async () => {
        const t = tag();
        const key = `${t}:tx`;
        expect(await stores.records.commit([{ key, expectedVersion: 0, value: 'v1', ttlMs: 60_000 }])).toEqual({
          ok: true,
          versions: [1],
        });
        expect(await stores.records.commit([{ key, expectedVersion: 0, value: 'again', ttlMs: 60_000 }])).toEqual({
          ok: false,
          conflicts: [key],
        });
        expect(await stores.records.commit([{ key, expectedVersion: 1, value: 'v2', ttlMs: 60_000 }])).toEqual({
          ok: true,
          versions: [2],
        });
        expect(await stores.records.load([key])).toEqual([{ value: 'v2', version: 2 }]);
      });

      it('applies a multi-record commit all or nothing', async () => {
        const t = tag();
        const [a, b] = [`${t}:ctx`, `${t}:branch`];
        await stores.records.commit([{ key: a, expectedVersion: 0, value: 'ctx', ttlMs: 60_000 }]);
        const failed = await stores.records.commit([
          { key: a, expectedVersion: 1, value: 'ctx2', ttlMs: 60_000 },
          { key: b, expectedVersion: 5, value: 'branch', ttlMs: 60_000 },
        ]);
        expect(failed).toEqual({ ok: false, conflicts: [b] });
        expect(await stores.records.load([a, b])).toEqual([{ value: 'ctx', version: 1 }, null]);
        const done = await stores.records.commit([
          { key: a, expectedVersion: 1, value: 'ctx2', ttlMs: 60_000 },
          { key: b, expectedVersion: 0, value: 'branch', ttlMs: 60_000 },
        ]);
        expect(done).toEqual({ ok: true, versions: [2, 1] });
      });

      it('deletes with a null value, after which the key starts again at version 0', async () => {
        const key = `${tag()}:gone`;
        await stores.records.commit([{ key, expectedVersion: 0, value: 'x', ttlMs: 60_000 }]);
        expect(await stores.records.commit([{ key, expectedVersion: 1, value: null, ttlMs: 0 }])).toEqual({
          ok: true,
          versions: [0],
        });
        expect(await stores.records.load([key])).toEqual([null]);
      });

      it('stores a value given as a function as the text it returns', async () => {
        const key = `${tag()}:lazy`;
        await stores.records.commit([{ key, expectedVersion: 0, value: () => '{"lazy":1}', ttlMs: 60_000 }]);
        expect(await stores.records.commit([{ key, expectedVersion: 1, value: () => 'v2', ttlMs: 60_000 }])).toEqual({
          ok: true,
          versions: [2],
        });
        expect(await stores.records.load([key])).toEqual([{ value: 'v2', version: 2 }]);
      });

      it('keeps values byte-exact, including colons, newlines and non-ASCII text', async () => {
        const key = `${tag()}:bytes`;
        const value = 'INVITE sip:a@b SIP/2.0\r\nVia: x:1\r\n\r\n\u00e9\u00ff{"json":true}';
        await stores.records.commit([{ key, expectedVersion: 0, value, ttlMs: 60_000 }]);
        expect((await stores.records.load([key]))[0]?.value).toBe(value);
      });

      it('expires a record after its TTL', async () => {
        const key = `${tag()}:short`;
        await stores.records.commit([{ key, expectedVersion: 0, value: 'x', ttlMs: 150 }]);
        expect(await stores.records.load([key])).toHaveLength(1);
        await sleep(400);
        expect(await stores.records.load([key])).toEqual([null]);
      });

      it('refuses keys of different hash tags in one call', async () => {
        await expect(stores.records.load([`${tag()}:a`, `${tag()}:b`])).rejects.toThrow(TypeError);
        await expect(
          stores.records.commit([
            { key: `${tag()}:a`, expectedVersion: 0, value: '1', ttlMs: 1000 },
            { key: `${tag()}:b`, expectedVersion: 0, value: '1', ttlMs: 1000 },
          ]),
        ).rejects.toThrow(TypeError);
      });

      it('loses no update under many concurrent compare-and-set writers', async () => {
        const key = `${tag()}:counter`;
        const writers = 40;
        const results = await Promise.all(Array.from({ length: writers }, () => increment(stores.records, key)));
        expect(results.every((attempts) => attempts >= 1)).toBe(true);
        const [record] = await stores.records.load([key]);
        expect(record?.value).toBe(String(writers));
        expect(record?.version).toBe(writers);
      });
    });

    describe('location service (§10.3)', () => {
      const update = (uriKey: string, expires: number, q = 1): BindingUpdate => ({
        uriKey,
        contact: `<${uriKey}>;expires=${expires}`,
        expires,
        q,
        data: JSON.stringify({ flow: 'f1' }),
      });
      /** A REGISTER's update of these bindings (no maxBindings). */
      const updateOp = (callId: string, cseq: number, ...bindings: BindingUpdate[]): RegisterOp => ({
        type: 'update',
        callId,
        cseq,
        bindings,
      });

      it('refuses an update that would add bindings beyond maxBindings, all or nothing; refreshing still works', async () => {
        const aor = `sip:many-${randomUUID()}@example.com`;
        const now = Date.now();
        const register = (cseq: number, keys: string[], expires = 3600) =>
          stores.locations.register(
            aor,
            { type: 'update', callId: 'm1', cseq, bindings: keys.map((k) => update(k, expires)), maxBindings: 2 },
            now,
          );
        expect((await register(1, ['sip:a@1.1.1.1', 'sip:a@2.2.2.2'])).ok).toBe(true);
        expect(await register(2, ['sip:a@3.3.3.3'])).toEqual({ ok: false, reason: 'too-many', count: 3 });
        expect(await register(3, ['sip:a@3.3.3.3', 'sip:a@4.4.4.4', 'sip:a@5.5.5.5'])).toEqual({
          ok: false,
          reason: 'too-many',
          count: 5,
        });
        expect((await stores.locations.lookup(aor, now)).map((b) => b.uriKey).sort()).toEqual([
          'sip:a@1.1.1.1',
          'sip:a@2.2.2.2',
        ]);
        // A refresh, and a swap of one binding for another in one request, stay within the limit.
        expect((await register(4, ['sip:a@1.1.1.1'])).ok).toBe(true);
        const swap = await stores.locations.register(
          aor,
          {
            type: 'update',
            callId: 'm1',
            cseq: 5,
            bindings: [update('sip:a@2.2.2.2', 0), update('sip:a@3.3.3.3', 60)],
            maxBindings: 2,
          },
          now,
        );
        expect(swap.ok).toBe(true);
      });

      it('removes bindings by contact key, the others staying', async () => {
        const aor = `sip:gone-${randomUUID()}@example.com`;
        const now = Date.now();
        const bindings = [update('sip:a@1.1.1.1', 3600), update('sip:a@2.2.2.2', 3600)];
        await stores.locations.register(aor, { type: 'update', callId: 'g1', cseq: 1, bindings }, now);
        await stores.locations.remove(aor, ['sip:a@1.1.1.1', 'sip:nobody@3.3.3.3']);
        expect((await stores.locations.lookup(aor, now)).map((b) => b.uriKey)).toEqual(['sip:a@2.2.2.2']);
        await stores.locations.remove(aor, ['sip:a@2.2.2.2']);
        expect(await stores.locations.lookup(aor, now)).toEqual([]);
        await stores.locations.remove(`sip:never-${randomUUID()}@example.com`, ['sip:a@1.1.1.1']);
      });

      it('lists registrations for operators: by a part of the AOR, ordered, limited, without expired ones', async () => {
        const run = randomUUID();
        const now = Date.now();
        const aors = ['c', 'a', 'b'].map((n) => `sip:${n}-${run}@example.com`);
        for (const aor of aors) {
          await stores.locations.register(aor, updateOp(aor, 1, update('sip:x@1.1.1.1', 3600)), now);
        }
        const gone = `sip:gone-${run}@example.com`;
        await stores.locations.register(gone, updateOp(gone, 1, update('sip:x@1.1.1.1', 1)), now);
        const later = now + 2000;
        const all = await stores.locations.list({ match: run.toUpperCase(), limit: 10 }, later);
        expect(all.registrations.map((r) => r.aor)).toEqual([...aors].sort());
        expect(all.registrations[0]!.bindings.map((b) => b.uriKey)).toEqual(['sip:x@1.1.1.1']);
        expect(all.truncated).toBe(false);
        const two = await stores.locations.list({ match: run, limit: 2 }, later);
        expect(two.registrations).toHaveLength(2);
        expect(two.truncated).toBe(true);
        expect(
          (await stores.locations.list({ match: `b-${run}`, limit: 10 }, later)).registrations.map((r) => r.aor),
        ).toEqual([aors[2]]);
      });

      it('registers several contacts and lists them with their expiry', async () => {
        const aor = `sip:alice-${randomUUID()}@example.com`;
        const now = Date.now();
        const result = await stores.locations.register(
          aor,
          updateOp('c1', 1, update('sip:a@1.1.1.1', 3600), update('sip:a@2.2.2.2', 60, 0.5)),
          now,
        );
        expect(result.ok).toBe(true);
        const bindings = await stores.locations.lookup(aor, now);
        expect(bindings.map((b) => [b.uriKey, b.expiresAt - now, b.q, b.callId, b.cseq]).sort()).toEqual([
          ['sip:a@1.1.1.1', 3_600_000, 1, 'c1', 1],
          ['sip:a@2.2.2.2', 60_000, 0.5, 'c1', 1],
        ]);
        expect(JSON.parse(bindings[0]!.data)).toEqual({ flow: 'f1' });
      });

      it('aborts the whole update when the same Call-ID comes with a CSeq not higher', async () => {
        const aor = `sip:bob-${randomUUID()}@example.com`;
        const now = Date.now();
        await stores.locations.register(aor, updateOp('c1', 5, update('sip:b@1', 60)), now);
        const stale = await stores.locations.register(
          aor,
          updateOp('c1', 5, update('sip:b@2', 60), update('sip:b@1', 0)),
          now,
        );
        expect(stale).toEqual({ ok: false, reason: 'out-of-order', uriKey: 'sip:b@1' });
        expect((await stores.locations.lookup(aor, now)).map((b) => b.uriKey)).toEqual(['sip:b@1']);
      });

      it('updates with a higher CSeq or another Call-ID, and removes with expires 0', async () => {
        const aor = `sip:carol-${randomUUID()}@example.com`;
        const now = Date.now();
        await stores.locations.register(aor, updateOp('c1', 1, update('sip:c@1', 60)), now);
        await stores.locations.register(aor, updateOp('c2', 1, update('sip:c@1', 120)), now);
        expect((await stores.locations.lookup(aor, now))[0]?.expiresAt).toBe(now + 120_000);
        const removed = await stores.locations.register(
          aor,
          updateOp('c2', 2, update('sip:c@1', 0), update('sip:c@unknown', 0)),
          now,
        );
        expect(removed).toEqual({ ok: true, bindings: [] });
        expect(await stores.locations.lookup(aor, now)).toEqual([]);
      });

      it('removes every binding with Contact: * unless a binding of that Call-ID has a higher CSeq', async () => {
        const aor = `sip:dave-${randomUUID()}@example.com`;
        const now = Date.now();
        await stores.locations.register(aor, updateOp('c1', 10, update('sip:d@1', 60), update('sip:d@2', 60)), now);
        expect((await stores.locations.register(aor, { type: 'remove-all', callId: 'c1', cseq: 9 }, now)).ok).toBe(
          false,
        );
        expect(await stores.locations.lookup(aor, now)).toHaveLength(2);
        expect(await stores.locations.register(aor, { type: 'remove-all', callId: 'c9', cseq: 1 }, now)).toEqual({
          ok: true,
          bindings: [],
        });
        expect(await stores.locations.lookup(aor, now)).toEqual([]);
      });

      it('drops expired bindings from lookups and from later registrations', async () => {
        const aor = `sip:erin-${randomUUID()}@example.com`;
        const then = Date.now() - 10_000;
        await stores.locations.register(aor, updateOp('c1', 1, update('sip:e@old', 5)), then);
        const now = Date.now();
        expect(await stores.locations.lookup(aor, now)).toEqual([]);
        const result = await stores.locations.register(aor, updateOp('c1', 1, update('sip:e@new', 60)), now);
        // The expired binding no longer counts, so the same CSeq is not out of order.
        expect(result.ok && result.bindings.map((b) => b.uriKey)).toEqual(['sip:e@new']);
      });
    });

    describe('connection directory and live edges', () => {
      it('maps a flow to its edge until the TTL runs out', async () => {
        const flow = `flow-${randomUUID()}`;
        await stores.connections.register(flow, 'edge-1', 200);
        expect(await stores.connections.lookup(flow)).toBe('edge-1');
        await sleep(450);
        expect(await stores.connections.lookup(flow)).toBeNull();
      });

      it('lets only the owning edge remove a flow', async () => {
        const flow = `flow-${randomUUID()}`;
        await stores.connections.register(flow, 'edge-2', 60_000);
        await stores.connections.remove(flow, 'edge-1');
        expect(await stores.connections.lookup(flow)).toBe('edge-2');
        await stores.connections.remove(flow, 'edge-2');
        expect(await stores.connections.lookup(flow)).toBeNull();
      });

      it('lists edges whose heartbeat has not expired', async () => {
        const [a, b] = [`edge-a-${randomUUID()}`, `edge-b-${randomUUID()}`];
        const now = Date.now();
        await stores.edges.heartbeat(a, 10_000, now);
        await stores.edges.heartbeat(b, 1_000, now);
        expect(await stores.edges.live(now)).toEqual(expect.arrayContaining([a, b]));
        const later = await stores.edges.live(now + 5_000);
        expect(later).toContain(a);
        expect(later).not.toContain(b);
        await stores.edges.remove(a);
        expect(await stores.edges.live(now)).not.toContain(a);
      });
    });

    describe('live dialogs', () => {
      it('opens, lists (most recent first), closes, and ends a dialog nobody closed at its time', async () => {
        const run = randomUUID();
        const now = Date.now();
        const before = (await stores.dialogs.list(0, now)).total;
        const dialog = (n: number) => ({
          id: `${run}-${n}`,
          callId: `call-${run}-${n}`,
          caller: 'sip:alice@example.com',
          callee: `sip:bob${n}@example.com`,
          startedAt: now + n,
        });
        await stores.dialogs.open(dialog(1), now + 60_000);
        await stores.dialogs.open(dialog(2), now + 60_001);
        await stores.dialogs.open(dialog(3), now + 500);
        const listed = await stores.dialogs.list(2, now);
        expect(listed.total - before).toBe(3);
        expect(listed.dialogs).toEqual([dialog(2), dialog(1)]);
        await stores.dialogs.close(dialog(2).id);
        await stores.dialogs.close('never-opened');
        expect((await stores.dialogs.list(0, now)).total - before).toBe(2);
        // Dialog 3 ends at now + 500 without a BYE.
        const later = await stores.dialogs.list(10, now + 1000);
        expect(later.total - before).toBe(1);
        expect(later.dialogs.map((d) => d.id)).toContain(dialog(1).id);
        expect(later.dialogs.map((d) => d.id)).not.toContain(dialog(3).id);
        await stores.dialogs.close(dialog(1).id);
      });
    });

    describe('captured calls (call-flow page)', () => {
      const limits = { retentionMs: 60_000, maxCalls: 1000, maxMessagesPerCall: 3 };
      const message = (callId: string, at: number, text: string, direction: 'in' | 'out' = 'in') => ({
        callId,
        at,
        edgeId: 'edge-1',
        direction,
        transport: 'udp',
        source: { address: '192.0.2.1', port: 5060 },
        destination: { address: '192.0.2.2', port: 5060 },
        text,
      });

      it("keeps each call's messages in time order with a summary of its first request and final status", async () => {
        const callId = `cap-${randomUUID()}`;
        const t = Date.now();
        const invite = { method: 'INVITE', from: 'sip:a@x', to: 'sip:b@x' };
        await stores.captures.add(
          [
            { message: message(callId, t, 'INVITE'), facts: invite },
            { message: message(callId, t + 2, '180', 'out'), facts: { status: 180, cseqMethod: 'INVITE' } },
            { message: message(callId, t + 1, '100', 'out'), facts: { status: 100, cseqMethod: 'INVITE' } },
          ],
          limits,
          t,
        );
        await stores.captures.add(
          [
            { message: message(callId, t + 3, '486'), facts: { status: 486, cseqMethod: 'INVITE' } },
            { message: message(callId, t + 4, '200'), facts: { status: 200, cseqMethod: 'INVITE' } },
            { message: message(callId, t + 5, '503'), facts: { status: 503, cseqMethod: 'INVITE' } },
            { message: message(callId, t + 6, 'BYE 200'), facts: { status: 200, cseqMethod: 'BYE' } },
          ],
          limits,
          t,
        );
        // At most 3 messages kept per call: the latest.
        expect((await stores.captures.messages(callId)).map((m) => m.text)).toEqual(['200', '503', 'BYE 200']);
        const [summary] = (await stores.captures.calls(1000, t)).filter((c) => c.callId === callId);
        expect(summary).toEqual({
          callId,
          method: 'INVITE',
          from: 'sip:a@x',
          to: 'sip:b@x',
          status: 200,
          startedAt: t,
          lastAt: t + 6,
          messages: 7,
        });
        expect(await stores.captures.messages(`never-${randomUUID()}`)).toEqual([]);
      });

      it('lists the calls by their last message, latest first, and forgets old ones', async () => {
        const run = randomUUID();
        const t = Date.now();
        for (const n of [1, 2, 3]) {
          await stores.captures.add(
            [{ message: message(`${run}-${n}`, t + n, 'OPTIONS'), facts: { method: 'OPTIONS' } }],
            limits,
            t,
          );
        }
        await stores.captures.add(
          [{ message: message(`${run}-1`, t + 10, '200'), facts: { status: 200, cseqMethod: 'OPTIONS' } }],
          limits,
          t,
        );
        const ours = (await stores.captures.calls(1000, t)).filter((c) => c.callId.startsWith(run));
        expect(ours.map((c) => c.callId)).toEqual([`${run}-1`, `${run}-3`, `${run}-2`]);
        expect(ours[0]!.status).toBe(200);
        expect(ours[1]!.status).toBeNull();
        // A batch after the retention has passed forgets them.
        const later = t + limits.retentionMs + 100;
        await stores.captures.add(
          [{ message: message(`${run}-4`, later, 'OPTIONS'), facts: { method: 'OPTIONS' } }],
          limits,
          later,
        );
        const left = (await stores.captures.calls(1000, later)).filter((c) => c.callId.startsWith(run));
        expect(left.map((c) => c.callId)).toEqual([`${run}-4`]);
      });
    });

    describe('user table', () => {
      it('stores, replaces and removes entries per realm', async () => {
        const realm = `realm-${randomUUID()}`;
        expect(await stores.users.get(realm, 'alice')).toBeNull();
        await stores.users.put(realm, 'alice', '{"password":"a"}');
        await stores.users.put(realm, 'alice', '{"password":"b"}');
        expect(await stores.users.get(realm, 'alice')).toBe('{"password":"b"}');
        expect(await stores.users.get(`other-${realm}`, 'alice')).toBeNull();
        await stores.users.put(realm, 'alice', null);
        expect(await stores.users.get(realm, 'alice')).toBeNull();
      });
    });

    describe('digest nonces', () => {
      it('accepts rising nonce counts, refuses replays and unknown nonces', async () => {
        const nonce = randomUUID();
        expect(await stores.nonces.use(nonce, 1)).toBe('unknown');
        await stores.nonces.issue(nonce, 60_000);
        expect(await stores.nonces.use(nonce, 1)).toBe('ok');
        expect(await stores.nonces.use(nonce, 1)).toBe('replay');
        expect(await stores.nonces.use(nonce, 3)).toBe('ok');
        expect(await stores.nonces.use(nonce, 2)).toBe('replay');
        expect(await stores.nonces.use(nonce, null)).toBe('ok');
      });

      it('forgets a nonce after its TTL and does not reset it when issued twice', async () => {
        const nonce = randomUUID();
        await stores.nonces.issue(nonce, 200);
        expect(await stores.nonces.use(nonce, 4)).toBe('ok');
        await stores.nonces.issue(nonce, 200);
        expect(await stores.nonces.use(nonce, 4)).toBe('replay');
        await sleep(450);
        expect(await stores.nonces.use(nonce, 5)).toBe('unknown');
      });
    });

    describe('abuse state (request and failure counters, bans)', () => {
      /** A window no other test uses (the Redis of an integration suite is shared by its tests). */
      const freshWindow = () => Math.floor(Math.random() * 2 ** 40);
      /** A source address no other test uses: random in the IPv6 documentation prefix, as Node prints it. */
      const address = () => {
        const hex = randomUUID().replace(/-/g, '');
        const groups = Array.from({ length: 6 }, (_, i) => parseInt(hex.slice(4 * i, 4 * i + 4), 16).toString(16));
        return `2001:db8:${groups.join(':')}`;
      };
      const ban = (addr: string, until: number, reason = 'test') => ({
        address: addr,
        until,
        reason,
        createdAt: Date.now(),
      });

      it('sums request counts per window across calls and returns them in the order given', async () => {
        const w = freshWindow();
        const [a, b, c] = [address(), address(), address()];
        /** Adds the (address, count) entries to window `w`, with a one-minute window. */
        const add = (...entries: [string, number][]) => stores.abuse.addRequests(w, entries, 60_000);
        expect(await add()).toEqual([]);
        expect(await add([a, 3], [b, 1])).toEqual([3, 1]);
        expect(await add([b, 4], [c, 2], [a, 1])).toEqual([5, 2, 4]);
        // An address listed twice is added twice; each entry returns the total after its own addition.
        expect(await add([a, 1], [a, 1])).toEqual([5, 6]);
        await expect(add([a, 1.5])).rejects.toThrow(TypeError);
        await expect(add([a, -1])).rejects.toThrow(TypeError);
      });

      it('starts each window at 0 and ends it ttlMs after its first addition', async () => {
        const w = freshWindow();
        const a = address();
        expect(await stores.abuse.addRequests(w, [[a, 10]], 400)).toEqual([10]);
        expect(await stores.abuse.addRequests(w + 1, [[a, 1]], 400)).toEqual([1]);
        await sleep(200);
        // A later addition does not push the end of the window back.
        expect(await stores.abuse.addRequests(w, [[a, 1]], 400)).toEqual([11]);
        await sleep(350);
        expect(await stores.abuse.addRequests(w, [[a, 1]], 400)).toEqual([1]);
      });

      it('counts failures per key and restarts a key once the window from its first failure has ended', async () => {
        const [src, user] = [`src:${address()}`, `user:example.com:{odd}${randomUUID()}`];
        expect(await stores.abuse.countFailures([], 400)).toEqual([]);
        expect(await stores.abuse.countFailures([src, user], 400)).toEqual([1, 1]);
        expect(await stores.abuse.countFailures([src], 400)).toEqual([2]);
        expect(await stores.abuse.countFailures([src, user, src], 400)).toEqual([3, 2, 4]);
        await sleep(200);
        expect(await stores.abuse.countFailures([src], 400)).toEqual([5]);
        await sleep(350);
        expect(await stores.abuse.countFailures([src, user], 400)).toEqual([1, 1]);
      });

      it('clears failure counters', async () => {
        const [src, user] = [`src:${address()}`, `user:example.com:${randomUUID()}`];
        await stores.abuse.countFailures([src, user], 60_000);
        expect(await stores.abuse.countFailures([src, user], 60_000)).toEqual([2, 2]);
        await stores.abuse.clearFailures([src]);
        await stores.abuse.clearFailures([]);
        expect(await stores.abuse.countFailures([src, user], 60_000)).toEqual([1, 3]);
      });

      it('lists the bans in force ordered by address, without ended ones, until they end or are lifted', async () => {
        const now = Date.now();
        const [a, b, ended, short] = [address(), address(), address(), address()];
        await stores.abuse.ban(ban(a, now + 60_000, 'admin'));
        await stores.abuse.ban({ ...ban(b, now + 60_000, 'pike: 5200 requests in 10 s'), extra: 1 } as Ban);
        await stores.abuse.ban(ban(ended, now - 1));
        await stores.abuse.ban(ban(short, now + 300));
        const all = await stores.abuse.bans(now);
        const sorted = all.map((x) => x.address);
        expect(sorted).toEqual([...sorted].sort());
        const mine = all.filter((x) => [a, b, ended, short].includes(x.address));
        expect(mine.map((x) => x.address)).toEqual([a, b, short].sort());
        expect(mine.find((x) => x.address === b)).toEqual({
          address: b,
          until: now + 60_000,
          reason: 'pike: 5200 requests in 10 s',
          createdAt: expect.any(Number),
        });
        await sleep(500);
        expect((await stores.abuse.bans(Date.now())).filter((x) => x.address === short)).toEqual([]);
        expect(await stores.abuse.unban(a)).toBe(true);
        expect((await stores.abuse.bans(Date.now())).filter((x) => [a, b].includes(x.address))).toEqual([
          expect.objectContaining({ address: b }),
        ]);
      });

      it('keeps one entry per address when a ban is replaced', async () => {
        const now = Date.now();
        const a = address();
        await stores.abuse.ban(ban(a, now + 60_000, 'first'));
        await stores.abuse.ban(ban(a, now + 120_000, 'second'));
        expect((await stores.abuse.bans(now)).filter((x) => x.address === a)).toEqual([
          { address: a, until: now + 120_000, reason: 'second', createdAt: expect.any(Number) },
        ]);
        // Shortened to an end in the past: no longer listed; then banned again: one entry.
        await stores.abuse.ban(ban(a, now - 1, 'lapsed'));
        expect((await stores.abuse.bans(now)).filter((x) => x.address === a)).toEqual([]);
        await stores.abuse.ban(ban(a, now + 60_000, 'again'));
        expect((await stores.abuse.bans(now)).filter((x) => x.address === a).map((x) => x.reason)).toEqual(['again']);
      });

      it('moves the version on ban, replace and unban, not on an unban of nothing or of an ended ban', async () => {
        const a = address();
        const v0 = await stores.abuse.version();
        await stores.abuse.ban(ban(a, Date.now() + 60_000));
        const v1 = await stores.abuse.version();
        expect(v1).toBeGreaterThan(v0);
        await stores.abuse.ban(ban(a, Date.now() + 90_000, 'replaced'));
        const v2 = await stores.abuse.version();
        expect(v2).toBeGreaterThan(v1);
        expect(await stores.abuse.unban(a)).toBe(true);
        const v3 = await stores.abuse.version();
        expect(v3).toBeGreaterThan(v2);
        expect(await stores.abuse.unban(a)).toBe(false);
        expect(await stores.abuse.unban(address())).toBe(false);
        expect(await stores.abuse.version()).toBe(v3);

        const short = address();
        await stores.abuse.ban(ban(short, Date.now() + 150));
        const v4 = await stores.abuse.version();
        expect(v4).toBeGreaterThan(v3);
        await sleep(300);
        // An ended ban is not current: lifting it reports none, and neither that nor `bans`
        // dropping ended bans moves the version.
        expect(await stores.abuse.unban(short)).toBe(false);
        await stores.abuse.bans(Date.now());
        expect(await stores.abuse.version()).toBe(v4);
      });
    });
  });
}

/** Load → +1 → compare-and-set, retried on conflict: what a worker does. Returns the attempts it took. */
async function increment(records: RecordStore, key: string): Promise<number> {
  for (let attempt = 1; attempt <= 1000; attempt++) {
    const [current] = await records.load([key]);
    const next = String(Number(current?.value ?? '0') + 1);
    const result = await records.commit([{ key, expectedVersion: current?.version ?? 0, value: next, ttlMs: 60_000 }]);
    if (result.ok) return attempt;
  }
  throw new Error('too many conflicts');
}
