import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { redisImage } from './containers.js';
import { freePort } from './free-port.js';

export interface StartedRedisCluster {
  container: StartedTestContainer;
  /** Seed nodes for ioredis Cluster, on the loopback interface (every node, masters first). */
  nodes: { host: string; port: number }[];
  /** SIGKILLs the redis-server listening on `port` (a node dies; its replica may take over). */
  kill(port: number): Promise<void>;
}

export interface RedisClusterOptions {
  /** Replicas per master (default 0: three masters only). */
  replicas?: number;
  /** `cluster-node-timeout` (ms): how long a master may be unreachable before its replica is promoted (Redis' default 15000). */
  nodeTimeoutMs?: number;
}

/**
 * A Redis Cluster of three masters (and `replicas` replicas of each) in one container on the host
 * network: the redis-server processes listen on free loopback ports and `redis-cli --cluster
 * create` joins them; it is ready once every node reports `cluster_state:ok`. Clients reach every
 * node over 127.0.0.1, so no test traffic leaves the loopback interface. Works with the local image
 * and the official `redis` image (both have sh, redis-server and redis-cli).
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<StartedRedisCluster> {
  const replicas = options.replicas ?? 0;
  const ports: number[] = [];
  for (let i = 0; i < 3 * (1 + replicas); i++) ports.push(await freePort());
  const timeout = options.nodeTimeoutMs === undefined ? '' : ` --cluster-node-timeout ${options.nodeTimeoutMs}`;
  const servers = ports
    .map(
      (p) =>
        `redis-server --port ${p} --bind 127.0.0.1 --protected-mode no --save '' --appendonly no ` +
        `--cluster-enabled yes --cluster-config-file /tmp/nodes-${p}.conf${timeout} --daemonize yes`,
    )
    .join(' && ');
  const create =
    `redis-cli --cluster create ${ports.map((p) => `127.0.0.1:${p}`).join(' ')} ` +
    `--cluster-replicas ${replicas} --cluster-yes`;
  const each = (command: string) => `for p in ${ports.join(' ')}; do until ${command}; do sleep 0.1; done; done`;
  const converged = each('redis-cli -p $p cluster info | grep -q cluster_state:ok');
  const script = `${servers} && ${each('redis-cli -p $p ping')} && ${create} && ${converged} && echo CLUSTER-READY && exec sleep infinity`;
  const container = await new GenericContainer(redisImage())
    .withNetworkMode('host')
    .withEntrypoint(['sh', '-c'])
    .withCommand([script])
    .withWaitStrategy(Wait.forLogMessage('CLUSTER-READY'))
    .withStartupTimeout(60_000)
    .start();
  return {
    container,
    nodes: ports.map((port) => ({ host: '127.0.0.1', port })),
    async kill(port: number) {
      const pid = `redis-cli -p ${port} info server | grep '^process_id:' | cut -d: -f2 | tr -d '\\r'`;
      const result = await container.exec(['sh', '-c', `kill -9 $(${pid})`]);
      if (result.exitCode !== 0) throw new Error(`redis-server on ${port} not killed: ${result.output}`);
    },
  };
}
