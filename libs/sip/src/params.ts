import type { Scanner } from './scanner.js';
import { unquote } from './scanner.js';

/** One `name[=value]` parameter as written (value null when the parameter has no `=`). */
export interface Param {
  readonly name: string;
  readonly value: string | null;
}

/**
 * An ordered parameter list (header parameters or URI parameters). Names compare case-insensitively
 * (§7.3.1, §19.1.4); order and spelling are kept so the list renders back as it was written.
 * Instances are immutable: `with` and `without` return new lists.
 */
export class Params {
  static readonly EMPTY = new Params([]);

  constructor(readonly list: readonly Param[]) {}

  get size(): number {
    return this.list.length;
  }

  private index(name: string): number {
    const list = this.list;
    for (let i = 0; i < list.length; i++) if (sameName(list[i]!.name, name)) return i;
    return -1;
  }

  has(name: string): boolean {
    return this.index(name) >= 0;
  }

  /** The value as written (quotes kept); null for a parameter without a value; undefined when absent. */
  get(name: string): string | null | undefined {
    const i = this.index(name);
    return i < 0 ? undefined : this.list[i]!.value;
  }

  /** The value with quotes removed, or undefined when absent or valueless. */
  text(name: string): string | undefined {
    const v = this.get(name);
    return v === null || v === undefined ? undefined : unquote(v);
  }

  with(name: string, value: string | null): Params {
    const i = this.index(name);
    const next = [...this.list];
    if (i < 0) next.push({ name, value });
    else next[i] = { name: this.list[i]!.name, value };
    return new Params(next);
  }

  without(name: string): Params {
    const i = this.index(name);
    if (i < 0) return this;
    return new Params(this.list.filter((_p, j) => j !== i));
  }

  toString(): string {
    let s = '';
    for (const p of this.list) s += p.value === null ? `;${p.name}` : `;${p.name}=${p.value}`;
    return s;
  }
}

/** ASCII case-insensitive equality without allocating (parameter names are tokens). */
function sameName(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  if (a === b) return true;
  for (let i = 0; i < a.length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y && (x | 0x20) !== (y | 0x20)) return false;
  }
  return a.toLowerCase() === b.toLowerCase();
}

/** Reads `*( SEMI generic-param )` from a header value (LWS allowed around `;` and `=`, §25.1). */
export function scanHeaderParams(sc: Scanner): Params {
  const list: Param[] = [];
  while (sc.accept(0x3b)) {
    const name = sc.token('parameter name');
    const value = sc.accept(0x3d) ? sc.genValue() : null;
    list.push({ name, value });
  }
  return list.length === 0 ? Params.EMPTY : new Params(list);
}
