/**
 * The cases of a fuzz run, decided by one seed: which valid message each case starts from and
 * which mutations it gets (sip-mutations.ts), for UDP lanes (one datagram per case) and TCP lanes
 * (connections of several cases, some cut in the middle). A case the loopback guard refuses is
 * replaced by the next one drawn, so the same seed and addressing give the same cases.
 */
import fc from 'fast-check';
import type { Seed } from './fuzz-seeds.js';
import { type Mutation, applyMutation, mutate, mutationsArbitrary } from './sip-mutations.js';

export interface FuzzCase {
  /** Unique in the run (lane tag and number); part of the case's Call-ID and branch. */
  id: string;
  seedName: string;
  mutations: Mutation[];
  bytes: Buffer;
}

export interface PlanOptions {
  /** fast-check seed of this lane. */
  seed: number;
  /** Prefix of the case ids (the lane). */
  tag: string;
  /** Cases wanted. */
  count: number;
  /** The valid messages, for a case id. */
  seeds: (caseId: string) => Seed[];
  /** Why bytes may not be sent (loopback-guard.ts), or undefined. */
  guard: (bytes: Buffer) => string | undefined;
  /** Longest case in bytes (a UDP datagram must fit in 65,507). */
  maxLength: number;
}

export interface Plan<T> {
  items: T[];
  /** Cases drawn and refused by the guard. */
  refused: number;
}

/** A TCP connection of the plan: its cases in order, the bytes of the last one written before the cut, split writes. */
export interface ConnectionCases {
  cases: FuzzCase[];
  cutAt?: number;
  splitCases: ReadonlySet<number>;
}

interface CaseSpec {
  seed: number;
  mutations: Mutation[];
}

const caseSpec: fc.Arbitrary<CaseSpec> = fc.record({ seed: fc.nat(), mutations: mutationsArbitrary });

const connectionSpec = fc.record({
  cases: fc.array(caseSpec, { minLength: 1, maxLength: 6 }),
  /** One connection in four is cut in the middle of its last case. */
  cut: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat() }),
  split: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
});

/** Draws at most this many batches before giving up (the guard refuses few cases). */
const MAX_BATCHES = 20;

/** `count` datagrams. */
export function planDatagrams(options: PlanOptions): Plan<FuzzCase> {
  let n = 0;
  return draw(options, caseSpec, options.count, (spec) => {
    const c = buildCase(options, spec, n++);
    return options.guard(c.bytes) === undefined ? { item: c, cases: 1 } : undefined;
  });
}

/** Connections holding at least `count` cases in all. */
export function planConnections(options: PlanOptions): Plan<ConnectionCases> {
  let n = 0;
  return draw(options, connectionSpec, options.count, (spec) => {
    const cases = spec.cases.map((c) => buildCase(options, c, n++));
    const last = cases[cases.length - 1]!.bytes;
    const cutAt = spec.cut === null ? undefined : spec.cut % (last.length + 1);
    const written = Buffer.concat([...cases.slice(0, -1).map((c) => c.bytes), last.subarray(0, cutAt)]);
    if (options.guard(written) !== undefined) return undefined;
    const splitCases = new Set(spec.split.flatMap((split, i) => (split ? [i] : [])));
    return { item: { cases, ...(cutAt === undefined ? {} : { cutAt }), splitCases }, cases: cases.length };
  });
}

/** The seed's bytes, turned into a response first (`SIP/2.0 200 OK`): a request sent as a response. */
export function asResponse(seed: Seed): Seed {
  const text = applyMutation(seed.bytes.toString('latin1'), { kind: 'as-response', status: '200', reason: 'OK' });
  return { name: `${seed.name}, as a response`, bytes: Buffer.from(text, 'latin1') };
}

function buildCase(options: PlanOptions, spec: CaseSpec, n: number): FuzzCase {
  const id = `${options.tag}-${String(n).padStart(5, '0')}`;
  const seeds = options.seeds(id);
  const seed = seeds[spec.seed % seeds.length]!;
  return {
    id,
    seedName: seed.name,
    mutations: spec.mutations,
    bytes: mutate(seed.bytes, spec.mutations, options.maxLength),
  };
}

/** Samples batches of specs (seed, seed + 1, …) until `count` cases are accepted. */
function draw<S, T>(
  options: PlanOptions,
  arbitrary: fc.Arbitrary<S>,
  count: number,
  accept: (spec: S) => { item: T; cases: number } | undefined,
): Plan<T> {
  const items: T[] = [];
  let cases = 0;
  let refused = 0;
  for (let batch = 0; batch < MAX_BATCHES && cases < count; batch++) {
    for (const spec of fc.sample(arbitrary, { seed: options.seed + batch, numRuns: count })) {
      const accepted = accept(spec);
      if (accepted === undefined) {
        refused++;
        continue;
      }
      items.push(accepted.item);
      cases += accepted.cases;
      if (cases >= count) break;
    }
  }
  if (cases < count) throw new Error(`fuzz plan ${options.tag}: only ${cases} of ${count} cases passed the guard`);
  return { items, refused };
}
