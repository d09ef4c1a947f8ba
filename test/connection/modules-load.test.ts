/**
 * Every module of src/connection/ loads on its own, inside a test. A change that
 * makes a module throw while it is imported (a broken module-level constant)
 * then fails a test, not only the loading of the files that import it at
 * their top, which a mutation run does not count as a failed test.
 */
import { describe, expect, it } from 'vitest';

const modules: [string, () => Promise<Record<string, unknown>>][] = [
  ['machine', () => import('../../src/connection/machine.js')],
  ['requests', () => import('../../src/connection/requests.js')],
  ['request-fifo', () => import('../../src/connection/request-fifo.js')],
  ['send-policy', () => import('../../src/connection/send-policy.js')],
  ['unsent-bytes', () => import('../../src/connection/unsent-bytes.js')],
  ['backoff', () => import('../../src/connection/backoff.js')],
  ['state', () => import('../../src/connection/state.js')],
  ['connection', () => import('../../src/connection/connection.js')],
  ['connection-lifecycle', () => import('../../src/connection/connection-lifecycle.js')],
  ['diagnostics', () => import('../../src/connection/diagnostics.js')],
  ['option-keys', () => import('../../src/connection/option-keys.js')],
  ['root-cause', () => import('../../src/connection/root-cause.js')],
  ['index', () => import('../../src/connection/index.js')],
];

describe('src/connection/ modules', () => {
  it.each(modules)('%s loads', async (_, load) => {
    expect(Object.keys(await load()).length).toBeGreaterThan(0);
  });
});
