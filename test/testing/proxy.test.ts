/**
 * The fault proxy itself: it forwards bytes unchanged until told otherwise,
 * and each fault does what it says, seen from raw sockets and from a real
 * `Connection` to the embedded server.
 */
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { Connection, type ConnectionOptions } from '../../src/connection/connection.js';
import { ConnectError, ConnectionError, ProtocolError, ServerGenerationError, TimeoutError } from '../../src/errors.js';
import { startProxy, type FaultProxy } from '../../src/testing/proxy.js';
import { startServer } from '../../src/testing/server.js';
import { deferredCleanup, sleep, until } from '../support.js';

const cleanup = deferredCleanup();



/** A raw TCP server that echoes every byte back; `received` counts what it read. */
async function startEchoServer(): Promise<{ port: number; received: () => number; sockets: Set<net.Socket> }> {
  let received = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (chunk) => {
      received += chunk.length;
      socket.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { port: (server.address() as net.AddressInfo).port, received: () => received, sockets };
}

/** A raw client socket with everything it reads collected, and how it ended. */
async function rawConnect(port: number): Promise<{ socket: net.Socket; data: () => Buffer; ended: Promise<'end' | 'reset' | 'close'> }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  let sawEnd = false;
  let sawReset = false;
  socket.on('end', () => (sawEnd = true));
  socket.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'ECONNRESET') sawReset = true;
  });
  const ended = new Promise<'end' | 'reset' | 'close'>((resolve) =>
    socket.once('close', () => resolve(sawReset ? 'reset' : sawEnd ? 'end' : 'close')),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  cleanup.push(async () => {
    socket.destroy();
  });
  return { socket, data: () => Buffer.concat(chunks), ended };
}

async function proxyTo(port: number): Promise<FaultProxy> {
  const proxy = await startProxy({ target: { host: '127.0.0.1', port } });
  cleanup.push(() => proxy.close());
  return proxy;
}

async function serverBehindProxy() {
  const server = await startServer();
  cleanup.push(() => server.close());
  const proxy = await proxyTo(server.port);
  return { server, proxy };
}

async function connectionVia(proxy: FaultProxy, options: Partial<ConnectionOptions> = {}): Promise<Connection> {
  const connection = new Connection({
    host: proxy.host,
    port: proxy.port,
    reconnect: false,
    connectionAttempts: 1,
    timeoutLimit: 1_000,
    ...options,
  });
  cleanup.push(() => connection.close({ force: true }));
  await connection.connect();
  return connection;
}

describe('startProxy', () => {
  it('forwards bytes both ways unchanged and counts them', async () => {
    const echo = await startEchoServer();
    const proxy = await proxyTo(echo.port);
    const client = await rawConnect(proxy.port);
    const payload = randomBytes(4 * 1024 * 1024);
    client.socket.write(payload);
    await until(() => client.data().length === payload.length, 10_000);
    expect(client.data().equals(payload)).toBe(true);
    expect(proxy.stats).toMatchObject({
      connectionsAccepted: 1,
      openConnections: 1,
      bytesUpstream: payload.length,
      bytesDownstream: payload.length,
    });
  });

  it('carries a real connection to the embedded server', async () => {
    const { server, proxy } = await serverBehindProxy();
    const connection = await connectionVia(proxy);
    expect(await connection.send(['SET', 'k', 'v'])).toBe('OK');
    expect(await connection.send(['GET', 'k'])).toBe('v');
    expect(server.stats.connectionsAccepted).toBe(1);
  });

  it('passes an orderly end through, and closes both sides', async () => {
    const echo = await startEchoServer();
    const proxy = await proxyTo(echo.port);
    const client = await rawConnect(proxy.port);
    client.socket.end('bye');
    expect(await client.ended).toBe('end');
    expect(client.data().toString()).toBe('bye');
    await until(() => proxy.stats.openConnections === 0 && echo.sockets.size === 0);
  });

  it('listens on any loopback address: 127.0.0.2 (the whole of 127.0.0.0/8) and ::1 carry a connection; other hosts are refused', async () => {
    // The fleet's tests put servers on 127.0.0.2-.5; a proxy in front of one must listen beside it.
    const server = await startServer({ host: '127.0.0.2' });
    cleanup.push(() => server.close());
    const proxy = await startProxy({ target: { host: '127.0.0.2', port: server.port }, host: '127.0.0.2' });
    cleanup.push(() => proxy.close());
    expect(proxy.host).toBe('127.0.0.2');
    const connection = await connectionVia(proxy);
    expect(await connection.send(['SET', 'k', 'v'])).toBe('OK');
    expect(server.stats.connectionsAccepted).toBe(1);
    for (const host of ['127.255.255.254', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.9', '::ffff:7f00:9', 'localhost']) {
      const other: FaultProxy | Error = await startProxy({ target: { host: '127.0.0.1', port: 1 }, host }).catch((error: unknown) => error as Error);
      if (other instanceof Error) {
        // Only the machine may refuse (no IPv6 here): never the proxy's own check.
        expect(other).not.toBeInstanceOf(RangeError);
        continue;
      }
      cleanup.push(() => other.close());
    }
    for (const host of ['0.0.0.0', '128.0.0.1', '10.0.0.1', '127.0.0', '127.0.0.256', '::', '::2', '::ffff:8000:1', 'example.com', '']) {
      await expect(startProxy({ target: { host: '127.0.0.1', port: 1 }, host })).rejects.toThrow(
        new RangeError(`startProxy: the proxy listens on loopback only (127.0.0.0/8, ::1, localhost), got ${JSON.stringify(host)}`),
      );
    }
  });

  it('rejects options it cannot honour', async () => {
    await expect(startProxy({ target: { host: '127.0.0.1', port: 1 }, host: '0.0.0.0' })).rejects.toThrow(RangeError);
    await expect(startProxy({ target: { host: '127.0.0.1', port: 0 } })).rejects.toThrow(RangeError);
    const proxy = await proxyTo(1);
    expect(() => proxy.setLatency(-1)).toThrow(RangeError);
    expect(() => proxy.setBandwidth(0)).toThrow(RangeError);
    expect(() => proxy.truncateNextReply(-1)).toThrow(RangeError);
    expect(() => proxy.halfOpen({ direction: 'sideways' as never })).toThrow(TypeError);
  });

  it('close() destroys every proxied socket, is idempotent, and works with await using', async () => {
    const echo = await startEchoServer();
    const client = await (async () => {
      await using proxy = await startProxy({ target: { host: '127.0.0.1', port: echo.port } });
      const raw = await rawConnect(proxy.port);
      await until(() => echo.sockets.size === 1);
      const again = proxy.close();
      expect(proxy.close()).toBe(again);
      await again;
      return raw;
    })();
    expect(['reset', 'close', 'end']).toContain(await client.ended);
    await until(() => echo.sockets.size === 0);
  });
});

describe('latency and bandwidth', () => {
  it('delays each direction by the latency and keeps order', async () => {
    const { proxy } = await serverBehindProxy();
    const connection = await connectionVia(proxy, { timeoutLimit: 10_000 });
    proxy.setLatency(60);
    let started = performance.now();
    expect(await connection.send(['PING'])).toBe('PONG');
    expect(performance.now() - started).toBeGreaterThanOrEqual(115); // 60 ms each way

    // Downstream only: a round trip takes the downstream latency, not twice it. The latency is
    // long, so that a loaded machine's delays (timers fire late, never early) stay well below it.
    const latency = 2_000;
    proxy.setLatency(latency, 'downstream');
    proxy.setLatency(0, 'upstream');
    started = performance.now();
    // 40 short requests fit one segment of the 'etx' send policy: one round trip.
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => connection.send(['ECHO', `m${i}`])));
    expect(replies).toEqual(Array.from({ length: 40 }, (_, i) => `m${i}`));
    expect(performance.now() - started).toBeGreaterThanOrEqual(latency - 5);
    expect(performance.now() - started).toBeLessThan(2 * latency);
  });

  it('throttles each connection to the bandwidth given, then lifts the limit', async () => {
    const echo = await startEchoServer();
    const proxy = await proxyTo(echo.port);
    const client = await rawConnect(proxy.port);
    proxy.setBandwidth(100_000, 'downstream');
    const payload = randomBytes(30_000);
    const started = performance.now();
    client.socket.write(payload);
    await until(() => client.data().length === payload.length);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(250); // 30 kB at 100 kB/s: 300 ms
    expect(client.data().equals(payload)).toBe(true);
    expect(echo.received()).toBe(payload.length); // upstream was not throttled

    // Lifted: 1 MB, which the limit would stretch to 10 s, goes through in (much) less than half that.
    proxy.setBandwidth(undefined);
    const big = randomBytes(1_000_000);
    const again = performance.now();
    client.socket.write(big);
    await until(() => client.data().length === payload.length + big.length);
    expect(performance.now() - again).toBeLessThan(5_000);
    expect(client.data().subarray(payload.length).equals(big)).toBe(true);
  });
});

describe('cuts', () => {
  it("cutConnections({ mode: 'rst' }) resets both sockets", async () => {
    const echo = await startEchoServer();
    const proxy = await proxyTo(echo.port);
    const client = await rawConnect(proxy.port);
    await until(() => echo.sockets.size === 1);
    proxy.cutConnections({ mode: 'rst' });
    expect(await client.ended).toBe('reset');
    await until(() => echo.sockets.size === 0 && proxy.stats.openConnections === 0);
    expect(proxy.stats.connectionsCut).toBe(1);
  });

  it("cutConnections({ mode: 'fin' }) ends both sockets in order", async () => {
    const echo = await startEchoServer();
    const proxy = await proxyTo(echo.port);
    const client = await rawConnect(proxy.port);
    await until(() => echo.sockets.size === 1);
    proxy.cutConnections({ mode: 'fin' });
    expect(await client.ended).toBe('end');
    await until(() => echo.sockets.size === 0 && proxy.stats.openConnections === 0);
  });

  it("a reset right after an orderly end (a half-open link's FIN released by heal()) still closes the sockets: close() settles", async () => {
    // Node cannot reset a socket whose end() is still in flight (uv_tcp_close_reset fails with EINVAL,
    // 'close' never comes and the handle leaks): the proxy's close() used to wait for it forever.
    const echo = await startEchoServer();
    const proxy = await startProxy({ target: { host: '127.0.0.1', port: echo.port } });
    const client = await rawConnect(proxy.port);
    await until(() => echo.sockets.size === 1);
    proxy.halfOpen();
    client.socket.end();
    await sleep(50); // the proxy reads the FIN and holds it (were it later, the test would prove nothing, never fail)
    proxy.heal(); // the held FIN goes out: end() on the proxy's socket to the server...
    proxy.cutConnections({ mode: 'rst' }); // ...and in the same turn, a reset of that socket
    const closed = await Promise.race([proxy.close().then(() => 'closed'), sleep(5_000).then(() => 'still open')]);
    expect(closed).toBe('closed');
    await until(() => echo.sockets.size === 0);
  });

  it('a Connection sees a reset as a broken socket with ECONNRESET as the cause', async () => {
    const { proxy } = await serverBehindProxy();
    const connection = await connectionVia(proxy);
    proxy.cutConnections();
    await until(() => connection.state === 'broken');
    expect(connection.lastError).toBeInstanceOf(ConnectionError);
    expect((connection.lastError?.cause as NodeJS.ErrnoException | undefined)?.code).toBe('ECONNRESET');
  });
});

describe('half-open', () => {
  it('holds replies without closing anything, and releases them in order on heal()', async () => {
    const echo = await startEchoServer();
    const proxy = await proxyTo(echo.port);
    const client = await rawConnect(proxy.port);
    proxy.halfOpen({ direction: 'downstream' });
    client.socket.write('one,');
    client.socket.write('two');
    await until(() => echo.received() === 7);
    await sleep(50);
    expect(client.data().length).toBe(0);
    expect(proxy.stats.openConnections).toBe(1);
    proxy.heal();
    await until(() => client.data().length === 7);
    expect(client.data().toString()).toBe('one,two');
  });

  it('holds requests in the upstream direction', async () => {
    const echo = await startEchoServer();
    const proxy = await proxyTo(echo.port);
    const client = await rawConnect(proxy.port);
    proxy.halfOpen({ direction: 'upstream' });
    client.socket.write('hello');
    await sleep(50);
    expect(echo.received()).toBe(0);
    proxy.heal();
    await until(() => client.data().toString() === 'hello');
  });

  it('applies to connections opened while half-open', async () => {
    const { proxy } = await serverBehindProxy();
    proxy.halfOpen();
    // The connection's generation handshake (ECHO, then PING) gets no reply through the held proxy:
    // the connect attempt times out waiting for it, and the connection never counts as connected.
    const error = await connectionVia(proxy, { connectTimeout: 200 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    const timeout = (error as ConnectError).cause;
    expect(timeout).toBeInstanceOf(TimeoutError);
    expect((timeout as TimeoutError).message).toBe('connect timed out after 200 ms');
    const stalled = (timeout as TimeoutError).cause;
    expect(stalled).toBeInstanceOf(ServerGenerationError);
    expect((stalled as ServerGenerationError).message).toMatch(/did not finish the generation handshake within connectTimeout \(waiting for the reply to ECHO; received: nothing\)$/);
    expect(proxy.stats.connectionsAccepted).toBe(1);
    // Healed, a new connection gets through.
    proxy.heal();
    const healed = await connectionVia(proxy);
    expect(await healed.send(['PING'])).toBe('PONG');
  });
});

describe('refusing connections', () => {
  it("'refuse' stops listening (ECONNREFUSED) and listens again on the same port", async () => {
    const echo = await startEchoServer();
    const proxy = await proxyTo(echo.port);
    const open = await rawConnect(proxy.port);
    await proxy.refuseConnections(true);
    await expect(rawConnect(proxy.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    // Connections already open are left alone.
    open.socket.write('still here');
    await until(() => open.data().toString() === 'still here');
    await proxy.refuseConnections(false);
    const later = await rawConnect(proxy.port);
    later.socket.write('x');
    await until(() => later.data().toString() === 'x');
  });

  it("'reset' accepts and resets at once", async () => {
    const echo = await startEchoServer();
    const proxy = await proxyTo(echo.port);
    await proxy.refuseConnections(true, { mode: 'reset' });
    // The reset may come before or after the client saw its connect complete.
    const outcome = await rawConnect(proxy.port).then(
      (client) => client.ended,
      (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? 'reset' : error.code),
    );
    expect(outcome).toBe('reset');
    expect(proxy.stats.connectionsRefused).toBe(1);
    expect(echo.sockets.size).toBe(0);
    await proxy.refuseConnections(false);
    const later = await rawConnect(proxy.port);
    later.socket.write('x');
    await until(() => later.data().toString() === 'x');
  });

  it('a client connecting through a proxy whose target is down is reset', async () => {
    const server = await startServer();
    const proxy = await proxyTo(server.port);
    await server.close();
    const client = await rawConnect(proxy.port);
    expect(await client.ended).toBe('reset');
  });
});

describe('corrupt and truncated replies', () => {
  it('corruptNextReply replaces one chunk; the connection breaks with a ProtocolError', async () => {
    const { proxy } = await serverBehindProxy();
    const connection = await connectionVia(proxy);
    expect(await connection.send(['PING'])).toBe('PONG');
    proxy.corruptNextReply('!garbage\r\n');
    const failed = await connection.send(['PING']).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(ConnectionError);
    expect(connection.lastError).toBeInstanceOf(ProtocolError);
    // One shot: the next connection is served normally.
    const next = await connectionVia(proxy);
    expect(await next.send(['PING'])).toBe('PONG');
  });

  it('corruptNextReply takes a function of the chunk', async () => {
    const { proxy } = await serverBehindProxy();
    const connection = await connectionVia(proxy);
    await connection.send(['SET', 'k', 'abc']);
    proxy.corruptNextReply((chunk) => Buffer.from(chunk.toString('latin1').replace('abc', 'xyz'), 'latin1'));
    // A corruption that keeps the syntax valid cannot be detected by any client: the proxy does what it is told.
    expect(await connection.send(['GET', 'k'])).toBe('xyz');
  });

  it("truncateNextReply keeps the first bytes, then ends the connection ('fin')", async () => {
    const echo = await startEchoServer();
    const proxy = await proxyTo(echo.port);
    const client = await rawConnect(proxy.port);
    proxy.truncateNextReply(3);
    client.socket.write('abcdef');
    expect(await client.ended).toBe('end');
    expect(client.data().toString()).toBe('abc');
    await until(() => echo.sockets.size === 0);
  });

  it("truncateNextReply with 'rst' resets the client after the kept bytes", async () => {
    const echo = await startEchoServer();
    const proxy = await proxyTo(echo.port);
    const client = await rawConnect(proxy.port);
    proxy.truncateNextReply(2, { then: 'rst' });
    client.socket.write('abcdef');
    expect(await client.ended).toBe('reset');
  });

  it("truncateNextReply with 'stall' leaves a reply that never ends; the request times out", async () => {
    const { proxy } = await serverBehindProxy();
    const connection = await connectionVia(proxy, { timeoutLimit: 150 });
    await connection.send(['SET', 'k', 'x'.repeat(100)]);
    proxy.truncateNextReply(10, { then: 'stall' });
    await expect(connection.send(['GET', 'k'])).rejects.toBeInstanceOf(TimeoutError);
    // The stream is reset on the request's deadline: in the timer turn that rejected it, or the next one.
    await until(() => connection.state !== 'connected');
    expect(connection.state).toBe('broken');
  });
});

describe('resegment', () => {
  it('passes a chunk of at most maxBytes whole, and cuts a longer one into pieces of at most maxBytes, in order', async () => {
    const chunks: Buffer[] = [];
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      cleanup.push(async () => void socket.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => server.close(resolve)));
    const proxy = await proxyTo((server.address() as net.AddressInfo).port);
    let seed = 1;
    proxy.resegment(100, 'upstream', () => ((seed = (seed * 16807) % 2147483647) / 2147483647));
    const client = await rawConnect(proxy.port);
    client.socket.write(Buffer.alloc(80, 1));
    await until(() => chunks.length > 0);
    expect(chunks.map((chunk) => chunk.length)).toEqual([80]);
    const long = randomBytes(5000);
    client.socket.write(long);
    await until(() => chunks.reduce((n, chunk) => n + chunk.length, 0) === 5080);
    const pieces = chunks.slice(1);
    // Pieces leave one per event-loop turn (the receiver may still read several at once).
    expect(pieces.length).toBeGreaterThan(5000 / 200);
    expect(Buffer.concat(pieces).equals(long)).toBe(true);
    expect(() => proxy.resegment(0)).toThrow(RangeError);
    expect(() => proxy.resegment(1.5)).toThrow(RangeError);
  });
});
