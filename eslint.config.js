import js from '@eslint/js';
import { createProjectGraphAsync } from '@nx/devkit';
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

// `@nx/enforce-module-boundaries` reads Nx's cached project graph (projects, tags, file owners) and
// silently skips itself when there is none: compute it (and refresh the cache) before linting, so a
// fresh checkout or a stale cache cannot turn the boundary check off. Fails loudly when Nx cannot.
await createProjectGraphAsync();

/**
 * Layers (Nx tags in each package.json, `"nx": { "tags": [...] }`):
 * - `type:pure`: SIP logic without infrastructure (sip, transaction, registrar, proxy, auth, abuse,
 *   config, net); they declare the ports they need and import no adapter, not even a type;
 * - `type:adapter`: infrastructure (redis: the ioredis connection policy, store: Redis, bus: NATS,
 *   timers: BullMQ, telemetry: OpenTelemetry/pino, and handoff, the bus wire format with OTel trace
 *   propagation);
 * - `type:service`: the executables that wire adapters into the pure code (edge, worker, sipedge);
 * - `type:test`: the cross-service test package (`test/`), which nothing may import.
 */
const ADAPTER_PACKAGES = ['ioredis', 'nats', 'bullmq', '@opentelemetry/*', 'pino', 'prom-client'];

/** The boundary rule; in tests a pure library may also use adapters (their in-memory twins, contracts). */
function boundaries({ inTests }) {
  return [
    'error',
    {
      // Test code reaches, by path, the shared vitest settings, the benchmark's modules and a
      // service's internals it checks (the chart test plans roles with the sipedge service's own
      // code); another package's test helpers come from its `./testing` export.
      allow: inTests ? ['^(\\.\\./)+(vitest\\.shared\\.js$|bench/|services/)'] : [],
      depConstraints: [
        inTests
          ? { sourceTag: 'type:pure', onlyDependOnLibsWithTags: ['type:pure', 'type:adapter'] }
          : {
              sourceTag: 'type:pure',
              onlyDependOnLibsWithTags: ['type:pure'],
              bannedExternalImports: ADAPTER_PACKAGES,
            },
        { sourceTag: 'type:adapter', onlyDependOnLibsWithTags: ['type:pure', 'type:adapter'] },
        { sourceTag: 'type:service', notDependOnLibsWithTags: ['type:test'] },
        { sourceTag: 'type:test', onlyDependOnLibsWithTags: ['*'] },
      ],
    },
  ];
}

const TEST_FILES = ['test/**', 'libs/*/test/**', 'services/*/test/**', '**/*.test.ts', '**/vitest.config.ts'];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.nx/**', 'test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    plugins: { '@nx': nx },
    rules: { '@nx/enforce-module-boundaries': boundaries({ inTests: false }) },
  },
  {
    files: TEST_FILES,
    rules: { '@nx/enforce-module-boundaries': boundaries({ inTests: true }) },
  },
);
