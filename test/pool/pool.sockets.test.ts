import { describe, expect, it } from 'vitest';
import { Connection } from '../../src/connection/connection.js';
import { ConnectionClosedError, PoolEmptyError } from '../../src/errors.js';
import { ConnectionPool } from '../../src/pool/pool.js';
import { startServer, type ZCachedServer } from '../../src/testing/server.js';
import { deferredCleanup, until } from '../support.js';

const cleanup = deferredCleanup();

function poolFor(port: number, size = 4): ConnectionPool<Connection> {
  const pool = new ConnectionPool(size, () =>
    new Connection({ host: '127.0.0.1', port, connectionAttempts: 3, backoff: { initial: 10, max: 50 }, timeoutLimit: 2_000, closeTimeout: 50 }),
  );
  cleanup.push(() => pool.close());
  return pool;
}


describe('ConnectionPool over real sockets', () => {
  it('sets up 4 connections and spreads requests over them', async () => {
    const server = await startServer();
    cleanup.push(() => server.close());
    const pool = poolFor(server.port);
    await pool.setup();
    expect(pool.connectedConnections).toHaveLength(4);
    await until(() => server.stats.openConnections === 4);
    const replies = await Promise.all(Array.from({ length: 400 }, () => pool.getLeastLoadedConnection().send(['PING'])));
    expect(replies.every((r) => r === 'PONG')).toBe(true);
    for (const connection of pool.connections) expect(connection.totalRequests).toBe(100);
  });

  it('heals by itself when the server stops and starts again on the same port', async () => {
    let server: ZCachedServer = await startServer();
    const port = server.port;
    cleanup.push(() => server.close());
    const pool = poolFor(port);
    await pool.setup();
    let reconnected = 0;
    pool.subscribe((event) => {
      if (event.type === 'connectionStateChanged' && event.change.from === 'connecting' && event.change.to === 'connected') reconnected++;
    });
    for (let restart = 0; restart < 3; restart++) {
      const inFlight = Array.from({ length: 64 }, () => pool.getLeastLoadedConnection().send(['PING']).then(() => 'ok', (e: Error) => e.name));
      reconnected = 0;
      await server.close();
      server = await startServer({ port });
      await until(() => reconnected >= 4 && pool.connectedConnections.length === 4);
      const outcomes = await Promise.all(inFlight);
      // Each request either got its reply before the stop or failed with a typed connection error: none hangs.
      expect(outcomes.every((o) => o === 'ok' || o === 'ConnectionError')).toBe(true);
      expect(await pool.getLeastLoadedConnection().send(['PING'])).toBe('PONG');
    }
  });

  it('never rejects setup() when the port refuses connections; the connections are broken', async () => {
    const server = await startServer();
    const port = server.port;
    await server.close();
    const pool = poolFor(port);
    await pool.setup();
    expect(pool.connections).toHaveLength(4);
    expect(pool.brokenConnections).toHaveLength(4);
    expect(pool.isWorking()).toBe(false);
    expect(() => pool.getLeastLoadedConnection()).toThrow(PoolEmptyError);
    for (const connection of pool.connections) expect(connection.lastError).toBeDefined();
    // The server comes back: reconnect() brings them up.
    const back = await startServer({ port });
    cleanup.push(() => back.close());
    expect(await pool.reconnect()).toBe(4);
  });

  it('close() with requests in flight settles them and leaves no socket or timer behind', async () => {
    const server = await startServer();
    cleanup.push(() => server.close());
    const baseline = process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'Timeout').length;
    const pool = poolFor(server.port);
    await pool.setup();
    server.stopAnswering();
    const stuck = pool.getLeastLoadedConnection().send(['PING']);
    const closing = pool.close();
    await closing;
    await expect(stuck).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(pool.isEmpty()).toBe(true);
    await until(() => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'Timeout').length <= baseline);
  });

  it('reducePoolConnections closes idle connections over real sockets', async () => {
    const server = await startServer();
    cleanup.push(() => server.close());
    const pool = poolFor(server.port);
    await pool.setup();
    await pool.reducePoolConnections(3);
    expect(pool.connections).toHaveLength(1);
    expect(pool.poolSize).toBe(1);
    await until(() => server.stats.openConnections === 1);
  });
});
