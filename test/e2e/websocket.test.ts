/**
 * SIP over WebSocket end to end (RFC 7118, issue 17): sipedge as users run it (standalone, and
 * distributed with two edges sharing the WS address and two workers), a WebSocket UA written as a
 * browser writes one (`.invalid` Via and Contact host, reachable only on its connection) and a UDP
 * phone. Each registers; the WebSocket UA calls the phone and the phone calls the WebSocket UA:
 * INVITE, 200, ACK and BYE, the in-dialog requests following the double Record-Route between WS
 * and UDP (RFC 5658) and the WebSocket UA's flow in it (RFC 5626 §5.3). In distributed mode two
 * WebSocket UAs hold connections on different edges, so calls cross edges both ways.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { type Deployment, type Mode, startDeployment } from '../support/deployment.js';
import { SipPeer } from '../support/sip-peer.js';
import { type Party, call, register } from '../support/sip-requests.js';

/** The edge holding the flow a Record-Route URI's token names (its content is `transport|address|port|edge|flow`). */
function edgeOfRecordRoute(value: string): string | undefined {
  const token = /^<?sips?:([^@]+)@/.exec(value)?.[1];
  if (token === undefined) return undefined;
  const fields = Buffer.from(token, 'base64url').subarray(17).toString('utf8').split('|');
  return fields[3];
}

describe.each<Mode>(['standalone', 'distributed'])('SIP over WebSocket (%s)', (mode) => {
  let deployment: Deployment;
  let wsPort: number;
  beforeAll(async () => {
    wsPort = await freePort();
    deployment = await startDeployment(mode, { env: { SIPEDGE_WS: `127.0.0.1:${wsPort}` } });
  }, 180_000);
  afterAll(() => deployment?.stop());

  it('WebSocket UAs and a UDP phone register and call each other both ways', async () => {
    const domain = `127.0.0.1:${deployment.port}`;
    const registrar = `sip:${domain}`;
    const phone: Party = {
      peer: await SipPeer.open('udp', { address: '127.0.0.1', port: deployment.port }),
      user: 'phone',
    };
    const browsers: Party[] = [];
    try {
      for (const n of [1, 2]) {
        const peer = await SipPeer.open('ws', { address: '127.0.0.1', port: wsPort });
        browsers.push({ peer, user: `browser${n}` });
      }
      const parties = [phone, ...browsers];
      for (const { peer, user } of parties) {
        expect(await register(peer, { registrar, user, domain, callId: `reg-${mode}-${user}` })).toBe(200);
      }
      const edges = new Set<string | undefined>();
      for (const browser of browsers) {
        const outgoing = await call(browser, phone, domain, `ws-out-${mode}-${browser.user}`);
        const incoming = await call(phone, browser, domain, `ws-in-${mode}-${browser.user}`);
        // Double Record-Route (RFC 5658): the side facing the WebSocket UA names transport=ws.
        expect(outgoing.some((rr) => rr.includes(';transport=ws'))).toBe(true);
        expect(incoming.some((rr) => rr.includes(';transport=ws'))).toBe(true);
        edges.add(edgeOfRecordRoute(incoming.find((rr) => rr.includes(';transport=ws'))!));
      }
      // Two connections through the fleet's shared address land on its two edges (round-robin).
      expect(edges.size).toBe(mode === 'distributed' ? 2 : 1);
    } catch (error) {
      // What the sipedge processes said goes into the CI log with the failure.
      const said = deployment.processes().map((p) => p.output().slice(-4000));
      throw new Error(`${(error as Error).message}\n${said.join('\n')}`, { cause: error });
    } finally {
      for (const { peer } of [phone, ...browsers]) peer.close();
    }
  }, 90_000);
});
