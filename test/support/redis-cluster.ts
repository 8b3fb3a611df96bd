import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { freePort, redisImage } from './containers.js';

export interface StartedRedisCluster {
  container: StartedTestContainer;
  /** Seed nodes for ioredis Cluster, on the loopback interface. */
  nodes: { host: string; port: number }[];
}

/**
 * A three-master Redis Cluster in one container on the host network: three redis-server processes
 * listen on free loopback ports and `redis-cli --cluster create` joins them; it is ready once every node reports `cluster_state:ok`. Clients reach every
 * node over 127.0.0.1, so no test traffic leaves the loopback interface. Works with the local image
 * and the official `redis` image (both have sh, redis-server and redis-cli).
 */
export async function startRedisCluster(): Promise<StartedRedisCluster> {
  const ports = [await freePort(), await freePort(), await freePort()];
  const servers = ports
    .map(
      (p) =>
        `redis-server --port ${p} --bind 127.0.0.1 --protected-mode no --save '' --appendonly no ` +
        `--cluster-enabled yes --cluster-config-file /tmp/nodes-${p}.conf --daemonize yes`,
    )
    .join(' && ');
  const create = `redis-cli --cluster create ${ports.map((p) => `127.0.0.1:${p}`).join(' ')} --cluster-yes`;
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
  return { container, nodes: ports.map((port) => ({ host: '127.0.0.1', port })) };
}
