/**
 * The events of `ZCached` (src/client/client-events.ts): `connect`, `ready`,
 * `reconnecting`, `end` and `error`, each with its payload, in the order
 * documented on `ZCachedEvents`, against the embedded server: on `run()`, a
 * server that goes away and comes back, `close()`, a failed `run()`, a run
 * that holds back its connections' `reconnecting` / `error` events. And a
 * client with no `error` listener survives a server kill, and a throwing
 * listener behaves as Node's `EventEmitter` says (in a child process, where
 * a crash would show as the exit code).
 */
import { inspect } from 'node:util';
import { describe, expect, expectTypeOf, it, vi } from 'vitest';
import { ZCached, type ZCachedOptions } from '../../src/client/client.js';
import type { ConnectEvent, ReadyEvent, ReconnectingEvent } from '../../src/client/client-events.js';
import { Connection } from '../../src/connection/connection.js';
import { ConnectError, ConnectionClosedError, ConnectionError, ZCachedError } from '../../src/errors.js';
import { ConnectionPool } from '../../src/pool/pool.js';
import { moduleUrl, removeBuild, runScript, transpileSources } from '../diagnostics/child.js';
import { serversAndClients } from '../servers-and-clients.js';
import { deferredCleanup, refusedPort, sleep, until, watchUnhandledRejections } from '../support.js';

const cleanup = deferredCleanup();
const unhandled = watchUnhandledRejections();

const { server, client } = serversAndClients(cleanup, { faithful: false });

type Logged =
  | { readonly event: 'connect'; readonly payload: ConnectEvent }
  | { readonly event: 'ready'; readonly payload: ReadyEvent }
  | { readonly event: 'reconnecting'; readonly payload: ReconnectingEvent }
  | { readonly event: 'end' }
  | { readonly event: 'error'; readonly payload: Error }
  | { readonly event: 'mark'; readonly payload: string };

/** Records every event of `c` (and `error` only when `withError`). */
function record(c: ZCached, withError = true): Logged[] {
  const log: Logged[] = [];
  c.on('connect', (payload) => log.push({ event: 'connect', payload }));
  c.on('ready', (event) => log.push({ event: 'ready', payload: event }));
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
    for (const payload of connects) expect(payload).toEqual({ id: payload.id, host: '127.0.0.1', port: up.port, generation: 'etx' });
    expect(ofType(log, 'ready').map((entry) => entry.payload)).toEqual([{ id: connects[0]?.id, generation: 'etx' }]);
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

  it('a failed run(): one error, the ConnectError run() rejects with, emitted before it rejects; no reconnecting, no "retries by itself" (was: reconnecting and a ConnectError promising retries that never came)', async () => {
    const port = await refusedPort();
    // The tester's case: default options, error / reconnecting / connect listeners.
    const c = client({ port });
    const log = record(c);
    const failure = await c.run().then(
      () => undefined,
      (error: unknown) => {
        log.push({ event: 'mark', payload: 'run() rejected' });
        return error;
      },
    );
    expect(failure).toBeInstanceOf(ConnectError);
    expect((failure as ConnectError).message).toMatch(/^cannot reach the zcached server at 127\.0\.0\.1:\d+: .*the pool was closed, nothing is left running/);
    expect(names(log)).toEqual(['error', 'mark']);
    expect(ofType(log, 'error')[0]!.payload).toBe(failure);
    // The pool is closed: nothing follows.
    expect(c.connectionPool.isEmpty()).toBe(true);
    await sleep(100);
    expect(names(log)).toEqual(['error', 'mark']);

    // The same with a run of 2 quick attempts (a back-off wait between them, then a rest): still only the run's error.
    const quick = client({ port, connectionAttempts: 2, backoff: { initial: 5, max: 5_000, jitter: 0 } });
    const quickLog = record(quick);
    const quickFailure = await quick.run().catch((error: unknown) => error);
    expect(names(quickLog)).toEqual(['error']);
    expect(ofType(quickLog, 'error')[0]!.payload).toBe(quickFailure);
    expect(quickLog.some((entry) => entry.event === 'error' && entry.payload.message.includes('retries by itself'))).toBe(false);

    // Without an error listener, nothing at all (and nothing thrown).
    const silent = client({ port, connectionAttempts: 1 });
    const silentLog = record(silent, false);
    await expect(silent.run()).rejects.toBeInstanceOf(ConnectError);
    expect(silentLog).toEqual([]);
    expect(unhandled).toEqual([]);
  });

  it('a run() that resolves with a connection that could not connect: its reconnecting / error events are held back, then emitted in order right before run() resolves', async () => {
    const up = await server();
    const refused = await refusedPort();
    // Connection #1 reaches the server, #2 a port nothing listens on: two quick attempts, then a rest of ~5 s.
    let made = 0;
    const pool = new ConnectionPool<Connection>(
      2,
      () => new Connection({ host: '127.0.0.1', port: made++ === 0 ? up.port : refused, connectionAttempts: 2, backoff: { initial: 5, max: 5_000, jitter: 0 } }),
    );
    const c = ZCached.fromConnectionPool(pool);
    cleanup.push(() => c.close());
    const log = record(c);
    // What the failing connection was doing when each of its events was emitted.
    const whenEmitted: { event: string; connecting: boolean; nextAttemptIn: number | undefined }[] = [];
    const failing = (): Connection => pool.connections.find((connection) => connection.port === refused)!;
    c.on('reconnecting', () => whenEmitted.push({ event: 'reconnecting', connecting: failing().isConnecting(), nextAttemptIn: failing().nextAttemptIn }));
    c.on('error', () => whenEmitted.push({ event: 'error', connecting: failing().isConnecting(), nextAttemptIn: failing().nextAttemptIn }));
    await c.run().then(() => log.push({ event: 'mark', payload: 'run() resolved' }));

    expect(names(log)).toEqual(['connect', 'ready', 'reconnecting', 'error', 'reconnecting', 'mark']);
    // Held until the run was over: the failing connection had used up its attempts and was resting (was: emitted as they happened, the first during its attempts).
    expect(whenEmitted.map((w) => w.event)).toEqual(['reconnecting', 'error', 'reconnecting']);
    for (const w of whenEmitted) {
      expect(w.connecting).toBe(false);
      expect(w.nextAttemptIn).toBeGreaterThan(1_000);
    }
    // The payloads are those of the moment each happened.
    const [firstWait, rest] = ofType(log, 'reconnecting').map((entry) => entry.payload);
    const id = failing().id;
    expect(firstWait).toMatchObject({ id, attempt: 1 });
    // The back-off's first wait (5 ms, no jitter), read a moment after it was drawn.
    expect(firstWait!.delay).toBeGreaterThanOrEqual(4);
    expect(firstWait!.delay).toBeLessThanOrEqual(5);
    expect(firstWait!.error?.message).toMatch(/^cannot connect to 127\.0\.0\.1:\d+/);
    const error = ofType(log, 'error')[0]!.payload;
    expect(error).toBeInstanceOf(ConnectError);
    expect(error.message).toMatch(new RegExp(`^connection ${id.replace(/\./g, '\\.')} could not connect to 127\\.0\\.0\\.1:${refused}: cannot connect to 127\\.0\\.0\\.1:${refused}.*; it retries by itself in ~\\d+ ms$`));
    expect(error.cause).toBeInstanceOf(ConnectionError);
    // The rest after a failed run of attempts is about backoff.max; true: it does retry by itself.
    expect(rest).toMatchObject({ id, attempt: 2 });
    expect(rest!.delay).toBeGreaterThan(1_000);
    expect(failing().nextAttemptIn).toBeGreaterThan(0);

    // After the run, events come as they happen again.
    log.length = 0;
    await up.waitForConnections(1);
    up.dropConnections();
    await until(() => names(log).includes('reconnecting'));
    expect(names(log).slice(0, 3)).toEqual(['error', 'end', 'reconnecting']);
    expect(unhandled).toEqual([]);
  });

  it('close() during run(): the run\'s rejection is handled even when nobody awaits it (was: an unhandled rejection, exit 1); who awaits it still gets it; no error event', async () => {
    const up = await server();
    const c = client({ port: up.port, poolSize: 2 });
    const log = record(c);
    // Not awaited, no handler attached: as in `client.run(); await client.close();`.
    const run = c.run();
    await c.close();
    // Wait for the rejection without attaching a handler (that would mark it handled itself).
    await until(() => inspect(run).includes('<rejected>'));
    await sleep(20);
    expect(unhandled).toEqual([]);
    const failure = await run.catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ConnectError);
    expect((failure as ConnectError).cause).toBeInstanceOf(ConnectionClosedError);
    expect(names(log)).not.toContain('error');
    expect(names(log)).not.toContain('reconnecting');
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

    // A listener that throws, as Node's EventEmitter has it: the listeners after it for that emit are skipped;
    // the events after it still come (run() still resolves), and its error surfaces as an uncaught exception.
    const throwing = `
      import { ZCached } from ${moduleUrl(build, 'index.js')};
      import { startServer } from ${moduleUrl(build, 'testing/index.js')};
      const server = await startServer({ faithful: false });
      const client = new ZCached({ port: server.port, poolSize: 2, backoff: { initial: 5, max: 20, jitter: 0 } });
      const seen = [];
      const uncaught = [];
      process.on('uncaughtException', (error) => uncaught.push(error.message));
      client.on('connect', () => seen.push('connect'));
      client.on('ready', () => {
        seen.push('ready 1');
        throw new Error('the ready listener failed');
      });
      client.on('ready', () => seen.push('ready 2'));
      await client.run();
      seen.push('run');
      client.on('error', () => {
        seen.push('error');
        throw new Error('the listener failed');
      });
      client.on('error', () => seen.push('error 2'));
      client.on('end', () => seen.push('end'));
      client.on('reconnecting', () => seen.push('reconnecting'));
      await server.close();
      while (seen.filter((s) => s === 'reconnecting').length < 2 || uncaught.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));
      await client.close();
      console.log(seen.slice(0, 9).join(','));
      console.log(uncaught.slice(0, 3).join(','), client.connectionPool.isEmpty());
    `;
    const thrown = await runScript(throwing);
    expect(thrown.stderr).toBe('');
    const [order, errors] = thrown.stdout.trim().split('\n');
    // 'ready 2' never runs; both connections break: error (its second listener skipped), reconnecting; then the other, with end.
    expect(order).toBe('connect,ready 1,connect,run,error,reconnecting,error,end,reconnecting');
    expect(order).not.toContain('ready 2');
    expect(order).not.toContain('error 2');
    expect(errors).toBe('the ready listener failed,the listener failed,the listener failed true');
    expect(thrown.code).toBe(0);
  }, 60_000);

  it('is typed: payloads per event, unknown events refused', () => {
    const c = new ZCached({ port: 1 });
    c.on('connect', (event) => expectTypeOf(event).toEqualTypeOf<ConnectEvent>());
    c.on('reconnecting', (event) => expectTypeOf(event).toEqualTypeOf<ReconnectingEvent>());
    c.on('error', (error) => expectTypeOf(error).toEqualTypeOf<ConnectionError | ConnectError>());
    // Both are ZCachedErrors: a listener may take either (was TS2345: the listener was typed Error).
    c.on('error', (error: ZCachedError) => expectTypeOf(error.code).toEqualTypeOf<string>());
    c.on('error', (error: Error) => error);
    // @ts-expect-error: the error event carries an error, not a string
    c.on('error', (error: string) => error);
    c.on('ready', (...args) => expectTypeOf(args).toEqualTypeOf<[event: ReadyEvent]>());
    // @ts-expect-error: not an event of ZCached
    c.on('connected', () => undefined);
    // @ts-expect-error: `connect` carries a ConnectEvent, not a string
    c.on('connect', (event: string) => event);
    expect(c.eventNames().sort()).toEqual(['connect', 'connected', 'error', 'reconnecting', 'ready'].sort());
    c.removeAllListeners();
  });
});
