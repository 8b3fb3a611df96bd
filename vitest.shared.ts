import { fileURLToPath } from 'node:url';
import type { ViteUserConfig } from 'vitest/config';

/** Settings every project's vitest config shares: resolve workspace packages to their TypeScript sources. */
export const sharedConfig: ViteUserConfig = {
  resolve: { conditions: ['development'] },
  test: { setupFiles: [fileURLToPath(new URL('./vitest.setup.ts', import.meta.url))] },
  ssr: { resolve: { conditions: ['development'] } },
};
