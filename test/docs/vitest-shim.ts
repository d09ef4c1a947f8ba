/**
 * Stands in for `'vitest'` in the doc examples that are whole vitest test
 * files (docs/model-based-testing.md). `examples.test.ts` rewrites their
 * `from 'vitest'` to this module, imports the example, and then runs what it
 * registered with {@link runCollected}, inside the one vitest test of that
 * example: vitest itself does not allow `it()` inside a running test.
 *
 * Supported: `it` / `test` (with `.skip` and `.todo`), `describe` (names
 * only), `beforeAll`, `beforeEach`, `afterEach`, `afterAll`, with vitest's
 * order (hooks of one file, `after*` in reverse order of registration).
 * Everything else (`expect`, `vi`, …) is vitest's own.
 */
export * from 'vitest';

type Fn = () => unknown;

interface Collected {
  readonly name: string;
  readonly fn: Fn | undefined;
  readonly timeoutMs: number | undefined;
  readonly skip: boolean;
}

interface Registry {
  readonly tests: Collected[];
  readonly beforeAll: Fn[];
  readonly beforeEach: Fn[];
  readonly afterEach: Fn[];
  readonly afterAll: Fn[];
  readonly prefix: string[];
}

const fresh = (): Registry => ({ tests: [], beforeAll: [], beforeEach: [], afterEach: [], afterAll: [], prefix: [] });
let registry: Registry = fresh();

/** Forgets what the previous example registered; call before importing the next one. */
export function resetCollected(): void {
  registry = fresh();
}

/** How many tests the last imported example registered. */
export function collectedTestCount(): number {
  return registry.tests.length;
}

function register(name: string, fn: Fn | undefined, timeout: unknown, skip: boolean): void {
  const timeoutMs = typeof timeout === 'number' ? timeout : (timeout as { timeout?: number } | undefined)?.timeout;
  registry.tests.push({ name: [...registry.prefix, name].join(' > '), fn, timeoutMs, skip });
}

type TestFunction = ((name: string, fn?: Fn, timeout?: number | { timeout?: number }) => void) & {
  skip: (name: string, fn?: Fn, timeout?: number) => void;
  todo: (name: string) => void;
};

function makeTest(): TestFunction {
  const test = ((name: string, fn?: Fn, timeout?: number | { timeout?: number }) => register(name, fn, timeout, false)) as TestFunction;
  test.skip = (name, fn, timeout) => register(name, fn, timeout, true);
  test.todo = (name) => register(name, undefined, undefined, true);
  return test;
}

export const it = makeTest();
export const test = it;

export function describe(name: string, fn: () => void): void {
  registry.prefix.push(name);
  try {
    fn();
  } finally {
    registry.prefix.pop();
  }
}

export const beforeAll = (fn: Fn): void => void registry.beforeAll.push(fn);
export const beforeEach = (fn: Fn): void => void registry.beforeEach.push(fn);
export const afterEach = (fn: Fn): void => void registry.afterEach.push(fn);
export const afterAll = (fn: Fn): void => void registry.afterAll.push(fn);

/** Rejects when `run` has not settled after `ms`; the timer is cleared either way. */
async function bounded(what: string, ms: number, run: Fn): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(run),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The outcome of one collected test. */
export interface CollectedResult {
  readonly name: string;
  readonly status: 'passed' | 'failed' | 'skipped';
  readonly error?: unknown;
}

/** Runs one test up to `times` times, until it fails (for a failure that shows only now and then). */
export interface RepeatUntilFailure {
  readonly test: string;
  readonly times: number;
}

/**
 * Runs what the imported example registered, as vitest would: `beforeAll`,
 * then for each test `beforeEach`, the test, `afterEach`, then `afterAll`.
 * Every test runs (a failure does not stop the others); `afterEach` and
 * `afterAll` run even after a failure. Each test and each hook has at most
 * `timeoutMs` (or the test's own third argument). With `repeat`, the
 * named test (with its `beforeEach` and `afterEach`) runs again while it
 * passes, at most `repeat.times` times in all.
 */
export async function runCollected(timeoutMs: number, repeat?: RepeatUntilFailure): Promise<CollectedResult[]> {
  const { tests, beforeAll: ba, beforeEach: be, afterEach: ae, afterAll: aa } = registry;
  const results: CollectedResult[] = [];
  const hooks = async (kind: string, fns: readonly Fn[]): Promise<void> => {
    for (const fn of fns) await bounded(`${kind} hook`, timeoutMs, fn);
  };
  let setupError: unknown;
  try {
    await hooks('beforeAll', ba);
  } catch (error) {
    setupError = error;
  }
  for (const t of tests) {
    if (t.skip || t.fn === undefined) {
      results.push({ name: t.name, status: 'skipped' });
      continue;
    }
    if (setupError !== undefined) {
      results.push({ name: t.name, status: 'failed', error: setupError });
      continue;
    }
    const times = repeat?.test === t.name ? repeat.times : 1;
    let result: CollectedResult = { name: t.name, status: 'passed' };
    for (let attempt = 0; attempt < times && result.status === 'passed'; attempt++) {
      let error: unknown;
      let failed = false;
      try {
        await hooks('beforeEach', be);
        await bounded(`test "${t.name}"`, t.timeoutMs ?? timeoutMs, t.fn);
      } catch (e) {
        failed = true;
        error = e;
      }
      try {
        await hooks('afterEach', [...ae].reverse());
      } catch (e) {
        if (!failed) error = e;
        failed = true;
      }
      if (failed) result = { name: t.name, status: 'failed', error };
    }
    results.push(result);
  }
  try {
    await hooks('afterAll', [...aa].reverse());
  } catch (error) {
    results.push({ name: 'afterAll', status: 'failed', error });
  }
  return results;
}
