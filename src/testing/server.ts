/**
 * An embedded zcached server for tests (ours and users'), and the default
 * target of the demo: a real TCP (or TLS) server, in TypeScript, that answers
 * like one of the three generations of zcached servers, faults included, with
 * hooks to inject more.
 *
 * ```ts
 * await using server = await startServer({ dialect: 'etx' });
 * // connect a client to server.host:server.port ...
 * server.stopAnswering();          // half-open: reads, never replies
 * await server.close();            // the server goes away (clients see a reset)
 * const back = await startServer({ port: server.port, store: server.store }); // ... and comes back
 * expect(back.stats.crashes).toBe(0); // the faithful 'etx' server dies as the real one does
 * ```
 *
 * Module layout (lower layers never import upper ones): listening and the
 * handle with its fault hooks live here; the options and the handle's shape
 * in `server-api.ts`; one connection's reply queue in `server-connection.ts`;
 * each generation's framing and request parsing in `generations/`; the
 * command table in `server-commands.ts`, error texts in `server-errors.ts`,
 * reply encoding in `server-reply.ts`; the data in `server-store.ts`.
 *
 * @module
 */

import * as net from 'node:net';
import * as tls from 'node:tls';
import { DEFAULT_MAX_REQUEST_BYTES, type DialectName } from '../protocol/dialect.js';
import { LEGACY_MAX_REQUEST_BYTES } from './generations/index.js';
import type { CrashRecord, ServerStats, StartServerOptions, WaitForConnectionsOptions, ZCachedServer } from './server-api.js';
import { ClientConnection, type SharedState } from './server-connection.js';
import { ZCachedStore } from './server-store.js';

export { ZCachedStore } from './server-store.js';
export { SERVER_ERRORS, formatPlainFloat } from './server-commands.js';
export { LEGACY_MAX_REQUEST_BYTES, type CrashReason } from './generations/index.js';
export type { CrashRecord, ServerStats, StartServerOptions, WaitForConnectionsOptions, ZCachedServer } from './server-api.js';

/** The default largest request of the newer dialects (10 MB, the real server's `max_request_size`). */
export const MAX_REQUEST_BYTES = DEFAULT_MAX_REQUEST_BYTES;

const DIALECT_NAMES: readonly DialectName[] = ['legacy', 'etx-request', 'etx'];

function validateOptions(options: StartServerOptions): void {
  const { host, port, dialect, maxClients, maxRequestBytes, store, faithful } = options;
  if (host !== undefined && typeof host !== 'string') throw new TypeError('startServer: host must be a string');
  if (faithful !== undefined && typeof faithful !== 'boolean') throw new TypeError('startServer: faithful must be a boolean');
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new RangeError(`startServer: port must be an integer from 0 to 65535, got ${String(port)}`);
  }
  if (dialect !== undefined && !DIALECT_NAMES.includes(dialect)) {
    throw new TypeError(`startServer: unknown dialect ${JSON.stringify(dialect)}; expected 'legacy', 'etx-request' or 'etx'`);
  }
  if (maxClients !== undefined && (!Number.isSafeInteger(maxClients) || maxClients < 0)) {
    throw new RangeError(`startServer: maxClients must be a non-negative integer, got ${String(maxClients)}`);
  }
  if (maxRequestBytes !== undefined && (!Number.isSafeInteger(maxRequestBytes) || maxRequestBytes <= 0)) {
    throw new RangeError(`startServer: maxRequestBytes must be a positive integer, got ${String(maxRequestBytes)}`);
  }
  if (store !== undefined && !(store instanceof ZCachedStore)) {
    throw new TypeError('startServer: store must be a ZCachedStore (e.g. a previous server.store)');
  }
}

/**
 * Starts an embedded zcached server and resolves once it listens.
 *
 * It implements every command and error string of the protocol reference
 * with the framing of the chosen generation:
 * - `'etx'` (current): requests split on 0x03, every one answered in order,
 *   each reply followed by 0x03; pipelining works (and, faithfully, kills
 *   the server when a read ends inside a request after complete ones: see
 *   {@link StartServerOptions.faithful}).
 * - `'etx-request'` (2025): requests end with 0x03, replies bare; one request
 *   per read (bytes after the first request of a read are dropped and counted
 *   in `stats.pipeliningViolations`).
 * - `'legacy'` (2024): no terminator, one request per read, at most 4096
 *   bytes (a longer one gets two `-ERR bad request`), no line feeds in bulk
 *   strings, no sets and none of ECHO, SIZEOF, RENAME, COPY.
 *
 * @throws TypeError / RangeError for invalid options
 * @throws the listen error (such as `EADDRINUSE`) when the port cannot be bound
 */
export async function startServer(options: StartServerOptions = {}): Promise<ZCachedServer> {
  validateOptions(options);
  const host = options.host ?? '127.0.0.1';
  const dialect = options.dialect ?? 'etx';
  const faithful = options.faithful ?? true;
  const store = options.store ?? new ZCachedStore();
  const maxClients = options.maxClients;
  const maxRequestBytes = dialect === 'legacy' ? LEGACY_MAX_REQUEST_BYTES : (options.maxRequestBytes ?? MAX_REQUEST_BYTES);
  const crashLog: CrashRecord[] = [];
  const state: SharedState = {
    context: { store, dialect },
    framing: { dialect, faithful, maxRequestBytes },
    delayMs: 0,
    answering: true,
    requests: 0,
    pipeliningViolations: 0,
    bytesReceived: 0,
    crash(reason, bytes) {
      // The process dies: every connection goes; the listener stays, as if restarted at once.
      crashLog.push(Object.freeze({ reason, at: Date.now(), bytes, connectionsDropped: open }));
      destroyAll();
    },
  };

  let connectionsAccepted = 0;
  let connectionsRefused = 0;
  let refusing = false;
  let closed = false;
  let closing: Promise<void> | undefined;
  /** Every socket to destroy on close or drop: raw TCP sockets and, for TLS, their TLS sockets. */
  const sockets = new Set<net.Socket>();
  const clients = new Set<ClientConnection>();
  const waiters = new Set<{ check: () => boolean; resolve: () => void; reject: (error: Error) => void }>();
  const settleWaiters = (): void => {
    for (const waiter of waiters) {
      if (waiter.check()) {
        waiters.delete(waiter);
        waiter.resolve();
      }
    }
  };

  const track = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.on('error', () => {
      // ECONNRESET and friends: the client went away; nothing to do.
    });
    socket.once('close', () => sockets.delete(socket));
  };

  let open = 0;
  const serve = (socket: net.Socket): void => {
    connectionsAccepted++;
    open++;
    const client = new ClientConnection(socket, state);
    clients.add(client);
    socket.once('close', () => {
      open--;
      clients.delete(client);
      settleWaiters();
    });
    settleWaiters();
  };

  const admit = (socket: net.Socket): boolean => {
    track(socket);
    if (closed || refusing || (maxClients !== undefined && open >= maxClients)) {
      connectionsRefused++;
      socket.destroy();
      return false;
    }
    return true;
  };

  const useTls = options.tls !== undefined;
  let server: net.Server;
  if (options.tls !== undefined) {
    const tlsServer = tls.createServer(options.tls);
    tlsServer.on('connection', (raw: net.Socket) => {
      admit(raw);
    });
    tlsServer.on('secureConnection', (socket: tls.TLSSocket) => {
      track(socket);
      if (closed || (maxClients !== undefined && open >= maxClients)) {
        connectionsRefused++;
        socket.destroy();
        return;
      }
      serve(socket);
    });
    tlsServer.on('tlsClientError', () => {
      // A failed handshake: Node destroys the socket.
    });
    server = tlsServer;
  } else {
    server = net.createServer((socket) => {
      if (admit(socket)) serve(socket);
    });
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen({ port: options.port ?? 0, host }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', () => {
    // Errors after listening (e.g. EMFILE on accept) must not crash the test process.
  });
  const address = server.address() as net.AddressInfo;

  const destroyAll = (): void => {
    for (const socket of [...sockets]) socket.destroy();
  };

  const handle: ZCachedServer = {
    host,
    port: address.port,
    dialect,
    faithful,
    tls: useTls,
    store,
    get crashLog(): readonly CrashRecord[] {
      return [...crashLog];
    },
    get stats(): ServerStats {
      return Object.freeze({
        connectionsAccepted,
        connectionsRefused,
        openConnections: open,
        requests: state.requests,
        pipeliningViolations: state.pipeliningViolations,
        crashes: crashLog.length,
        bytesReceived: state.bytesReceived,
      });
    },
    get closed(): boolean {
      return closed;
    },
    close(): Promise<void> {
      if (closing !== undefined) return closing;
      closed = true;
      closing = new Promise<void>((resolve) => {
        server.close(() => resolve());
        destroyAll();
        for (const client of clients) client.dispose();
        for (const waiter of waiters) waiter.reject(new Error('waitForConnections: the server was closed'));
        waiters.clear();
      });
      return closing;
    },
    delayReplies(ms: number): void {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`delayReplies: ms must be a non-negative number, got ${String(ms)}`);
      state.delayMs = ms;
    },
    stopAnswering(): void {
      state.answering = false;
    },
    resumeAnswering(): void {
      state.answering = true;
    },
    dropConnections(): void {
      destroyAll();
    },
    refuseConnections(on: boolean): void {
      refusing = on;
    },
    waitForConnections(count: number, waitOptions: WaitForConnectionsOptions = {}): Promise<void> {
      const { total = false, timeoutMs = 5000 } = waitOptions;
      const check = (): boolean => (total ? connectionsAccepted : open) >= count;
      if (check()) return Promise.resolve();
      if (closed) return Promise.reject(new Error('waitForConnections: the server is closed'));
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const seen = total ? connectionsAccepted : open;
          reject(new Error(`waitForConnections: ${seen} of ${count} connections after ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = {
          check,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
          reject: (error: Error) => {
            clearTimeout(timer);
            reject(error);
          },
        };
        waiters.add(waiter);
      });
    },
    [Symbol.asyncDispose](): Promise<void> {
      return this.close();
    },
  };
  return handle;
}
