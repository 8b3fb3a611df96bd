import {
  GenericContainer,
  getContainerRuntimeClient,
  ImageName,
  Wait,
  type ContainerRuntimeClient,
  type StartedNetwork,
  type StartedTestContainer,
} from 'testcontainers';

/**
 * Throwaway Redis and NATS servers for integration tests, via Testcontainers.
 *
 * The default images are built locally by `scripts/test-images.sh` (no registry is reachable
 * in CI). With a registry, `SIPEDGE_REDIS_IMAGE=redis:7` and `SIPEDGE_NATS_IMAGE=nats:2`
 * work too: the local images' entrypoints take the same arguments as the official ones.
 */
export const redisImage = (): string => process.env.SIPEDGE_REDIS_IMAGE ?? 'sipedge-test/redis:bookworm';
export const natsImage = (): string => process.env.SIPEDGE_NATS_IMAGE ?? 'sipedge-test/nats:bookworm';

const REDIS_PORT = 6379;
const NATS_PORT = 4222;
const NATS_MONITOR_PORT = 8222;
const STARTUP_TIMEOUT_MS = 60_000;

// The Ryuk reaper image cannot be pulled without a registry; containers are stopped by the
// tests instead. An explicit TESTCONTAINERS_RYUK_DISABLED=false still turns Ryuk on.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
// Published ports listen on every host interface; reach them over loopback so that test traffic
// never leaves 127.0.0.1 (Testcontainers would otherwise use the Docker bridge gateway address).
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';

export interface StartedRedis {
  container: StartedTestContainer;
  /** `redis://host:port`, for ioredis or BullMQ. */
  url: string;
}

export interface StartedNats {
  container: StartedTestContainer;
  /** `nats://host:port`, for nats.js `connect({ servers })`. */
  url: string;
  /** `http://host:port` of the monitoring endpoint (`/varz`, `/jsz`, ...). */
  monitorUrl: string;
}

export interface StartOptions {
  /**
   * Publish on this host port instead of a random one. Fault tests need it: a container that is
   * stopped and started again keeps its port, so clients can reconnect to the same address.
   */
  hostPort?: number;
  /**
   * Also join this Docker network under `alias`, so that other containers on it reach the server
   * as `alias` (`redis://redis:6379`, `nats://nats:4222`); the host still reaches the published port.
   */
  network?: { network: StartedNetwork; alias: string };
}

/** Joins a container to `options.network`, when given. */
const onNetwork = (container: GenericContainer, options: StartOptions): GenericContainer =>
  options.network === undefined
    ? container
    : container.withNetwork(options.network.network).withNetworkAliases(options.network.alias);

const port = (containerPort: number, hostPort: number | undefined) =>
  hostPort === undefined ? containerPort : { container: containerPort, host: hostPort };

export async function startRedis(options: StartOptions = {}): Promise<StartedRedis> {
  // No command: both images' defaults listen on all interfaces without protected mode.
  const container = await start(
    onNetwork(
      new GenericContainer(redisImage())
        .withExposedPorts(port(REDIS_PORT, options.hostPort))
        .withWaitStrategy(Wait.forLogMessage('Ready to accept connections')),
      options,
    ),
    redisImage(),
  );
  return { container, url: `redis://${container.getHost()}:${container.getMappedPort(REDIS_PORT)}` };
}

export async function startNats(options: StartOptions = {}): Promise<StartedNats> {
  const container = await start(
    onNetwork(
      new GenericContainer(natsImage())
        .withExposedPorts(port(NATS_PORT, options.hostPort), NATS_MONITOR_PORT)
        // Replaces the CMD after the `nats-server` entrypoint: JetStream on, monitoring on 8222.
        .withCommand(['-js', '-m', String(NATS_MONITOR_PORT)])
        .withWaitStrategy(Wait.forLogMessage('Server is ready')),
      options,
    ),
    natsImage(),
  );
  const host = container.getHost();
  return {
    container,
    url: `nats://${host}:${container.getMappedPort(NATS_PORT)}`,
    monitorUrl: `http://${host}:${container.getMappedPort(NATS_MONITOR_PORT)}`,
  };
}

/** Stops a container without removing it (a fault: clients see the server vanish). */
export async function stopContainer(started: StartedTestContainer): Promise<void> {
  const runtime = await getContainerRuntimeClient();
  await runtime.container.stop(runtime.container.getById(started.getId()), { timeout: 0 });
}

/** Starts a container stopped by `stopContainer` again, on the same ports. */
export async function startContainerAgain(started: StartedTestContainer): Promise<void> {
  const runtime = await getContainerRuntimeClient();
  await runtime.container.start(runtime.container.getById(started.getId()));
}

/** Starts a container, turning the usual set-up mistakes into errors that say what to do. */
async function start(container: GenericContainer, image: string): Promise<StartedTestContainer> {
  let runtime: ContainerRuntimeClient;
  try {
    runtime = await getContainerRuntimeClient();
  } catch (error) {
    throw new Error(
      'Docker is unavailable: integration tests need a running Docker daemon ' +
        '(start dockerd or set DOCKER_HOST; .ci/run shows the set-up).',
      { cause: error },
    );
  }
  try {
    return await container.withStartupTimeout(STARTUP_TIMEOUT_MS).start();
  } catch (error) {
    if (!(await runtime.image.exists(ImageName.fromString(image)))) {
      throw new Error(
        `Docker image ${image} is missing and could not be pulled: run scripts/test-images.sh, ` +
          'or set SIPEDGE_REDIS_IMAGE / SIPEDGE_NATS_IMAGE to images you have.',
        { cause: error },
      );
    }
    throw error;
  }
}
