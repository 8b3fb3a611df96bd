/**
 * A real browser softphone for end-to-end tests: Debian's Chromium, headless, driven by
 * puppeteer-core, running JsSIP, which speaks SIP over a WebSocket (RFC 7118) to the proxy.
 * Microphone and camera are Chromium's fake devices, and the permission prompt is accepted by
 * itself. The page and JsSIP (bundled for the browser here: the npm package ships no browser build)
 * come from an HTTP server of the harness's own on 127.0.0.1, so the page's origin
 * (`handle.origin`) is a secure context (getUserMedia works) that tests can put in an Origin
 * allow-list. Certificate errors are ignored: the proxy's WSS certificate is self-signed.
 *
 * Nothing leaves the machine: background networking, updates, proxies and mDNS are off, host names
 * other than localhost do not resolve, and no STUN or TURN server is configured.
 *
 * Every wait is bounded; `log()` gives what happened (JsSIP's debug log, each SIP message sent and
 * received, UA and session events, the page's console and errors) to print when a test fails.
 */
import { type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
// esbuild comes with tsx and vite; it bundles JsSIP (CommonJS with dependencies) into one script.
import { build } from 'esbuild';
import { type Browser, type Page, launch } from 'puppeteer-core';

const DEFAULT_CHROMIUM = '/usr/bin/chromium';
const pageDir = new URL('../browser/', import.meta.url).pathname;

/** How long a page call (evaluate), opening a page or closing the browser may take. */
const PAGE_CALL_TIMEOUT_MS = 15_000;

/**
 * Chromium's switches: headless (set by puppeteer), media without devices or prompts, the proxy's
 * self-signed certificate accepted, and everything that could reach the network turned off.
 */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--ignore-certificate-errors',
  '--disable-gpu',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-domain-reliability',
  '--disable-sync',
  '--disable-extensions',
  '--disable-default-apps',
  '--disable-client-side-phishing-detection',
  '--disable-breakpad',
  '--no-pings',
  '--no-proxy-server',
  '--disable-dev-shm-usage',
  '--mute-audio',
  // Only loopback resolves (IP literals go through these rules too): pages and WebSockets reach
  // nothing else.
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.* , EXCLUDE [::1]',
  // Host candidates carry the address itself instead of an mDNS name that is announced by multicast.
  '--disable-features=WebRtcHideLocalIpsWithMdns,MediaRouter,OptimizationHints,Translate',
];

/** The Chromium executable: `CHROMIUM_PATH`, else /usr/bin/chromium; undefined when it is not there. */
export function chromiumPath(): string | undefined {
  const path = process.env.CHROMIUM_PATH ?? DEFAULT_CHROMIUM;
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    return undefined;
  }
}

export interface PhoneOptions {
  /** The proxy's WebSocket URL (`wss://127.0.0.1:PORT` or `ws://…`); JsSIP asks for subprotocol `sip`. */
  wsUrl: string;
  /** The address-of-record it registers, e.g. `sip:alice@example.test`. */
  uri: string;
  authorizationUser?: string;
  password?: string;
  displayName?: string;
}

export interface CallResult {
  /** The final response that established the call (a 2xx). */
  status: number;
  callId: string;
}

export interface IncomingCall {
  /** The INVITE's From header field value. */
  from: string;
  requestUri: string;
  callId: string;
}

export interface HangupResult {
  /** JsSIP's cause for the end (`Terminated`). */
  cause: string;
  /** The final response to the BYE, as it arrived over the WebSocket. */
  byeStatus: number;
}

/** A registration or a session that failed: JsSIP's cause, and the SIP status when a response caused it. */
export class PhoneFailure extends Error {
  constructor(
    message: string,
    readonly jssipCause: string | undefined,
    readonly status: number | undefined,
  ) {
    super(message);
    this.name = 'PhoneFailure';
  }
}

/** An event from the page (test/browser/phone.js): UA and session events, SIP messages. */
interface PageEvent {
  type: string;
  session?: number;
  originator?: string;
  status?: number;
  cause?: string;
  text?: string;
  from?: string;
  requestUri?: string;
  callId?: string;
  error?: string;
}

/** What settles a wait: a value, or an error. */
type Outcome<T> = { value: T } | { error: Error };

/** The page's `window.sipPhone` methods (test/browser/phone.js). */
type PageMethod = 'start' | 'call' | 'answer' | 'hangup' | 'stop' | 'checkAnswer' | 'checkOffer';

export interface AnswerCheck {
  /** The offer Chromium made, which the answer was applied to. */
  offer: string;
  signalingState: string;
}

export interface OfferCheck {
  /** Chromium's answer to the offer. */
  answer: string;
  signalingState: string;
}

/** A headless Chromium with the phone page's server; `close()` ends both. */
export class BrowserHandle {
  private readonly phones = new Set<BrowserPhone>();

  private constructor(
    private readonly browser: Browser,
    private readonly server: Server,
    /** The phone pages' origin (`http://127.0.0.1:PORT`): what the browser sends as Origin. */
    readonly origin: string,
  ) {}

  /** @internal */
  static async launch(): Promise<BrowserHandle> {
    const executablePath = chromiumPath();
    if (executablePath === undefined) {
      throw new Error(`no Chromium at ${process.env.CHROMIUM_PATH ?? DEFAULT_CHROMIUM} (set CHROMIUM_PATH)`);
    }
    const server = await servePhonePage();
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const browser = await launch({
        executablePath,
        headless: true,
        // DevTools over a pipe: no debugging port is opened.
        pipe: true,
        args: CHROMIUM_ARGS,
        env: withoutProxy(process.env),
        timeout: 30_000,
        protocolTimeout: PAGE_CALL_TIMEOUT_MS * 2,
      });
      return new BrowserHandle(browser, server, origin);
    } catch (error) {
      server.close();
      throw error;
    }
  }

  /** Opens a page with a JsSIP UA for `options.uri` that connects and registers right away. */
  async newPhone(options: PhoneOptions): Promise<BrowserPhone> {
    const page = await withTimeout(this.browser.newPage(), PAGE_CALL_TIMEOUT_MS, 'opening a page');
    const phone = new BrowserPhone(page, options.uri);
    this.phones.add(phone);
    try {
      await phone.open(this.origin, options);
      return phone;
    } catch (error) {
      await phone.stop();
      throw new Error(
        `${options.uri}: the phone did not start: ${(error as Error).message}\n${phone.log().join('\n')}`,
      );
    }
  }

  /** Opens a plain page (no phone) in this browser, for tests of other web pages; close it with `page.close()`. */
  newPage(): Promise<Page> {
    return withTimeout(this.browser.newPage(), PAGE_CALL_TIMEOUT_MS, 'opening a page');
  }

  /**
   * Checks that Chromium takes `sdp` as the answer to an offer of its own (a fake microphone, one
   * audio m-line, mid 0): the promise rejects with Chromium's error when it does not.
   */
  checkAnswerSdp(sdp: string): Promise<AnswerCheck> {
    return this.onScratchPage((page) => callPage<AnswerCheck>(page, 'checkAnswer', sdp));
  }

  /** Checks that Chromium takes `sdp` as an offer and answers it; rejects with Chromium's error when not. */
  checkOfferSdp(sdp: string): Promise<OfferCheck> {
    return this.onScratchPage((page) => callPage<OfferCheck>(page, 'checkOffer', sdp));
  }

  /** Stops every phone, closes the browser (killed when it does not close) and the page server. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.phones].map((p) => p.stop()));
    const child: ChildProcess | null = this.browser.process();
    try {
      await withTimeout(this.browser.close(), PAGE_CALL_TIMEOUT_MS, 'closing Chromium');
    } catch {
      // Killed below.
    } finally {
      if (child !== null && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      this.server.closeAllConnections();
      await new Promise((resolve) => this.server.close(resolve));
    }
  }

  private async onScratchPage<T>(use: (page: Page) => Promise<T>): Promise<T> {
    const page = await withTimeout(this.browser.newPage(), PAGE_CALL_TIMEOUT_MS, 'opening a page');
    try {
      await page.goto(`${this.origin}/`, { waitUntil: 'load', timeout: PAGE_CALL_TIMEOUT_MS });
      return await use(page);
    } finally {
      await withTimeout(page.close(), PAGE_CALL_TIMEOUT_MS, 'closing a page').catch(() => undefined);
    }
  }
}

/** Launches headless Chromium (see `chromiumPath`) and the server of the phone page. */
export function launchBrowser(): Promise<BrowserHandle> {
  return BrowserHandle.launch();
}

/**
 * One JsSIP UA in a page of its own. A phone has at most one call at a time: the one `call` or
 * `answerNext` established, which `hangup` and `waitEnded` are about.
 */
export class BrowserPhone {
  private readonly events: PageEvent[] = [];
  private readonly lines: string[] = [];
  private readonly listeners = new Set<() => void>();
  /** Incoming sessions `answerNext` already took. */
  private readonly answered = new Set<number>();
  private current: { session: number; callId: string } | undefined;
  private stopping: Promise<void> | undefined;
  private readonly started = Date.now();

  /** @internal */
  constructor(
    private readonly page: Page,
    readonly uri: string,
  ) {
    page.on('console', (message) => this.note(`console.${message.type()}: ${message.text()}`));
    page.on('pageerror', (error) => this.note(`page error: ${(error as Error).message ?? String(error)}`));
    page.on('requestfailed', (request) =>
      this.note(`request failed: ${request.url()} ${request.failure()?.errorText}`),
    );
    page.on('error', (error) => this.take({ type: 'page-gone', error: `page crashed: ${error.message}` }));
    page.on('close', () => this.take({ type: 'page-gone', error: 'page closed' }));
  }

  /** @internal Loads the page and starts the UA. */
  async open(origin: string, options: PhoneOptions): Promise<void> {
    await this.page.exposeFunction('phoneEvent', (json: string) => this.take(JSON.parse(json) as PageEvent));
    await this.page.goto(`${origin}/`, { waitUntil: 'load', timeout: PAGE_CALL_TIMEOUT_MS });
    await callPage(this.page, 'start', options);
  }

  /** What happened so far, one entry per event, log line or SIP message. */
  log(): string[] {
    return [...this.lines];
  }

  /** Resolves when JsSIP has registered; rejects on registrationFailed, a lost WebSocket or a timeout. */
  registered(timeoutMs = 10_000): Promise<{ status: number }> {
    return this.waitFor<{ status: number }>('registration', timeoutMs, 0, (e) => {
      if (e.type === 'registered') return { value: { status: e.status ?? 0 } };
      if (e.type === 'registrationFailed') {
        return { error: new PhoneFailure(`registration failed: ${detailsOf(e)}`, e.cause, e.status) };
      }
      if (e.type === 'disconnected') {
        return {
          error: new PhoneFailure(`the WebSocket closed before registration: ${detailsOf(e)}`, undefined, undefined),
        };
      }
      return undefined;
    });
  }

  /**
   * Calls `target` (audio only) and resolves once the call is confirmed (a 2xx received and
   * ACKed); rejects with JsSIP's cause and the status when it fails.
   */
  async call(target: string, timeoutMs = 15_000): Promise<CallResult> {
    const deadline = Date.now() + timeoutMs;
    const from = this.events.length;
    const session = await callPage<number>(this.page, 'call', target);
    let status = 0;
    await this.waitFor(`the call to ${target}`, deadline - Date.now(), from, (e) => {
      if (e.session !== session) return undefined;
      if (e.type === 'accepted') status = e.status ?? 0;
      return this.establishedOutcome(e, `the call to ${target}`);
    });
    // Events arrive in order: the session's newRTCSession came before its confirmed.
    const callId = this.callIdOf(session);
    this.current = { session, callId };
    return { status, callId };
  }

  /**
   * Answers the next incoming call (one that arrived before this call or comes within
   * `timeoutMs`) and resolves once it is confirmed (the ACK received).
   */
  async answerNext(timeoutMs = 15_000): Promise<IncomingCall> {
    const deadline = Date.now() + timeoutMs;
    const incoming = await this.waitFor('an incoming call', timeoutMs, 0, (e) =>
      e.type === 'newRTCSession' && e.originator === 'remote' && !this.answered.has(e.session!)
        ? { value: e }
        : undefined,
    );
    const session = incoming.session!;
    this.answered.add(session);
    await callPage(this.page, 'answer', session);
    await this.waitFor('answering the call', deadline - Date.now(), this.events.indexOf(incoming), (e) =>
      e.session === session ? this.establishedOutcome(e, 'the incoming call') : undefined,
    );
    this.current = { session, callId: incoming.callId! };
    return { from: incoming.from!, requestUri: incoming.requestUri!, callId: incoming.callId! };
  }

  /**
   * Hangs up the current call (BYE) and resolves once JsSIP has ended it and the BYE's final
   * response has arrived (JsSIP reports `ended` when it sends the BYE and never reports the
   * response: it is looked for among the SIP messages received).
   */
  async hangup(timeoutMs = 10_000): Promise<HangupResult> {
    const { session, callId } = this.currentCall('hang up');
    const deadline = Date.now() + timeoutMs;
    const from = this.events.length;
    const earlierEnd = this.events.find((e) => e.type === 'ended' && e.session === session);
    if (earlierEnd !== undefined) throw new Error(`${this.uri}: the call had already ended (${detailsOf(earlierEnd)})`);
    await callPage(this.page, 'hangup', session);
    const ended = await this.waitFor('the end of the call', deadline - Date.now(), from, (e) =>
      e.type === 'ended' && e.session === session ? { value: e } : undefined,
    );
    this.current = undefined;
    const byeStatus = await this.waitFor('the final response to the BYE', deadline - Date.now(), from, (e) => {
      const status = e.type === 'sip-received' ? finalResponseStatus(e.text!, 'BYE', callId) : undefined;
      return status === undefined ? undefined : { value: status };
    });
    return { cause: ended.cause ?? '', byeStatus };
  }

  /** Resolves when the other party ends the current call (a BYE received); rejects if it ends otherwise. */
  async waitEnded(timeoutMs = 15_000): Promise<{ cause: string }> {
    const { session } = this.currentCall('wait for the end of the call');
    const ended = await this.waitFor<{ cause: string }>('the other party to end the call', timeoutMs, 0, (e) => {
      if (e.type !== 'ended' || e.session !== session) return undefined;
      return e.originator === 'remote'
        ? { value: { cause: e.cause ?? '' } }
        : {
            error: new PhoneFailure(`the call ended, but not by the other party: ${detailsOf(e)}`, e.cause, undefined),
          };
    });
    this.current = undefined;
    return ended;
  }

  /**
   * Stops the UA (it unregisters and closes its WebSocket, waited for up to `timeoutMs`) and
   * closes the page. Never throws; calling it again waits for the first stop.
   */
  stop(timeoutMs = 5_000): Promise<void> {
    this.stopping ??= (async () => {
      const from = this.events.length;
      try {
        await callPage(this.page, 'stop');
        await this.waitFor('the UA to stop', timeoutMs, from, (e) =>
          e.type === 'disconnected' ? { value: undefined } : undefined,
        );
      } catch {
        // Closing the page closes the WebSocket anyway.
      }
      await withTimeout(this.page.close(), PAGE_CALL_TIMEOUT_MS, 'closing the page').catch(() => undefined);
    })();
    return this.stopping;
  }

  private currentCall(action: string): { session: number; callId: string } {
    if (this.current === undefined) throw new Error(`${this.uri}: cannot ${action}: no established call`);
    return this.current;
  }

  private callIdOf(session: number): string {
    const created = this.events.find((e) => e.type === 'newRTCSession' && e.session === session);
    return created?.callId ?? '';
  }

  /** `confirmed` settles a call attempt; `failed` or `ended` before it fails it. */
  private establishedOutcome(e: PageEvent, what: string): Outcome<void> | undefined {
    if (e.type === 'confirmed') return { value: undefined };
    if (e.type === 'failed' || e.type === 'ended') {
      return { error: new PhoneFailure(`${this.uri}: ${what} ${e.type}: ${detailsOf(e)}`, e.cause, e.status) };
    }
    return undefined;
  }

  /**
   * Resolves with the first outcome `settle` gives for the events from index `from` on (those
   * seen so far, then each new one, in order); rejects when the page goes away or after `timeoutMs`.
   */
  private waitFor<T>(
    what: string,
    timeoutMs: number,
    from: number,
    settle: (event: PageEvent) => Outcome<T> | undefined,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let next = from;
      const finish = (outcome: Outcome<T>) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        if ('value' in outcome) resolve(outcome.value);
        else reject(outcome.error);
      };
      const check = () => {
        while (next < this.events.length) {
          const event = this.events[next++]!;
          const outcome =
            event.type === 'page-gone' ? { error: new Error(`${this.uri}: ${event.error}`) } : settle(event);
          if (outcome !== undefined) return finish(outcome);
        }
      };
      const timer = setTimeout(
        () => {
          const tail = this.lines.slice(-40).join('\n');
          finish({
            error: new Error(`${this.uri}: no ${what} within ${timeoutMs} ms; the phone's log ends:\n${tail}`),
          });
        },
        Math.max(0, timeoutMs),
      );
      this.listeners.add(check);
      check();
    });
  }

  private take(event: PageEvent): void {
    this.events.push(event);
    this.note(formatEvent(event));
    for (const listener of [...this.listeners]) listener();
  }

  private note(line: string): void {
    this.lines.push(`+${Date.now() - this.started}ms ${line}`);
  }
}

/** An event as a log entry. */
function formatEvent(e: PageEvent): string {
  switch (e.type) {
    case 'sip-sent':
      return `sent:\n${e.text}`;
    case 'sip-received':
      return `received:\n${e.text}`;
    default:
      return `event ${e.type}${e.session === undefined ? '' : ` (session ${e.session})`}: ${detailsOf(e)}`;
  }
}

/** An event's details, for messages. */
function detailsOf(e: PageEvent): string {
  const { type: _type, session: _session, ...details } = e;
  return JSON.stringify(details);
}

/**
 * The status of `text` if it is a final response to a `method` request of dialog `callId` (the
 * Call-ID and CSeq header fields, `i` being Call-ID's compact form, RFC 3261 §7.3.3).
 */
function finalResponseStatus(text: string, method: string, callId: string): number | undefined {
  const status = /^SIP\/2\.0 (\d{3}) /.exec(text);
  if (status === null || Number(status[1]) < 200) return undefined;
  const header = (names: string) => new RegExp(`^(?:${names})[ \\t]*:[ \\t]*(.*?)[ \\t]*$`, 'im').exec(text)?.[1];
  const cseqMethod = header('CSeq')?.split(/\s+/)[1];
  return header('Call-ID|i') === callId && cseqMethod === method ? Number(status[1]) : undefined;
}

/** Calls `window.sipPhone[method](...args)` in the page; its result (awaited when a promise). */
function callPage<T = unknown>(page: Page, method: PageMethod, ...args: unknown[]): Promise<T> {
  // A source string, not a function: what a test transformer does to a function's source (helpers
  // such as esbuild's __name) would not exist in the page.
  const call = `window.sipPhone.${method}(...${JSON.stringify(args)})`;
  return withTimeout(page.evaluate(call) as Promise<T>, PAGE_CALL_TIMEOUT_MS, `sipPhone.${method}()`);
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The environment without proxy settings (Chromium reads them on Linux). */
function withoutProxy(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !/^(https?|ftp|all|no)_proxy$/i.test(name)));
}

let jssipBundle: Promise<string> | undefined;

/** JsSIP (CommonJS, with its dependencies) as one browser script defining the global `JsSIP`; built once. */
function bundleJssip(): Promise<string> {
  jssipBundle ??= build({
    entryPoints: [createRequire(import.meta.url).resolve('jssip')],
    bundle: true,
    format: 'iife',
    globalName: 'JsSIP',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  }).then((result) => result.outputFiles[0]!.text);
  return jssipBundle;
}

/** Serves test/browser/phone.html (as `/`), phone.js and the JsSIP bundle on 127.0.0.1. */
async function servePhonePage(): Promise<Server> {
  const routes: Record<string, { type: string; body: () => Promise<string> }> = {
    '/': { type: 'text/html', body: () => readFile(`${pageDir}phone.html`, 'utf8') },
    '/phone.js': { type: 'text/javascript', body: () => readFile(`${pageDir}phone.js`, 'utf8') },
    '/jssip.js': { type: 'text/javascript', body: bundleJssip },
  };
  // No favicon: answered without a body, so that the page's console shows no 404 for it.
  const quiet = new Set(['/favicon.ico']);
  await bundleJssip();
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    const route = routes[path];
    if (quiet.has(path)) {
      response.writeHead(204).end();
      return;
    }
    if (route === undefined) {
      response.writeHead(404).end();
      return;
    }
    route.body().then(
      (body) => response.writeHead(200, { 'content-type': `${route.type}; charset=utf-8` }).end(body),
      (error: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(error.message),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return server;
}
