/**
 * One fuzz run against a proxy: lanes (fuzz-lanes.ts) send the cases the plan draws for them
 * (fuzz-plan.ts, from the seeds of fuzz-seeds.ts, through the loopback guard), and the run tallies
 * what came back per case and records every violation: bytes that are not a well-formed response
 * (reply-check.ts), and any answer at all on a lane that sends only responses.
 */
import { type CaseReplies, type LaneTiming, TcpLane, UdpLane } from './fuzz-lanes.js';
import { type FuzzCase, asResponse, planConnections, planDatagrams } from './fuzz-plan.js';
import { type SeedTransport, requestSeeds, responseSeeds } from './fuzz-seeds.js';
import { type GuardPolicy, datagramProblem, streamProblem } from './loopback-guard.js';
import { noteRegisteredContacts, printable } from './reply-check.js';

export interface FuzzRunOptions {
  /** The run's seed; lane `i` draws from `seed + 1000·i`. */
  seed: number;
  proxyPort: number;
  sinkPort: number;
  /** The proxy's SIPEDGE_MAX_MESSAGE_SIZE. */
  maxMessageSize: number;
  /** The user TCP lanes register: their bindings are fuzz connections, so nothing may call it. */
  flowUser: string;
  /** The user UDP lanes register (contact: the sink) and every lane calls. */
  callee: string;
  /** No lane starts a case after this time (epoch ms). */
  deadline: number;
  udpTiming: LaneTiming;
  tcpTiming: LaneTiming;
}

export interface LaneOptions {
  /** The lane's loopback address. */
  address: string;
  /** Its number in the run: its seed and the prefix of its case ids. */
  index: number;
  count: number;
  /** Send only responses (and requests turned into responses): nothing may come back. */
  onlyResponses: boolean;
}

export interface Violation {
  where: string;
  problem: string;
}

/** How many violations are kept with their details (all are counted). */
const KEPT_VIOLATIONS = 20;
/** The largest UDP payload over IPv4. */
const MAX_DATAGRAM = 65_507;
/** How long a lane listens for late answers after its last case. */
const LINGER_MS = 500;

/** Outcomes of cases: the last final status, "1xx only" or "no answer", counted. */
export class Tally {
  cases = 0;
  readonly outcomes = new Map<string, number>();

  add(replies: CaseReplies): void {
    this.cases++;
    const finals = replies.statuses.filter((s) => s >= 200);
    const outcome = finals.length > 0 ? String(finals.at(-1)) : replies.statuses.length > 0 ? '1xx only' : 'no answer';
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
  }

  toString(): string {
    return [...this.outcomes]
      .sort((a, b) => b[1] - a[1])
      .map(([outcome, count]) => `${outcome}×${count}`)
      .join(' ');
  }
}

export class FuzzRun {
  readonly udp = { requests: new Tally(), responses: new Tally(), refused: 0 };
  readonly tcp = {
    requests: new Tally(),
    responses: new Tally(),
    refused: 0,
    connections: 0,
    cut: 0,
    closedByProxy: 0,
  };
  readonly violations: Violation[] = [];
  violationCount = 0;

  constructor(private readonly options: FuzzRunOptions) {}

  violation(where: string, problem: string): void {
    this.violationCount++;
    if (this.violations.length < KEPT_VIOLATIONS) this.violations.push({ where, problem });
  }

  /** One UDP lane: a datagram per case, each waited for. */
  async udpLane({ address, index, count, onlyResponses }: LaneOptions): Promise<void> {
    // The contacts this lane's REGISTER cases named: the registrar may reach them through the lane.
    const registered = new Set<string>();
    const lane = await UdpLane.open(address, { registered });
    const plan = planDatagrams({
      seed: this.options.seed + 1000 * index,
      tag: `u${index}`,
      count,
      seeds: this.seeds('UDP', `${address}:${lane.port}`, onlyResponses),
      guard: (bytes) => datagramProblem(bytes, this.policy(address, lane.port, onlyResponses)),
      maxLength: MAX_DATAGRAM,
    });
    this.udp.refused += plan.refused;
    const tally = onlyResponses ? this.udp.responses : this.udp.requests;
    let last: FuzzCase | undefined;
    for (const c of plan.items) {
      noteRegisteredContacts(c.bytes, registered);
      if (Date.now() > this.options.deadline) break;
      const replies = await lane.exchange(c.bytes, this.options.proxyPort, this.options.udpTiming);
      tally.add(replies);
      this.check('udp', c, replies, onlyResponses);
      last = c;
    }
    await new Promise((r) => setTimeout(r, LINGER_MS));
    if (last !== undefined) this.check('udp', last, lane.drain(), onlyResponses);
    lane.close();
  }

  /** One TCP lane: connections of several cases, one after another. */
  async tcpLane({ address, index, count, onlyResponses }: LaneOptions): Promise<void> {
    const registered = new Set<string>();
    const lane = await TcpLane.open(address, { registered });
    const plan = planConnections({
      seed: this.options.seed + 1000 * index,
      tag: `t${index}`,
      count,
      seeds: this.seeds('TCP', `${address}:${lane.port}`, onlyResponses),
      guard: (bytes) => streamProblem(bytes, this.policy(address, lane.port, onlyResponses)),
      maxLength: 3 * this.options.maxMessageSize,
    });
    this.tcp.refused += plan.refused;
    const tally = onlyResponses ? this.tcp.responses : this.tcp.requests;
    for (const connection of plan.items) {
      for (const c of connection.cases) noteRegisteredContacts(c.bytes, registered);
      if (Date.now() > this.options.deadline) break;
      const script = { ...connection, cases: connection.cases.map((c) => c.bytes) };
      const outcome = await lane.connection(script, this.options.proxyPort, this.options.tcpTiming);
      if (outcome.refused !== undefined) {
        this.violation(`tcp connection ${connection.cases[0]!.id}`, `refused: ${outcome.refused}`);
        continue;
      }
      this.tcp.connections++;
      if (connection.cutAt !== undefined) this.tcp.cut++;
      if (outcome.closedByProxy) this.tcp.closedByProxy++;
      outcome.cases.forEach((replies, i) => {
        tally.add(replies);
        this.check('tcp', connection.cases[i]!, replies, onlyResponses);
      });
    }
    await new Promise((r) => setTimeout(r, LINGER_MS));
    const late = lane.listenerReplies;
    for (const problem of late.problems) this.violation(`tcp listener ${address}`, problem);
    if (onlyResponses && late.statuses.length > 0) {
      this.violation(`tcp listener ${address}`, `responses were answered: ${late.statuses.join(', ')}`);
    }
    await lane.close();
  }

  /** Cases in all, per transport. */
  get cases(): { udp: number; tcp: number } {
    return {
      udp: this.udp.requests.cases + this.udp.responses.cases,
      tcp: this.tcp.requests.cases + this.tcp.responses.cases,
    };
  }

  /** What the cases produced, per transport (one line). */
  toString(): string {
    const { udp, tcp } = this;
    return (
      `udp ${this.cases.udp} cases (${udp.requests.cases} requests: ${udp.requests}; ` +
      `${udp.responses.cases} responses: ${udp.responses}) · tcp ${this.cases.tcp} cases in ${tcp.connections} ` +
      `connections, ${tcp.cut} cut, ${tcp.closedByProxy} closed by the proxy (${tcp.requests.cases} requests: ` +
      `${tcp.requests}; ${tcp.responses.cases} responses: ${tcp.responses}) · guard replaced ${udp.refused} ` +
      `datagrams, ${tcp.refused} connections`
    );
  }

  private check(transport: string, c: FuzzCase, replies: CaseReplies, onlyResponses: boolean): void {
    const problems = [...replies.problems];
    if (onlyResponses && replies.statuses.length > 0)
      problems.push(`a response was answered: ${replies.statuses.join(', ')}`);
    if (problems.length === 0) return;
    const mutations = JSON.stringify(c.mutations).slice(0, 600);
    const where = `${transport} ${c.id} from "${c.seedName}" with ${mutations}: ${printable(c.bytes, 600)}`;
    for (const problem of problems) this.violation(where, problem);
  }

  /** The seeds of a lane: requests, or responses and requests turned into responses. */
  private seeds(transport: SeedTransport, sender: string, onlyResponses: boolean) {
    const { proxyPort, sinkPort, flowUser, callee } = this.options;
    const registrant = transport === 'UDP' ? callee : flowUser;
    return (caseId: string) => {
      const addressing = { transport, proxyPort, sinkPort, sender, registrant, callee, caseId };
      const requests = requestSeeds(addressing);
      return onlyResponses ? [...responseSeeds(addressing), ...requests.map(asResponse)] : requests;
    };
  }

  private policy(address: string, port: number, onlyResponses: boolean): GuardPolicy {
    const { proxyPort, sinkPort, flowUser, maxMessageSize } = this.options;
    return {
      sender: { address, port },
      hopPorts: new Set([proxyPort, sinkPort]),
      flowUser,
      maxMessageSize,
      onlyResponses,
    };
  }
}
