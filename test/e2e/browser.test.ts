/**
 * A real browser through sipedge (issue 17): headless Chromium (Debian's `chromium`, driven by
 * puppeteer-core) runs JsSIP, registers over WSS (RFC 7118) at sipedge as users run it — standalone,
 * and distributed with two edges and two workers — calls a SIPp UA on UDP, gets its 200, and hangs
 * up (the BYE answered 200); then a SIPp UA on UDP calls the browser, which answers, and hangs up.
 * The edges admit only the page's Origin. In distributed mode the browser's WebSocket is held by
 * one edge while UDP datagrams reach either, so the dialog's requests cross edges on the flow the
 * Record-Route token names.
 *
 * Needs Chromium (/usr/bin/chromium or CHROMIUM_PATH): skipped without it, except under CI.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestCertificates } from '../../services/edge/test/support/tls.js';
import { type BrowserHandle, chromiumPath, launchBrowser } from '../support/browser-phone.js';
import { freePort } from '../support/containers.js';
import { type Deployment, type Mode, startDeployment } from '../support/deployment.js';
import { SipPeer } from '../support/sip-peer.js';
import { register } from '../support/sip-requests.js';
import { runSipp, startSipp, summary } from '../support/sipp.js';

const inCi = process.env.CI === 'true' || process.env.CI === '1';
const DOMAIN = '127.0.0.1';

describe.skipIf(chromiumPath() === undefined && !inCi).each<Mode>(['standalone', 'distributed'])(
  'a browser (Chromium, JsSIP) over WSS through sipedge (%s)',
  (mode) => {
    let browser: BrowserHandle;
    let deployment: Deployment;
    let wssPort: number;

    beforeAll(async () => {
      browser = await launchBrowser();
      const pki = await makeTestCertificates();
      const dir = mkdtempSync(join(tmpdir(), 'sipedge-browser-'));
      const file = (name: string, text: string) => {
        writeFileSync(join(dir, name), text);
        return join(dir, name);
      };
      wssPort = await freePort();
      deployment = await startDeployment(mode, {
        env: {
          SIPEDGE_WSS: `127.0.0.1:${wssPort}`,
          SIPEDGE_TLS_CERT_FILE: file('cert.pem', pki.cert),
          SIPEDGE_TLS_KEY_FILE: file('key.pem', pki.key),
          SIPEDGE_WS_ORIGINS: browser.origin,
        },
      });
    }, 180_000);
    afterAll(async () => {
      await browser?.close();
      await deployment?.stop();
    });

    it('registers over WSS, calls a SIPp UA on UDP and hangs up; is called by a SIPp UA and answers', async () => {
      const user = `webrtc-${mode}`;
      const phone = await browser.newPhone({ wsUrl: `wss://127.0.0.1:${wssPort}`, uri: `sip:${user}@${DOMAIN}` });
      const failures: string[] = [];
      try {
        expect((await phone.registered()).status).toBe(200);

        // The browser calls a SIPp UA on UDP, registered (a third-party registration) at its port.
        const callee = `sipp-${mode}`;
        const uas = await startSipp({ scenario: 'webrtc-uas', transport: 'udp', calls: 1, pauseMs: 100, timeoutS: 40 });
        const registrar = await SipPeer.open('udp', { address: '127.0.0.1', port: deployment.port });
        try {
          registrar.contact = () => `<sip:${callee}@127.0.0.1:${uas.port}>`;
          const status = await register(registrar, {
            registrar: `sip:${DOMAIN}`,
            user: callee,
            domain: DOMAIN,
            callId: `reg-${callee}`,
          });
          expect(status).toBe(200);
        } finally {
          registrar.close();
        }
        expect((await phone.call(`sip:${callee}@${DOMAIN}`)).status).toBe(200);
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect((await phone.hangup()).byeStatus).toBe(200);
        const callee1 = await uas.done;
        failures.push(summary(`${mode} SIPp callee of the browser`, callee1));
        expect(callee1.exitCode, callee1.output).toBe(0);
        expect(callee1.succeeded).toBe(1);

        // A SIPp UA on UDP calls the browser, which answers; SIPp hangs up after a second.
        const incoming = phone.answerNext(30_000);
        const caller = runSipp({
          scenario: 'webrtc-uac',
          transport: 'udp',
          target: deployment.target,
          service: user,
          keys: { domain: DOMAIN },
          calls: 1,
          timeoutS: 40,
        });
        // Retargeted to the browser's registered Contact (§16.5), a `.invalid` host reached on its flow.
        const answered = await incoming;
        expect(answered.requestUri).toMatch(/\.invalid;transport=ws/);
        expect(answered.from).toContain(`alice@${DOMAIN}`);
        await phone.waitEnded(30_000);
        const called = await caller;
        failures.push(summary(`${mode} SIPp caller of the browser`, called));
        expect(called.exitCode, called.output).toBe(0);
        expect(called.succeeded).toBe(1);
      } catch (error) {
        // The browser's SIP log and the processes' output go into the CI log with the failure.
        const said = deployment.processes().map((p) => p.output().slice(-3000));
        const log = phone.log().slice(-80);
        throw new Error([(error as Error).message, ...failures, ...log, ...said].join('\n'), { cause: error });
      } finally {
        await phone.stop();
      }
    }, 120_000);
  },
);
