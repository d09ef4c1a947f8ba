/**
 * `ZCached.fromConnectionPool(pool)` over a pool its caller set up:
 *
 * - `run()` keeps the pool's live connections (a lazy `await client.run()`
 *   is safe), rather than setting the pool up anew (#1, #2 became #3, #4);
 * - a command after `pool.reducePoolConnections(n)` emptied the pool says
 *   the connections were removed, not that `run()` was never called.
 */
import { describe, expect, it } from 'vitest';
import { ZCached } from '../../src/client/client.js';
import { Connection } from '../../src/connection/connection.js';
import { PoolEmptyError } from '../../src/errors.js';
import { ConnectionPool } from '../../src/pool/pool.js';
import { startServer } from '../../src/testing/server.js';

describe('a client over a pool set up by its caller', () => {
  it('run() keeps the live connections: same ids, no new socket, commands still flow', async () => {
    await using server = await startServer();
    const pool = new ConnectionPool(2, () => new Connection({ host: '127.0.0.1', port: server.port }));
    await pool.setup();
    const before = pool.connections.map((connection) => connection.id);
    await using client = ZCached.fromConnectionPool(pool);
    await client.run();
    await client.run();
    expect(pool.connections.map((connection) => connection.id)).toEqual(before);
    expect(pool.connectedConnections).toHaveLength(2);
    expect(server.stats.connectionsAccepted).toBe(2);
    expect(await client.ping()).toBe('PONG');
  });

  it('run() while the caller\'s setup() is still connecting shares it: nothing replaced', async () => {
    await using server = await startServer();
    const pool = new ConnectionPool(2, () => new Connection({ host: '127.0.0.1', port: server.port }));
    const setup = pool.setup();
    await using client = ZCached.fromConnectionPool(pool);
    await client.run();
    await setup;
    expect(pool.connectedConnections).toHaveLength(2);
    expect(server.stats.connectionsAccepted).toBe(2);
  });

  it('a command after reducePoolConnections emptied the pool says they were removed, not that run() was never called', async () => {
    await using server = await startServer();
    const pool = new ConnectionPool(2, () => new Connection({ host: '127.0.0.1', port: server.port }));
    await pool.setup();
    await using client = ZCached.fromConnectionPool(pool);
    await pool.reducePoolConnections(2);
    const error = await client.get('k').then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(PoolEmptyError);
    expect((error as Error).message).not.toMatch(/run\(\) was never called/);
    expect((error as Error).message).toMatch(/removed/);
  });

  it('a client over a pool nobody set up still says run() was never called', async () => {
    const pool = new ConnectionPool(1, () => new Connection({ host: '127.0.0.1', port: 1 }));
    await using client = ZCached.fromConnectionPool(pool);
    await expect(client.ping()).rejects.toThrow(/run\(\) was never called/);
  });
});
