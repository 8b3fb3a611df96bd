/**
 * The browser softphone harness (browser-phone.ts) against a SIP-over-WebSocket stub of the test's
 * own (RFC 7118), no sipedge: headless Chromium running JsSIP registers over WSS (a self-signed
 * certificate), calls the stub and hangs up, answers the stub's call, and is hung up on. Chromium
 * also accepts the WebRTC SDP of the SIPp scenarios webrtc-uas.xml (an answer) and webrtc-uac.xml
 * (an offer), the ones end-to-end tests use for the UDP party.
 *
 * Needs Chromium (/usr/bin/chromium or CHROMIUM_PATH). Without it the suite is skipped, except
 * under CI (CI=true), where a missing browser is a failure.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { makeTestCertificates } from '@sipedge/edge/testing';
import { type SipMessage, buildResponse, parseMessage } from '@sipedge/sip';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { type BrowserHandle, type BrowserPhone, chromiumPath, launchBrowser } from './browser-phone.js';
import { webrtcAnswerSdp, webrtcOfferSdp } from './webrtc-sdp.js';

const present = chromiumPath() !== undefined;
const inCi = process.env.CI === 'true' || process.env.CI === '1';
if (!present && !inCi) {
  process.stdout.write('browser-phone: skipped, no Chromium (install chromium or set CHROMIUM_PATH)\n');
}

const AOR = 'sip:bob@example.test';
/** A user the stub answers 486 (Busy Here) for. */
const BUSY_USER = 'busy';

/** The WebSocket handshake as the stub saw it. */
interface Handshake {
  origin: string | undefined;
  requestedProtocols: string | undefined;
  selectedProtocol: string;
}

/**
 * A registrar and user agent over secure WebSockets (RFC 7118) on 127.0.0.1: REGISTER gets 200
 * with the Contact and its expiry echoed (RFC 3261 §10.3 step 8), an INVITE gets 180 and a 200
 * with webrtc-uas.xml's answer and a Record-Route (the busy user's gets 486), BYE gets 200. It can
 * call the registered Contact with webrtc-uac.xml's offer (ACKing the 200) and hang up.
 * Everything it receives is kept.
 */
class WebSocketSipStub {
  readonly received: SipMessage[] = [];
  readonly handshakes: Handshake[] = [];
  private socket: WebSocket | undefined;
  private contact: string | undefined;
  private sequence = 0;

  private constructor(
    private readonly https: Server,
    private readonly wss: WebSocketServer,
  ) {
    wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
      this.socket = socket;
      this.handshakes.push({
        origin: request.headers.origin,
        requestedProtocols: request.headers['sec-websocket-protocol'],
        selectedProtocol: socket.protocol,
      });
      socket.on('message', (data) => this.take(parseMessage(Buffer.from(data.toString(), 'utf8'))));
    });
  }

  static async start(): Promise<WebSocketSipStub> {
    const { key, cert } = await makeTestCertificates();
    const https = createServer({ key, cert });
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    const wss = new WebSocketServer({
      server: https,
      // RFC 7118 §4.1: the subprotocol is `sip`.
      handleProtocols: (protocols) => (protocols.has('sip') ? 'sip' : false),
    });
    return new WebSocketSipStub(https, wss);
  }

  get url(): string {
    return `wss://127.0.0.1:${(this.https.address() as AddressInfo).port}`;
  }

  /** The stub as a loose-routing proxy in the browser's route set (what an edge would insert). */
  get recordRoute(): string {
    return `<sip:127.0.0.1:${(this.https.address() as AddressInfo).port};transport=ws;lr>`;
  }

  /** The first message received (by now or within `timeoutMs`) that matches. */
  async waitFor(what: string, match: (m: SipMessage) => boolean, timeoutMs = 10_000): Promise<SipMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find(match);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`the stub received no ${what} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * Calls the registered Contact (as a proxy delivering to it would, RFC 3261 §16.5) from
   * sip:carol@example.test; the INVITE's Call-ID.
   */
  invite(): string {
    if (this.contact === undefined) throw new Error('nothing registered');
    const callId = `stub-call-${++this.sequence}@127.0.0.1`;
    const offer = Buffer.from(webrtcOfferSdp());
    this.send(
      [
        `INVITE ${this.contact} SIP/2.0`,
        `Via: SIP/2.0/WSS 127.0.0.1;branch=z9hG4bK-stub-${this.sequence}-invite`,
        'Max-Forwards: 70',
        `From: "Carol" <sip:carol@example.test>;tag=stub-${this.sequence}`,
        `To: <${AOR}>`,
        `Call-ID: ${callId}`,
        'CSeq: 1 INVITE',
        `Contact: <sip:carol@127.0.0.1;transport=ws>`,
        'Content-Type: application/sdp',
        `Content-Length: ${offer.length}`,
        '',
        offer.toString(),
      ].join('\r\n'),
    );
    return callId;
  }

  /** Ends the call `callId` the stub placed and the browser answered (BYE to its Contact). */
  bye(callId: string): void {
    const ok = this.okTo('INVITE', callId);
    this.send(this.inDialogRequest('BYE', 2, ok));
  }

  async close(): Promise<void> {
    this.socket?.terminate();
    await new Promise((resolve) => this.wss.close(resolve));
    this.https.closeAllConnections();
    await new Promise((resolve) => this.https.close(resolve));
  }

  private take(message: SipMessage): void {
    this.received.push(message);
    if (message.isResponse) {
      // The browser's 2xx to our INVITE is ACKed (RFC 3261 §13.2.2.4).
      if (message.cseq.method === 'INVITE' && message.status >= 200 && message.status < 300) {
        this.send(this.inDialogRequest('ACK', 1, message));
      }
      return;
    }
    switch (message.method) {
      case 'REGISTER': {
        const contact = message.getFirstRaw('contact')!;
        this.contact = /<([^>]*)>/.exec(contact)?.[1];
        const expires = /;\s*expires=(\d+)/i.exec(contact)?.[1] ?? String(message.expires ?? 600);
        const echoed = /;\s*expires=/i.test(contact) ? contact : `${contact};expires=${expires}`;
        this.respond(message, 200, [['Contact', echoed]]);
        break;
      }
      case 'INVITE': {
        const toTag = `stub-${++this.sequence}`;
        if (message.requestUri.toString().startsWith(`sip:${BUSY_USER}@`)) {
          this.respond(message, 486, [], undefined, toTag);
          break;
        }
        this.respond(message, 180, [['Record-Route', this.recordRoute]], undefined, toTag);
        const headers: [string, string][] = [
          ['Record-Route', this.recordRoute],
          ['Contact', '<sip:stub@127.0.0.1;transport=ws>'],
          ['Content-Type', 'application/sdp'],
        ];
        this.respond(message, 200, headers, Buffer.from(webrtcAnswerSdp()), toTag);
        break;
      }
      case 'BYE':
        this.respond(message, 200);
        break;
      default:
        break; // ACK
    }
  }

  private respond(
    request: SipMessage,
    status: number,
    headers: [string, string][] = [],
    body?: Buffer,
    toTag?: string,
  ): void {
    this.send(buildResponse(request, status, { headers, body, toTag }).toString());
  }

  /** ACK or BYE in the dialog the browser's 2xx `ok` established with the stub's INVITE. */
  private inDialogRequest(method: 'ACK' | 'BYE', cseq: number, ok: SipMessage): string {
    const target = ok.contacts[0];
    if (target === undefined || target === '*') throw new Error('the 2xx has no Contact');
    return [
      `${method} ${target.uri.toString()} SIP/2.0`,
      `Via: SIP/2.0/WSS 127.0.0.1;branch=z9hG4bK-stub-${++this.sequence}-${method.toLowerCase()}`,
      'Max-Forwards: 70',
      `From: ${ok.getFirstRaw('from')}`,
      `To: ${ok.getFirstRaw('to')}`,
      `Call-ID: ${ok.callId}`,
      `CSeq: ${cseq} ${method}`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
  }

  private okTo(method: string, callId: string): SipMessage {
    const ok = this.received.find(
      (m) => m.isResponse && m.status === 200 && m.cseq.method === method && m.callId === callId,
    );
    if (ok === undefined) throw new Error(`no 200 to ${method} ${callId}`);
    return ok;
  }

  private send(text: string): void {
    if (this.socket === undefined) throw new Error('no WebSocket connection');
    this.socket.send(text);
  }
}

describe.skipIf(!present && !inCi)('browser softphone harness: Chromium + JsSIP over WebSocket', () => {
  let stub: WebSocketSipStub;
  let browser: BrowserHandle;
  let phone: BrowserPhone;

  beforeAll(async () => {
    if (!present) throw new Error('no Chromium at /usr/bin/chromium or CHROMIUM_PATH; under CI it is required');
    stub = await WebSocketSipStub.start();
    browser = await launchBrowser();
    phone = await browser.newPhone({ wsUrl: stub.url, uri: AOR, displayName: 'Bob' });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await stub?.close();
  });
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      process.stdout.write(`--- the browser phone's log ---\n${phone?.log().join('\n')}\n`);
    });
  });

  it("Chromium accepts webrtc-uas.xml's answer and webrtc-uac.xml's offer", async () => {
    const answered = await browser.checkAnswerSdp(webrtcAnswerSdp());
    expect(answered.signalingState).toBe('stable');
    // The answer's a=mid:0 has to be the offer's mid.
    expect(answered.offer).toMatch(/^a=mid:0\r$/m);
    const offered = await browser.checkOfferSdp(webrtcOfferSdp());
    expect(offered.signalingState).toBe('stable');
    expect(offered.answer).toMatch(/^a=setup:(active|passive)\r$/m);
    expect(offered.answer).toMatch(/^a=mid:0\r$/m);
  });

  it('the SDP check refuses what Chromium cannot use (another mid, no fingerprint)', async () => {
    await expect(browser.checkAnswerSdp(webrtcAnswerSdp().replace('a=mid:0', 'a=mid:1'))).rejects.toThrow();
    await expect(browser.checkOfferSdp(webrtcOfferSdp().replace(/a=fingerprint:[^\r]*\r\n/, ''))).rejects.toThrow();
  });

  it('registers over WSS, from the page origin, with subprotocol sip (RFC 7118 §4.1, §5.2)', async () => {
    expect(await phone.registered(10_000)).toEqual({ status: 200 });
    expect(stub.handshakes[0]).toEqual({
      origin: browser.origin,
      requestedProtocols: 'sip',
      selectedProtocol: 'sip',
    });
    expect(browser.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const register = await stub.waitFor('REGISTER', (m) => m.isRequest && m.method === 'REGISTER');
    // Via transport WSS (RFC 7118 §5.2); JsSIP's Via sent-by and Contact host are made-up .invalid
    // names, as in the examples of RFC 7118 §8: a browser cannot know its address.
    expect(register.topVia?.transport).toBe('WSS');
    expect(register.getFirstRaw('contact')).toMatch(/^<sip:\w+@\w+\.invalid;transport=ws>/);
  });

  it('calls: the 200 confirms the call (ACK sent along the route set); hangup sends BYE, answered 200', async () => {
    await phone.registered();
    const call = await phone.call('sip:alice@example.test', 15_000);
    expect(call.status).toBe(200);
    const invite = await stub.waitFor(
      'INVITE',
      (m) => m.isRequest && m.method === 'INVITE' && m.callId === call.callId,
    );
    expect(invite.getFirstRaw('content-type')).toBe('application/sdp');
    const ack = await stub.waitFor('ACK', (m) => m.isRequest && m.method === 'ACK' && m.callId === call.callId);
    // Loose routing through the Record-Route of the 200 (RFC 3261 §12.2.1.1).
    expect(ack.getFirstRaw('route')).toBe(stub.recordRoute);
    const hangup = await phone.hangup(10_000);
    expect(hangup.byeStatus).toBe(200);
    const bye = await stub.waitFor('BYE', (m) => m.isRequest && m.method === 'BYE' && m.callId === call.callId);
    expect(bye.getFirstRaw('route')).toBe(stub.recordRoute);
  });

  it("a call refused with 486 rejects with the status and JsSIP's cause", async () => {
    await phone.registered();
    await expect(phone.call(`sip:${BUSY_USER}@example.test`, 15_000)).rejects.toMatchObject({
      status: 486,
      jssipCause: 'Busy',
    });
  });

  it('registering at a closed port rejects at once instead of waiting for the timeout', async () => {
    const closed = createTcpServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const nowhere = await browser.newPhone({ wsUrl: `wss://127.0.0.1:${port}`, uri: 'sip:carol@example.test' });
    try {
      const started = Date.now();
      await expect(nowhere.registered(20_000)).rejects.toThrow(/WebSocket closed before registration/);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await nowhere.stop();
    }
  });

  it('answers a call (the stub gets 200 and ACKs it) and sees the caller hang up', async () => {
    await phone.registered();
    const callId = stub.invite();
    const incoming = await phone.answerNext(15_000);
    expect(incoming).toEqual({
      from: expect.stringContaining('<sip:carol@example.test>;tag=stub-'),
      requestUri: expect.stringMatching(/\.invalid;transport=ws$/),
      callId,
    });
    const ok = await stub.waitFor('200 to the INVITE', (m) => m.isResponse && m.callId === callId && m.status === 200);
    expect(ok.body.toString()).toMatch(/^a=setup:(active|passive)\r$/m);
    stub.bye(callId);
    expect(await phone.waitEnded(10_000)).toEqual({ cause: 'Terminated' });
    await stub.waitFor('200 to the BYE', (m) => m.isResponse && m.callId === callId && m.cseq.method === 'BYE');
  });
});
