import { defineProject, mergeConfig } from 'vitest/config';
import { sharedConfig } from '../vitest.shared.js';

export default mergeConfig(
  sharedConfig,
  defineProject({
    test: {
      name: 'integration',
      include: [
        'integration/**/*.test.ts',
        'e2e/**/*.test.ts',
        'helm/**/*.test.ts',
        'bench/**/*.test.ts',
        'support/**/*.test.ts',
        'lint/**/*.test.ts',
      ],
      testTimeout: 120_000,
      hookTimeout: 180_000,
      fileParallelism: false,
    },
  }),
);
