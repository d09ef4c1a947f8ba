/**
 * Issue 19 end to end: against the faithful current ('etx') embedded server,
 * a ZCached pool gives requests over one write (1400 bytes) to at most
 * `largeRequestConnections` connections while small requests are around,
 * and small requests pass over the connections large ones hold. Counted by
 * `Connection.totalRequests`, not by timing.
 */
import { describe, expect, it } from 'vitest';
import { ZCached } from '../../src/client/client.js';
import { startServer } from '../../src/testing/server.js';

describe('large requests on a pool of 4, current server', () => {
  it('share one connection while small requests are around; small ones keep the other three', async () => {
    const server = await startServer({ dialect: 'etx' });
    const client = new ZCached({ host: server.host, port: server.port, poolSize: 4 });
    try {
      await client.run();
      const connections = client.connectionPool.connections;
      await Promise.all(connections.map(() => client.ping())); // every connection has done its handshake
      expect(connections.map((c) => c.largeRequestBytes)).toEqual([1400, 1400, 1400, 1400]);
      expect(client.connectionPool.largeRequestConnections).toBe(1);
      const before = connections.map((c) => c.totalRequests);
      const small = Array.from({ length: 40 }, (_, i) => client.get(`k${i}`)); // 10 on each connection
      const large = Array.from({ length: 8 }, (_, i) => client.set(`big${i}`, 'v'.repeat(5000 + i)));
      const held = connections.filter((c) => c.blocked);
      expect(held).toHaveLength(1);
      const afterLarge = connections.map((c, i) => c.totalRequests - before[i]!);
      expect(afterLarge.sort((x, y) => x - y)).toEqual([10, 10, 10, 18]); // the 8 large ones on one connection
      const more = Array.from({ length: 30 }, (_, i) => client.get(`k${i}`));
      const lane = connections.indexOf(held[0]!);
      expect(held[0]!.totalRequests - before[lane]!).toBe(18); // no small request queued behind them
      expect(await Promise.all(large)).toEqual(Array(8).fill('OK'));
      await Promise.all([...small, ...more]);
      for (let i = 0; i < 8; i++) expect(await client.get(`big${i}`)).toBe('v'.repeat(5000 + i));
      expect(server.crashLog).toEqual([]);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('a bulk load of large values alone uses the whole pool', async () => {
    const server = await startServer({ dialect: 'etx' });
    const client = new ZCached({ host: server.host, port: server.port, poolSize: 4 });
    try {
      await client.run();
      const connections = client.connectionPool.connections;
      await Promise.all(connections.map(() => client.ping()));
      const before = connections.map((c) => c.totalRequests);
      const writes: Promise<string>[] = [];
      for (let round = 0; round < 5; round++) {
        writes.push(...Array.from({ length: 8 }, (_, i) => client.set(`bulk${round}:${i}`, 'v'.repeat(3000))));
        await Promise.all(writes);
      }
      expect(connections.every((c, i) => c.totalRequests - before[i]! > 0)).toBe(true);
      // 400 at once: spread over the pool, not queued on one connection.
      const mid = connections.map((c) => c.totalRequests);
      await Promise.all(Array.from({ length: 400 }, (_, i) => client.set(`burst:${i}`, 'v'.repeat(10_000))));
      const shares = connections.map((c, i) => c.totalRequests - mid[i]!);
      expect(Math.min(...shares), `shares ${shares.join('/')}`).toBeGreaterThanOrEqual(60);
      expect(server.crashLog).toEqual([]);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
