import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Socket tests bind 127.0.0.1 on OS-assigned ports; they can run in parallel files.
    pool: 'forks',
    // The second lists the skipped tests with their reasons (the default one only counts them).
    reporters: ['default', './test/skipped-reporter.ts'],
  },
});
