/**
 * Ringing calls for the benchmark, outside SIPp: a raw UDP callee that answers each INVITE 100 and
 * 180 and never 200, and a raw UDP caller whose INVITEs carry an Expires. The worker keeps an
 * INVITE's Expires as a durable deadline of the call (RFC 3261 §13.3.1; the record's `expiresDue`,
 * in its one deadline job with Timer C: services/worker/src/deadlines.ts); when it runs out
 * unanswered the branch is CANCELled (§16.8, §9.1): the callee sees when the deadline fired.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { buildResponse, parseMessage, type SipMessage } from '@sipedge/sip';

/** How often the caller resends an INVITE that got no response yet, and how many times at most. */
const RESEND_MS = 500;
const RESENDS = 6;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const token = () => randomBytes(6).toString('hex');

/** A UDP socket on 127.0.0.1 that hands each SIP message it can parse to `take`. */
async function sipSocket(take: (message: SipMessage, from: RemoteInfo) => void): Promise<Socket> {
  const socket = createSocket('udp4');
  socket.on('message', (data, from) => {
    let message: SipMessage;
    try {
      message = parseMessage(data);
    } catch {
      return;
    }
    take(message, from);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket;
}

/**
 * Sends now, then again every 500 ms (no doubling) until `stop()` holds, 6 times at most; returns
 * the interval, to clear at the end.
 */
function sendAndResend(send: () => void, stop: () => boolean): NodeJS.Timeout {
  send();
  let left = RESENDS;
  const timer = setInterval(() => {
    if (stop() || left-- <= 0) clearInterval(timer);
    else send();
  }, RESEND_MS);
  return timer;
}

/** What the callee saw of one call. */
export interface CalleeCall {
  invite: SipMessage;
  invitedAt: number;
  toTag: string;
  ringingAt?: number;
  cancelAt?: number;
  /** The last response to the INVITE (sent again for a retransmitted INVITE). */
  answer?: Buffer;
  acked: boolean;
}

/**
 * Answers each INVITE 100 and 180 (To-tag, Contact, the Record-Route set copied: §8.2.6, §12.1.1),
 * never 200; a CANCEL 200 (§9.2), then the INVITE 487, resent until its ACK.
 */
export class Callee {
  readonly calls = new Map<string, CalleeCall>();
  private readonly timers: NodeJS.Timeout[] = [];
  private socket!: Socket;

  static async open(): Promise<Callee> {
    const callee = new Callee();
    callee.socket = await sipSocket((message, from) => callee.take(message, from));
    return callee;
  }

  get port(): number {
    return this.socket.address().port;
  }

  private send(message: Buffer, to: RemoteInfo): void {
    this.socket.send(message, to.port, to.address);
  }

  private respond(call: CalleeCall, request: SipMessage, status: number, to: RemoteInfo): Buffer {
    const headers: [string, string][] = request.values('Record-Route').map((rr) => ['Record-Route', rr]);
    if (status > 100 && request.method === 'INVITE') headers.push(['Contact', `<sip:callee@127.0.0.1:${this.port}>`]);
    const response = buildResponse(request, status, { toTag: call.toTag, headers }).toBuffer();
    this.send(response, to);
    return response;
  }

  private take(message: SipMessage, from: RemoteInfo): void {
    if (!message.isRequest) return;
    const call = this.calls.get(message.callId);
    switch (message.method) {
      case 'INVITE':
        if (call !== undefined) return this.send(call.answer!, from);
        return this.ring(message, from);
      case 'CANCEL':
        if (call === undefined) return this.send(buildResponse(message, 481).toBuffer(), from);
        this.respond(call, message, 200, from);
        if (call.cancelAt !== undefined) return;
        call.cancelAt = Date.now();
        call.answer = this.respond(call, call.invite, 487, from);
        this.timers.push(
          sendAndResend(
            () => this.send(call.answer!, from),
            () => call.acked,
          ),
        );
        return;
      case 'ACK':
        if (call !== undefined) call.acked = true;
        return;
      default:
        this.send(buildResponse(message, message.method === 'OPTIONS' ? 200 : 501).toBuffer(), from);
    }
  }

  private ring(invite: SipMessage, from: RemoteInfo): void {
    const call: CalleeCall = { invite, invitedAt: Date.now(), toTag: token(), acked: false };
    this.calls.set(invite.callId, call);
    this.respond(call, invite, 100, from);
    call.answer = this.respond(call, invite, 180, from);
    call.ringingAt = Date.now();
  }

  close(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.socket?.close();
  }
}

/** What the caller saw of one call. */
export interface CallerCall {
  callId: string;
  /** The INVITE's Via and From, as the ACK of a non-2xx response repeats them (§17.1.1.3). */
  via: string;
  from: string;
  sentAt: number;
  answered: boolean;
  /** When the first 487 arrived; the status of another final response. */
  terminatedAt?: number;
  otherFinal?: number;
}

/**
 * Sends INVITEs through the proxy, each resent until any response, and ACKs a final response
 * (§17.1.1.3: the INVITE's Via, From, Call-ID and CSeq number, the response's To).
 */
export class Caller {
  readonly calls = new Map<string, CallerCall>();
  private readonly timers: NodeJS.Timeout[] = [];
  private socket!: Socket;

  private constructor(
    private readonly proxy: { host: string; port: number },
    private readonly requestUri: string,
    private readonly expiresSeconds: number,
  ) {}

  static async open(proxy: string, requestUri: string, expiresSeconds: number): Promise<Caller> {
    const colon = proxy.lastIndexOf(':');
    const caller = new Caller(
      { host: proxy.slice(0, colon), port: Number(proxy.slice(colon + 1)) },
      requestUri,
      expiresSeconds,
    );
    caller.socket = await sipSocket((message) => caller.take(message));
    return caller;
  }

  private send(message: Buffer): void {
    this.socket.send(message, this.proxy.port, this.proxy.host);
  }

  private request(method: string, call: CallerCall, to: string, more: string[]): Buffer {
    return Buffer.from(
      [
        `${method} ${this.requestUri} SIP/2.0`,
        `Via: ${call.via}`,
        'Max-Forwards: 70',
        `From: ${call.from}`,
        `To: ${to}`,
        `Call-ID: ${call.callId}`,
        `CSeq: 1 ${method}`,
        ...more,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
  }

  invite(): CallerCall {
    const local = `127.0.0.1:${this.socket.address().port}`;
    const call: CallerCall = {
      callId: `${token()}@takeover`,
      via: `SIP/2.0/UDP ${local};branch=z9hG4bK${token()};rport`,
      from: `<sip:caller@${local}>;tag=${token()}`,
      sentAt: Date.now(),
      answered: false,
    };
    this.calls.set(call.callId, call);
    const invite = this.request('INVITE', call, `<${this.requestUri}>`, [
      `Contact: <sip:caller@${local}>`,
      `Expires: ${this.expiresSeconds}`,
    ]);
    this.timers.push(
      sendAndResend(
        () => this.send(invite),
        () => call.answered,
      ),
    );
    return call;
  }

  private take(message: SipMessage): void {
    if (!message.isResponse || message.cseq.method !== 'INVITE') return;
    const call = this.calls.get(message.callId);
    if (call === undefined) return;
    call.answered = true;
    if (message.status < 200) return;
    if (message.status === 487) call.terminatedAt ??= Date.now();
    else call.otherFinal ??= message.status;
    this.send(this.request('ACK', call, message.get('To') ?? '', []));
  }

  close(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.socket?.close();
  }
}

/** Polls `done` every 20 ms until it holds or `until` (epoch ms) passes; whether it held. */
export async function waitFor(done: () => boolean, until: number): Promise<boolean> {
  while (!done()) {
    if (Date.now() >= until) return false;
    await sleep(20);
  }
  return true;
}

/** What became of the calls `ExpiringCalls` offered. */
export interface ExpiringOutcome {
  sent: number;
  /** Calls whose CANCEL reached the callee: their deadline fired. */
  cancelled: number;
  /** Calls whose 487 reached the caller. */
  terminated: number;
}

/**
 * Ringing calls offered at a low rate beside a benchmark step's load, each ended by its INVITE's
 * Expires: deadlines that fire while the load runs, so the step measures their lateness at that
 * load (a call that completes normally fires none).
 */
export class ExpiringCalls {
  private constructor(
    private readonly caller: Caller,
    private readonly callee: Callee,
    private readonly sender: NodeJS.Timeout,
  ) {}

  /** Starts offering `rate` calls a second to `target` (host:port) for `forMs`. */
  static async start(
    target: string,
    options: { rate: number; forMs: number; expiresSeconds: number },
  ): Promise<ExpiringCalls> {
    const callee = await Callee.open();
    const caller = await Caller.open(target, `sip:expiring@127.0.0.1:${callee.port}`, options.expiresSeconds);
    const offered = Math.floor((options.rate * options.forMs) / 1000);
    const sender = setInterval(() => {
      if (caller.calls.size >= offered) clearInterval(sender);
      else caller.invite();
    }, 1000 / options.rate);
    return new ExpiringCalls(caller, callee, sender);
  }

  /**
   * Stops offering, waits until every call offered has been CANCELled and has ended (`until`, epoch
   * ms, at the latest) and closes the sockets.
   */
  async finish(until: number): Promise<ExpiringOutcome> {
    clearInterval(this.sender);
    const sent = [...this.caller.calls.values()];
    const cancelled = () => sent.filter((c) => this.callee.calls.get(c.callId)?.cancelAt !== undefined).length;
    const terminated = () => sent.filter((c) => c.terminatedAt !== undefined).length;
    try {
      await waitFor(() => cancelled() === sent.length && terminated() === sent.length, until);
      return { sent: sent.length, cancelled: cancelled(), terminated: terminated() };
    } finally {
      this.caller.close();
      this.callee.close();
    }
  }
}
