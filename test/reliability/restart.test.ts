/**
 * Reliability: the server stops and starts again on the same port, three
 * times, under a pool of 4 with 256 requests in flight.
 *
 * - Requests on the wire when the socket died reject with a typed
 *   `ConnectionError`: the server read them, never answered, and went away.
 * - Requests given while the server is down (never written) are served once
 *   the pool is back, on a healthy connection; none is dropped silently.
 * - After each restart the pool is fully connected again within the back-off
 *   bound, also after a downtime that outlasts a whole run of connect
 *   attempts (the connections rest, then try again on their own).
 * - No unhandled rejection anywhere.
 */
import { describe, expect, it } from 'vitest';
import { ZCached } from '../../src/client/client.js';
import { ConnectionError, PoolEmptyError, ZCachedError } from '../../src/errors.js';
import { startServer, type ZCachedServer } from '../../src/testing/server.js';
import { sleep, until as poll, watchUnhandledRejections } from '../support.js';


/** Polls every 2 ms. */
const until = (condition: () => boolean, timeoutMs = 10_000): Promise<void> => poll(condition, timeoutMs, 2);

/** What became of one request. */
type Outcome = { readonly ok: true; readonly reply: unknown } | { readonly ok: false; readonly error: unknown };

function outcome(promise: Promise<unknown>): Promise<Outcome> {
  return promise.then(
    (reply) => ({ ok: true, reply }),
    (error: unknown) => ({ ok: false, error }),
  );
}

/** Resolves with every outcome, or rejects naming how many never settled within `ms`. */
async function allSettleWithin(promises: Promise<Outcome>[], ms: number): Promise<Outcome[]> {
  let settled = 0;
  for (const promise of promises) void promise.then(() => settled++);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${promises.length - settled} of ${promises.length} requests never settled within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([Promise.all(promises), late]);
  } finally {
    clearTimeout(timer);
  }
}

const IN_FLIGHT = 256;
/**
 * Requests given while the server is down must be served, not time out: the
 * limit is far past anything a loaded machine takes to heal and serve them.
 */
const TIMEOUT_LIMIT = 10_000;
const BACKOFF = { initial: 20, multiplier: 2, max: 100, jitter: 0.5 } as const;
/** The server stays down this long: several back-off steps, fewer than the attempts allowed. */
const DOWNTIME_MS = 150;
/**
 * How late timers and sockets may be on a loaded machine (two CPU hogs beside
 * the suite on 2 cores), on top of the back-off bound. Healing within
 * `BACKOFF.max + LATE_MS` still tells the configured back-off (100 ms) from the
 * default one (10 s) or a pool that stays down.
 */
const LATE_MS = 5_000;

const unhandled = watchUnhandledRejections();

describe('server restart under load', () => {
  // Its own timeout: three rounds, each allowed generous waits on a loaded machine.
  it('settles every request, types every failure and heals the pool, three restarts in a row', { timeout: 60_000 }, async () => {
    let server: ZCachedServer = await startServer();
    const port = server.port;
    const client = new ZCached({
      port,
      poolSize: 4,
      timeoutLimit: TIMEOUT_LIMIT,
      connectTimeout: 5_000,
      connectionAttempts: 20,
      backoff: BACKOFF,
      closeTimeout: 100,
    });
    try {
      await client.run();
      const pool = client.connectionPool;
      expect(pool.connectedConnections).toHaveLength(4);

      let heldTotal = 0;
      for (let restart = 1; restart <= 3; restart++) {
        // 1. 256 requests given: the send policy writes what fits (one segment per connection),
        //    the server reads all of that and answers none; the rest wait in the queues.
        server.stopAnswering();
        const requestsBefore = server.stats.requests;
        const onTheWire = Array.from({ length: IN_FLIGHT }, (_, i) => outcome(client.set(`wire:${restart}:${i}`, i)));
        const written = (): number => pool.connections.reduce((sum, c) => sum + c.requestsOnTheWire, 0);
        await until(() => written() >= 4 && server.stats.requests === requestsBefore + written());
        expect(pool.connections.reduce((sum, c) => sum + c.pendingRequests, 0)).toBe(IN_FLIGHT);

        const wrote = written();
        const held = IN_FLIGHT - wrote;
        heldTotal += held;
        let settledOnTheWire = 0;
        for (const promise of onTheWire) void promise.then(() => settledOnTheWire++);

        // 2. The server goes away with them.
        const store = server.store;
        await server.close();

        // 3. Requests racing the news: written into dead sockets, or queued behind the held ones.
        //    They fail like those on the wire or succeed once the server is back; never hang.
        const racing = Array.from({ length: 64 }, (_, i) => outcome(client.set(`race:${restart}:${i}`, i)));

        // Everything on the wire rejects with a typed connection error (checked below), long before
        // any timeout; what the send policy held back was never written and waits for the server's return.
        await until(() => settledOnTheWire === wrote, TIMEOUT_LIMIT / 2);


        // 4. 256 more once every connection knows it is down: nothing can write them yet.
        await until(() => pool.connectedConnections.length === 0);
        expect(pool.connections.every((connection) => connection.isConnecting())).toBe(true);
        const neverWritten = Array.from({ length: IN_FLIGHT }, (_, i) => outcome(client.set(`down:${restart}:${i}`, i)));

        // 5. It comes back on the same port, with its data.
        await sleep(DOWNTIME_MS);
        server = await startServer({ port, store });
        const back = performance.now();
        await until(() => pool.connectedConnections.length === 4);
        const healedIn = performance.now() - back;
        expect(healedIn).toBeLessThan(BACKOFF.max + LATE_MS);

        // The written ones failed, typed; the held ones are served now, as are those given while down.
        const wire = await allSettleWithin(onTheWire, TIMEOUT_LIMIT + LATE_MS);
        const failed = wire.filter((result) => !result.ok);
        expect(failed).toHaveLength(wrote);
        for (const result of failed) {
          if (!result.ok) {
            expect(result.error).toBeInstanceOf(ConnectionError);
            expect((result.error as ConnectionError).code).toBe('ECONNECTION');
          }
        }
        expect(wire.filter((result) => result.ok && result.reply === 'OK')).toHaveLength(held);

        for (const result of await allSettleWithin(racing, TIMEOUT_LIMIT + LATE_MS)) {
          if (!result.ok) expect(result.error).toBeInstanceOf(ConnectionError);
        }

        // The requests given while it was down are served on the healed connections; none is lost.
        const down = await allSettleWithin(neverWritten, TIMEOUT_LIMIT + LATE_MS);
        for (const result of down) {
          if (!result.ok) {
            // Allowed, but it must be typed (it never is in practice here: the timeout is long enough).
            expect(result.error instanceof ZCachedError || result.error instanceof PoolEmptyError).toBe(true);
          }
        }
        expect(down.filter((result) => result.ok && result.reply === 'OK')).toHaveLength(IN_FLIGHT);

        // The stream is in step: each key holds what was written to it, and the unanswered writes never ran.
        const values = await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => client.get(`down:${restart}:${i}`)));
        expect(values).toEqual(Array.from({ length: IN_FLIGHT }, (_, i) => i));
        // Of the 256, exactly the held ones ran: the written ones never did.
        const wireValues = await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => client.get(`wire:${restart}:${i}`)));
        expect(wireValues.filter((value) => value !== undefined)).toHaveLength(held);
      }

      // Every never-written request of the three rounds was stored exactly once (plus the racing ones that got through).
      const keys = await client.keys();
      expect(keys.filter((key) => key.startsWith('down:'))).toHaveLength(3 * IN_FLIGHT);
      expect(keys.filter((key) => key.startsWith('wire:'))).toHaveLength(heldTotal);
      expect(unhandled).toEqual([]);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('heals by itself after a downtime longer than a whole run of connect attempts', async () => {
    let server: ZCachedServer = await startServer();
    const port = server.port;
    const client = new ZCached({ port, poolSize: 4, timeoutLimit: 500, connectTimeout: 5_000, connectionAttempts: 3, backoff: BACKOFF, closeTimeout: 100 });
    try {
      await client.run();
      const pool = client.connectionPool;
      const store = server.store;
      await client.set('kept', 'across the outage');
      await server.close();
      // One run of 3 attempts (~20 + 40 ms apart) is over long before the server returns.
      await until(() => pool.connections.every((c) => c.state === 'broken' && !c.isConnecting()));

      // Meanwhile requests wait for the resting connections within their time limit (500 ms), then fail typed.
      const during = await Promise.all(Array.from({ length: 50 }, () => outcome(client.get('kept'))));
      for (const result of during) {
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.error instanceof ZCachedError || result.error instanceof PoolEmptyError).toBe(true);
      }

      await sleep(300); // the downtime: the connections rest, start fresh runs, rest again
      server = await startServer({ port, store });
      const back = performance.now();
      // Resting connections start a fresh run within the back-off maximum.
      await until(() => pool.connectedConnections.length === 4);
      expect(performance.now() - back).toBeLessThan(BACKOFF.max + LATE_MS);
      expect(await client.get('kept')).toBe('across the outage');
      expect(unhandled).toEqual([]);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
