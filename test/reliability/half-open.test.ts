/**
 * Reliability: half-open connections. The socket stays open but bytes stop
 * flowing (a hung server, a dead NAT entry, a partition), made with the
 * fault proxy.
 *
 * - Requests settle at `timeoutLimit`: the first with a `TimeoutError`, the
 *   others on that socket with a `ConnectionError` caused by it; the
 *   connection is marked broken and reconnects: while bytes are held, its
 *   new sockets' generation handshakes time out (it is never taken for
 *   connected), and once they flow again it connects on a new socket.
 * - With `pingInterval`, an idle half-open connection is detected without any
 *   user request; without it, it is not (nothing to time out).
 */
import { describe, expect, it } from 'vitest';
import { ZCached } from '../../src/client/client.js';
import type { Connection } from '../../src/connection/connection.js';
import { ConnectionError, ServerGenerationError, TimeoutError } from '../../src/errors.js';
import { startProxy, type FaultProxy, type ProxyDirections } from '../../src/testing/proxy.js';
import { startServer } from '../../src/testing/server.js';
import { deferredCleanup, sleep, until as poll } from '../support.js';

const cleanup = deferredCleanup();


/** Polls every 2 ms. */
const until = (condition: () => boolean, timeoutMs = 10_000): Promise<void> => poll(condition, timeoutMs, 2);

/**
 * How late a timer may fire on a loaded machine (two CPU hogs beside the
 * suite on 2 cores). Timers never fire early, so lower bounds are exact;
 * upper bounds only tell "settled by its timer" from "never settled" (or
 * "settled by a much longer timer").
 */
const LATE_MS = 5_000;

async function clientBehindProxy(options: { poolSize?: number; timeoutLimit?: number; pingInterval?: number; connectTimeout?: number } = {}) {
  const server = await startServer();
  cleanup.push(() => server.close());
  const proxy: FaultProxy = await startProxy({ target: { host: server.host, port: server.port } });
  cleanup.push(() => proxy.close());
  const client = new ZCached({
    host: proxy.host,
    port: proxy.port,
    poolSize: options.poolSize ?? 1,
    timeoutLimit: options.timeoutLimit ?? 200,
    ...(options.pingInterval === undefined ? {} : { pingInterval: options.pingInterval }),
    ...(options.connectTimeout === undefined ? {} : { connectTimeout: options.connectTimeout }),
    connectionAttempts: 5,
    backoff: { initial: 10, max: 50 },
    closeTimeout: 50,
  });
  cleanup.push(() => client.close());
  await client.run();
  return { server, proxy, client, pool: client.connectionPool };
}

describe('half-open: replies stop, the socket stays open', () => {
  it.each<ProxyDirections>(['downstream', 'upstream', 'both'])(
    'requests time out at timeoutLimit and the connection is replaced (%s held)',
    async (direction) => {
      const timeoutLimit = 200;
      // Long enough that a loaded machine's handshake through the healthy proxy never times out;
      // short enough to see a reconnect attempt time out while the proxy holds.
      const connectTimeout = 1_000;
      const { server, proxy, client, pool } = await clientBehindProxy({ timeoutLimit, connectTimeout });
      await client.set('k', 'v');
      const first = pool.connections[0] as Connection;
      const changes: { to: string; error?: Error }[] = [];
      first.subscribe((change) => changes.push(change.error === undefined ? { to: change.to } : { to: change.to, error: change.error }));

      proxy.halfOpen({ direction });
      const started = performance.now();
      const results = await Promise.all(
        Array.from({ length: 10 }, () => client.get('k').then(() => 'resolved', (error: unknown) => error)),
      );
      const elapsed = performance.now() - started;

      // Every request settles at the deadline, not before (and not never).
      expect(elapsed).toBeGreaterThanOrEqual(timeoutLimit - 1);
      expect(elapsed).toBeLessThan(timeoutLimit + LATE_MS);
      const timeouts = results.filter((r) => r instanceof TimeoutError);
      const broken = results.filter((r) => r instanceof ConnectionError);
      expect(timeouts.length).toBeGreaterThanOrEqual(1);
      expect(timeouts.length + broken.length).toBe(10);
      for (const error of broken) expect((error as ConnectionError).cause).toBeInstanceOf(TimeoutError);

      // The connection was marked broken (because of the timeout) and reconnects on a new socket.
      // The break comes from the stall check (the write's time + timeoutLimit), which under load may
      // fire a little after the requests' own deadlines: wait for it rather than expect it already.
      await until(() => changes.length > 0);
      expect(changes[0]?.to).toBe('broken');
      expect(changes[0]?.error).toBeInstanceOf(TimeoutError);

      // While the proxy holds, a new socket opens but its generation handshake gets no reply: the
      // attempt times out waiting for it, and a path that carries nothing never counts as connected.
      await until(
        () => proxy.stats.connectionsAccepted >= 2 && first.lastError?.message === `connect timed out after ${connectTimeout} ms`,
      );
      expect(first.state).not.toBe('connected');
      expect(first.lastError).toBeInstanceOf(TimeoutError);
      expect(first.lastError?.cause).toBeInstanceOf(ServerGenerationError);
      expect((first.lastError?.cause as Error).message).toMatch(/did not finish the generation handshake within connectTimeout \(waiting for the reply to ECHO; received: nothing\)$/);

      // Once the network heals, the connection gets through on a new socket; the old sockets' ends get
      // through too (a partition holds FINs as well), and the new socket serves requests, in step.
      proxy.heal();
      await until(() => first.state === 'connected');
      await until(() => proxy.stats.openConnections === 1 && server.stats.openConnections === 1);
      expect(await client.get('k')).toBe('v');
      const values = await Promise.all(Array.from({ length: 50 }, (_, i) => client.set(`n${i}`, i).then(() => client.get(`n${i}`))));
      expect(values).toEqual(Array.from({ length: 50 }, (_, i) => i));
    },
  );

  it('a per-call timeout shorter than timeoutLimit is honoured', async () => {
    // timeoutLimit is far past LATE_MS: a request that waited for it instead would fail the upper bound.
    const timeoutLimit = 15_000;
    const { proxy, client } = await clientBehindProxy({ timeoutLimit });
    proxy.halfOpen({ direction: 'downstream' });
    const started = performance.now();
    await expect(client.get('k', { timeout: 100 })).rejects.toBeInstanceOf(TimeoutError);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(99);
    expect(elapsed).toBeLessThan(100 + LATE_MS);
    expect(LATE_MS + 100).toBeLessThan(timeoutLimit);
  });
});

describe('half-open and idle', () => {
  it('with pingInterval, idle half-open connections are detected without any request, then replaced', async () => {
    // The probe's PONG must be read within pingInterval, or the connection breaks: long enough that
    // a loaded machine's event-loop stalls never break a healthy connection here.
    const pingInterval = 500;
    const { server, proxy, client, pool } = await clientBehindProxy({ poolSize: 2, timeoutLimit: 5_000, pingInterval });
    const breaks: { id: string; at: number; error: Error | undefined }[] = [];
    pool.subscribe((event) => {
      if (event.type === 'connectionStateChanged' && event.change.to === 'broken') {
        breaks.push({ id: event.connection.id, at: performance.now(), error: event.change.error });
      }
    });
    // Idle and healthy: pings flow (the server answers them; nothing else is sent) and nothing breaks.
    const before = server.stats.requests;
    await until(() => server.stats.requests >= before + 4);
    expect(breaks).toEqual([]);

    proxy.halfOpen({ direction: 'both' });
    const started = performance.now();
    await until(() => new Set(breaks.map((b) => b.id)).size === 2);
    // Detection takes: idle time before a ping (pingInterval, checked every pingInterval / 2) + its timeout
    // (pingInterval), so 2.5 x pingInterval at most, plus timer lateness.
    const firstBreaks = [...new Map(breaks.toReversed().map((b) => [b.id, b])).values()];
    expect(firstBreaks).toHaveLength(2);
    for (const b of firstBreaks) {
      expect(b.error).toBeInstanceOf(TimeoutError);
      expect(b.at - started).toBeLessThan(2.5 * pingInterval + LATE_MS);
    }

    proxy.heal();
    // Healed: the old sockets' ends (and the pings they held) get through; then pings flow again
    // on the new sockets and nothing breaks.
    await until(() => pool.connectedConnections.length === 2 && proxy.stats.openConnections === 2 && server.stats.openConnections === 2);
    const breaksBefore = breaks.length;
    const healed = server.stats.requests;
    await until(() => server.stats.requests >= healed + 4);
    expect(breaks).toHaveLength(breaksBefore);
    expect(pool.connectedConnections).toHaveLength(2);
    expect(await client.ping()).toBe('PONG');
  });

  it('without pingInterval, an idle half-open connection goes unnoticed (nothing to time out)', async () => {
    const { proxy, pool } = await clientBehindProxy({ timeoutLimit: 100 });
    proxy.halfOpen({ direction: 'both' });
    await sleep(300);
    expect(pool.connectedConnections).toHaveLength(1);
  });
});
