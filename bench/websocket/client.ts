/**
 * One browser-like SIP over WebSocket UA (RFC 7118) for the WSS benchmark: a WSS connection offering
 * the `sip` subprotocol, a REGISTER as JsSIP writes one (`.invalid` Via and Contact hosts, reachable
 * only on this connection), then CRLFCRLF keep-alives as SIP.js sends them (RFC 5626 §4.4.1 framing),
 * answered by the edge with CRLF. The `ws` library answers the edge's WebSocket pings by itself;
 * this counts them, and every close it did not ask for.
 */
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';

/** A keep-alive, and the edge's answer to it. */
const KEEPALIVE = '\r\n\r\n';
const KEEPALIVE_ANSWER = '\r\n';

export interface ConnectOptions {
  /** wss://host:port */
  url: string;
  /** The CA the edge's certificate is verified against (PEM). */
  ca: string;
  /** The loopback address the connection comes from. */
  localAddress: string;
  timeoutMs: number;
}

/** What a UA has seen of its connection. */
export interface ClientCounts {
  /** WebSocket pings from the edge (each answered with a pong by `ws`). */
  pings: number;
  keepalivesSent: number;
  keepaliveAnswers: number;
  /** SIP messages other than the answer to a REGISTER this UA waits for. */
  unexpectedMessages: number;
  /** The connection closed while this UA did not close it (code and reason, first one). */
  closedUnexpectedly?: { code: number; reason: string };
}

const token = (bytes: number) => randomBytes(bytes).toString('hex');

/** The status code of a SIP response to `callId`, or undefined when `text` is something else. */
function statusFor(text: string, callId: string): number | undefined {
  const status = /^SIP\/2\.0 (\d{3}) /.exec(text)?.[1];
  if (status === undefined) return undefined;
  const answered = /^(?:Call-ID|i)[ \t]*:[ \t]*(\S+)[ \t]*$/im.exec(text)?.[1];
  return answered === callId ? Number(status) : undefined;
}

export class WssRegistrant {
  readonly counts: ClientCounts = { pings: 0, keepalivesSent: 0, keepaliveAnswers: 0, unexpectedMessages: 0 };
  /** The random host this UA names itself by (RFC 7118 §5.2). */
  readonly #host = `${token(6)}.invalid`;
  readonly #ws: WebSocket;
  #closing = false;
  #keepalive: NodeJS.Timeout | undefined;
  #waiting: { callId: string; settle: (status: number) => void } | undefined;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('ping', () => this.counts.pings++);
    ws.on('message', (data: Buffer) => this.#take(data.toString('utf8')));
    ws.on('close', (code: number, reason: Buffer) => {
      clearInterval(this.#keepalive);
      if (!this.#closing) this.counts.closedUnexpectedly ??= { code, reason: reason.toString('utf8') };
      this.#waiting?.settle(0);
    });
  }

  /** Opens a WSS connection; resolves once it is upgraded (TCP, TLS and the HTTP upgrade done). */
  static open(options: ConnectOptions): Promise<WssRegistrant> {
    const ws = new WebSocket(options.url, ['sip'], {
      ca: options.ca,
      localAddress: options.localAddress,
      handshakeTimeout: options.timeoutMs,
      perMessageDeflate: false,
      origin: 'https://bench.invalid',
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => {
        ws.removeAllListeners('error');
        ws.on('error', () => undefined); // reported by the close that follows
        if (ws.protocol !== 'sip') {
          ws.terminate();
          reject(new Error(`the edge chose the subprotocol "${ws.protocol}", not sip`));
          return;
        }
        resolve(new WssRegistrant(ws));
      });
      ws.once('error', (error) => {
        ws.terminate();
        reject(error);
      });
    });
  }

  /** REGISTERs `user` for 600 s; resolves with the final status (0: none within `timeoutMs` or the connection closed). */
  register(user: string, domain: string, timeoutMs: number): Promise<number> {
    const callId = token(12);
    const message = [
      `REGISTER sip:${domain} SIP/2.0`,
      `Via: SIP/2.0/WSS ${this.#host};branch=z9hG4bK${token(10)}`,
      'Max-Forwards: 69',
      `To: <sip:${user}@${domain}>`,
      `From: <sip:${user}@${domain}>;tag=${token(5)}`,
      `Call-ID: ${callId}`,
      'CSeq: 1 REGISTER',
      `Contact: <sip:${token(4)}@${this.#host};transport=ws>;expires=600`,
      'Expires: 600',
      'Supported: path,gruu,outbound',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle(0), timeoutMs);
      const settle = (status: number) => {
        clearTimeout(timer);
        this.#waiting = undefined;
        resolve(status);
      };
      this.#waiting = { callId, settle };
      this.#ws.send(message);
    });
  }

  /** Sends a CRLFCRLF keep-alive every `intervalMs`, the first after `firstAfterMs`. */
  startKeepalives(intervalMs: number, firstAfterMs: number): void {
    const send = () => {
      if (this.#ws.readyState !== WebSocket.OPEN) return;
      this.counts.keepalivesSent++;
      this.#ws.send(KEEPALIVE);
    };
    this.#keepalive = setTimeout(() => {
      send();
      this.#keepalive = setInterval(send, intervalMs);
    }, firstAfterMs);
  }

  stopKeepalives(): void {
    clearTimeout(this.#keepalive);
    clearInterval(this.#keepalive);
  }

  get open(): boolean {
    return this.#ws.readyState === WebSocket.OPEN;
  }

  /** Closes the connection (1000) and resolves when it is closed; terminated if that takes over `graceMs`. */
  close(graceMs = 2000): Promise<void> {
    this.#closing = true;
    this.stopKeepalives();
    if (this.#ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#ws.terminate(), graceMs);
      this.#ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.#ws.close(1000);
    });
  }

  /** Drops the connection at once (clean-up after a failure or at the deadline). */
  terminate(): void {
    this.#closing = true;
    this.stopKeepalives();
    this.#ws.terminate();
  }

  #take(text: string): void {
    if (text === KEEPALIVE_ANSWER) {
      this.counts.keepaliveAnswers++;
      return;
    }
    const waiting = this.#waiting;
    const status = waiting === undefined ? undefined : statusFor(text, waiting.callId);
    if (status === undefined) this.counts.unexpectedMessages++;
    else if (status >= 200) waiting!.settle(status);
  }
}
