/** The link between an edge and a worker of one process (standalone mode): who is attached when. */
import { describe, expect, it } from 'vitest';
import { type LocalEdge, LocalLink, type LocalWorker } from '../src/index.js';

const worker = (): LocalWorker => ({ take: async () => undefined });
const edge = (): LocalEdge => ({ send: async () => ({ ok: true }) });

describe('LocalLink', () => {
  it('has the worker from its attaching to its detaching', () => {
    const link = new LocalLink();
    const w = worker();
    expect(link.worker).toBeUndefined();
    const detach = link.attachWorker(w);
    expect(link.worker).toBe(w);
    detach();
    expect(link.worker).toBeUndefined();
  });

  it('finds an edge by its id, and any attached edge for a message any edge may send', () => {
    const link = new LocalLink();
    const e1 = edge();
    expect(link.edge(undefined)).toBeUndefined();
    const detach = link.attachEdge('e1', e1);
    expect(link.edge('e1')).toBe(e1);
    expect(link.edge('e2')).toBeUndefined();
    expect(link.edge(undefined)).toBe(e1);
    detach();
    expect(link.edge('e1')).toBeUndefined();
    expect(link.edge(undefined)).toBeUndefined();
  });

  it('does not let a detach that comes late remove what took its place', () => {
    const link = new LocalLink();
    const detachFirst = link.attachWorker(worker());
    const second = worker();
    link.attachWorker(second);
    detachFirst();
    expect(link.worker).toBe(second);
    const leaveFirst = link.attachEdge('e1', edge());
    const next = edge();
    link.attachEdge('e1', next);
    leaveFirst();
    expect(link.edge('e1')).toBe(next);
  });
});
