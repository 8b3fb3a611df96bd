/**
 * sipedge as the edge in front of another registrar (RFC 3327, issue 17): Kamailio (Debian's
 * package) is the registrar of registrar.test and stores Path; sipedge, standalone, forwards that
 * domain to it (a static route). A WebSocket UA registers through sipedge: the REGISTER reaches
 * Kamailio with sipedge's Path, and the 200 returns it. A UDP phone then calls the UA at Kamailio,
 * which reaches it through the Path: sipedge sends the INVITE on the UA's WebSocket flow, and the
 * call's ACK and BYE pass through both proxies.
 *
 * Needs Kamailio: skipped without it, except under CI.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { type Deployment, startDeployment } from '../support/deployment.js';
import { kamailioModules, startKamailio } from '../support/kamailio.js';
import type { ManagedProcess } from '../support/processes.js';
import { SipPeer } from '../support/sip-peer.js';
import { call, isFinal, requestLines } from '../support/sip-requests.js';

const inCi = process.env.CI === 'true' || process.env.CI === '1';
const DOMAIN = 'registrar.test';

describe.skipIf(kamailioModules() === undefined && !inCi)('Path: sipedge in front of a Kamailio registrar', () => {
  let kamailio: ManagedProcess;
  let kamailioPort: number;
  let deployment: Deployment;
  let wsPort: number;

  beforeAll(async () => {
    kamailioPort = await freePort();
    const config = readFileSync(new URL('../kamailio/registrar.cfg', import.meta.url), 'utf8');
    kamailio = await startKamailio(config.replaceAll('{{port}}', String(kamailioPort)));
    wsPort = await freePort();
    deployment = await startDeployment('standalone', {
      env: {
        SIPEDGE_WS: `127.0.0.1:${wsPort}`,
        SIPEDGE_ROUTING: JSON.stringify({
          staticRoutes: [{ match: { domain: DOMAIN }, to: `sip:127.0.0.1:${kamailioPort}` }],
        }),
      },
    });
  }, 60_000);
  afterAll(async () => {
    await deployment?.stop();
    await kamailio?.stop();
  });

  it('a WebSocket UA registers through sipedge with its Path and is called through it', async () => {
    const browser = await SipPeer.open('ws', { address: '127.0.0.1', port: wsPort });
    const phone = await SipPeer.open('udp', { address: '127.0.0.1', port: kamailioPort });
    try {
      const aor = `<sip:web@${DOMAIN}>`;
      browser.send(
        requestLines(browser, {
          method: 'REGISTER',
          uri: `sip:${DOMAIN}`,
          callId: 'path-reg',
          cseq: 1,
          from: `${aor};tag=reg`,
          to: aor,
          contact: browser.contact('web'),
          extra: ['Expires: 300', 'Supported: path'],
        }),
      );
      const registered = await browser.next(isFinal('REGISTER', 'path-reg'), 10_000);
      expect(registered.status).toBe(200);
      // Kamailio stored and returned the Path sipedge added (RFC 3327 §5.3, lazy mode).
      const [path] = registered.values('path');
      expect(path).toMatch(new RegExp(`^<sip:[A-Za-z0-9_-]+@127\\.0\\.0\\.1:${deployment.port};lr;sipedge>$`));

      await call({ peer: phone, user: 'phone' }, { peer: browser, user: 'web' }, DOMAIN, 'path-call');
    } catch (error) {
      const said = [kamailio, ...deployment.processes()].map((p) => p.output().slice(-3000));
      throw new Error(`${(error as Error).message}\n${said.join('\n')}`, { cause: error });
    } finally {
      browser.close();
      phone.close();
    }
  }, 60_000);
});
