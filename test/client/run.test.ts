/**
 * `ZCached.run()` and what a client says when it cannot take a command:
 *
 * - concurrent `run()` calls share one setup (the lazy-init pattern);
 * - `run()` after `close()` is an error, not a silent new pool;
 * - a rejected `run()` leaves nothing running, so a script exits by itself;
 * - a command before `run()` says so; after `close()` it says that;
 * - a command while every connection rests after a failed run waits for the
 *   fresh run instead of failing; when no connection will come back by
 *   itself, the error says what each one is doing.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConnectError, ConnectionClosedError, PoolEmptyError, ZCachedError } from '../../src/errors.js';
import { moduleUrl, removeBuild, transpileSources } from '../diagnostics/child.js';
import { serversAndClients } from '../servers-and-clients.js';
import { deferredCleanup, refusedPort, until, watchUnhandledRejections } from '../support.js';

const cleanup = deferredCleanup();
const unhandled = watchUnhandledRejections();

const { server, client } = serversAndClients(cleanup);

/** Sockets and timers keeping this process alive, by kind. */
function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind === 'TCPSocketWrap' || kind === 'TCPServerWrap' || kind === 'Timeout' || kind === 'Immediate') counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

function beyond(baseline: Record<string, number>): string[] {
  return Object.entries(resources())
    .filter(([kind, count]) => count > (baseline[kind] ?? 0))
    .map(([kind, count]) => `${kind}: ${count} (baseline ${baseline[kind] ?? 0})`);
}

describe('run()', () => {
  it('two run() calls at once share one setup: both resolve, with poolSize connections (was: one rejected with ConnectError)', async () => {
    const up = await server();
    const c = client({ port: up.port, poolSize: 2 });
    const first = c.run();
    const second = c.run();
    const outcomes = await Promise.allSettled([first, second]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(second).toBe(first);
    expect(c.connectionPool.connectedConnections).toHaveLength(2);
    await until(() => up.stats.openConnections === 2);
    expect(up.stats.connectionsAccepted).toBe(2);
    expect(await c.ping()).toBe('PONG');
  });

  it('once resolved, run() returns the same promise and does not set the pool up again', async () => {
    const up = await server();
    const c = client({ port: up.port, poolSize: 2 });
    const first = c.run();
    await first;
    const connections = c.connectionPool.connections;
    const again = c.run();
    await again;
    expect(c.connectionPool.connections).toEqual(connections);
    expect(again).toBe(first);
    expect(connections.every((connection) => connection.isConnected())).toBe(true);
    expect(connections.reduce((sum, connection) => sum + connection.totalRequests, 0)).toBe(0);
    await until(() => up.stats.connectionsAccepted >= 2);
    expect(await c.ping()).toBe('PONG');
    expect(up.stats.connectionsAccepted).toBe(2);
  });

  it('run() after close() rejects with ConnectionClosedError and opens nothing (was: a silent new pool)', async () => {
    const up = await server();
    const c = client({ port: up.port });
    await c.run();
    await c.close();
    const error = await c.run().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect((error as ConnectionClosedError).message).toMatch(/the client was closed: run\(\) cannot be used any more; create a new ZCached/);
    expect(c.connectionPool.isEmpty()).toBe(true);
    expect(up.stats.connectionsAccepted).toBe(1);
  });

  it('close() during run(): run() rejects with a ConnectError caused by a ConnectionClosedError', async () => {
    const port = await refusedPort();
    const c = client({ port, backoff: { initial: 1_000, max: 1_000 } });
    const running = c.run().catch((e: unknown) => e);
    await c.close();
    const error = await running;
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).cause).toBeInstanceOf(ConnectionClosedError);
    expect((error as ConnectError).message).toMatch(/the client was closed while its pool was connecting/);
  });

  it('a rejected run() leaves no socket or timer of ours behind (was: connections resting and retrying)', async () => {
    const port = await refusedPort();
    const baseline = resources();
    const c = client({ port, poolSize: 3, connectionAttempts: 2, backoff: { initial: 5, max: 5_000 } });
    const error = await c.run().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    await until(() => beyond(baseline).length === 0, 3_000).catch(() => {
      throw new Error(`left after the rejected run(): ${beyond(baseline).join(', ')}`);
    });
    expect(c.connectionPool.isEmpty()).toBe(true);
    expect((error as ConnectError).cause).toBeInstanceOf(Error);
    expect((error as ConnectError).message).toMatch(
      new RegExp(`^cannot reach the zcached server at 127\\.0\\.0\\.1:${port}: none of the 3 connections could connect; the pool was closed, nothing is left running: call run\\(\\) again to retry \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\)$`),
    );
  });

  it('after a rejected run(), commands say so and run() can be called again', async () => {
    const port = await refusedPort();
    const c = client({ port, connectionAttempts: 1 });
    const failure = await c.run().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ConnectError);
    const refused = await c.ping().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PoolEmptyError);
    expect((refused as PoolEmptyError).message).toMatch(/^no connection: run\(\) failed and left nothing running; call run\(\) again \(connect ECONNREFUSED [^)]+\)$/);
    expect((refused as PoolEmptyError).cause).toBe(failure);
    // The server comes up on that port: a new run() connects.
    await server({ port });
    await c.run();
    expect(await c.ping()).toBe('PONG');
  });

  it('a script whose run() rejects exits by itself, without close() (was: it never exited)', async () => {
    const build = transpileSources();
    cleanup.push(async () => removeBuild(build));
    const port = await refusedPort();
    const script = [
      `import { ZCached } from ${moduleUrl(build, 'index.js')};`,
      `const client = new ZCached({ port: ${port} });`,
      `try { await client.run(); console.log('resolved'); } catch (error) { console.log('rejected', error.code); }`,
    ].join('\n');
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Generous: run() takes ~300 ms (3 attempts, 100 + 200 ms apart); the old code kept it alive forever.
    const bound = new Promise<'still running'>((resolve) => {
      const timer = setTimeout(() => resolve('still running'), 30_000);
      void exited.then(() => clearTimeout(timer));
    });
    const outcome = await Promise.race([exited, bound]);
    if (outcome === 'still running') child.kill('SIGKILL');
    expect(output.trim()).toBe('rejected ECONNECT');
    expect(outcome).toBe(0);
  }, 60_000);
});

describe('a command the client cannot take', () => {
  it('before run(): a PoolEmptyError saying run() was never called (was: "has no connected connection")', async () => {
    const c = client({ port: 1 });
    const error = await c.ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolEmptyError);
    expect(error).toBeInstanceOf(ZCachedError);
    expect((error as PoolEmptyError).code).toBe('EPOOLEMPTY');
    expect((error as PoolEmptyError).message).toMatch(/^no connection: run\(\) was never called on this client; call `await client\.run\(\)` before sending commands/);
  });

  it('after close(): a ConnectionClosedError (was: PoolEmptyError)', async () => {
    const up = await server();
    const c = client({ port: up.port });
    await c.run();
    await c.close();
    const error = await c.ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect((error as ConnectionClosedError).message).toMatch(/the client was closed/);
  });

  it('while every connection rests after a failed run, it waits for the fresh run and gets its reply (was: PoolEmptyError at once)', async () => {
    let up = await server();
    const port = up.port;
    // A rest of 1.5 s: long enough that the command is surely given while they rest.
    const c = client({ port, poolSize: 2, connectionAttempts: 2, backoff: { initial: 5, max: 1_500, jitter: 0 }, timeoutLimit: 10_000 });
    await c.run();
    const store = up.store;
    await up.close();
    const pool = c.connectionPool;
    // Every run is over: broken, and not connecting (resting).
    await until(() => pool.connections.every((connection) => connection.state === 'broken' && !connection.isConnecting()), 5_000);
    // Given in the same turn as the check above: no timer can have ended the rests in between.
    const reply = c.ping();
    const settled = { done: false };
    reply.then(
      () => (settled.done = true),
      () => (settled.done = true),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled.done).toBe(false);
    up = await server({ port, store });
    expect(await reply).toBe('PONG');
  });

  it('when no connection will reconnect by itself, the PoolEmptyError says what each is doing', async () => {
    const up = await server();
    const c = client({ port: up.port, poolSize: 2, reconnect: false });
    await c.run();
    await up.close();
    const pool = c.connectionPool;
    await until(() => pool.connections.every((connection) => connection.state === 'broken'), 5_000);
    const error = await c.ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolEmptyError);
    const sentence = String.raw`connection 127\.0\.0\.1:\d+#\d+ (broke|gave up after \d+ failed attempts?) \(last error: [^)]*\) and does not reconnect by itself \(reconnect: false\); call connect\(\) or tryReconnect\(\)`;
    expect((error as PoolEmptyError).message).toMatch(new RegExp(`^no connection of the pool is connected or will connect by itself: ${sentence}; ${sentence}$`));
    expect((error as PoolEmptyError).cause).toBeInstanceOf(Error);
  });
});

describe('no unhandled rejections', () => {
  it('none in this file', () => {
    expect(unhandled).toEqual([]);
  });
});
