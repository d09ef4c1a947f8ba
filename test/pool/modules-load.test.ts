/**
 * Every module of src/pool/ loads on its own, inside a test. A change that
 * makes a module throw while it is imported (a broken module-level constant)
 * then fails a test, not only the loading of the files that import it at
 * their top, which a mutation run does not count as a failed test.
 */
import { describe, expect, it } from 'vitest';

const modules: [string, () => Promise<Record<string, unknown>>][] = [
  ['pool', () => import('../../src/pool/pool.js')],
  ['pool-runner', () => import('../../src/pool/pool-runner.js')],
  ['background', () => import('../../src/pool/background.js')],
  ['membership', () => import('../../src/pool/membership.js')],
  ['checks', () => import('../../src/pool/checks.js')],
  ['messages', () => import('../../src/pool/messages.js')],
  ['reducer', () => import('../../src/pool/reducer.js')],
  ['selectors', () => import('../../src/pool/selectors.js')],
  ['state', () => import('../../src/pool/state.js')],
  ['index', () => import('../../src/pool/index.js')],
];

describe('src/pool/ modules', () => {
  it.each(modules)('%s loads', async (_, load) => {
    expect(Object.keys(await load()).length).toBeGreaterThan(0);
  });
});
