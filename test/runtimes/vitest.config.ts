import { defineConfig } from 'vitest/config';

/**
 * `npm run test:runtimes` (after scripts/install-runtimes.mjs): the runtime
 * matrix only. `npm test` leaves test/runtimes/ out (its files are not
 * `*.test.ts`).
 */
export default defineConfig({
  test: {
    include: ['test/runtimes/matrix.ts'],
    // Every test waits on a child process: four at a time keep two cores busy.
    maxConcurrency: 4,
    testTimeout: 90_000,
    hookTimeout: 300_000,
  },
});
