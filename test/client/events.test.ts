/**
 * The events of `ZCached` (src/client/client-events.ts): `connect`, `ready`,
 * `reconnecting`, `end` and `error`, each with its payload, in the order
 * documented on `ZCachedEvents`, against the embedded server: on `run()`, a
 * server that goes away and comes back, `close()`, a failed `run()`. And a
 * client with no `error` listener survives a server kill (in a child
 * process, where a crash would show as the exit code).
 */
import { describe, expect, expectTypeOf, it, vi } from 'vitest';
import { ZCached, type ZCachedOptions } from '../../src/client/client.js';
import type { ConnectEvent, ReconnectingEvent } from '../../src/client/client-events.js';
import { ConnectError, ConnectionError } from '../../src/errors.js';
import { startServer, type ZCachedServer } from '../../src/testing/server.js';
import { moduleUrl, removeBuild, runScript, transpileSources } from '../diagnostics/child.js';
import { deferredCleanup, sleep, until, watchUnhandledRejections } from '../support.js';

const cleanup = deferredCleanup();
const unhandled = watchUnhandledRejections();

async function server(options: Parameters<typeof startServer>[0] = {}): Promise<ZCachedServer> {
  const started = await startServer({ faithful: false, ...options });
  cleanup.push(() => started.close());
  return started;
}

function client(options: ZCachedOptions): ZCached {
  const created = new ZCached(options);
  cleanup.push(() => created.close());
  return created;
}

type Logged =
  | { readonly event: 'connect'; readonly payload: ConnectEvent }
  | { readonly event: 'ready' }
  | { readonly event: 'reconnecting'; readonly payload: ReconnectingEvent }
  | { readonly event: 'end' }
  | { readonly event: 'error'; readonly payload: Error }
  | { readonly event: 'mark'; readonly payload: string };

/** Records every event of `c` (and `error` only when `withError`). */
function record(c: ZCached, withError = true): Logged[] {
  const log: Logged[] = [];
  c.on('connect', (payload) => log.push({ event: 'connect', payload }));
  c.on('ready', () => log.push({ event: 'ready' }));
  c.on('reconnecting', (payload) => log.push({ event: 'reconnecting', payload }));
  c.on('end', () => log.push({ event: 'end' }));
  if (withError) c.on('error', (payload) => log.push({ event: 'error', payload }));
  return log;
}

const names = (log: readonly Logged[]): string[] => log.map((entry) => entry.event);
const ofType = <E extends Logged['event']>(log: readonly Logged[], event: E): Extract<Logged, { event: E }>[] =>
  log.filter((entry): entry is Extract<Logged, { event: E }> => entry.event === event);

/** Fast, predictable reconnects: no jitter, waits of 20 to 40 ms, attempts enough not to run out. */
const RECONNECT: ZCachedOptions = { backoff: { initial: 20, max: 40, jitter: 0 }, connectionAttempts: 1_000 };

describe('ZCached events', () => {
  it('run(): connect for each connection, ready once after the first connect and before run() resolves', async () => {
    const up = await server();
    const c = client({ port: up.port, poolSize: 2 });
    const log = record(c);
    await c.run().then(() => log.push({ event: 'mark', payload: 'run() resolved' }));
    expect(names(log)).toEqual(['connect', 'ready', 'connect', 'mark']);
    const ids = c.connectionPool.connections.map((connection) => connection.id);
    const connects = ofType(log, 'connect').map((entry) => entry.payload);
    expect(connects.map((payload) => payload.id).sort()).toEqual([...ids].sort());
    for (const payload of connects) expect(payload).toEqual({ id: payload.id, host: '127.0.0.1', port: up.port });
    expect(unhandled).toEqual([]);
  });

  it('a server that goes away and comes back: error per broken connection, end once after the last, reconnecting with rising attempts; then connect, ready, connect', async () => {
    const first = await server();
    const port = first.port;
    const c = client({ port, poolSize: 2, ...RECONNECT });
    const log = record(c);
    await c.run();
    const ids = c.connectionPool.connections.map((connection) => connection.id);
    log.length = 0;

    await first.close();
    // Down: each connection has failed at least one attempt (its second wait) before the server returns.
    const waitsOf = (id: string): number[] => ofType(log, 'reconnecting').filter((e) => e.payload.id === id).map((e) => e.payload.attempt);
    await until(() => ids.every((id) => waitsOf(id).length >= 2));
    const down = log.slice();

    // Each connection broke once: an error naming it, caused by the transport's ConnectionError.
    const errors = ofType(down, 'error').map((entry) => entry.payload);
    expect(errors).toHaveLength(2);
    for (const [i, error] of errors.entries()) {
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as ConnectionError).code).toBe('ECONNECTION');
      expect(error.cause).toBeInstanceOf(ConnectionError);
      expect(error.message).toMatch(new RegExp(`^connection 127\\.0\\.0\\.1:${port}#\\d+ broke: the connection to 127\\.0\\.0\\.1:${port} closed.*; it retries by itself in ~\\d+ ms$`));
      expect(ids.some((id) => error.message.startsWith(`connection ${id} broke`))).toBe(true);
      if (i === 1) expect(error.message).not.toBe(errors[0]?.message);
    }
    // `end` once, right after the second break's error (the last connected connection went).
    expect(names(down).filter((name) => name === 'end')).toHaveLength(1);
    const secondError = down.indexOf(ofType(down, 'error')[1]!);
    expect(down.indexOf(ofType(down, 'end')[0]!)).toBe(secondError + 1);
    expect(names(down)).not.toContain('connect');
    expect(names(down)).not.toContain('ready');
    // Per connection: attempts 1, 2, 3, ...; waits within the back-off; the first caused by the break, the others by refused attempts.
    for (const id of ids) {
      const waits = ofType(down, 'reconnecting').filter((e) => e.payload.id === id).map((e) => e.payload);
      expect(waits.map((w) => w.attempt)).toEqual(waits.map((_, i) => i + 1));
      for (const wait of waits) {
        expect(Number.isInteger(wait.delay)).toBe(true);
        expect(wait.delay).toBeGreaterThanOrEqual(0);
        expect(wait.delay).toBeLessThanOrEqual(40);
      }
      expect(waits[0]?.error).toBeInstanceOf(ConnectionError);
      expect(waits[0]?.error?.message).toMatch(new RegExp(`^the connection to 127\\.0\\.0\\.1:${port} closed`));
      expect(waits[1]?.error).toBeInstanceOf(ConnectionError);
      expect(waits[1]?.error?.message).toMatch(/^cannot connect to 127\.0\.0\.1:\d+/);
    }

    // Back: both reconnect; ready once, after the first connect.
    const back = log.length;
    const second = await server({ port });
    await until(() => c.connectionPool.connectedConnections.length === 2);
    const after = log.slice(back);
    expect(names(after).filter((name) => name !== 'reconnecting')).toEqual(['connect', 'ready', 'connect']);
    expect(ofType(after, 'connect').map((e) => e.payload.id).sort()).toEqual([...ids].sort());

    // The attempt count starts again from 1 once connected.
    const again = log.length;
    await second.waitForConnections(2);
    second.dropConnections();
    await until(() => ofType(log.slice(again), 'reconnecting').length >= 2);
    expect(ofType(log.slice(again), 'reconnecting').slice(0, 2).map((e) => e.payload.attempt)).toEqual([1, 1]);
    await until(() => c.connectionPool.connectedConnections.length === 2);
    expect(unhandled).toEqual([]);
  });

  it('close(): end once (the last connected connection left the pool), then nothing', async () => {
    const up = await server();
    const c = client({ port: up.port, poolSize: 2 });
    const log = record(c);
    await c.run();
    log.length = 0;
    await c.close();
    expect(names(log)).toEqual(['end']);
    await sleep(100);
    expect(names(log)).toEqual(['end']);
  });

  it('close() during an outage: no second end (ready and end alternate)', async () => {
    const up = await server();
    const c = client({ port: up.port, ...RECONNECT });
    const log = record(c);
    await c.run();
    await up.close();
    await until(() => names(log).includes('end'));
    await c.close();
    const sequence = names(log).filter((name) => name === 'ready' || name === 'end');
    expect(sequence).toEqual(['ready', 'end']);
  });

  it('a failed run(): reconnecting between attempts, a ConnectError when the run of attempts is used up; no ready, no end', async () => {
    const up = await server();
    const port = up.port;
    await up.close();
    const c = client({ port, connectionAttempts: 2, backoff: { initial: 5, max: 5_000, jitter: 0 } });
    const log = record(c);
    const failure = await c.run().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ConnectError);
    expect(names(log)).toEqual(['reconnecting', 'error', 'reconnecting']);
    const [firstWait, , rest] = log;
    expect(firstWait).toMatchObject({ payload: { attempt: 1 } });
    // The back-off's first wait (5 ms, no jitter), read a moment after it was drawn.
    expect((firstWait as { payload: ReconnectingEvent }).payload.delay).toBeGreaterThanOrEqual(4);
    expect((firstWait as { payload: ReconnectingEvent }).payload.delay).toBeLessThanOrEqual(5);
    expect((firstWait as { payload: ReconnectingEvent }).payload.error?.message).toMatch(/^cannot connect to 127\.0\.0\.1:\d+/);
    const error = ofType(log, 'error')[0]!.payload;
    expect(error).toBeInstanceOf(ConnectError);
    expect(error.message).toMatch(new RegExp(`^connection 127\\.0\\.0\\.1:${port}#\\d+ could not connect to 127\\.0\\.0\\.1:${port}: cannot connect to 127\\.0\\.0\\.1:${port}.*; it retries by itself in ~\\d+ ms$`));
    expect(error.cause).toBeInstanceOf(ConnectionError);
    expect((error.cause as Error).message).toMatch(/^cannot connect to 127\.0\.0\.1:\d+/);
    // The rest after a failed run is about backoff.max.
    expect((rest as { payload: ReconnectingEvent }).payload.attempt).toBe(2);
    expect((rest as { payload: ReconnectingEvent }).payload.delay).toBeGreaterThan(1_000);
  });

  it('a client adopting a connected pool (fromConnectionPool) starts ready: its outage ends it', async () => {
    const up = await server();
    const owner = client({ port: up.port, ...RECONNECT });
    await owner.run();
    const adopted = ZCached.fromConnectionPool(owner.connectionPool);
    const log = record(adopted);
    await up.close();
    await until(() => names(log).includes('reconnecting'));
    expect(names(log).slice(0, 3)).toEqual(['error', 'end', 'reconnecting']);
    const back = await server({ port: up.port });
    await until(() => names(log).includes('ready'));
    expect(names(log).filter((name) => name !== 'reconnecting')).toEqual(['error', 'end', 'connect', 'ready']);
    expect(back.port).toBe(up.port);
  });

  it('without an error listener, error is never emitted (the other events are)', async () => {
    const up = await server();
    const c = client({ port: up.port, ...RECONNECT });
    const emit = vi.spyOn(c, 'emit');
    const log = record(c, false);
    await c.run();
    await up.close();
    await until(() => ofType(log, 'reconnecting').length >= 2);
    expect(names(log)).toContain('end');
    expect(emit.mock.calls.map((call) => call[0])).not.toContain('error');
    expect(emit.mock.calls.map((call) => call[0])).toContain('end');
  });

  it('a process whose client has no error listener survives a server kill and failed runs of attempts', async () => {
    const build = transpileSources();
    cleanup.push(async () => removeBuild(build));
    const script = `
      import { ZCached } from ${moduleUrl(build, 'index.js')};
      import { startServer } from ${moduleUrl(build, 'testing/index.js')};
      const server = await startServer({ faithful: false });
      const client = new ZCached({ port: server.port, connectionAttempts: 2, backoff: { initial: 5, max: 20, jitter: 0 } });
      const waits = [];
      client.on('reconnecting', (event) => waits.push(event.attempt));
      await client.run();
      await server.close();
      // A break (a ConnectionError) and at least one used-up run of attempts (a ConnectError): two would-be errors.
      while (waits.length < 4) await new Promise((resolve) => setTimeout(resolve, 5));
      await client.close();
      console.log('survived', client.listenerCount('error'), waits.slice(0, 4).join(','));
    `;
    const outcome = await runScript(script);
    expect(outcome.stderr).toBe('');
    expect(outcome.stdout.trim()).toBe('survived 0 1,2,3,4');
    expect(outcome.code).toBe(0);

    // A listener that throws: the events after it still come, and its error surfaces as an uncaught exception.
    const throwing = `
      import { ZCached } from ${moduleUrl(build, 'index.js')};
      import { startServer } from ${moduleUrl(build, 'testing/index.js')};
      const server = await startServer({ faithful: false });
      const client = new ZCached({ port: server.port, backoff: { initial: 5, max: 20, jitter: 0 } });
      const seen = [];
      const uncaught = [];
      process.on('uncaughtException', (error) => uncaught.push(error.message));
      client.on('error', () => {
        seen.push('error');
        throw new Error('the listener failed');
      });
      client.on('end', () => seen.push('end'));
      client.on('reconnecting', () => seen.push('reconnecting'));
      await client.run();
      await server.close();
      while (!seen.includes('reconnecting') || uncaught.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      await client.close();
      console.log(seen.slice(0, 3).join(','), uncaught[0], client.connectionPool.isEmpty());
    `;
    const thrown = await runScript(throwing);
    expect(thrown.stderr).toBe('');
    expect(thrown.stdout.trim()).toBe('error,end,reconnecting the listener failed true');
    expect(thrown.code).toBe(0);
  }, 60_000);

  it('is typed: payloads per event, unknown events refused', () => {
    const c = new ZCached({ port: 1 });
    c.on('connect', (event) => expectTypeOf(event).toEqualTypeOf<ConnectEvent>());
    c.on('reconnecting', (event) => expectTypeOf(event).toEqualTypeOf<ReconnectingEvent>());
    c.on('error', (error) => expectTypeOf(error).toEqualTypeOf<Error>());
    c.on('ready', (...args) => expectTypeOf(args).toEqualTypeOf<[]>());
    // @ts-expect-error: not an event of ZCached
    c.on('connected', () => undefined);
    // @ts-expect-error: `connect` carries a ConnectEvent, not a string
    c.on('connect', (event: string) => event);
    expect(c.eventNames().sort()).toEqual(['connect', 'connected', 'error', 'reconnecting', 'ready'].sort());
    c.removeAllListeners();
  });
});
