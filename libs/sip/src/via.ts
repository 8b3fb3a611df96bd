import { HOSTNAME, IPV6, isDigits } from './charsets.js';
import type { Params } from './params.js';
import { scanHeaderParams } from './params.js';
import { Scanner } from './scanner.js';

/** RFC 3261 magic cookie that marks a branch as RFC 3261-compliant (§8.1.1.7). */
export const MAGIC_COOKIE = 'z9hG4bK';

export interface ViaParts {
  protocol: string;
  version: string;
  /** Transport as written, upper-cased (UDP, TCP, TLS, SCTP, WS, ...). */
  transport: string;
  /** sent-by host as written (IPv6 keeps its brackets). */
  host: string;
  port: number | null;
  params: Params;
}

/** One Via value (RFC 3261 §20.42, §18.2.1, RFC 3581). Immutable; `with` returns a modified copy. */
export class Via implements ViaParts {
  readonly protocol: string;
  readonly version: string;
  readonly transport: string;
  readonly host: string;
  readonly port: number | null;
  readonly params: Params;

  constructor(parts: ViaParts) {
    this.protocol = parts.protocol;
    this.version = parts.version;
    this.transport = parts.transport;
    this.host = parts.host;
    this.port = parts.port;
    this.params = parts.params;
  }

  get branch(): string | undefined {
    return this.params.text('branch');
  }

  get received(): string | undefined {
    return this.params.text('received');
  }

  get maddr(): string | undefined {
    return this.params.text('maddr');
  }

  get ttl(): number | undefined {
    const t = this.params.text('ttl');
    return t === undefined ? undefined : Number(t);
  }

  /** RFC 3581: undefined when absent, null when present without a value (a request for it), else the port. */
  get rport(): number | null | undefined {
    const v = this.params.get('rport');
    if (v === undefined) return undefined;
    return v === null ? null : Number(v);
  }

  /** `host[:port]` as it compares for transaction matching (§17.2.3): host lower-cased. */
  get sentBy(): string {
    const host = this.host.toLowerCase();
    return this.port === null ? host : `${host}:${this.port}`;
  }

  /** True when the branch starts with the RFC 3261 magic cookie. */
  get rfc3261Branch(): boolean {
    return this.branch?.startsWith(MAGIC_COOKIE) === true;
  }

  with(changes: Partial<ViaParts>): Via {
    return new Via({ ...this, ...changes });
  }

  withParam(name: string, value: string | null): Via {
    return this.with({ params: this.params.with(name, value) });
  }

  toString(): string {
    const port = this.port === null ? '' : `:${this.port}`;
    return `${this.protocol}/${this.version}/${this.transport} ${this.host}${port}${this.params.toString()}`;
  }
}

/** Parses one Via value: sent-protocol LWS sent-by *( SEMI via-params ), LWS allowed around "/". */
export function parseVia(value: string): Via {
  const sc = new Scanner(value);
  const protocol = sc.token('protocol name');
  sc.expect(0x2f, '"/" after protocol name');
  const version = sc.token('protocol version');
  sc.expect(0x2f, '"/" after protocol version');
  const transport = sc.token('transport').toUpperCase();
  sc.skipLws();
  let host: string;
  if (sc.peek() === 0x5b) {
    const close = value.indexOf(']', sc.pos);
    if (close < 0) sc.fail('unterminated IPv6 reference in Via');
    host = value.slice(sc.pos, close + 1);
    if (host.length < 4 || !host.includes(':')) sc.fail('bad IPv6 reference in Via');
    for (let i = 1; i < host.length - 1; i++) if (IPV6[host.charCodeAt(i)] !== 1) sc.fail('bad IPv6 reference in Via');
    sc.pos = close + 1;
  } else {
    host = sc.run(HOSTNAME, 'sent-by host');
  }
  let port: number | null = null;
  if (sc.accept(0x3a)) {
    sc.skipLws();
    const digits = sc.run(DIGITS, 'sent-by port');
    port = Number(digits);
    if (digits.length > 5 || port > 65535) sc.fail('sent-by port out of range');
  }
  const params = scanHeaderParams(sc);
  sc.end('Via parameters');
  checkViaParams(sc, params);
  return new Via({ protocol, version, transport, host, port, params });
}

const DIGITS = new Uint8Array(256).fill(1, 0x30, 0x3a);

function checkViaParams(sc: Scanner, params: Params): void {
  for (const name of ['branch', 'received', 'maddr', 'ttl']) {
    if (params.get(name) === null) sc.fail(`Via parameter "${name}" needs a value`);
  }
  const rport = params.get('rport');
  if (rport !== undefined && rport !== null && (!isDigits(rport) || Number(rport) > 65535)) sc.fail('bad rport');
  const ttl = params.get('ttl');
  if (ttl !== undefined && ttl !== null && (!isDigits(ttl) || Number(ttl) > 255)) sc.fail('bad ttl');
}
