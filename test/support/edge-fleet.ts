/**
 * A fleet of edge processes behind one address, as pods behind a Kubernetes Service or a load
 * balancer's virtual IP: a Node cluster primary forks FLEET_SIZE edge processes that share its UDP
 * socket and TCP listener (the kernel hands each datagram to one of them; the primary hands out TCP
 * connections round-robin). Killing one edge leaves the address served by the others.
 *
 * Run as `node --import tsx test/support/edge-fleet.ts` with the edge's environment (SIPEDGE_UDP,
 * SIPEDGE_TCP, NATS_URL, REDIS_URL, ...) and FLEET_SIZE. Each edge gets SIPEDGE_EDGE_ID
 * `edge-<n>`; an edge that dies is replaced by `edge-<n>-r<k>` (a new pod). The primary prints
 * one JSON line per event on stdout: `{"edge":id,"pid":n,"ready":true}` once an edge listens,
 * `{"edge":id,"pid":n,"exited":code|signal}` when one ends, and `{"fleet":"ready"}` once the first
 * FLEET_SIZE edges listen. SIGTERM stops every edge and exits.
 */
import cluster, { type Worker } from 'node:cluster';
import { roleScript } from './processes.js';

if (!cluster.isPrimary) throw new Error('edge-fleet.ts is the cluster primary; edges run the edge command');

const size = Number(process.env.FLEET_SIZE ?? '2');
const { script, args, execArgv } = roleScript('edge');
cluster.setupPrimary({ exec: script, args, execArgv, silent: true });

let stopping = false;
let readyCount = 0;
const generations = new Map<number, number>();

function emit(event: object): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function fork(slot: number): void {
  const generation = generations.get(slot) ?? 0;
  const id = generation === 0 ? `edge-${slot}` : `edge-${slot}-r${generation}`;
  generations.set(slot, generation + 1);
  const edge: Worker = cluster.fork({ SIPEDGE_EDGE_ID: id });
  const pid = edge.process.pid;
  let output = '';
  let ready = false;
  edge.process.stdout!.on('data', (chunk: Buffer) => {
    if (process.env.FLEET_LOG === 'true') process.stderr.write(chunk);
    if (ready) return;
    output += chunk.toString();
    if (output.includes('edge listening')) {
      ready = true;
      output = '';
      emit({ edge: id, pid, ready: true });
      if (++readyCount === size) emit({ fleet: 'ready' });
    }
  });
  edge.process.stderr!.pipe(process.stderr);
  edge.on('exit', (code, signal) => {
    emit({ edge: id, pid, exited: signal ?? code });
    if (!stopping) fork(slot);
  });
}

for (let slot = 1; slot <= size; slot++) fork(slot);

process.on('SIGTERM', () => {
  stopping = true;
  for (const edge of Object.values(cluster.workers ?? {})) edge?.process.kill('SIGTERM');
  const deadline = setTimeout(() => process.exit(1), 15_000);
  cluster.on('exit', () => {
    if (Object.keys(cluster.workers ?? {}).length === 0) {
      clearTimeout(deadline);
      process.exit(0);
    }
  });
});
