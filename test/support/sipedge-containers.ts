/**
 * sipedge processes as containers of the sipedge image (deploy/Dockerfile, built by
 * scripts/sipedge-image.sh), for the container smoke test.
 */
import { spawnSync } from 'node:child_process';
import { GenericContainer, Wait, type StartedNetwork, type StartedTestContainer } from 'testcontainers';

export const sipedgeImage = (): string => process.env.SIPEDGE_IMAGE ?? 'sipedge-test/sipedge:latest';

/** Whether the local Docker has the image (no pull is tried: there may be no registry). */
export function imagePresent(image: string): boolean {
  return spawnSync('docker', ['image', 'inspect', image], { stdio: 'ignore' }).status === 0;
}

/** The gateway address of a Docker network: the host as containers on that network reach it. */
export function networkGateway(network: StartedNetwork): string {
  const result = spawnSync(
    'docker',
    ['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Gateway}} {{end}}', network.getId()],
    { encoding: 'utf8' },
  );
  const gateway = result.stdout
    .trim()
    .split(/\s+/)
    .find((address) => /^\d+\.\d+\.\d+\.\d+$/.test(address));
  if (result.status !== 0 || gateway === undefined) {
    throw new Error(`no IPv4 gateway for network ${network.getName()}: ${result.stderr}${result.stdout}`);
  }
  return gateway;
}

export interface SipedgeContainerOptions {
  role: 'edge' | 'worker';
  /** The edge or worker id (and the container's name, with a suffix of the network's). */
  name: string;
  network: StartedNetwork;
  env: Record<string, string>;
  /** Host ports for the SIP port 5060, over both UDP and TCP (edges). */
  sipHostPort?: number;
  /** Publish the ops port on a random host port: an edge's 8080, or a worker's `SIPEDGE_WORKER_HTTP` port. */
  http?: boolean;
  /** The ops port in the container (default 8080, the edge's; a worker's is the one of SIPEDGE_WORKER_HTTP). */
  httpPort?: number;
}

export interface StartedSipedge {
  container: StartedTestContainer;
  /** `http://127.0.0.1:<port>` of the ops server, when published. */
  httpUrl?: string;
}

/** Starts one sipedge role; resolves once it logs `edge started` or `worker started`. */
export async function startSipedgeContainer(options: SipedgeContainerOptions): Promise<StartedSipedge> {
  const { role, name, network, env, sipHostPort, http, httpPort = 8080 } = options;
  const ports = [
    ...(sipHostPort === undefined
      ? []
      : [
          { container: 5060, host: sipHostPort, protocol: 'tcp' as const },
          { container: 5060, host: sipHostPort, protocol: 'udp' as const },
        ]),
    ...(http === true ? [httpPort] : []),
  ];
  // On the test's network only (no network aliases: with them Testcontainers starts a container
  // on the default bridge and then connects it, and Docker may then forward published ports over
  // the default bridge, so that the edges would see clients at another gateway address).
  const container = await new GenericContainer(sipedgeImage())
    .withNetwork(network)
    .withName(`${name}-${network.getName().slice(-8)}`)
    .withCommand([role])
    .withEnvironment({
      LOG_LEVEL: process.env.SIPEDGE_TEST_LOG_LEVEL ?? 'info',
      ...(role === 'edge' ? { SIPEDGE_EDGE_ID: name } : { SIPEDGE_WORKER_ID: name }),
      SIPEDGE_FLEET_SECRET: 'container-fleet-secret-container-fleet-secret',
      ...env,
    })
    .withExposedPorts(...ports)
    .withWaitStrategy(Wait.forLogMessage(`${role} started`))
    .withStartupTimeout(60_000)
    .start();
  return {
    container,
    ...(http === true ? { httpUrl: `http://${container.getHost()}:${container.getMappedPort(httpPort)}` } : {}),
  };
}

/** A container's log (stdout and stderr), for failure messages. */
export async function containerLogs(container: StartedTestContainer, tail = 60): Promise<string> {
  const stream = await container.logs({ tail });
  const chunks: string[] = [];
  return new Promise((resolve) => {
    stream.on('data', (d: Buffer | string) => chunks.push(d.toString()));
    stream.on('end', () => resolve(chunks.join('')));
    stream.on('error', () => resolve(chunks.join('')));
    setTimeout(() => resolve(chunks.join('')), 2000);
  });
}
