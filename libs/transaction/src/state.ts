import type { TransactionState } from './types.js';

export const STATE_VERSION = 1;

/** A transaction record as JSON text. */
export function serialise(state: TransactionState): string {
  return JSON.stringify(state);
}

/** Reads a record written by `serialise`; throws a TypeError for another schema version or a malformed record. */
export function deserialise(text: string): TransactionState {
  const value = JSON.parse(text) as Partial<TransactionState> | null;
  if (value === null || typeof value !== 'object') throw new TypeError('transaction record: expected an object');
  if (value.v !== STATE_VERSION) throw new TypeError(`transaction record: unsupported version ${String(value.v)}`);
  for (const field of ['kind', 'state', 'key', 'request'] as const) {
    if (typeof value[field] !== 'string') throw new TypeError(`transaction record: missing ${field}`);
  }
  return value as TransactionState;
}
