/**
 * Reliability: `close()` under fire. It always resolves, promptly, whatever
 * the pool is doing: setting up (sockets connecting, or a TLS handshake that
 * never completes), waiting to reconnect (a long back-off timer), or
 * carrying requests (answered slowly, or never). Every pending request
 * settles, and afterwards `process.getActiveResourcesInfo()` shows none of
 * our sockets or timers.
 */
import * as net from 'node:net';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ZCached, type ZCachedOptions } from '../../src/client/client.js';
import { ConnectError, ConnectionClosedError, ZCachedError } from '../../src/errors.js';
import { startServer, type ZCachedServer } from '../../src/testing/server.js';
import { deferredCleanup, sleep, until, watchUnhandledRejections } from '../support.js';

const cleanup = deferredCleanup();

const unhandled = watchUnhandledRejections();
afterAll(() => {
  expect(unhandled).toEqual([]);
});



/**
 * How long a prompt close() may take on a loaded machine (two CPU hogs beside
 * the suite on 2 cores): a bound that tells "at once" from "never" on any
 * machine. What a close must not wait for (a back-off, a connect timeout, a
 * request's time limit, closeTimeout when nothing can be answered) is set to
 * {@link NOT_BEFORE_MS}, well past it, so waiting for it fails the bound.
 */
const LATE_MS = 5_000;
/** A timer a prompt close() must cancel rather than wait for; past {@link LATE_MS}, within the test timeout. */
const NOT_BEFORE_MS = 15_000;

/** Sockets, timers and immediates alive in this process, by kind. */
function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind === 'TCPSocketWrap' || kind === 'Timeout' || kind === 'Immediate') counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

/** Waits until no more sockets, timers or immediates are alive than in `baseline`; fails naming what is left. */
async function expectNoneLeftBeyond(baseline: Record<string, number>): Promise<void> {
  const leftover = (): string[] =>
    Object.entries(resources())
      .filter(([kind, count]) => count > (baseline[kind] ?? 0))
      .map(([kind, count]) => `${kind}: ${count} (baseline ${baseline[kind] ?? 0})`);
  await until(() => leftover().length === 0).catch(() => {
    throw new Error(`resources left after close(): ${leftover().join(', ')}`);
  });
}

/** Resolves with how long `promise` took, failing when it does not settle within `ms` (real time). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<number> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([promise.catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
  return performance.now() - started;
}

function clientFor(port: number, options: ZCachedOptions = {}): ZCached {
  return new ZCached({
    port,
    poolSize: 4,
    timeoutLimit: 2_000,
    connectTimeout: 2_000,
    connectionAttempts: 3,
    backoff: { initial: 10, max: 50 },
    closeTimeout: 200,
    ...options,
  });
}

/**
 * A TCP server that accepts and never says a word: a TLS handshake against it never completes.
 * `accepted()` counts the sockets it accepted (one per connect attempt).
 */
async function silentServer(): Promise<{ port: number; accepted: () => number }> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.resume(); // read (and ignore) everything, so it sees the client go away
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { port: (server.address() as net.AddressInfo).port, accepted: () => accepted };
}

async function embeddedServer(): Promise<ZCachedServer> {
  const server = await startServer();
  cleanup.push(() => server.close());
  return server;
}

describe('close() during setup', () => {
  it.each([0, 1, 2, 5])('resolves when called %i ms into run(), and run() settles too', async (delay) => {
    const server = await embeddedServer();
    const baseline = resources();
    const client = clientFor(server.port, { connectTimeout: NOT_BEFORE_MS });
    const running = client.run().then(
      () => 'connected',
      (error: unknown) => error,
    );
    if (delay > 0) await sleep(delay); // a moment of the setup, not a synchronisation: any moment will do
    await settlesWithin(client.close(), LATE_MS);
    const outcome = await running;
    if (outcome !== 'connected') expect(outcome).toBeInstanceOf(ConnectError);
    expect(client.connectionPool.isEmpty()).toBe(true);
    await expectNoneLeftBeyond(baseline);
  });

  it('resolves while every connection hangs in a TLS handshake that never completes', async () => {
    const silent = await silentServer();
    const baseline = resources();
    const client = clientFor(silent.port, { tls: { rejectUnauthorized: false }, connectTimeout: NOT_BEFORE_MS });
    const running = client.run().then(
      () => 'connected',
      (error: unknown) => error,
    );
    // Every socket is open (the server accepted it): the handshakes are what hangs.
    await until(() => silent.accepted() === 4);
    expect(client.connectionPool.connections.every((c) => c.state === 'connecting')).toBe(true);
    await settlesWithin(client.close(), LATE_MS);
    expect(await running).toBeInstanceOf(ConnectError);
    await expectNoneLeftBeyond(baseline);
  });
});

describe('close() during reconnect', () => {
  it('cancels a long back-off wait at once, and rejects the requests waiting for it', async () => {
    const server = await embeddedServer();
    const baseline = resources();
    const client = clientFor(server.port, { backoff: { initial: NOT_BEFORE_MS, max: NOT_BEFORE_MS, jitter: 0 }, timeoutLimit: 2 * NOT_BEFORE_MS });
    await client.run();
    await server.close();
    await until(() => client.connectionPool.connections.every((c) => c.state === 'broken' && c.isConnecting()));
    // These wait for a connection that will not retry for 15 s.
    const waiting = Array.from({ length: 20 }, (_, i) => client.set(`k${i}`, i).catch((error: unknown) => error));

    await settlesWithin(client.close(), LATE_MS);
    for (const error of await Promise.all(waiting)) expect(error).toBeInstanceOf(ConnectionClosedError);
    await expectNoneLeftBeyond(baseline);
  });

  it('resolves while reconnect attempts are hanging in TLS handshakes', async () => {
    const silent = await silentServer();
    const baseline = resources();
    const client = clientFor(silent.port, { tls: { rejectUnauthorized: false }, connectTimeout: 50, connectionAttempts: 1_000 });
    void client.run().catch(() => {});
    // Several connect timeouts and retries by now: more sockets accepted than connections.
    await until(() => silent.accepted() >= 12);
    await settlesWithin(client.close(), LATE_MS);
    await expectNoneLeftBeyond(baseline);
  });

  it('close() racing reconnect(): both settle, nothing is left open', async () => {
    const server = await embeddedServer();
    const baseline = resources();
    const client = clientFor(server.port);
    await client.run();
    const reconnecting = client.connectionPool.reconnect(false);
    const closing = client.close();
    await settlesWithin(Promise.all([reconnecting, closing]), LATE_MS);
    await expectNoneLeftBeyond(baseline);
  });
});

describe('close() with requests in flight', () => {
  it.each(['etx', 'etx-request', 'legacy'] as const)(
    'a server that never answers (%s): close() resolves after closeTimeout and every request rejects with ConnectionClosedError',
    async (dialect) => {
    const server = await startServer({ dialect });
    cleanup.push(() => server.close());
    const baseline = resources();
    // The requests' own time limit is far off: they settle because of the close.
    const client = clientFor(server.port, { closeTimeout: 150, dialect, timeoutLimit: NOT_BEFORE_MS });
    await client.run();
    server.stopAnswering();
    // Without pipelining, one request per connection is on the wire and the others wait in its queue.
    const inFlight = Array.from({ length: 200 }, (_, i) => client.get(`k${i}`).catch((error: unknown) => error));
    await until(() => server.stats.requests >= (dialect === 'etx' ? 200 : 4));

    const took = await settlesWithin(client.close(), 150 + LATE_MS);
    expect(took).toBeGreaterThanOrEqual(140);
    for (const error of await Promise.all(inFlight)) expect(error).toBeInstanceOf(ConnectionClosedError);
    await expectNoneLeftBeyond(baseline);
  },
  );

  it('the server drops the connections during a graceful close: the close ends at once, without reconnecting', async () => {
    const server = await startServer({ dialect: 'etx-request' });
    cleanup.push(() => server.close());
    const baseline = resources();
    const closeTimeout = NOT_BEFORE_MS;
    const client = clientFor(server.port, { closeTimeout, dialect: 'etx-request', backoff: { initial: 5, max: 10 }, timeoutLimit: NOT_BEFORE_MS });
    await client.run();
    server.stopAnswering();
    // One request on the wire per connection, the others queued behind it.
    const inFlight = Array.from({ length: 40 }, (_, i) => client.get(`k${i}`).catch((error: unknown) => error));
    await until(() => server.stats.requests >= 4);
    const closing = client.close();
    server.dropConnections();
    // Nothing can be answered any more: no reason to wait for closeTimeout, nor to open new sockets.
    await settlesWithin(closing, LATE_MS);
    expect(server.stats.connectionsAccepted).toBe(4);
    for (const error of await Promise.all(inFlight)) expect(error).toBeInstanceOf(ZCachedError);
    await expectNoneLeftBeyond(baseline);
  });

  it('a slow server: a graceful close lets requests on the wire finish first', async () => {
    const server = await embeddedServer();
    const baseline = resources();
    // closeTimeout is only an upper bound here: the close ends as soon as the replies are in.
    const client = clientFor(server.port, { closeTimeout: NOT_BEFORE_MS, timeoutLimit: NOT_BEFORE_MS });
    await client.run();
    server.delayReplies(50);
    const inFlight = Array.from({ length: 100 }, (_, i) => client.set(`k${i}`, i));
    await until(() => server.stats.requests >= 100);
    await settlesWithin(client.close(), LATE_MS);
    expect(await Promise.all(inFlight)).toEqual(Array.from({ length: 100 }, () => 'OK'));
    await expectNoneLeftBeyond(baseline);
  });

  it('requests given after close() reject at once with a typed error', async () => {
    const server = await embeddedServer();
    const client = clientFor(server.port);
    await client.run();
    await client.close();
    const error = await client.get('k').catch((e: unknown) => e);
    // Which one is the client's to say (an empty pool's PoolEmptyError, or a ConnectionClosedError naming
    // the closed client): typed, either way.
    expect(error).toBeInstanceOf(ZCachedError);
  });

  it('close() called many times, from everywhere at once, resolves every time', async () => {
    const server = await embeddedServer();
    const baseline = resources();
    const client = clientFor(server.port, { closeTimeout: 100, timeoutLimit: NOT_BEFORE_MS });
    const running = client.run().catch(() => {});
    server.stopAnswering();
    const inFlight = Array.from({ length: 50 }, () => client.ping().catch((error: unknown) => error));
    const closes = [client.close(), client.close(), client.connectionPool.close(), client[Symbol.asyncDispose]()];
    await sleep(5); // one more call a moment later, while the first ones are under way
    closes.push(client.close());
    await settlesWithin(Promise.all([...closes, running]), 100 + LATE_MS);
    for (const result of await Promise.all(inFlight)) expect(result).toBeInstanceOf(ZCachedError);
    await expectNoneLeftBeyond(baseline);
  });
});

describe('close() at a random moment of a random fault', () => {
  it('always resolves within closeTimeout, settles every request and leaves nothing open', async () => {
    const closeTimeout = 100;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('healthy', 'silent', 'slow', 'down', 'dropping'),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 0, max: 100 }),
        fc.boolean(),
        async (fault, closeAfterMs, requests, awaitRun) => {
          const server = await startServer();
          try {
            const baseline = resources();
            const client = clientFor(server.port, { closeTimeout, timeoutLimit: NOT_BEFORE_MS, connectTimeout: NOT_BEFORE_MS });
            const running = client.run().catch(() => undefined);
            if (awaitRun) await running;
            if (fault === 'silent') server.stopAnswering();
            if (fault === 'slow') server.delayReplies(30);
            if (fault === 'down') await server.close();
            if (fault === 'dropping') server.dropConnections();
            const pending = Array.from({ length: requests }, (_, i) =>
              client.set(`k${i}`, i).then(
                () => undefined,
                (error: unknown) => {
                  expect(error instanceof ZCachedError).toBe(true);
                },
              ),
            );
            await sleep(closeAfterMs); // a random moment, not a synchronisation
            await settlesWithin(client.close(), closeTimeout + LATE_MS);
            // Settled by the close, not by their own (far off) time limits.
            await settlesWithin(Promise.all([...pending, running]), LATE_MS);
            await server.close();
            await expectNoneLeftBeyond(baseline);
          } finally {
            await server.close();
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});
