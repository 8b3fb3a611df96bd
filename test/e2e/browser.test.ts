/**
 * A real browser through sipedge (issue 17): headless Chromium (Debian's `chromium`, driven by
 * puppeteer-core) runs JsSIP, registers over WSS (RFC 7118) at sipedge as users run it — standalone,
 * and distributed with two edges and two workers — calls a SIPp UA on UDP, gets its 200, and hangs
 * up (the BYE answered 200); then a SIPp UA on UDP calls the browser, which answers, and hangs up.
 * The edges admit only the page's Origin. In distributed mode two browsers' WebSockets are held by
 * the two edges while the SIPp UA's datagrams reach either, so one browser's calls cross edges: its
 * INVITE and the dialog's requests reach it through the edge holding its flow (the Record-Route
 * token names it).
 *
 * Needs Chromium (/usr/bin/chromium or CHROMIUM_PATH): skipped without it, except under CI.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestCertificates } from '@sipedge/edge/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserHandle, type BrowserPhone, chromiumPath, launchBrowser } from '../support/browser-phone.js';
import { freePort } from '../support/free-port.js';
import { type Deployment, type Mode, startDeployment } from '../support/deployment.js';
import { SipPeer } from '../support/sip-peer.js';
import { register } from '../support/sip-requests.js';
import { runSipp, startSipp, summary } from '../support/sipp.js';

const inCi = process.env.CI === 'true' || process.env.CI === '1';
const DOMAIN = '127.0.0.1';

/** Registers `user` with its Contact at 127.0.0.1:`port` (a third-party registration, §10.2) through the proxy. */
async function registerAt(deployment: Deployment, user: string, port: number): Promise<void> {
  const registrar = await SipPeer.open('udp', { address: '127.0.0.1', port: deployment.port });
  try {
    registrar.contact = () => `<sip:${user}@127.0.0.1:${port}>`;
    expect(await register(registrar, { registrar: `sip:${DOMAIN}`, user, domain: DOMAIN, callId: `reg-${user}` })).toBe(
      200,
    );
  } finally {
    registrar.close();
  }
}

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
      // Distributed: two browsers, whose WebSockets the fleet's round-robin gives to its two edges;
      // the SIPp UA's datagrams reach either edge, so one browser's calls cross edges whichever.
      const count = mode === 'distributed' ? 2 : 1;
      const phones: BrowserPhone[] = [];
      const failures: string[] = [];
      try {
        for (let n = 1; n <= count; n++) {
          const uri = `sip:webrtc${n}-${mode}@${DOMAIN}`;
          phones.push(await browser.newPhone({ wsUrl: `wss://127.0.0.1:${wssPort}`, uri }));
        }
        for (const phone of phones) expect((await phone.registered()).status).toBe(200);

        // Each browser calls a SIPp UA on UDP, registered (a third-party registration) at its port.
        const callee = `sipp-${mode}`;
        const uas = await startSipp({
          scenario: 'webrtc-uas',
          transport: 'udp',
          calls: count,
          pauseMs: 100,
          timeoutS: 60,
        });
        await registerAt(deployment, callee, uas.port);
        for (const phone of phones) {
          expect((await phone.call(`sip:${callee}@${DOMAIN}`)).status).toBe(200);
          await new Promise((resolve) => setTimeout(resolve, 500));
          expect((await phone.hangup()).byeStatus).toBe(200);
        }
        const answeredByUas = await uas.done;
        failures.push(summary(`${mode} SIPp callee of the browsers`, answeredByUas));
        expect(answeredByUas.exitCode, answeredByUas.output).toBe(0);
        expect(answeredByUas.succeeded).toBe(count);

        // A SIPp UA on UDP calls each browser, which answers; SIPp hangs up after a second.
        for (const phone of phones) {
          const incoming = phone.answerNext(30_000);
          const caller = runSipp({
            scenario: 'webrtc-uac',
            transport: 'udp',
            target: deployment.target,
            service: phone.uri.replace(/^sip:|@.*$/g, ''),
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
          failures.push(summary(`${mode} SIPp caller of ${phone.uri}`, called));
          expect(called.exitCode, called.output).toBe(0);
          expect(called.succeeded).toBe(1);
        }
      } catch (error) {
        // The browsers' SIP logs and the processes' output go into the CI log with the failure.
        const said = deployment.processes().map((p) => p.output().slice(-3000));
        const logs = phones.flatMap((phone) => phone.log().slice(-60));
        throw new Error([(error as Error).message, ...failures, ...logs, ...said].join('\n'), { cause: error });
      } finally {
        for (const phone of phones) await phone.stop();
      }
    }, 180_000);
  },
);
