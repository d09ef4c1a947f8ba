/**
 * `ZCached.close(options)`: the same `{ force, timeout }` as
 * `Connection.close()`, handed to every connection of the pool, checked
 * for unknown keys and wrong types before anything is closed.
 *
 * Before, `close()` took no options: from JavaScript `close({ force: true })`
 * was silently ignored, so against a server that stopped answering the
 * in-flight request rejected only after `closeTimeout` (here 60 s: the
 * bounds below turn that into a failure).
 */
import { describe, expect, it } from 'vitest';
import { ZCached } from '../../src/client/client.js';
import { Connection } from '../../src/connection/connection.js';
import { ConnectionClosedError } from '../../src/errors.js';
import { startServer, type ZCachedServer } from '../../src/testing/server.js';
import { deferredCleanup, watchUnhandledRejections } from '../support.js';

const cleanup = deferredCleanup();
const unhandled = watchUnhandledRejections();

/** A generous bound: only a close that ignored its options (waiting the 60 s closeTimeout) passes it. */
const BOUND_MS = 15_000;

async function stalledClient(): Promise<{ server: ZCachedServer; client: ZCached; pending: Promise<unknown> }> {
  const server = await startServer();
  cleanup.push(() => server.close());
  const client = new ZCached({ port: server.port, poolSize: 2, closeTimeout: 60_000, timeoutLimit: 120_000 });
  cleanup.push(() => client.close({ force: true }));
  await client.run();
  server.stopAnswering();
  const pending = client.get('k').catch((e: unknown) => e);
  // Both connections carry a request.
  const other = client.get('k2').catch((e: unknown) => e);
  return { server, client, pending: Promise.all([pending, other]) };
}

/** `promise`'s value, or 'hung' when it takes longer than {@link BOUND_MS} (the timer is cleared either way). */
async function within<T>(promise: Promise<T>): Promise<T | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), BOUND_MS);
  });
  try {
    return await Promise.race([promise, hung]);
  } finally {
    clearTimeout(timer);
  }
}

describe('ZCached.close(options)', () => {
  it('{ force: true } rejects the in-flight requests at once with a ConnectionClosedError', async () => {
    const { client, pending } = await stalledClient();
    expect(await within(client.close({ force: true }))).toBeUndefined();
    const errors = (await pending) as unknown[];
    for (const error of errors) expect(error).toBeInstanceOf(ConnectionClosedError);
    expect(client.connectionPool.connections).toHaveLength(0);
    await expect(client.ping()).rejects.toBeInstanceOf(ConnectionClosedError);
  }, 30_000);

  it('{ timeout } waits that long instead of closeTimeout, then rejects what is left', async () => {
    const { client, pending } = await stalledClient();
    expect(await within(client.close({ timeout: 50 }))).toBeUndefined();
    for (const error of (await pending) as unknown[]) expect(error).toBeInstanceOf(ConnectionClosedError);
  }, 30_000);

  it('a later close({ force: true }) hurries a graceful close under way', async () => {
    const { client, pending } = await stalledClient();
    const graceful = client.close();
    expect(await within(client.close({ force: true }))).toBeUndefined();
    expect(await within(graceful)).toBeUndefined();
    for (const error of (await pending) as unknown[]) expect(error).toBeInstanceOf(ConnectionClosedError);
  }, 30_000);

  it('a graceful close still lets in-flight requests finish', async () => {
    const server = await startServer();
    cleanup.push(() => server.close());
    const client = new ZCached({ port: server.port });
    await client.run();
    server.delayReplies(100);
    const reply = client.ping();
    await client.close({ timeout: 30_000 });
    expect(await reply).toBe('PONG');
  });

  it('refuses unknown keys (with the closest valid one) and wrong types, closing nothing', async () => {
    const server = await startServer();
    cleanup.push(() => server.close());
    const client = new ZCached({ port: server.port });
    cleanup.push(() => client.close());
    await client.run();
    const untyped = client as unknown as { close(options: unknown): Promise<void> };
    expect(() => untyped.close({ forse: true })).toThrow(new TypeError('ZCached.close(): unknown option "forse"; did you mean force?'));
    expect(() => untyped.close({ force: 'yes' })).toThrow(new TypeError('ZCached.close(): force must be a boolean, got the string "yes"'));
    expect(() => untyped.close('force')).toThrow(new TypeError('ZCached: close options must be an object, got the string "force"'));
    expect(() => client.close({ timeout: -1 })).toThrow(RangeError);
    expect(() => client.close({ timeout: 2 ** 31 })).toThrow(RangeError);
    // Nothing was closed.
    expect(await client.ping()).toBe('PONG');
  });

  it('Connection.close() refuses unknown keys too', async () => {
    const connection = new Connection({ host: '127.0.0.1', port: 1 });
    const untyped = connection as unknown as { close(options: unknown): Promise<void> };
    expect(() => untyped.close({ timout: 10 })).toThrow(new TypeError('Connection.close(): unknown option "timout"; did you mean timeout?'));
    await connection.close({ force: true });
    expect(connection.state).toBe('closed');
  });
});

describe('no unhandled rejections', () => {
  it('none in this file', () => {
    expect(unhandled).toEqual([]);
  });
});
