// @ts-check
/**
 * StrykerJS configuration: mutation testing of the client's core.
 *
 * Run it through `npm run mutate` (scripts/mutate.mjs), which turns file
 * arguments into `--mutate` and names the report after them:
 *
 *   npm run mutate                                  # the whole core (slow: hours on 2 cores)
 *   npm run mutate -- src/protocol/decoder.ts       # one module
 *   npm run mutate -- src/connection/requests.ts:150-200   # a line range
 *
 * See docs/mutation-testing.md.
 */

/** The modules whose tests must kill their mutants (the full run). */
export const coreModules = [
  'src/protocol/decoder.ts',
  'src/protocol/decoder-limits.ts',
  'src/protocol/reply-parser.ts',
  'src/protocol/dialect.ts',
  'src/protocol/encoder.ts',
  'src/protocol/request-writer.ts',
  'src/protocol/value-rules.ts',
  'src/protocol/values.ts',
  'src/protocol/wire-encoder.ts',
  'src/connection/requests.ts',
  'src/connection/request-sweep.ts',
  'src/connection/request-fifo.ts',
  'src/connection/unsent-bytes.ts',
  'src/connection/send-policy.ts',
  'src/connection/machine.ts',
  'src/pool/reducer.ts',
  'src/pool/selectors.ts',
  'src/pool/state.ts',
  'src/pool/pool.ts',
  'src/pool/pool-runner.ts',
  'src/pool/background.ts',
  'src/pool/membership.ts',
  'src/pool/checks.ts',
  'src/pool/messages.ts',
];

/*
 * The tests a mutant may run are chosen in stryker.vitest.config.mjs (its
 * `include`): the core's unit tests, or those of the mutated modules' layers
 * (scripts/mutate.mjs). They start no server in a `beforeAll` or at import,
 * so every line of the core they execute belongs to one test, and per-test
 * coverage runs each mutant against the few tests that reach it. The
 * socket-level suites (client, reliability, real-server, testing, docs) are
 * left out: two start servers in `beforeAll` (which makes every mutant they
 * reach "static", run against every test), they take a minute, and their
 * timing-dependent tests would "kill" mutants by chance. Stryker's own
 * `testFiles` is not used: with it, Stryker 9.6 activates static mutants too
 * late and reports them survived (stryker-js issue #6144).
 */

const report = process.env.ZCACHED_MUTATE_REPORT || 'core';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'stryker.vitest.config.mjs' },
  coverageAnalysis: 'perTest',
  mutate: coreModules,
  // Two cores shared with other work: one test runner by default
  // (`npm run mutate -- --concurrency 2 ...` for more).
  concurrency: 1,
  // A mutant that makes a test hang is detected as a timeout; the tests of the
  // core are quick, so a short margin keeps those mutants cheap.
  timeoutMS: 5_000,
  timeoutFactor: 2,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  clearTextReporter: { allowColor: false, reportTests: false },
  htmlReporter: { fileName: `reports/mutation/${report}.html` },
  jsonReporter: { fileName: `reports/mutation/${report}.json` },
  incrementalFile: `reports/mutation/${report}.incremental.json`,
  thresholds: { high: 90, low: 80, break: null },
  ignorePatterns: ['dist', 'docs/api', 'bench/results', 'coverage', 'reports', '.stryker-tmp'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
