/**
 * A connection resting after a failed run of attempts (`broken.resting`,
 * `reconnect: true`) WILL reconnect by itself after about `backoff.max`:
 * requests wait for it within their own timeout, as for a connection that is
 * connecting or waiting to retry, and its errors say what it will do. Only a
 * connection that will never reconnect by itself (`reconnect: false` and out
 * of attempts, closed) fails requests at once.
 *
 * The socket is the in-memory FakeTransport, so connect outcomes are the
 * test's; the waits are real but short, and every bound is generous (the
 * assertions are about order and outcome, never about a tight deadline).
 */
import { describe, expect, it } from 'vitest';
import { Connection, type ConnectionOptions } from '../../src/connection/connection.js';
import { ConnectError, ConnectionError, TimeoutError } from '../../src/errors.js';
import { deferredCleanup, until } from '../support.js';
import { FakeTransport } from './fake-transport.js';

const cleanup = deferredCleanup();

/** A rest of exactly REST_MS (jitter 0), back-off waits of a few ms. */
const REST_MS = 150;

function connectionOver(fake: FakeTransport, options: Partial<ConnectionOptions> = {}): Connection {
  const connection = new Connection({
    host: 'fake',
    port: 1,
    openTransport: fake.open,
    connectionAttempts: 2,
    backoff: { initial: 5, max: REST_MS, jitter: 0 },
    timeoutLimit: 10_000,
    ...options,
  });
  cleanup.push(() => connection.close({ force: true }));
  return connection;
}

/** Outcome of a promise, without letting it reject unobserved. */
function observe<T>(promise: Promise<T>): { readonly result: { settled: boolean; value?: T; error?: unknown } } {
  const result: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => Object.assign(result, { settled: true, value }),
    (error: unknown) => Object.assign(result, { settled: true, error }),
  );
  return { result };
}

/** Answers the requests the fake server has received, once they have arrived. */
async function answerWhenWritten(fake: FakeTransport, count: number): Promise<void> {
  await until(() => (fake.socket?.outstanding ?? 0) >= count, 5_000);
  fake.answer();
}

describe('a connection resting after a failed run', () => {
  it('takes a request and sends it once the fresh run after the rest connects (was: rejected at once "is broken")', async () => {
    const fake = new FakeTransport({ outcomes: ['fail', 'fail'], connectOutcome: 'succeed' });
    const connection = connectionOver(fake);
    const error = await connection.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    // Out of attempts, resting: broken, and no run under way.
    expect(connection.state).toBe('broken');
    expect(connection.isConnecting()).toBe(false);

    const reply = observe(connection.send(['ECHO', 'after the rest'], { timeout: 10_000 }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(reply.result.error).toBeUndefined();
    expect(reply.result.settled).toBe(false);
    expect(connection.pendingRequests).toBe(1);
    expect(connection.isResting()).toBe(true);

    await answerWhenWritten(fake, 1);
    await until(() => reply.result.settled, 5_000);
    expect(reply.result.error).toBeUndefined();
    expect(reply.result.value).toBe('after the rest');
    expect(fake.attempts).toHaveLength(3);
    expect(connection.isConnected()).toBe(true);
  });

  it('keeps the requests queued when its run ends, and sends them after the rest (was: failed with "broken and not reconnecting")', async () => {
    const fake = new FakeTransport({ connectOutcome: 'hang' });
    const connection = connectionOver(fake);
    const connecting = observe(connection.connect());
    const queued = [observe(connection.send(['ECHO', 'a'])), observe(connection.send(['ECHO', 'b']))];
    // The run fails: attempt 1, a 5 ms wait, attempt 2.
    expect(fake.failConnect()).toBe(true);
    await until(() => fake.hanging.length === 1, 5_000);
    fake.connectOutcome = 'succeed';
    expect(fake.failConnect()).toBe(true);
    await until(() => connecting.result.settled, 5_000);
    expect(connecting.result.error).toBeInstanceOf(ConnectError);
    await new Promise((resolve) => setImmediate(resolve));
    for (const request of queued) expect(request.result.error).toBeUndefined();
    for (const request of queued) expect(request.result.settled).toBe(false);
    expect(connection.isResting()).toBe(true);

    await answerWhenWritten(fake, 2);
    await until(() => queued.every((request) => request.result.settled), 5_000);
    expect(queued.map((request) => request.result.value)).toEqual(['a', 'b']);
  });

  it('says what it will do: resting after N failed attempts, retrying in ~T ms', async () => {
    const fake = new FakeTransport({ connectOutcome: 'fail' });
    const connection = connectionOver(fake, { backoff: { initial: 5, max: 60_000, jitter: 0 } });
    const error = (await connection.connect().catch((e: unknown) => e)) as ConnectError;
    expect(error.message).toMatch(/^cannot connect to fake:1 after 2 attempts: fake: cannot connect to fake:1; it retries by itself in ~60000 ms$/);
    expect(error.cause).toBe(connection.lastError);
    expect(connection.describeState()).toMatch(
      /^connection fake:1#\d+ is resting after 2 failed attempts \(last error: fake: cannot connect to fake:1\) and retries in ~\d+ ms$/,
    );
    const left = connection.nextAttemptIn;
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(60_000);
  });

  it('a request that outwaits the rest rejects with a TimeoutError at its own timeout, not at once', async () => {
    const fake = new FakeTransport({ connectOutcome: 'fail' });
    const connection = connectionOver(fake, { backoff: { initial: 5, max: 60_000, jitter: 0 } });
    await connection.connect().catch(() => {});
    expect(connection.state).toBe('broken');
    const started = performance.now();
    const error = await connection.send(['ECHO', 'x'], { timeout: 100 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).message).toMatch(/waited 100 ms for a connection and was never sent/);
    // Timers never fire early: it waited at least its timeout.
    expect(performance.now() - started).toBeGreaterThanOrEqual(99);
    expect(connection.pendingRequests).toBe(0);
  });

  it('with reconnect: false, a run that ends fails the queued requests at once, saying it gave up', async () => {
    const fake = new FakeTransport({ connectOutcome: 'fail' });
    const connection = connectionOver(fake, { reconnect: false });
    const connecting = observe(connection.connect());
    const queued = observe(connection.send(['ECHO', 'a']));
    await until(() => queued.result.settled && connecting.result.settled, 5_000);
    expect(connecting.result.error).toBeInstanceOf(ConnectError);
    expect((connecting.result.error as Error).message).toMatch(/it does not reconnect by itself \(reconnect: false\)$/);
    expect(queued.result.error).toBeInstanceOf(ConnectionError);
    expect((queued.result.error as Error).message).toMatch(
      /^connection fake:1#\d+ gave up after 2 failed attempts \(last error: .+\) and does not reconnect by itself \(reconnect: false\); call connect\(\) or tryReconnect\(\)$/,
    );
    expect((queued.result.error as Error).cause).toBe(connection.lastError);
    expect(connection.isResting()).toBe(false);
    expect(connection.nextAttemptIn).toBeUndefined();
  });

  it('nextAttemptIn: 0 while an attempt runs, the wait left while waiting to retry, undefined when connected or closed', async () => {
    const fake = new FakeTransport({ connectOutcome: 'hang' });
    const connection = connectionOver(fake, { backoff: { initial: 60_000, max: 60_000, jitter: 0 } });
    expect(connection.nextAttemptIn).toBeUndefined(); // idle
    const connecting = observe(connection.connect());
    expect(connection.nextAttemptIn).toBe(0);
    fake.failConnect();
    await until(() => connection.state === 'broken', 5_000);
    expect(connection.isConnecting()).toBe(true);
    expect(connection.nextAttemptIn).toBeGreaterThan(0);
    expect(connection.nextAttemptIn).toBeLessThanOrEqual(60_000);
    expect(connection.describeState()).toMatch(/is waiting to retry \(last error: .+\): attempt 2 of 2 starts in ~\d+ ms$/);
    await connection.close();
    expect(connection.nextAttemptIn).toBeUndefined();
    expect(connecting.result.settled).toBe(true);
  });
});

describe('the default rest', () => {
  it('is at most 2 s (backoff.max 2 000 ms, as ioredis caps its retries): a short outage ends in a fresh run within 2 s (was up to 10 s)', async () => {
    const fake = new FakeTransport({ outcomes: ['fail', 'fail', 'fail'], connectOutcome: 'succeed' });
    // Default back-off and attempts; only the socket is fake.
    const connection = new Connection({ host: 'fake', port: 1, openTransport: fake.open });
    cleanup.push(() => connection.close({ force: true }));
    expect(await connection.connect().catch((e: unknown) => e)).toBeInstanceOf(ConnectError);
    expect(connection.isResting()).toBe(true);
    const rest = connection.nextAttemptIn;
    expect(rest).toBeGreaterThan(0);
    expect(rest).toBeLessThanOrEqual(2_000);
    expect(connection.describeState()).toMatch(/retries in ~\d+ ms/);
  });
});
