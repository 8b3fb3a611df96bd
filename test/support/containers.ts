import {
  GenericContainer,
  getContainerRuntimeClient,
  ImageName,
  Wait,
  type ContainerRuntimeClient,
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

export async function startRedis(): Promise<StartedRedis> {
  // No command: both images' defaults listen on all interfaces without protected mode.
  const container = await start(
    new GenericContainer(redisImage())
      .withExposedPorts(REDIS_PORT)
      .withWaitStrategy(Wait.forLogMessage('Ready to accept connections')),
    redisImage(),
  );
  return { container, url: `redis://${container.getHost()}:${container.getMappedPort(REDIS_PORT)}` };
}

export async function startNats(): Promise<StartedNats> {
  const container = await start(
    new GenericContainer(natsImage())
      .withExposedPorts(NATS_PORT, NATS_MONITOR_PORT)
      // Replaces the CMD after the `nats-server` entrypoint: JetStream on, monitoring on 8222.
      .withCommand(['-js', '-m', String(NATS_MONITOR_PORT)])
      .withWaitStrategy(Wait.forLogMessage('Server is ready')),
    natsImage(),
  );
  const host = container.getHost();
  return {
    container,
    url: `nats://${host}:${container.getMappedPort(NATS_PORT)}`,
    monitorUrl: `http://${host}:${container.getMappedPort(NATS_MONITOR_PORT)}`,
  };
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
