/** The fuzz run's generator: mutations (sip-mutations.ts) and the plan of cases (fuzz-plan.ts). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planConnections, planDatagrams } from './fuzz-plan.js';
import { type SeedAddressing, requestSeeds } from './fuzz-seeds.js';
import { type Mutation, applyMutation, mutate, mutationsArbitrary } from './sip-mutations.js';

const MESSAGE = [
  'INVITE sip:bob@127.0.0.1 SIP/2.0',
  'v: SIP/2.0/UDP 127.0.0.2:5062;branch=z9hG4bK-1;rport',
  'Max-Forwards: 70',
  'From: <sip:alice@127.0.0.1>;tag=a',
  'To: <sip:bob@127.0.0.1>',
  'Call-ID: c1',
  'CSeq: 1 INVITE',
  'l: 5',
  '',
  'hello',
].join('\r\n');

const apply = (m: Mutation) => applyMutation(MESSAGE, m);
const rows = (text: string) => text.split('\r\n\r\n')[0]!.split('\r\n');

const addressing = (caseId: string): SeedAddressing => ({
  transport: 'UDP',
  proxyPort: 5060,
  sinkPort: 5070,
  sender: '127.0.0.2:5062',
  registrant: 'carol',
  callee: 'carol',
  caseId,
});

describe('sip mutations', () => {
  it('edit the rows a header has, in its long or compact form', () => {
    expect(rows(apply({ kind: 'remove-header', header: 'Via' }))).not.toContain(
      'v: SIP/2.0/UDP 127.0.0.2:5062;branch=z9hG4bK-1;rport',
    );
    expect(
      rows(apply({ kind: 'duplicate-header', header: 'CSeq', times: 2 })).filter((r) => r === 'CSeq: 1 INVITE'),
    ).toHaveLength(3);
    expect(rows(apply({ kind: 'header-value', header: 'Content-Length', value: '-1' }))).toContain('l: -1');
    expect(rows(apply({ kind: 'header-value', header: 'Expires', value: 'abc' })).at(-1)).toBe('Expires: abc');
    expect(rows(apply({ kind: 'huge-value', header: 'Call-ID', length: 3, fill: 'x' }))).toContain('Call-ID: c1xxx');
    expect(rows(apply({ kind: 'many-headers', header: 'X-Fuzz', count: 4 })).slice(-4)).toEqual([
      'X-Fuzz: 0',
      'X-Fuzz: 1',
      'X-Fuzz: 2',
      'X-Fuzz: 3',
    ]);
    expect(apply({ kind: 'fold', header: 'To', at: 1, whitespace: '\t' })).toContain('To: \r\n\t<sip:bob@127.0.0.1>');
  });

  it('edit the top Via: parameters and the sent-by port', () => {
    expect(rows(apply({ kind: 'via-param', name: 'rport', value: 'abc' }))[1]).toBe(
      'v: SIP/2.0/UDP 127.0.0.2:5062;branch=z9hG4bK-1;rport=abc',
    );
    expect(rows(apply({ kind: 'via-param', name: 'received', value: null }))[1]).toMatch(/;received$/);
    expect(rows(apply({ kind: 'via-port', port: '99999' }))[1]).toBe(
      'v: SIP/2.0/UDP 127.0.0.2:99999;branch=z9hG4bK-1;rport',
    );
  });

  it('change framing, line endings and the start line', () => {
    expect(apply({ kind: 'body-length', delta: 3 }).endsWith('helloxxx')).toBe(true);
    expect(apply({ kind: 'body-length', delta: -2 }).endsWith('\r\n\r\nhel')).toBe(true);
    expect(apply({ kind: 'line-endings', ending: '\n', head: true })).not.toContain('\r');
    expect(apply({ kind: 'start-line', part: 'version', value: 'SIP/3.0' })).toMatch(
      /^INVITE sip:bob@127\.0\.0\.1 SIP\/3\.0\r\n/,
    );
    expect(apply({ kind: 'start-line', part: 'uri', value: '' })).toMatch(/^INVITE {2}SIP\/2\.0\r\n/);
    expect(apply({ kind: 'as-response', status: '200', reason: 'OK' })).toMatch(/^SIP\/2\.0 200 OK\r\nv: /);
    expect(apply({ kind: 'paste-twice', separator: '' })).toBe(MESSAGE + MESSAGE);
  });

  it('change bytes anywhere (positions wrap around the length)', () => {
    expect(apply({ kind: 'truncate', at: 6 })).toBe('INVITE');
    expect(apply({ kind: 'flip', at: MESSAGE.length, mask: 0x20 })).toBe(`iNVITE${MESSAGE.slice(6)}`);
    expect(apply({ kind: 'special', at: 0, token: '\0', replace: 6 }).startsWith('\0 sip:')).toBe(true);
    expect(apply({ kind: 'delete', at: 0, length: 7 }).startsWith('sip:bob')).toBe(true);
    expect(apply({ kind: 'random-binary', prefix: 'SIP/2.0 ', bytes: [0, 255] })).toBe('SIP/2.0 \0\xff');
  });

  it('apply several in order and cap the length', () => {
    const huge: Mutation = { kind: 'huge-value', header: 'Subject', length: 10_000, fill: 'a' };
    expect(mutate(Buffer.from(MESSAGE, 'latin1'), [huge, { kind: 'flip', at: 0, mask: 1 }], 1000)).toHaveLength(1000);
  });

  it('are decided by the seed', () => {
    const draw = (seed: number) => JSON.stringify(fc.sample(mutationsArbitrary, { seed, numRuns: 50 }));
    expect(draw(7)).toBe(draw(7));
    expect(draw(7)).not.toBe(draw(8));
  });
});

describe('fuzz plan', () => {
  const options = {
    seed: 42,
    tag: 'u9',
    count: 200,
    seeds: (id: string) => requestSeeds(addressing(id)),
    maxLength: 65_507,
  };

  it('draws the same cases for the same seed, each case id unique', () => {
    const plan = planDatagrams({ ...options, guard: () => undefined });
    const again = planDatagrams({ ...options, guard: () => undefined });
    expect(plan.items).toHaveLength(200);
    expect(plan.items.map((c) => c.bytes.toString('latin1'))).toEqual(
      again.items.map((c) => c.bytes.toString('latin1')),
    );
    expect(new Set(plan.items.map((c) => c.id)).size).toBe(200);
    expect(plan.refused).toBe(0);
  });

  it('replaces a case the guard refuses with the next one drawn', () => {
    const plan = planDatagrams({
      ...options,
      guard: (bytes) => (bytes.includes('REGISTER') ? 'no REGISTER' : undefined),
    });
    expect(plan.items).toHaveLength(200);
    expect(plan.refused).toBeGreaterThan(0);
    expect(plan.items.every((c) => !c.bytes.includes('REGISTER'))).toBe(true);
  });

  it('fills connections with cases, cutting some inside their last case', () => {
    const plan = planConnections({ ...options, count: 300, guard: () => undefined });
    const cases = plan.items.reduce((n, c) => n + c.cases.length, 0);
    expect(cases).toBeGreaterThanOrEqual(300);
    const cut = plan.items.filter((c) => c.cutAt !== undefined);
    expect(cut.length).toBeGreaterThan(0);
    for (const c of cut) expect(c.cutAt).toBeLessThanOrEqual(c.cases.at(-1)!.bytes.length);
  });
});
