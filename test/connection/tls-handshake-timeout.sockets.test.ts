/**
 * A TLS handshake that stalls after the TCP connect: the server accepts the
 * connection and never answers the ClientHello. The timeout names the
 * handshake ("TLS handshake timed out after N ms (TCP connected to
 * host:port ...)"), in the `TimeoutError`'s cause and so at the end of the
 * `ConnectError` that `connect()` and `run()` reject with. Before, it read
 * "connect timed out after N ms", as if no TCP connection was made.
 *
 * Real sockets; the connect timeout is what is tested, and a loaded machine
 * only makes it fire later (the assertions hold whenever it fires).
 */
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { ZCached } from '../../src/client/client.js';
import { Connection } from '../../src/connection/connection.js';
import { ConnectError, TimeoutError } from '../../src/errors.js';
import { deferredCleanup } from '../support.js';

const cleanup = deferredCleanup();

/** A TCP server on a free port of 127.0.0.1 that accepts every connection and never sends a byte. */
async function silentServer(): Promise<{ port: number; accepted: () => number }> {
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { port: (server.address() as net.AddressInfo).port, accepted: () => accepted };
}

/** The errors of `error`'s cause chain, `error` first. */
function chain(error: unknown): Error[] {
  const errors: Error[] = [];
  for (let e = error; e instanceof Error && errors.length < 10; e = e.cause) errors.push(e);
  return errors;
}

describe('a TLS handshake that stalls after the TCP connect', () => {
  it('Connection.connect(): the ConnectError names the TLS handshake and the TCP connection made', async () => {
    const server = await silentServer();
    const connection = new Connection({ host: '127.0.0.1', port: server.port, tls: true, connectTimeout: 300, connectionAttempts: 1, reconnect: false });
    cleanup.push(() => connection.close({ force: true }));
    const error = await connection.connect().catch((e: unknown) => e);
    expect(server.accepted()).toBe(1);
    expect(error).toBeInstanceOf(ConnectError);
    const handshake = `TLS handshake timed out after 300 ms (TCP connected to 127.0.0.1:${server.port}; no complete TLS answer from the server: does it serve TLS on this port?)`;
    expect((error as Error).message).toBe(
      `cannot connect to 127.0.0.1:${server.port} after 1 attempt: ${handshake}; it does not reconnect by itself (reconnect: false)`,
    );
    const [, timeout, cause] = chain(error);
    expect(timeout).toBeInstanceOf(TimeoutError);
    expect(timeout!.message).toBe('connect timed out after 300 ms');
    expect(cause).toBeInstanceOf(TimeoutError);
    expect(cause!.message).toBe(handshake);
  });

  it('ZCached.run() over zcacheds://: the rejection ends with the handshake that stalled', async () => {
    const server = await silentServer();
    const client = new ZCached(`zcacheds://127.0.0.1:${server.port}`, { connectTimeout: 300, connectionAttempts: 1 });
    cleanup.push(() => client.close());
    const error = await client.run().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as Error).message).toMatch(/\(TLS handshake timed out after 300 ms \(TCP connected to 127\.0\.0\.1:\d+; .*\)\)$/);
    expect((error as Error).message).not.toMatch(/\(connect timed out/);
  });

  it('a plain TCP connect to the same silent server is not called a TLS handshake', async () => {
    const server = await silentServer();
    const connection = new Connection({ host: '127.0.0.1', port: server.port, connectTimeout: 300, connectionAttempts: 1, reconnect: false });
    cleanup.push(() => connection.close({ force: true }));
    const error = await connection.connect().catch((e: unknown) => e);
    expect((error as Error).message).not.toContain('TLS');
    expect((error as Error).message).toContain('generation handshake');
  });
});
