import { createLogger } from '@sipedge/telemetry';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UnheardCallbacks } from '../src/internal.js';

const logger = createLogger({ name: 'test', level: 'silent' });
const WINDOW = 1000;

describe('UnheardCallbacks', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it('runs a callback once, by its number', () => {
    const callbacks = new UnheardCallbacks(WINDOW);
    const calls: string[] = [];
    const a = callbacks.add(() => calls.push('a'));
    const b = callbacks.add(() => calls.push('b'));
    expect(a).not.toBe(b);
    callbacks.unheard(b, logger);
    callbacks.unheard(b, logger);
    expect(calls).toEqual(['b']);
    expect(callbacks.size).toBe(1);
  });

  it('forgets a callback one to two windows after it was added', () => {
    const callbacks = new UnheardCallbacks(WINDOW);
    const calls: string[] = [];
    const a = callbacks.add(() => calls.push('a'));
    vi.advanceTimersByTime(WINDOW);
    const b = callbacks.add(() => calls.push('b'));
    vi.advanceTimersByTime(WINDOW);
    callbacks.add(() => calls.push('c'));
    callbacks.unheard(a, logger);
    callbacks.unheard(b, logger);
    expect(calls).toEqual(['b']);
    expect(callbacks.size).toBe(1);
  });

  it('logs a callback that throws instead of throwing', () => {
    const callbacks = new UnheardCallbacks(WINDOW);
    const warn = vi.spyOn(logger, 'warn');
    const id = callbacks.add(() => {
      throw new Error('boom');
    });
    expect(() => callbacks.unheard(id, logger)).not.toThrow();
    expect(warn).toHaveBeenCalledOnce();
  });
});
