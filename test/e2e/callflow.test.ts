/**
 * The call-flow page (issue 18) in a real browser: headless Chromium (Debian's `chromium`, driven by
 * puppeteer-core) opens `/calls` on the ops port, enters the admin token, searches the calls, opens
 * one and reads its SIP ladder (the arrows' `data-label`, `data-from` and `data-to`) and a
 * message's full text; message text that carries markup stays text (no element made, no script run).
 *
 * - against a fixture of the capture API (`/admin/capture/calls`, `/admin/capture/calls/<Call-ID>`)
 *   served next to the page's routes: the page alone, every detail known in advance;
 * - against sipedge as users run it, distributed (two edges sharing one address, two workers,
 *   Redis, NATS) with capture on for every call: two SIPp calls (INVITE/100/180/200/ACK/BYE/200)
 *   from 127.0.0.2 to a SIPp callee on 127.0.0.1, and a MESSAGE whose headers and body carry
 *   `<img src=x onerror=…>`.
 *
 * The second saves a screenshot to test-results/callflow.png, copied to docs/images/callflow.png
 * with UPDATE_SCREENSHOT=1. Needs Chromium (/usr/bin/chromium or CHROMIUM_PATH): skipped without
 * it, except under CI.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { type HttpRoute, type HttpServer, startHttpServer } from '@sipedge/net';
import type { Page } from 'puppeteer-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { callFlowPageRoute } from '../../services/edge/src/callflow/page.js';
import { type BrowserHandle, chromiumPath, launchBrowser } from '../support/browser-phone.js';
import { freePort } from '../support/free-port.js';
import { type Deployment, startDeployment } from '../support/deployment.js';
import { SipPeer } from '../support/sip-peer.js';
import { isFinal, isRequest, register, requestLines } from '../support/sip-requests.js';
import { startSipp } from '../support/sipp.js';
import { DOMAIN, call, expectAllSucceeded } from './common.js';

const inCi = process.env.CI === 'true' || process.env.CI === '1';
const TOKEN = 'callflow-e2e-token-0123456789abcdef0123456789';
/** Sets `window.__xss` if it ever runs. */
const PAYLOAD = '<img src=x onerror="window.__xss=1">';
const WAIT_MS = 25_000;
const SCREENSHOT = new URL('../../test-results/callflow.png', import.meta.url).pathname;
/** The page on the fixture: every detail known, to look at without a fleet. */
const FIXTURE_SCREENSHOT = new URL('../../test-results/callflow-fixture.png', import.meta.url).pathname;
const DOCS_SCREENSHOT = new URL('../../docs/images/callflow.png', import.meta.url).pathname;

/** A row of the table of calls as the page marks it up (status '' while there is no final one). */
interface Row {
  callId: string;
  method: string;
  status: string;
}

/** An arrow of the ladder as the page marks it up. */
interface Arrow {
  label: string;
  from: string;
  to: string;
}

/** An expected arrow: its label's first word (method or status code) and the parties' roles. */
type Hop = [code: string, from: string, to: string];

/** A party's role from its label: `caller …`, `callee …`, `edge <id> …`, else `peer`. */
const roleOf = (label: string) => (/^(caller|callee|edge) /.exec(label)?.[1] ?? 'peer') as string;

/** Where each hop of `expected` is in `arrows`, in order (extra arrows, e.g. retransmissions, allowed). */
function positions(arrows: Arrow[], expected: Hop[]): number[] {
  const found: number[] = [];
  let from = 0;
  for (const [code, source, destination] of expected) {
    const at = arrows.findIndex(
      (a, i) =>
        i >= from && a.label.split(' ')[0] === code && roleOf(a.from) === source && roleOf(a.to) === destination,
    );
    const seen = arrows.map((a) => `${a.label} ${a.from} -> ${a.to}`).join('\n');
    expect(at, `no ${code} ${source} -> ${destination} after arrow ${from} in\n${seen}`).toBeGreaterThanOrEqual(0);
    found.push(at);
    from = at + 1;
  }
  return found;
}

/** Opens the page, collecting the page's errors and its CSP violations. */
async function openPage(browser: BrowserHandle, url: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${(error as Error).message}`));
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  await page.setViewport({ width: 1440, height: 720 });
  const response = await page.goto(url, { waitUntil: 'load', timeout: WAIT_MS });
  expect(response?.status()).toBe(200);
  expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
  return { page, problems };
}

async function enterToken(page: Page, token: string): Promise<void> {
  await page.waitForSelector('[data-testid="login"][open] [data-testid="token-input"]', { timeout: WAIT_MS });
  await page.type('[data-testid="token-input"]', token);
  await page.click('[data-testid="token-submit"]');
}

async function search(page: Page, text: string): Promise<void> {
  await page.click('[data-testid="search-match"]', { count: 3 });
  await page.keyboard.press('Backspace');
  await page.type('[data-testid="search-match"]', text);
  await page.keyboard.press('Enter');
}

/** The Call-IDs and statuses of the table's rows, once `ready` holds for them (re-read on each refresh). */
async function rowsWhen(page: Page, ready: (rows: Row[]) => boolean): Promise<Row[]> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const rows = await inPage<Row[]>(
      page,
      `[...document.querySelectorAll('[data-testid="call-row"]')].map((e) => ({ callId: e.getAttribute('data-call-id'), method: e.getAttribute('data-method'), status: e.getAttribute('data-status') }))`,
    );
    if (ready(rows)) return rows;
    if (Date.now() > deadline) throw new Error(`the table never got the calls expected: ${JSON.stringify(rows)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Opens the call in the table whose Call-ID is `callId`; the ladder's arrows once there are `atLeast`. */
async function openCall(page: Page, callId: string, atLeast: number): Promise<Arrow[]> {
  const clicked = await inPage<boolean>(
    page,
    `(() => {
      const row = [...document.querySelectorAll('[data-testid="call-row"]')].find((e) => e.getAttribute('data-call-id') === ${JSON.stringify(callId)});
      row?.click();
      return row !== undefined;
    })()`,
  );
  expect(clicked, `no row for ${callId}`).toBe(true);
  await page.waitForFunction(`document.querySelectorAll('[data-testid="ladder-arrow"]').length >= ${atLeast}`, {
    timeout: WAIT_MS,
  });
  return inPage<Arrow[]>(
    page,
    `[...document.querySelectorAll('[data-testid="ladder-arrow"]')].map((e) => ({
      label: e.getAttribute('data-label'),
      from: e.getAttribute('data-from'),
      to: e.getAttribute('data-to'),
    }))`,
  );
}

/** Clicks arrow `index` and gives the message panel's text. */
async function showArrow(page: Page, index: number): Promise<string> {
  await page.click(`[data-testid="ladder-arrow"][data-index="${index}"]`);
  await page.waitForFunction(`document.querySelector('[data-testid="message-text"]').textContent !== ''`, {
    timeout: WAIT_MS,
  });
  return (await textOf(page, '[data-testid="message-text"]')) ?? '';
}

/** The text of the first element matching `selector` (null when there is none). */
function textOf(page: Page, selector: string): Promise<string | null> {
  return inPage(page, `document.querySelector(${JSON.stringify(selector)})?.textContent ?? null`);
}

/**
 * Evaluates `expression` in the page. A source string, not a function: what the test transformer
 * does to a function's source (helpers such as esbuild's __name) would not exist in the page.
 */
function inPage<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate(expression) as Promise<T>;
}

/** The payload stayed text: no element came of it and nothing ran. */
async function expectNoInjection(page: Page): Promise<void> {
  expect(await inPage(page, `document.querySelectorAll('img, script:not([src])').length`)).toBe(0);
  expect(await inPage(page, `typeof window.__xss`)).toBe('undefined');
}

describe.skipIf(chromiumPath() === undefined && !inCi)('the call-flow page in Chromium', () => {
  let browser: BrowserHandle;
  beforeAll(async () => {
    browser = await launchBrowser();
  }, 60_000);
  afterAll(() => browser?.close());

  describe('against a fixture of the capture API', () => {
    const CALLER = { address: '127.0.0.2', port: 5062 };
    const EDGE = { address: '127.0.0.1', port: 5060 };
    const CALLEE = { address: '127.0.0.3', port: 5064 };
    const XSS_CALL_ID = 'xss-<i>1</i>@127.0.0.2';
    let server: HttpServer;
    let base: string;
    const authorizations: string[] = [];
    let calls: ReturnType<typeof fixtureCalls>;

    beforeAll(async () => {
      calls = fixtureCalls();
      const json = (res: ServerResponse, status: number, body: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(body));
      };
      const guarded =
        (handler: (res: ServerResponse, query: URLSearchParams) => void) =>
        (res: ServerResponse, req: IncomingMessage) => {
          authorizations.push(req.headers.authorization ?? '');
          if (req.headers.authorization !== `Bearer ${TOKEN}`)
            json(res, 401, { error: 'a valid bearer token is required' });
          else handler(res, new URL(req.url ?? '/', 'http://ops').searchParams);
        };
      const routes: Record<string, HttpRoute> = {
        ...callFlowPageRoute(),
        '/admin/capture/calls': guarded((res, query) => {
          const match = (query.get('match') ?? '').toLowerCase();
          const status = query.get('status');
          const listed = calls
            .filter((c) =>
              [c.summary.callId, c.summary.from, c.summary.to].some((v) => v.toLowerCase().includes(match)),
            )
            .filter((c) => status === null || c.summary.status === Number(status))
            .map((c) => c.summary);
          json(res, 200, { calls: listed });
        }),
      };
      for (const id of [...calls.map((c) => c.summary.callId), 'live-call@127.0.0.2']) {
        routes[`/admin/capture/calls/${encodeURIComponent(id)}`] = guarded((res) => {
          const found = calls.find((c) => c.summary.callId === id);
          if (found === undefined) json(res, 404, { error: 'unknown call' });
          else json(res, 200, { callId: id, messages: found.messages });
        });
      }
      const quiet = { info: () => undefined, error: () => undefined };
      server = await startHttpServer({ host: '127.0.0.1', port: 0, routes, logger: quiet, name: 'fixture' });
      base = `http://127.0.0.1:${server.address.port}`;
    });
    afterAll(() => server?.close());

    let page: Page | undefined;
    afterEach(() => page?.close());

    it('asks for the token (again on 401), lists and searches calls, draws a ladder, shows a message', async () => {
      const opened = await openPage(browser, `${base}/calls`);
      page = opened.page;
      await enterToken(page, 'not-the-token');
      // 401: the dialog is back, saying why.
      await page.waitForFunction(`document.querySelector('#login-error').textContent.includes('refused')`, {
        timeout: WAIT_MS,
      });
      await enterToken(page, TOKEN);

      const all = await rowsWhen(page, (rows) => rows.length === 2);
      expect(all.map((r) => r.callId)).toEqual(['a84b4c76e66710@127.0.0.2', XSS_CALL_ID]);
      expect(await inPage(page, `sessionStorage.getItem('sipedge.admin-token')`)).toBe(TOKEN);

      await search(page, 'BOB');
      await rowsWhen(page, (rows) => rows.length === 1 && rows[0]!.callId === 'a84b4c76e66710@127.0.0.2');
      await page.type('[data-testid="search-status"]', '486');
      await rowsWhen(page, (rows) => rows.length === 0);
      expect(await inPage(page, `document.querySelector('#empty').hidden`)).toBe(false);
      await page.click('[data-testid="search-status"]', { count: 3 });
      await page.keyboard.press('Backspace');
      await page.keyboard.press('Enter');
      await rowsWhen(page, (rows) => rows.length === 1);

      const arrows = await openCall(page, 'a84b4c76e66710@127.0.0.2', 13);
      const caller = 'caller 127.0.0.2:5062';
      const edge = 'edge edge-1 127.0.0.1:5060';
      const callee = 'callee 127.0.0.3:5064';
      expect(arrows.map((a) => [a.label, a.from, a.to])).toEqual([
        ['INVITE', caller, edge],
        ['100 Trying', edge, caller],
        ['INVITE', edge, callee],
        ['180 Ringing', callee, edge],
        ['180 Ringing', edge, caller],
        ['200 OK', callee, edge],
        ['200 OK', edge, caller],
        ['ACK', caller, edge],
        ['ACK', edge, callee],
        ['BYE', caller, edge],
        ['BYE', edge, callee],
        ['200 OK', callee, edge],
        ['200 OK', edge, caller],
      ]);
      expect(
        await inPage(
          page,
          `[...document.querySelectorAll('[data-testid="ladder-party"]')].map((e) => e.getAttribute('data-label'))`,
        ),
      ).toEqual([caller, edge, callee]);
      const offsets = await inPage<string[]>(
        page,
        `[...document.querySelectorAll('[data-testid="ladder-arrow"] .offset')].map((e) => e.textContent)`,
      );
      expect(offsets.slice(0, 3)).toEqual(['+0 ms', '+1 ms', '+3 ms']);
      expect(await inPage(page, 'location.hash')).toBe(`#call=${encodeURIComponent('a84b4c76e66710@127.0.0.2')}`);

      const invite = calls[0]!.messages[2]!;
      expect(await showArrow(page, 2)).toBe(invite.text);
      mkdirSync(dirname(FIXTURE_SCREENSHOT), { recursive: true });
      await page.screenshot({ path: FIXTURE_SCREENSHOT as `${string}.png`, fullPage: true });
      expect(await textOf(page, '[data-testid="message-meta"]')).toContain(
        'sent by edge-1 · UDP 127.0.0.1:5060 → 127.0.0.3:5064',
      );

      // Live: a call that appears is listed by the next refresh, without a reload.
      calls.unshift(
        fixtureCall('live-call@127.0.0.2', 'sip:bob@127.0.0.1', null, [
          message(0, 'in', CALLER, EDGE, 'INVITE sip:bob@127.0.0.1 SIP/2.0', 'live-call@127.0.0.2', 'INVITE'),
        ]),
      );
      await rowsWhen(page, (rows) => rows[0]?.callId === 'live-call@127.0.0.2' && rows[0]?.status === '');
      // Every API request carried the token once it was given.
      expect(new Set(authorizations)).toEqual(new Set(['Bearer not-the-token', `Bearer ${TOKEN}`]));
      expect(opened.problems).toEqual([]);
    }, 60_000);

    it('shows markup in messages and call fields as text: nothing is injected or run', async () => {
      const opened = await openPage(browser, `${base}/calls`);
      page = opened.page;
      await enterToken(page, TOKEN);
      await search(page, 'xss-');
      await rowsWhen(page, (rows) => rows.length === 1 && rows[0]!.callId === XSS_CALL_ID);
      const cells = await inPage<string[]>(
        page,
        `[...document.querySelector('[data-testid="call-row"]').children].map((c) => c.textContent)`,
      );
      expect(cells[1]).toBe(`sip:mallory@127.0.0.2;x=${PAYLOAD}`);

      const arrows = await openCall(page, XSS_CALL_ID, 4);
      expect(arrows.map((a) => [a.label, a.from, a.to])).toEqual([
        ['MESSAGE', 'caller 127.0.0.2:5070', `edge edge-1 127.0.0.1:5060`],
        ['MESSAGE', `edge edge-2 127.0.0.1:5060`, 'callee 127.0.0.3:5064'],
        [`200 ${PAYLOAD}`, 'callee 127.0.0.3:5064', `edge edge-2 127.0.0.1:5060`],
        [`200 ${PAYLOAD}`, `edge edge-1 127.0.0.1:5060`, 'caller 127.0.0.2:5070'],
      ]);
      const text = await showArrow(page, 0);
      expect(text).toContain(`Subject: ${PAYLOAD}`);
      expect(text).toContain(`X-Note: </pre><script>window.__xss=2</script>`);
      expect(await textOf(page, '[data-testid="flow-title"]')).toContain(XSS_CALL_ID);
      await showArrow(page, 3);
      await expectNoInjection(page);
      expect(opened.problems).toEqual([]);
    }, 60_000);

    /** Two calls: bob's INVITE dialog, and a MESSAGE whose fields carry markup (through two edges). */
    function fixtureCalls() {
      const id = 'a84b4c76e66710@127.0.0.2';
      const m = (offset: number, dir: 'in' | 'out', src: Endpoint, dst: Endpoint, line: string, method: string) =>
        message(offset, dir, src, dst, line, id, method);
      const uri = 'INVITE sip:bob@127.0.0.1 SIP/2.0';
      const bye = 'BYE sip:bob@127.0.0.3:5064 SIP/2.0';
      const flow = [
        m(0, 'in', CALLER, EDGE, uri, 'INVITE'),
        m(1, 'out', EDGE, CALLER, 'SIP/2.0 100 Trying', 'INVITE'),
        m(3, 'out', EDGE, CALLEE, 'INVITE sip:bob@127.0.0.3:5064 SIP/2.0', 'INVITE'),
        m(15, 'in', CALLEE, EDGE, 'SIP/2.0 180 Ringing', 'INVITE'),
        m(16, 'out', EDGE, CALLER, 'SIP/2.0 180 Ringing', 'INVITE'),
        m(2040, 'in', CALLEE, EDGE, 'SIP/2.0 200 OK', 'INVITE'),
        m(2041, 'out', EDGE, CALLER, 'SIP/2.0 200 OK', 'INVITE'),
        m(2060, 'in', CALLER, EDGE, 'ACK sip:bob@127.0.0.3:5064 SIP/2.0', 'ACK'),
        m(2061, 'out', EDGE, CALLEE, 'ACK sip:bob@127.0.0.3:5064 SIP/2.0', 'ACK'),
        m(5060, 'in', CALLER, EDGE, bye, 'BYE'),
        m(5061, 'out', EDGE, CALLEE, bye, 'BYE'),
        m(5070, 'in', CALLEE, EDGE, 'SIP/2.0 200 OK', 'BYE'),
        m(5071, 'out', EDGE, CALLER, 'SIP/2.0 200 OK', 'BYE'),
      ];
      const mallory = { address: '127.0.0.2', port: 5070 };
      const extra = [`Subject: ${PAYLOAD}`, 'X-Note: </pre><script>window.__xss=2</script>'];
      const xss = [
        message(0, 'in', mallory, EDGE, 'MESSAGE sip:dave@127.0.0.1 SIP/2.0', XSS_CALL_ID, 'MESSAGE', extra),
        message(2, 'out', EDGE, CALLEE, 'MESSAGE sip:dave@127.0.0.3:5064 SIP/2.0', XSS_CALL_ID, 'MESSAGE', extra),
        message(9, 'in', CALLEE, EDGE, `SIP/2.0 200 ${PAYLOAD}`, XSS_CALL_ID, 'MESSAGE'),
        message(10, 'out', EDGE, mallory, `SIP/2.0 200 ${PAYLOAD}`, XSS_CALL_ID, 'MESSAGE'),
      ];
      xss[1]!.edgeId = 'edge-2';
      xss[2]!.edgeId = 'edge-2';
      return [
        fixtureCall(id, 'sip:bob@127.0.0.1', 200, flow),
        {
          summary: {
            ...fixtureCall(XSS_CALL_ID, 'sip:dave@127.0.0.1', 200, xss).summary,
            from: `sip:mallory@127.0.0.2;x=${PAYLOAD}`,
          },
          messages: xss,
        },
      ];
    }
  });

  describe('against a distributed fleet capturing every call', () => {
    let deployment: Deployment;
    beforeAll(async () => {
      deployment = await startDeployment('distributed', {
        env: { SIPEDGE_ADMIN_TOKEN: TOKEN, SIPEDGE_CAPTURE_SAMPLING: '100' },
      });
    }, 180_000);
    afterAll(() => deployment?.stop());

    it('finds SIPp calls, draws caller → edge → callee and back, shows messages as text', async () => {
      const proxy = { address: '127.0.0.1', port: deployment.port };
      const tag = `${process.pid.toString(36)}${Date.now().toString(36)}`;
      const user = `carol-${tag}`;

      // The page carries no data, so it needs no token; the API it calls does.
      expect((await fetch(`${deployment.opsUrl}/calls`)).status).toBe(200);
      expect((await fetch(`${deployment.opsUrl}/admin/capture/calls`)).status).toBe(401);

      // Two SIPp calls from 127.0.0.2 to a SIPp callee on 127.0.0.1 registered as `user`.
      const callee = await startSipp({
        scenario: 'uas-answer',
        transport: 'udp',
        calls: 2,
        pauseMs: 200,
        timeoutS: 40,
      });
      await registerAt(proxy, user, callee.port);
      const callerPort = await freePort();
      const caller = await call(deployment.target, 'udp', user, {
        calls: 2,
        localIp: '127.0.0.2',
        localPort: callerPort,
        pauseMs: 300,
        timeoutS: 30,
      });
      expectAllSucceeded('call-flow calls', [caller, await callee.done]);

      // A MESSAGE whose headers and body carry markup, answered by a peer registered as `dave-…`.
      const xssCallId = `xss-${tag}-<b>@127.0.0.2`;
      const dave = await SipPeer.open('udp', proxy);
      const mallory = await SipPeer.open('udp', proxy, '127.0.0.2');
      try {
        expect(
          await register(dave, {
            registrar: `sip:${DOMAIN}`,
            user: `dave-${tag}`,
            domain: DOMAIN,
            callId: `reg-d-${tag}`,
          }),
        ).toBe(200);
        mallory.send(
          requestLines(mallory, {
            method: 'MESSAGE',
            uri: `sip:dave-${tag}@${DOMAIN}`,
            callId: xssCallId,
            cseq: 1,
            from: `<sip:mallory@${DOMAIN}>;tag=m${tag}`,
            to: `<sip:dave-${tag}@${DOMAIN}>`,
            extra: [`Subject: ${PAYLOAD}`, 'Content-Type: text/plain'],
          }),
          PAYLOAD,
        );
        dave.answer(await dave.next(isRequest('MESSAGE', xssCallId)), 200, `dave-${tag}`, 'd1');
        expect((await mallory.next(isFinal('MESSAGE', xssCallId))).status).toBe(200);
      } finally {
        dave.close();
        mallory.close();
      }

      const { page, problems } = await openPage(browser, `${deployment.opsUrl}/calls`);
      try {
        await enterToken(page, TOKEN);
        await search(page, user);
        // The two INVITEs, ended 200 (the REGISTER of the callee's binding is listed too).
        const invites = (r: Row[]) => r.filter((row) => row.method === 'INVITE');
        const rows = invites(
          await rowsWhen(page, (r) => invites(r).length === 2 && invites(r).every((row) => row.status === '200')),
        );

        // 13 arrows: INVITE, 100, INVITE, 180 ×2, 200 ×2, ACK ×2, BYE ×2, 200 ×2 (more with retransmissions).
        const arrows = await openCall(page, rows[0]!.callId, 13);
        const [invite, ringing, ringingUpstream] = positions(arrows, [
          ['INVITE', 'caller', 'edge'],
          ['180', 'callee', 'edge'],
          ['180', 'edge', 'caller'],
          ['200', 'callee', 'edge'],
          ['200', 'edge', 'caller'],
          ['ACK', 'caller', 'edge'],
          ['ACK', 'edge', 'callee'],
          ['BYE', 'caller', 'edge'],
          ['BYE', 'edge', 'callee'],
          ['200', 'callee', 'edge'],
          ['200', 'edge', 'caller'],
        ]);
        // The INVITE's forwarded copy: after the caller's, before the callee rings (the 100 may come either side).
        const [forwarded] = positions(arrows.slice(invite! + 1), [['INVITE', 'edge', 'callee']]);
        expect(invite! + 1 + forwarded!).toBeLessThan(ringing!);
        // The 100 Trying waits for the fork to be sent (§17.2.1), so the callee's 180 may reach an edge
        // before it leaves; it still reaches the caller before the 180 does.
        const [trying] = positions(arrows.slice(invite! + 1), [['100', 'edge', 'caller']]);
        expect(invite! + 1 + trying!).toBeLessThan(ringingUpstream!);
        // The parties: the SIPp caller, the edges at the fleet's address, the SIPp callee.
        for (const a of arrows) {
          for (const party of [a.from, a.to]) {
            expect(party).toMatch(
              new RegExp(
                `^(caller 127\\.0\\.0\\.2:${callerPort}|callee 127\\.0\\.0\\.1:${callee.port}|edge \\S+ 127\\.0\\.0\\.1:${deployment.port})$`,
              ),
            );
          }
        }
        const text = await showArrow(page, invite!);
        expect(text).toMatch(new RegExp(`^INVITE sip:${user}@${DOMAIN} SIP/2\\.0\\r?\\n`));
        expect(text).toContain(`Call-ID: ${rows[0]!.callId}`);
        expect(await textOf(page, '[data-testid="message-meta"]')).toContain(
          `127.0.0.2:${callerPort} → 127.0.0.1:${deployment.port}`,
        );

        mkdirSync(dirname(SCREENSHOT), { recursive: true });
        await page.screenshot({ path: SCREENSHOT as `${string}.png`, fullPage: true });
        if (process.env.UPDATE_SCREENSHOT === '1') {
          mkdirSync(dirname(DOCS_SCREENSHOT), { recursive: true });
          copyFileSync(SCREENSHOT, DOCS_SCREENSHOT);
        }

        // The MESSAGE with markup: listed, drawn, and its text shown as text.
        await search(page, `xss-${tag}`);
        await rowsWhen(page, (r) => r.length === 1 && r[0]!.callId === xssCallId && r[0]!.status === '200');
        const xssArrows = await openCall(page, xssCallId, 4);
        const [sent] = positions(xssArrows, [
          ['MESSAGE', 'caller', 'edge'],
          ['MESSAGE', 'edge', 'callee'],
          ['200', 'callee', 'edge'],
          ['200', 'edge', 'caller'],
        ]);
        const xssText = await showArrow(page, sent!);
        expect(xssText).toContain(`Subject: ${PAYLOAD}`);
        expect(xssText.endsWith(PAYLOAD)).toBe(true);
        await expectNoInjection(page);
        expect(problems).toEqual([]);
      } catch (error) {
        const said = deployment.processes().map((p) => p.output().slice(-3000));
        throw new Error([(error as Error).message, ...said].join('\n'), { cause: error });
      } finally {
        await page.close();
      }
    }, 180_000);
  });
});

interface Endpoint {
  address: string;
  port: number;
}

interface CapturedMessage {
  at: string;
  edgeId: string;
  direction: 'in' | 'out';
  transport: 'udp';
  source: Endpoint;
  destination: Endpoint;
  firstLine: string;
  text: string;
}

const T0 = Date.parse('2026-03-02T09:41:07.250Z');

/** A captured message as the capture API gives it: `offset` ms after T0, through edge-1. */
function message(
  offset: number,
  direction: 'in' | 'out',
  source: Endpoint,
  destination: Endpoint,
  firstLine: string,
  callId: string,
  method: string,
  extra: string[] = [],
): CapturedMessage {
  const text = [
    firstLine,
    `Via: SIP/2.0/UDP ${source.address}:${source.port};branch=z9hG4bK${offset}`,
    'From: <sip:alice@127.0.0.1>;tag=1928301774',
    `To: <sip:bob@127.0.0.1>${firstLine.startsWith('SIP/2.0') || method !== 'INVITE' ? ';tag=a6c85cf' : ''}`,
    `Call-ID: ${callId}`,
    `CSeq: ${method === 'BYE' ? 2 : 1} ${method}`,
    ...extra,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  return {
    at: new Date(T0 + offset).toISOString(),
    edgeId: 'edge-1',
    direction,
    transport: 'udp',
    source,
    destination,
    firstLine,
    text,
  };
}

function fixtureCall(callId: string, to: string, status: number | null, messages: CapturedMessage[]) {
  return {
    summary: {
      callId,
      from: 'sip:alice@127.0.0.1',
      to,
      method: messages[0]!.firstLine.split(' ')[0]!,
      status,
      startedAt: messages[0]!.at,
      lastAt: messages[messages.length - 1]!.at,
      messages: messages.length,
    },
    messages,
  };
}

/** Registers `user` with its Contact at 127.0.0.1:`port` (a third-party registration, §10.2) through the proxy. */
async function registerAt(proxy: Endpoint, user: string, port: number): Promise<void> {
  const registrar = await SipPeer.open('udp', proxy);
  try {
    registrar.contact = () => `<sip:${user}@127.0.0.1:${port}>`;
    expect(await register(registrar, { registrar: `sip:${DOMAIN}`, user, domain: DOMAIN, callId: `reg-${user}` })).toBe(
      200,
    );
  } finally {
    registrar.close();
  }
}
