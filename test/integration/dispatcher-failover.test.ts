/**
 * Dispatcher failover over real sockets through an edge and two workers (NATS, Redis, BullMQ): a
 * static route sends `gw.test` to a dispatcher set whose first hop refuses TCP connections and
 * whose second answers 503; the call is completed by the backup hop.
 */
import type { DispatcherSet } from '@sipedge/proxy';
import type { SipMessage } from '@sipedge/sip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../support/cluster.js';
import { freePort } from '../support/free-port.js';
import { Ua } from '../support/ua.js';

describe('dispatcher failover over real sockets', () => {
  let cluster: Cluster;
  // Filled once the gateways' sockets are open (their ports are known only then); the workers hold this object.
  const dispatchers: Record<string, DispatcherSet> = {};
  beforeAll(async () => {
    cluster = await Cluster.start({
      tu: () => ({ staticRoutes: [{ match: { domain: 'gw.test' }, to: { dispatcher: 'gw' } }], dispatchers }),
    });
  }, 120_000);
  afterAll(() => cluster?.stop());

  it('a refused TCP hop, then a 503 hop, then the backup answers 200; each attempt has its own Route and branch', async () => {
    const [busy, backup, uac] = [
      await Ua.open(cluster, 'busy'),
      await Ua.open(cluster, 'backup'),
      await Ua.open(cluster, 'alice'),
    ];
    const refused = await freePort();
    dispatchers['gw'] = {
      name: 'gw',
      algorithm: 'round-robin',
      hops: [
        { uri: `sip:127.0.0.1:${refused};transport=tcp`, weight: 1 },
        // Round robin at position 0 picks the first hop; failover takes weighted hops before backups.
        { uri: `sip:127.0.0.1:${busy.socket.port}`, weight: 1 },
        { uri: `sip:127.0.0.1:${backup.socket.port}`, weight: 0 },
      ],
    };
    const isInvite = (m: SipMessage) => m.isRequest && m.method === 'INVITE';
    await uac.request('INVITE', 'sip:+15550100@gw.test', 'gw-call');
    const atBusy = await busy.next(isInvite);
    expect(atBusy.requestUriText).toBe('sip:+15550100@gw.test');
    expect(atBusy.values('Route')).toEqual([`<sip:127.0.0.1:${busy.socket.port};lr>`]);
    await busy.answer(atBusy, 503);
    const atBackup = await backup.next(isInvite);
    expect(atBackup.values('Route')).toEqual([`<sip:127.0.0.1:${backup.socket.port};lr>`]);
    expect(atBackup.topVia?.branch).not.toBe(atBusy.topVia?.branch);
    await backup.answer(atBackup, 200);
    expect((await uac.next((m) => m.isResponse && m.status >= 200)).status).toBe(200);
    // The 503 was ACKed hop by hop (§17.1.1.3) and never reached the caller.
    expect((await busy.next((m) => m.isRequest && m.method === 'ACK')).topVia?.branch).toBe(atBusy.topVia?.branch);
    for (const ua of [busy, backup, uac]) ua.close();
  }, 20_000);
});
