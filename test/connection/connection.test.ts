import net from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { Connection, type ConnectionOptions } from '../../src/connection/connection.js';
import type { ConnectionStateChange } from '../../src/connection/state.js';
import {
  AbortError,
  ConnectError,
  ConnectionClosedError,
  ConnectionError,
  DialectError,
  QueueFullError,
  ServerError,
  TimeoutError,
} from '../../src/errors.js';
import type { DialectName } from '../../src/protocol/dialect.js';
import { startServer, type ZCachedServer } from '../../src/testing/server.js';
import { deferredCleanup, refusedPort, until } from '../support.js';

const cleanup = deferredCleanup();

async function serve(dialect: DialectName = 'etx'): Promise<ZCachedServer> {
  const server = await startServer({ dialect });
  cleanup.push(() => server.close());
  return server;
}

function open(server: { port: number }, options: Partial<ConnectionOptions> = {}): Connection {
  const connection = new Connection({ host: '127.0.0.1', port: server.port, dialect: 'etx', ...options });
  cleanup.push(() => connection.close({ force: true }));
  return connection;
}

describe.each(['legacy', 'etx-request', 'etx'] as const)('Connection in the %s dialect', (dialect) => {
  it('connects, sends, and matches every reply to its request', async () => {
    const server = await serve(dialect);
    const connection = open(server, { dialect });
    await connection.connect();
    expect(connection.isConnected()).toBe(true);
    const sets = Array.from({ length: 50 }, (_, i) => connection.send(['SET', `k${i}`, i]));
    expect(connection.pendingRequests).toBe(50);
    expect(await Promise.all(sets)).toEqual(Array(50).fill('OK'));
    const gets = await Promise.all(Array.from({ length: 50 }, (_, i) => connection.send(['GET', `k${i}`])));
    expect(gets).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(connection.pendingRequests).toBe(0);
    if (dialect !== 'etx') expect(server.stats.pipeliningViolations).toBe(0);
  });

  it('rejects an error reply with a ServerError and stays in step', async () => {
    const server = await serve(dialect);
    const connection = open(server, { dialect });
    await connection.connect();
    const missing = connection.send(['GET', 'nope']);
    const ping = connection.send(['PING']);
    await expect(missing).rejects.toMatchObject({ name: 'ServerError', code: 'ERR', message: "'nope' not found" });
    await expect(missing).rejects.toBeInstanceOf(ServerError);
    expect(await ping).toBe('PONG');
  });
});

describe('Connection', () => {
  it('without a send policy, pipelines a burst of requests into one socket write', async () => {
    const server = await serve();
    // The 'etx' framing with its send policy lifted; 100 short requests stay under the server's 4096-byte read.
    const connection = open(server, { dialect: { base: 'etx', maxWriteBytes: Infinity, maxUnansweredBytes: Infinity } });
    await connection.connect();
    const write = vi.spyOn(net.Socket.prototype, 'write');
    const before = server.stats.requests;
    const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => connection.send(['ECHO', `m${i}`])));
    const clientWrites = write.mock.contexts.filter((socket) => (socket as net.Socket).remotePort === server.port).length;
    write.mockRestore();
    expect(replies).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`));
    expect(server.stats.requests - before).toBe(100);
    expect(clientWrites).toBe(1);
  });

  it("under the 'etx' send policy, a burst leaves in writes of whole requests, each at most 1400 bytes", async () => {
    const server = await serve();
    const connection = open(server);
    await connection.connect();
    const write = vi.spyOn(net.Socket.prototype, 'write');
    const replies = await Promise.all(Array.from({ length: 256 }, (_, i) => connection.send(['ECHO', `m${i}`])));
    const sizes = write.mock.calls
      .filter((_, i) => (write.mock.contexts[i] as net.Socket).remotePort === server.port)
      .map(([bytes]) => (bytes as Buffer).length);
    const ends = write.mock.calls
      .filter((_, i) => (write.mock.contexts[i] as net.Socket).remotePort === server.port)
      .map(([bytes]) => (bytes as Buffer).at(-1));
    write.mockRestore();
    expect(replies).toEqual(Array.from({ length: 256 }, (_, i) => `m${i}`));
    expect(sizes.length).toBeGreaterThan(3);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1400);
    expect(new Set(ends)).toEqual(new Set([0x03]));
  });

  it('refuses a request its dialect cannot carry, synchronously, and stays usable', async () => {
    const server = await serve('legacy');
    const connection = open(server, { dialect: 'legacy' });
    await connection.connect();
    expect(() => connection.send(['SET', 'k', 'a\nb'])).toThrow(DialectError);
    expect(() => connection.send(['SET', 'k', 'x'.repeat(5000)])).toThrow(DialectError);
    expect(() => connection.send(['SET', 'k', undefined as never])).toThrow(TypeError);
    expect(connection.pendingRequests).toBe(0);
    expect(await connection.send(['SET', 'k', 'fine'])).toBe('OK');
    expect(await connection.send(['GET', 'k'])).toBe('fine');
  });

  it('rejects with ConnectError after its attempts against a closed port', async () => {
    const port = await refusedPort();
    const connection = open({ port }, { connectionAttempts: 2, backoff: { initial: 5, max: 10 } });
    const changes: ConnectionStateChange[] = [];
    connection.subscribe((change) => changes.push(change));
    const error = await connection.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).cause).toBeInstanceOf(Error);
    expect(connection.state).toBe('broken');
    expect(connection.lastError).toBeDefined();
    expect(changes.map((c) => c.to)).toEqual(['connecting', 'broken', 'connecting', 'broken']);
    // It rests, then starts a fresh run by itself: the error says so.
    expect((error as ConnectError).message).toMatch(/after 2 attempts: .+; it retries by itself in ~\d+ ms$/);
    expect(connection.isResting()).toBe(true);
    expect(connection.isConnecting()).toBe(false);
  });

  it('with reconnect: false, rejects requests at once after its attempts, saying it gave up', async () => {
    const port = await refusedPort();
    const connection = open({ port }, { connectionAttempts: 2, backoff: { initial: 5, max: 10 }, reconnect: false });
    const error = await connection.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).message).toMatch(/after 2 attempts: .+; it does not reconnect by itself \(reconnect: false\)$/);
    const refused = await connection.send(['PING']).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConnectionError);
    expect((refused as ConnectionError).message).toMatch(
      /^connection .+ gave up after 2 failed attempts \(last error: .+\) and does not reconnect by itself \(reconnect: false\)/,
    );
    expect((refused as ConnectionError).cause).toBe(connection.lastError);
    expect(connection.nextAttemptIn).toBeUndefined();
  });

  it('resets a stalled stream: the oldest request on the wire silent for timeoutLimit breaks the connection, which reconnects', async () => {
    const server = await serve();
    const connection = open(server, { timeoutLimit: 100, backoff: { initial: 5 } });
    await connection.connect();
    server.stopAnswering();
    const first = connection.send(['PING']);
    const second = connection.send(['PING'], { timeout: 5000 });
    await expect(first).rejects.toBeInstanceOf(TimeoutError);
    await expect(second).rejects.toBeInstanceOf(ConnectionError);
    await expect(second).rejects.toMatchObject({ cause: expect.any(TimeoutError) });
    server.resumeAnswering();
    await connection.connect();
    expect(await connection.send(['PING'])).toBe('PONG');
  });

  it('a short per-call timeout fails only its own request: its neighbours get their replies and the connection stays', async () => {
    const server = await serve();
    const connection = open(server, { timeoutLimit: 5000 });
    await connection.connect();
    const changes: ConnectionStateChange[] = [];
    connection.subscribe((change) => changes.push(change));
    server.delayReplies(150);
    const set = connection.send(['SET', 'a', '1']);
    const impatient = connection.send(['GET', 'a'], { timeout: 30 });
    const get = connection.send(['GET', 'a']);
    await expect(impatient).rejects.toBeInstanceOf(TimeoutError);
    expect(await set).toBe('OK');
    expect(await get).toBe('1');
    server.delayReplies(0);
    expect(await connection.send(['PING'])).toBe('PONG');
    expect(changes).toEqual([]);
    expect(connection.state).toBe('connected');
  });

  it('rejects requests on the wire when the socket drops, keeps unsent ones for the reconnect', async () => {
    const server = await serve();
    const connection = open(server, { backoff: { initial: 5 } });
    await connection.connect();
    server.stopAnswering();
    const before = server.stats.requests;
    const inFlight = connection.send(['PING']);
    await until(() => server.stats.requests === before + 1);
    server.resumeAnswering();
    server.dropConnections();
    await expect(inFlight).rejects.toBeInstanceOf(ConnectionError);
    expect(connection.state).not.toBe('connected');
    const queued = connection.send(['PING']);
    expect(await queued).toBe('PONG');
    expect(connection.isConnected()).toBe(true);
  });

  it('aborts a request: before it is written, and after (its reply is still consumed)', async () => {
    const server = await serve();
    const connection = open(server);
    await connection.connect();
    const early = new AbortController();
    const aborted = connection.send(['SET', 'a', 1], { signal: early.signal });
    early.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortError);
    server.delayReplies(30);
    const late = new AbortController();
    const before = server.stats.requests;
    const written = connection.send(['GET', 'x'], { signal: late.signal });
    const next = connection.send(['PING']);
    await until(() => server.stats.requests >= before + 1);
    late.abort();
    await expect(written).rejects.toBeInstanceOf(AbortError);
    expect(await next).toBe('PONG');
    server.delayReplies(0);
    await expect(connection.send(['GET', 'a'])).rejects.toMatchObject({ code: 'ERR' });
    const already = AbortSignal.abort();
    await expect(connection.send(['PING'], { signal: already })).rejects.toBeInstanceOf(AbortError);
  });

  it('fails fast past maxPending', async () => {
    const server = await serve();
    const connection = open(server, { maxPending: 2 });
    await connection.connect();
    const a = connection.send(['PING']);
    const b = connection.send(['PING']);
    await expect(connection.send(['PING'])).rejects.toBeInstanceOf(QueueFullError);
    expect(await Promise.all([a, b])).toEqual(['PONG', 'PONG']);
  });

  it('closes gracefully (in-flight requests finish) and by force (they reject)', async () => {
    const server = await serve();
    const graceful = open(server);
    await graceful.connect();
    server.delayReplies(20);
    const pending = graceful.send(['PING']);
    const closing = graceful.close();
    await expect(graceful.send(['PING'])).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(await pending).toBe('PONG');
    await closing;
    expect(graceful.state).toBe('closed');

    const forced = open(server);
    await forced.connect();
    const cut = forced.send(['PING']);
    await forced.close({ force: true });
    await expect(cut).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(await forced.tryReconnect()).toBe(false);
    await expect(forced.connect()).rejects.toBeInstanceOf(ConnectionClosedError);
  });

  it('a graceful close gives up on requests after its deadline', async () => {
    const server = await serve();
    const connection = open(server);
    await connection.connect();
    server.stopAnswering();
    const stuck = connection.send(['PING']);
    await connection.close({ timeout: 30 });
    await expect(stuck).rejects.toBeInstanceOf(ConnectionClosedError);
  });

  it('close() during connect resolves and the connect rejects', async () => {
    const server = await serve();
    const connection = open(server);
    const connecting = connection.connect();
    await connection.close();
    await expect(connecting).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(connection.state).toBe('closed');
  });

  it('detects an idle half-open connection with pingInterval', async () => {
    const server = await serve();
    const connection = open(server, { pingInterval: 30, timeoutLimit: 1000, reconnect: false });
    await connection.connect();
    const broke = new Promise<ConnectionStateChange>((resolve) => connection.subscribe((c) => c.to === 'broken' && resolve(c)));
    server.stopAnswering();
    const change = await broke;
    expect(change.error).toBeInstanceOf(TimeoutError);
  });

  it('tryReconnect replaces the socket and resolves true', async () => {
    const server = await serve();
    const connection = open(server);
    await connection.connect();
    expect(await connection.tryReconnect()).toBe(true);
    expect(server.stats.connectionsAccepted).toBe(2);
    expect(await connection.send(['PING'])).toBe('PONG');
  });

  it('validates its options naming the wrong one', () => {
    expect(() => new Connection({ host: '', port: 1 })).toThrow(/host/);
    expect(() => new Connection({ host: 'h', port: 70000 })).toThrow(/port/);
    expect(() => new Connection({ host: 'h', port: 1, timeoutLimit: 0 })).toThrow(/timeoutLimit/);
    expect(() => new Connection({ host: 'h', port: 1, connectionAttempts: 1.5 })).toThrow(/connectionAttempts/);
    expect(() => new Connection({ host: 'h', port: 1, dialect: 'x' as never })).toThrow(/dialect/);
  });

  it('has unique readable ids and rejects sends before connect()', async () => {
    const a = new Connection({ host: '127.0.0.1', port: 1 });
    const b = new Connection({ host: '127.0.0.1', port: 1 });
    expect(a.id).not.toBe(b.id);
    expect(a.id).toMatch(/^127\.0\.0\.1:1#\d+$/);
    await expect(a.send(['PING'])).rejects.toBeInstanceOf(ConnectionError);
    await a.close();
    await b.close();
  });
});

describe('Connection.close options', () => {
  it('refuses an invalid close timeout even with nothing pending', async () => {
    const connection = new Connection({ host: '127.0.0.1', port: 1 });
    expect(() => connection.close({ timeout: -1 })).toThrow(RangeError);
    expect(() => connection.close({ timeout: 2 ** 31 })).toThrow(RangeError);
    await connection.close();
    expect(connection.state).toBe('closed');
  });
});
