// @ts-check
/**
 * The vitest configuration of mutation runs (stryker.config.mjs points at
 * it; `npm test` never reads it): the project's vitest.config.ts with
 *
 * - `include`: the tests a mutant may run, from ZCACHED_MUTATE_TESTS (set by
 *   scripts/mutate.mjs: the unit tests of the mutated modules' layers), else
 *   every core unit test. The choice is made here rather than with Stryker's
 *   `testFiles`: with `testFiles`, Stryker 9.6 activates a "static" mutant
 *   (code run at import, such as a module-level constant) only after the
 *   module was imported, so such mutants survive whatever the tests do
 *   (stryker-js issue #6144).
 * - a file order that runs small unit test files before property and socket
 *   files: a mutant stops at its first failing test, so the quick tests
 *   that usually kill it go first.
 */
import { statSync } from 'node:fs';
import { BaseSequencer } from 'vitest/node';
import base from './vitest.config.ts';

/** Every core unit test: what a mutant may run when no layer was chosen. */
const CORE_TESTS = ['test/protocol/**/*.test.ts', 'test/connection/**/*.test.ts', 'test/pool/**/*.test.ts'];

const include = process.env.ZCACHED_MUTATE_TESTS ? process.env.ZCACHED_MUTATE_TESTS.split(',') : CORE_TESTS;

/** Small example-based files first; property-based and socket files last. */
class QuickFilesFirst extends BaseSequencer {
  /** @param {import('vitest/node').TestSpecification[]} files */
  async sort(files) {
    const weight = (/** @type {import('vitest/node').TestSpecification} */ file) => {
      const id = file.moduleId;
      const slow = /\.property\.test\.|sockets|connection\.test\./.test(id) ? 1e9 : 0;
      let size = 0;
      try {
        size = statSync(id).size;
      } catch {
        // an unreadable file sorts first; vitest will report it
      }
      return slow + size;
    };
    return [...files].sort((a, b) => weight(a) - weight(b));
  }
}

export default {
  ...base,
  test: {
    ...base.test,
    include,
    sequence: { ...base.test?.sequence, sequencer: QuickFilesFirst },
  },
};
