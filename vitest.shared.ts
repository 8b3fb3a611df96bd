import type { ViteUserConfig } from 'vitest/config';

/** Settings every project's vitest config shares: resolve workspace packages to their TypeScript sources. */
export const sharedConfig: ViteUserConfig = {
  resolve: { conditions: ['development'] },
  ssr: { resolve: { conditions: ['development'] } },
};
