/**
 * The root cause of a connect failure is in the top-level message, not two
 * `cause` levels down: `run()` rejects with `cannot reach the zcached server
 * at 127.0.0.1:P: ... (connect ECONNREFUSED 127.0.0.1:P)`, and so on for
 * what a command gets after it, for DNS failures and for TLS handshakes
 * that fail. The `cause` chain is kept. Real sockets throughout.
 *
 * Before, the message ended with `(cannot connect to 127.0.0.1:P)`: the
 * socket's error was only in `error.cause.cause`.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { ZCached } from '../../src/client/client.js';
import { Connection } from '../../src/connection/connection.js';
import { rootCauseText } from '../../src/connection/root-cause.js';
import { ConnectError, ConnectionError, PoolEmptyError, ProtocolError, ServerGenerationError, TimeoutError } from '../../src/errors.js';
import { answerHandshake } from '../handshake-responder.js';
import { deferredCleanup, refusedPort, watchUnhandledRejections } from '../support.js';
import { selfSignedCertificate } from '../tls-credentials.js';

const cleanup = deferredCleanup();
const unhandled = watchUnhandledRejections();

/** A server on a free port of 127.0.0.1 that does `onSocket` to every connection; closed after the test. */
async function rawServer(onSocket: (socket: net.Socket) => void, make: () => net.Server = () => net.createServer()): Promise<number> {
  const server = make();
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    onSocket(socket);
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return (server.address() as net.AddressInfo).port;
}

function client(target: string | object, options?: object): ZCached {
  const created = typeof target === 'string' ? new ZCached(target, options) : new ZCached(target);
  cleanup.push(() => created.close());
  return created;
}

/** The errors of `error`'s cause chain, `error` first. */
function chain(error: unknown): Error[] {
  const errors: Error[] = [];
  for (let e = error; e instanceof Error && errors.length < 10; e = e.cause) errors.push(e);
  return errors;
}

const rootOf = (error: unknown): Error & { code?: string } => chain(error).at(-1)!;

/** Matches the whole `text` literally. */
const literal = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('connection refused', () => {
  it('run() rejects with the root cause at the end of its message; the cause chain is kept', async () => {
    const port = await refusedPort();
    const error = await client({ port, connectionAttempts: 1 }).run().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    const message = (error as Error).message;
    expect(message).toMatch(new RegExp(`^cannot reach the zcached server at 127\\.0\\.0\\.1:${port}: .*\\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\)$`));
    const [, connectionError, socketError] = chain(error);
    expect(connectionError).toBeInstanceOf(ConnectionError);
    expect(connectionError!.message).toBe(`cannot connect to 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`);
    expect((socketError as Error & { code?: string }).code).toBe('ECONNREFUSED');
  });

  it('a command after the failed run() says why, with the root cause last', async () => {
    const port = await refusedPort();
    const c = client({ port, connectionAttempts: 1, poolSize: 2 });
    const failure = await c.run().catch((e: unknown) => e);
    const error = await c.get('k').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolEmptyError);
    expect((error as Error).message).toMatch(new RegExp(`\\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\)$`));
    expect((error as Error).cause).toBe(failure);
  });

  it('Connection: connect() and a request on a connection that gave up name the root cause', async () => {
    const port = await refusedPort();
    const connection = new Connection({ host: '127.0.0.1', port, connectionAttempts: 1, reconnect: false });
    cleanup.push(() => connection.close());
    const connectError = await connection.connect().catch((e: unknown) => e);
    expect(connectError).toBeInstanceOf(ConnectError);
    expect((connectError as Error).message).toBe(
      `cannot connect to 127.0.0.1:${port} after 1 attempt: connect ECONNREFUSED 127.0.0.1:${port}; it does not reconnect by itself (reconnect: false)`,
    );
    const sendError = await connection.send(['PING']).catch((e: unknown) => e);
    expect(sendError).toBeInstanceOf(ConnectionError);
    expect((sendError as Error).message).toContain(`connect ECONNREFUSED 127.0.0.1:${port}`);
  });
});

describe('DNS', () => {
  it('a host name that does not resolve: the resolver error is in the message', async () => {
    // `.invalid` never resolves (RFC 6761). Offline, the resolver may answer EAI_AGAIN, or time out: only the root's code is asserted.
    const error = await client('zcached://nothing.invalid:7556', { connectionAttempts: 1, connectTimeout: 20_000 })
      .run()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    const root = rootOf(error);
    expect(root).not.toBe(error);
    expect(typeof root.code).toBe('string');
    expect((error as Error).message).toMatch(new RegExp(`^cannot reach the zcached server at nothing\\.invalid:7556: .*\\(.*${literal(root.code!)}.*\\)$`));
  }, 30_000);
});

describe('TLS handshake failures', () => {
  it('a server that hangs up during the handshake', async () => {
    const port = await rawServer((socket) => socket.destroy());
    const error = await client(`zcacheds://127.0.0.1:${port}`, { connectionAttempts: 1 }).run().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    const root = rootOf(error);
    expect(root.message).not.toBe('');
    expect((error as Error).message).toMatch(new RegExp(`\\(.*${literal(root.message)}\\)$`));
    if (typeof root.code === 'string') expect((error as Error).message).toContain(root.code);
  });

  it('a server that does not speak TLS', async () => {
    const port = await rawServer((socket) => socket.end('-ERR not TLS\r\n'));
    const error = await client(`zcacheds://127.0.0.1:${port}`, { connectionAttempts: 1 }).run().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    const root = rootOf(error);
    expect((error as Error).message).toContain(root.message);
    if (typeof root.code === 'string') expect((error as Error).message).toContain(root.code);
  });

  const credentials = selfSignedCertificate();
  it.skipIf(credentials === undefined)('a certificate the client does not trust: its code and reason (needs the openssl CLI, which makes its certificate)', async () => {
    const port = await rawServer(
      () => {},
      () => tls.createServer({ key: credentials!.key, cert: credentials!.cert }),
    );
    const error = await client(`zcacheds://localhost:${port}`, { connectionAttempts: 1 }).run().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    const root = rootOf(error);
    expect(root.code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect((error as Error).message).toMatch(/\(DEPTH_ZERO_SELF_SIGNED_CERT: self[- ]signed certificate\)$/);
  });
});

describe('a server that fails the generation handshake: run() names why', () => {
  // Every connection runs the generation handshake (ECHO, then PING) before any request is written,
  // so these servers now fail the connect itself, where they used to fail the first command.
  it('a server that is not zcached (HTTP): run() fails with a ServerGenerationError naming what came back and asking whether it is a zcached server', async () => {
    const http = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n';
    const port = await rawServer((socket) => socket.once('data', () => socket.end(http)));
    const c = client({ port, connectionAttempts: 1 });
    const failure = await c.run().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ConnectError);
    expect((failure as Error).message).toMatch(
      new RegExp(
        `^cannot reach the zcached server at 127\\.0\\.0\\.1:${port}: .*\\(the server at 127\\.0\\.0\\.1:${port} answered the handshake with bytes that are no zcached reply \\(unknown type prefix 0x48\\).*is it a zcached server\\? \\(received: HTTP/1\\.1 400 Bad Request.*\\)\\)$`,
      ),
    );
    const generationError = chain(failure).find((e) => e instanceof ServerGenerationError) as ServerGenerationError | undefined;
    expect(generationError).toBeInstanceOf(ServerGenerationError);
    expect(generationError!.code).toBe('EGENERATION');
    expect(generationError!.received).toBe('HTTP/1.1 400 Bad Request\\r\\nConnection: close\\r\\n\\r\\n');
    expect(generationError!.message).toContain(`the server at 127.0.0.1:${port} `);
    expect(generationError!.message).toContain('is it a zcached server?');
    expect(generationError!.message).toContain('(received: HTTP/1.1 400 Bad Request\\r\\nConnection: close\\r\\n\\r\\n)');
    // The handshake's error is the root cause: it shows what came back.
    expect(rootOf(failure)).toBe(generationError);
    // A command after it says so too, with the root cause last.
    const error = await c.get('k').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PoolEmptyError);
    expect((error as Error).message).toMatch(/is it a zcached server\? \(received: HTTP\/1\.1 400 Bad Request.*\)\)$/);
    expect((error as Error).cause).toBe(failure);
  });

  it('a server that resets the connection at its first bytes: run() fails naming the reset, during the handshake', async () => {
    const port = await rawServer((socket) => socket.once('data', () => socket.resetAndDestroy()));
    const failure = await client({ port, connectionAttempts: 1 }).run().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ConnectError);
    expect(rootOf(failure).code).toBe('ECONNRESET');
    expect((failure as Error).message).toMatch(new RegExp(`^cannot reach the zcached server at 127\\.0\\.0\\.1:${port}: .*\\(.*ECONNRESET.*\\)$`));
    expect(chain(failure).some((e) => e instanceof ConnectionError && e.message.includes('closed during the generation handshake'))).toBe(true);
  });
});

describe('command errors carry the root cause in their message', () => {
  // Before: `connection 127.0.0.1:P#5 broke before the reply arrived`, the reason only in `cause`;
  // a request that timed out unsent said `was never sent` and no more.
  // The servers below get through the generation handshake as a zcached server would, then misbehave.
  it('a server that answers a command with bytes that are no zcached reply: the request fails naming the bad reply and asking whether it is a zcached server', async () => {
    const port = await rawServer((socket) =>
      answerHandshake(socket, () => socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'))),
    );
    const c = client({ port, connectionAttempts: 1 });
    await c.run();
    const error = await c.get('k').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toMatch(
      new RegExp(`^connection 127\\.0\\.0\\.1:${port}#\\d+ broke before the reply arrived \\(unknown type prefix 0x48: is this a zcached server\\?\\)$`),
    );
    const root = rootOf(error);
    expect(root).toBeInstanceOf(ProtocolError);
    expect(root.message).toBe('unknown type prefix 0x48');
  });

  it('a server that resets the connection: the request fails naming the reset', async () => {
    const port = await rawServer((socket) => answerHandshake(socket, () => socket.once('data', () => socket.resetAndDestroy())));
    const c = client({ port, connectionAttempts: 1 });
    await c.run();
    const error = await c.get('k').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    const root = rootOf(error);
    expect(root).not.toBe(error);
    expect(root.code).toBe('ECONNRESET');
    expect((error as Error).message).toMatch(
      new RegExp(`^connection 127\\.0\\.0\\.1:${port}#\\d+ broke before the reply arrived \\(${literal(rootCauseText(error as Error))}\\)$`),
    );
    expect((error as Error).message).toContain('ECONNRESET');
  });

  it('a request that times out unsent says what the connection was doing and why, with its last error as cause', async () => {
    const port = await refusedPort();
    const connection = new Connection({ host: '127.0.0.1', port, connectionAttempts: 1, backoff: { initial: 60_000, max: 60_000 } });
    cleanup.push(() => connection.close());
    await expect(connection.connect()).rejects.toBeInstanceOf(ConnectError);
    expect(connection.isResting()).toBe(true);
    const error = await connection.send(['PING'], { timeout: 200 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^the request waited 200 ms for a connection and was never sent: connection 127\\.0\\.0\\.1:${port}#\\d+ is resting after 1 failed attempt ` +
          `\\(last error: .*connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\) and retries in ~\\d+ ms$`,
      ),
    );
    expect((error as Error).cause).toBe(connection.lastError);
    expect(rootOf(error).code).toBe('ECONNREFUSED');
  });

  it('a request that times out unsent behind an unanswered one on a connected connection says so', async () => {
    // The 'legacy' dialect has one request on the wire at a time: the second waits behind the first.
    // The server gets through the handshake as a 2024 ('legacy') server, then never answers.
    const port = await rawServer((socket) => answerHandshake(socket, () => {}, 'legacy'));
    const connection = new Connection({ host: '127.0.0.1', port, dialect: 'legacy', timeoutLimit: 60_000 });
    cleanup.push(() => connection.close({ force: true }));
    await connection.connect();
    const first = connection.send(['GET', 'a']).catch((e: unknown) => e);
    const error = await connection.send(['GET', 'b'], { timeout: 200 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toMatch(
      /^the request waited 200 ms for a connection and was never sent: connection 127\.0\.0\.1:\d+#\d+ is connected, but 1 request written before it got no reply yet$/,
    );
    await connection.close({ force: true });
    expect(await first).toBeInstanceOf(Error);
  });
});

describe('rootCauseText', () => {
  it('a reply with an unknown type prefix asks whether the peer is a zcached server; other protocol errors do not', () => {
    const wrapped = new ConnectionError('x', { cause: new ProtocolError('unknown type prefix 0x48', { reason: 'type' }) });
    expect(rootCauseText(wrapped)).toBe('unknown type prefix 0x48: is this a zcached server?');
    expect(rootCauseText(new ProtocolError('a line ends with CR without LF'))).toBe('a line ends with CR without LF');
  });

  it('an AggregateError without a message (net.connect when every address of a name failed) gives its errors', () => {
    const refused = (address: string) => Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: 'ECONNREFUSED' });
    const aggregate = Object.assign(new AggregateError([refused('::1:1'), refused('127.0.0.1:1')], ''), { code: 'ECONNREFUSED' });
    const wrapped = new ConnectionError('cannot connect to localhost:1', { cause: aggregate });
    expect(rootCauseText(wrapped)).toBe('connect ECONNREFUSED ::1:1, connect ECONNREFUSED 127.0.0.1:1');
  });

  it('a code the message lacks leads it, except for this library\'s own errors; a cycle ends the walk', () => {
    const tlsError = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect(rootCauseText(new ConnectError('x', { cause: tlsError }))).toBe('DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate');
    expect(rootCauseText(new ConnectError('x', { cause: new ConnectionError('fake: refused') }))).toBe('fake: refused');
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(['a', 'b']).toContain(rootCauseText(a));
  });
});

describe('no unhandled rejections', () => {
  it('none in this file', () => {
    expect(unhandled).toEqual([]);
  });
});
