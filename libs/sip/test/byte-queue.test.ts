import { describe, expect, it } from 'vitest';
import { ByteQueue } from '../src/byte-queue.js';

describe('ByteQueue (the stream framer’s buffer)', () => {
  it('gives the bytes back in order across appends and consumes', () => {
    const queue = new ByteQueue();
    queue.append(Buffer.from('hello '));
    queue.append(Buffer.from('world'));
    queue.consume(6);
    queue.append(Buffer.from('!'));
    expect(queue.view().toString()).toBe('world!');
    expect(queue.length).toBe(6);
  });

  it('releases a large buffer once empty, keeping a small one', () => {
    const queue = new ByteQueue();
    queue.append(Buffer.alloc(60_000));
    expect(queue.capacity).toBeGreaterThanOrEqual(60_000);
    queue.consume(59_000);
    expect(queue.capacity).toBeGreaterThanOrEqual(60_000); // still holds 1,000 bytes
    queue.consume(1000);
    expect(queue.capacity).toBe(0);
    queue.append(Buffer.alloc(500));
    queue.consume(500);
    expect(queue.capacity).toBe(1024);
  });
});
