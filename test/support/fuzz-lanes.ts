/**
 * The clients of a fuzz run: a lane sends cases one after another from its own loopback address
 * (127.0.0.2, 127.0.0.3, …: answers that follow a mutated Via port still come back to the same
 * address, never to another lane) and collects what comes back for each case. Every wait is bounded.
 *
 * - `UdpLane`: one datagram per case; waits until a final response has arrived, or nothing has
 *   arrived for `quietMs`, or `maxMs` has passed.
 * - `TcpLane`: several cases per connection, each written (sometimes in two pieces) and followed by
 *   a quiet wait; a connection may be cut in the middle of its last case. It also listens on its
 *   address (its Via sent-by), where responses go over a new connection when the original is
 *   gone (§18.2.2).
 */
import { type Socket as UdpSocket, createSocket } from 'node:dgram';
import { type Server, type Socket, connect, createServer } from 'node:net';
import { type ReplyPolicy, StreamReplies, datagramReplyProblem } from './reply-check.js';

export interface LaneTiming {
  /** How long a case waits when nothing comes back. */
  quietMs: number;
  /** Longest wait for one case. */
  maxMs: number;
}

/** What came back for one case: statuses in order and every problem found in the bytes. */
export interface CaseReplies {
  statuses: number[];
  problems: string[];
}

const STATUS = /^SIP\/2\.0 (\d{3}) /;

/** A UDP client on its own loopback address. */
export class UdpLane {
  private waiters: (() => void)[] = [];
  private inbox: Buffer[] = [];

  private constructor(
    readonly address: string,
    private readonly socket: UdpSocket,
    private readonly policy: ReplyPolicy,
  ) {
    socket.on('message', (data) => {
      this.inbox.push(data);
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static async open(address: string, policy: ReplyPolicy = {}): Promise<UdpLane> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, address, () => resolve());
    });
    return new UdpLane(address, socket, policy);
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Sends one datagram to `port` on 127.0.0.1 and collects the answers (see the module comment). */
  async exchange(datagram: Buffer, port: number, timing: LaneTiming): Promise<CaseReplies> {
    const replies: CaseReplies = { statuses: [], problems: [] };
    try {
      await new Promise<void>((resolve, reject) =>
        this.socket.send(datagram, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
      );
    } catch (error) {
      replies.problems.push(`send failed: ${(error as Error).message}`);
      return replies;
    }
    const deadline = Date.now() + timing.maxMs;
    let quietUntil = Date.now() + timing.quietMs;
    let final = false;
    while (!final && Date.now() < Math.min(deadline, quietUntil)) {
      if (this.inbox.length === 0) await this.arrival(Math.min(deadline, quietUntil) - Date.now());
      for (const data of this.inbox.splice(0)) {
        quietUntil = Date.now() + timing.quietMs;
        final ||= this.record(data, replies);
      }
    }
    return replies;
  }

  /** Whatever arrived since the last case (late answers), checked like the others. */
  drain(): CaseReplies {
    const replies: CaseReplies = { statuses: [], problems: [] };
    for (const data of this.inbox.splice(0)) this.record(data, replies);
    return replies;
  }

  close(): void {
    this.socket.close();
  }

  /** Checks one datagram into `replies`; true when it is a final response. */
  private record(data: Buffer, replies: CaseReplies): boolean {
    const problem = datagramReplyProblem(data, this.policy);
    if (problem !== undefined) replies.problems.push(problem);
    const status = STATUS.exec(data.toString('latin1', 0, 16));
    if (status === null) return false;
    replies.statuses.push(Number(status[1]));
    return Number(status[1]) >= 200;
  }

  private arrival(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, timeoutMs));
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** One connection's cases: written in order; `cutAt` ends the connection after that many bytes of the last case. */
export interface ConnectionScript {
  cases: Buffer[];
  cutAt?: number;
  /** Cases written in two pieces (by index). */
  splitCases: ReadonlySet<number>;
}

export interface ConnectionOutcome {
  /** Per case written: what came back while it was the latest case. */
  cases: CaseReplies[];
  /** The proxy closed the connection (e.g. after a framing error) before the test ended it. */
  closedByProxy: boolean;
  /** The connection could not be opened. */
  refused?: string;
}

/** A TCP client on its own loopback address, with a listener there for responses on new connections. */
export class TcpLane {
  /** Problems in what reached the listener (responses over a new connection, §18.2.2). */
  readonly listenerReplies: CaseReplies = { statuses: [], problems: [] };
  private readonly accepted = new Set<Socket>();

  private constructor(
    readonly address: string,
    private readonly server: Server,
    private readonly policy: ReplyPolicy,
  ) {
    server.on('connection', (socket) => {
      this.accepted.add(socket);
      const replies = new StreamReplies(policy);
      socket.on('data', (chunk: Buffer) => collect(replies.push(chunk), this.listenerReplies));
      socket.on('error', () => undefined);
      socket.on('close', () => this.accepted.delete(socket));
    });
  }

  static async open(address: string, policy: ReplyPolicy = {}): Promise<TcpLane> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, address, () => resolve());
    });
    return new TcpLane(address, server, policy);
  }

  /** The listener's port: the sent-by port of this lane's Vias. */
  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  /** Runs one connection to `port` on 127.0.0.1 (see the module comment). */
  async connection(script: ConnectionScript, port: number, timing: LaneTiming): Promise<ConnectionOutcome> {
    const outcome: ConnectionOutcome = { cases: [], closedByProxy: false };
    let socket: Socket;
    try {
      socket = await open(port, this.address);
    } catch (error) {
      return { ...outcome, refused: (error as Error).message };
    }
    const replies = new StreamReplies(this.policy);
    let current: CaseReplies = { statuses: [], problems: [] };
    let lastActivity = Date.now();
    let closed = false;
    socket.on('data', (chunk: Buffer) => {
      lastActivity = Date.now();
      collect(replies.push(chunk), current);
    });
    socket.on('close', () => (closed = true));
    socket.on('error', () => undefined);
    for (const [index, bytes] of script.cases.entries()) {
      if (closed) break;
      if (index > 0) current = { statuses: [], problems: [] };
      outcome.cases.push(current);
      const last = index === script.cases.length - 1;
      const cut = last && script.cutAt !== undefined;
      const written = cut ? bytes.subarray(0, script.cutAt) : bytes;
      await write(socket, written, script.splitCases.has(index));
      if (cut) break;
      lastActivity = Date.now();
      const deadline = Date.now() + timing.maxMs;
      while (!closed && Date.now() < deadline && Date.now() - lastActivity < timing.quietMs) {
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    outcome.closedByProxy = closed;
    socket.destroy();
    return outcome;
  }

  async close(): Promise<void> {
    for (const socket of this.accepted) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** How long a connection may take to open. */
const CONNECT_TIMEOUT_MS = 3000;

function open(port: number, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no connection in ${CONNECT_TIMEOUT_MS} ms`));
    }, CONNECT_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Writes the bytes, in two pieces a moment apart when `split`; a connection already closed is no error. */
async function write(socket: Socket, bytes: Buffer, split: boolean): Promise<void> {
  if (socket.destroyed || !socket.writable) return;
  if (split && bytes.length > 1) {
    const half = bytes.length >> 1;
    socket.write(bytes.subarray(0, half));
    await new Promise((r) => setTimeout(r, 1));
    if (socket.destroyed || !socket.writable) return;
    socket.write(bytes.subarray(half));
  } else socket.write(bytes);
}

function collect(framed: ReturnType<StreamReplies['push']>, into: CaseReplies): void {
  into.problems.push(...framed.problems);
  for (const response of framed.responses) into.statuses.push(response.status);
}
