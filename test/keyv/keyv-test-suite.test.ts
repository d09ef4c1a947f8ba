/**
 * Keyv's own compliance suite, `@keyv/test-suite` from npm, unchanged,
 * against `KeyvZCached` over the faithful embedded server in the `'etx'`
 * dialect (the current servers' faults included).
 *
 * Every suite it exports for stores runs: `keyvTestSuite` (its API, value
 * and namespace tests) and `keyvIteratorTests`. Its compression tests are
 * for compression adapters, not stores. Keyv 5.6 builds `keyv.iterator()`
 * only for the adapters it knows by name (redis, sqlite, ...), so the
 * iterator tests get a Keyv that wires the adapter's `iterator()` the way
 * Keyv does for those, the one line docs/keyv.md gives users.
 */
import keyvTestSuite, { keyvIteratorTests } from '@keyv/test-suite';
import Keyv, { type KeyvOptions, type KeyvStoreAdapter } from 'keyv';
import * as test from 'vitest';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { ZCached } from '../../src/client/client.js';
import { KeyvZCached } from '../../src/keyv/index.js';
import { startServer, type ZCachedServer } from '../../src/testing/server.js';
import { until } from '../support.js';

let server: ZCachedServer;
let client: ZCached;

beforeAll(async () => {
  server = await startServer({ dialect: 'etx' });
  client = new ZCached({ port: server.port, dialect: 'etx', poolSize: 2 });
  await client.run();
});
afterAll(async () => {
  expect(server.stats.connectionsAccepted).toBe(2); // the adapters opened no client of their own
  await client?.close();
  // Nothing left open: the server sees both sockets of the pool go.
  await until(() => server.stats.openConnections === 0);
  await server?.close();
  expect(server.crashLog).toEqual([]);
});

const store = (): KeyvZCached => new KeyvZCached(client);

/** Keyv with the adapter's iterator wired as Keyv wires those of the adapters it knows. */
class IterableKeyv extends Keyv {
  constructor(store?: KeyvStoreAdapter | KeyvOptions | Map<unknown, unknown>, options?: Omit<KeyvOptions, 'store'>) {
    super(store, options);
    const adapter: unknown = this.store;
    if (adapter instanceof KeyvZCached) this.iterator = this.generateIterator(adapter.iterator.bind(adapter) as never);
  }
}

describe('@keyv/test-suite keyvTestSuite (api, values, namespaces)', () => {
  keyvTestSuite(test, Keyv, store);
});

describe('@keyv/test-suite keyvIteratorTests', () => {
  keyvIteratorTests(test, IterableKeyv as typeof Keyv, store);
});
