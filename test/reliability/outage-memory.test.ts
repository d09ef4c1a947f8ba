/**
 * Memory during an outage: requests that settle while waiting for a
 * connection (timeouts, aborts) must release their records and their encoded
 * bytes, so what an outage leaves behind does not grow with its length.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { Connection } from '../../src/connection/connection.js';
import { TimeoutError } from '../../src/errors.js';
import { deferredCleanup, refusedPort } from '../support.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const cleanup = deferredCleanup();

/** Heap and ArrayBuffer bytes in use after full collections. */
async function retained(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** Sends `count` 1 KB SETs with a 50 ms timeout to a connection that cannot connect; all must time out. */
async function outage(connection: Connection, count: number): Promise<void> {
  const value = 'x'.repeat(1000);
  const results = await Promise.allSettled(Array.from({ length: count }, () => connection.send(['SET', 'k', value], { timeout: 50 })));
  expect(results.every((r) => r.status === 'rejected' && r.reason instanceof TimeoutError)).toBe(true);
  expect(connection.pendingRequests).toBe(0);
}

describe('an outage', () => {
  for (const dialect of ['etx', 'etx-request'] as const) {
    it(`'${dialect}': what requests timed out while waiting leave behind is flat in the length of the outage`, async () => {
      const port = await refusedPort();
      const connection = new Connection({ host: '127.0.0.1', port, dialect, connectionAttempts: 1e6, backoff: { initial: 50, max: 50 } });
      cleanup.push(() => connection.close({ force: true }));
      void connection.connect().catch(() => {});
      await outage(connection, 1000); // warm up
      const base = await retained();
      await outage(connection, 10_000); // 10 MB of requests
      const afterShort = (await retained()) - base;
      await outage(connection, 30_000); // 30 MB of requests
      const afterLong = (await retained()) - base;
      // The figures are in the failure messages: a passing run prints nothing.
      const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(2)} MB`;
      expect(afterShort, `heap + ArrayBuffers retained after 10,000 timed-out requests: ${mb(afterShort)}, bound < 4 MB`).toBeLessThan(4 * 2 ** 20);
      expect(afterLong, `heap + ArrayBuffers retained after 30,000 more: ${mb(afterLong)}, bound < 4 MB`).toBeLessThan(4 * 2 ** 20);
    });
  }
});
