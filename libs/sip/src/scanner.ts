import { GEN_VALUE, TOKEN, isWhitespace } from './charsets.js';

/** Thrown by the value parsers; the message parser turns it into a SipParseError naming the header. */
export class SyntaxError extends Error {
  override name = 'SipSyntaxError';
}

/**
 * A cursor over one (unfolded) header value. Methods either consume what they expect or throw
 * SyntaxError; `skipLws` is always optional (LWS may surround separators, §7.3.1, §25.1).
 */
export class Scanner {
  pos = 0;
  constructor(readonly text: string) {}

  get done(): boolean {
    return this.pos >= this.text.length;
  }

  peek(): number {
    return this.pos < this.text.length ? this.text.charCodeAt(this.pos) : -1;
  }

  skipLws(): void {
    while (this.pos < this.text.length && isWhitespace(this.text.charCodeAt(this.pos))) this.pos++;
  }

  /** Consumes `ch` (after optional LWS) when present. */
  accept(ch: number): boolean {
    this.skipLws();
    if (this.peek() === ch) {
      this.pos++;
      return true;
    }
    return false;
  }

  expect(ch: number, what: string): void {
    if (!this.accept(ch)) this.fail(`expected ${what}`);
  }

  /** Reads a run of characters from `set` (at least one). */
  run(set: Uint8Array, what: string): string {
    const start = this.pos;
    while (this.pos < this.text.length && set[this.text.charCodeAt(this.pos)] === 1) this.pos++;
    if (this.pos === start) this.fail(`expected ${what}`);
    return this.text.slice(start, this.pos);
  }

  token(what = 'token'): string {
    this.skipLws();
    return this.run(TOKEN, what);
  }

  /** quoted-string = DQUOTE *(qdtext / quoted-pair) DQUOTE; returns it as written, quotes included. */
  quoted(): string {
    this.skipLws();
    const start = this.pos;
    if (this.peek() !== 0x22) this.fail('expected quoted string');
    this.pos++;
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x5c) {
        if (this.pos + 1 >= this.text.length) break;
        this.pos += 2;
      } else if (c === 0x22) {
        this.pos++;
        return this.text.slice(start, this.pos);
      } else this.pos++;
    }
    return this.fail('unterminated quoted string');
  }

  /** A parameter value: token, host, IPv6 reference or quoted string (gen-value, §25.1). */
  genValue(): string {
    this.skipLws();
    return this.peek() === 0x22 ? this.quoted() : this.run(GEN_VALUE, 'parameter value');
  }

  rest(): string {
    const r = this.text.slice(this.pos);
    this.pos = this.text.length;
    return r;
  }

  end(what: string): void {
    this.skipLws();
    if (!this.done) this.fail(`unexpected "${this.text.slice(this.pos, this.pos + 12)}" after ${what}`);
  }

  fail(message: string): never {
    throw new SyntaxError(message);
  }
}

/** Removes the quotes and quoted-pair backslashes of a quoted string as written. */
export function unquote(quoted: string): string {
  if (quoted.length < 2 || quoted.charCodeAt(0) !== 0x22) return quoted;
  const inner = quoted.slice(1, -1);
  return inner.indexOf('\\') < 0 ? inner : inner.replace(/\\(.)/gs, '$1');
}

/** Quotes a string for a header (quoted-string), escaping `"` and `\`. */
export function quote(text: string): string {
  return `"${text.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * Splits a list header value at top-level commas (outside quoted strings and <...>), trimming each
 * element; elements keep their original text. An empty element is kept as '' for the caller to reject.
 */
export function splitList(value: string): string[] {
  if (value.indexOf(',') < 0) return [value.trim()];
  const out: string[] = [];
  let start = 0;
  let inQuote = false;
  let inAngle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (inQuote) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inQuote = false;
    } else if (c === 0x22) inQuote = true;
    else if (c === 0x3c) inAngle = true;
    else if (c === 0x3e) inAngle = false;
    else if (c === 0x2c && !inAngle) {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(value.slice(start).trim());
  return out;
}
