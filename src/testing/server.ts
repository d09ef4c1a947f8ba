/**
 * An embedded zcached server for tests (ours and users'), and the default
 * target of the demo: a real TCP (or TLS) server, in TypeScript, that answers
 * like one of the three generations of zcached servers, with hooks to inject
 * faults.
 *
 * ```ts
 * await using server = await startServer({ dialect: 'etx' });
 * // connect a client to server.host:server.port ...
 * server.stopAnswering();          // half-open: reads, never replies
 * await server.close();            // the server goes away (clients see a reset)
 * const back = await startServer({ port: server.port, store: server.store }); // ... and comes back
 * ```
 *
 * Module layout: framing, connections and fault hooks live here; the command
 * table and reply encoding in `server-commands.ts`; the data in
 * `server-store.ts`.
 *
 * @module
 */

import * as net from 'node:net';
import * as tls from 'node:tls';
import { ProtocolError } from '../errors.js';
import { decodeWire, WireDecoder, type DecoderLimits } from '../protocol/decoder.js';
import { DEFAULT_MAX_REQUEST_BYTES, ETX, type DialectName } from '../protocol/dialect.js';
import type { WireValue } from '../protocol/values.js';
import {
  encodeReply,
  executeRequest,
  protocolErrorReply,
  SERVER_ERRORS,
  type CommandContext,
} from './server-commands.js';
import { ZCachedStore } from './server-store.js';

export { ZCachedStore } from './server-store.js';
export { SERVER_ERRORS, formatPlainFloat } from './server-commands.js';

/** The largest request a plain ('legacy') server takes: it reads into a 4096-byte buffer. */
export const LEGACY_MAX_REQUEST_BYTES = 4096;

/** The default largest request of the newer dialects (10 MB, the real server's `max_request_size`). */
export const MAX_REQUEST_BYTES = DEFAULT_MAX_REQUEST_BYTES;

const DIALECT_NAMES: readonly DialectName[] = ['legacy', 'etx-request', 'etx'];
const ETX_BYTE = Buffer.from([ETX]);
const EMPTY = Buffer.alloc(0);

/** Options of {@link startServer}. */
export interface StartServerOptions {
  /** Address to listen on. Default `'127.0.0.1'`. */
  readonly host?: string;
  /** Port to listen on; 0 (the default) picks a free one. Pass a previous server's port to simulate its return. */
  readonly port?: number;
  /** The server generation to behave like (framing, commands, error strings). Default `'etx'`. */
  readonly dialect?: DialectName;
  /** Serve TLS with these options (at least `key` and `cert`) instead of plain TCP. */
  readonly tls?: tls.TlsOptions;
  /** Most clients connected at once; connections past it are closed without a word. Default: no limit. */
  readonly maxClients?: number;
  /** The data to serve, e.g. a previous server's `store` to keep it across a restart. Default: a fresh store. */
  readonly store?: ZCachedStore;
  /**
   * Largest request in the newer dialects, in bytes, 0x03 excluded; past it the
   * server replies `-ERR maximum payload size exceeded`. Default 10 MB. The
   * 'legacy' dialect always uses {@link LEGACY_MAX_REQUEST_BYTES}.
   */
  readonly maxRequestBytes?: number;
}

/** Counters of a {@link ZCachedServer}, as a snapshot. */
export interface ServerStats {
  /** Connections accepted and served since the start (refused ones excluded). */
  readonly connectionsAccepted: number;
  /** Connections closed at once because of {@link ZCachedServer.refuseConnections | refuseConnections} or `maxClients`. */
  readonly connectionsRefused: number;
  /** Served connections open right now. */
  readonly openConnections: number;
  /** Requests framed and handled (answered, failed, or swallowed while not answering); dropped pipelined requests excluded. */
  readonly requests: number;
  /**
   * Socket reads, in the non-pipelining dialects, that held bytes past the
   * first complete request (the extra requests were dropped unanswered).
   */
  readonly pipeliningViolations: number;
}

/** Options of {@link ZCachedServer.waitForConnections}. */
export interface WaitForConnectionsOptions {
  /** Count every connection accepted since the start rather than those open now. Default false. */
  readonly total?: boolean;
  /** Give up (reject) after this many milliseconds. Default 5000. */
  readonly timeoutMs?: number;
}

/** A running embedded server. Dispose it (`await using`) or {@link ZCachedServer.close | close} it. */
export interface ZCachedServer extends AsyncDisposable {
  /** The host it listens on, as given. */
  readonly host: string;
  /** The port it listens on (the one picked, when started with port 0). */
  readonly port: number;
  /** The server generation it behaves like. */
  readonly dialect: DialectName;
  /** Whether it serves TLS. */
  readonly tls: boolean;
  /** Its data; pass it to the next `startServer` to keep the data across a restart. */
  readonly store: ZCachedStore;
  /** A snapshot of its counters. */
  readonly stats: ServerStats;
  /** Whether {@link ZCachedServer.close | close} was called. */
  readonly closed: boolean;
  /**
   * Stops listening and destroys every client socket (clients see the server
   * go away), then resolves once the listening socket is closed. Idempotent.
   */
  close(): Promise<void>;
  /** Delays every reply sent from now on by `ms` milliseconds (order is kept); 0 stops delaying. */
  delayReplies(ms: number): void;
  /** Half-open mode: keep reading requests but never answer or run them; sockets stay open. */
  stopAnswering(): void;
  /** Ends {@link ZCachedServer.stopAnswering | stopAnswering}: requests read from now on are answered again. */
  resumeAnswering(): void;
  /** Destroys every client socket and keeps listening. */
  dropConnections(): void;
  /** While on, accepts new connections and destroys them at once. */
  refuseConnections(on: boolean): void;
  /**
   * Resolves once `count` connections are open (or, with `total`, have been
   * accepted since the start).
   * @throws Error after the timeout, or when the server closes first
   */
  waitForConnections(count: number, options?: WaitForConnectionsOptions): Promise<void>;
}

/** Mutable state shared by the server and its connections. */
interface ServerState {
  readonly dialect: DialectName;
  readonly context: CommandContext;
  readonly maxRequestBytes: number;
  readonly limits: Partial<DecoderLimits>;
  delayMs: number;
  answering: boolean;
  requests: number;
  pipeliningViolations: number;
}

/** One served client: framing of its byte stream, and its (possibly delayed) reply queue. */
class ClientConnection {
  readonly #socket: net.Socket;
  readonly #state: ServerState;
  /** Pieces of the request being received. */
  #parts: Buffer[] = [];
  #partsLength = 0;
  /** Newer dialects: discarding an oversized request up to its 0x03. */
  #skipping = false;
  /** Legacy: follows an oversized request to its end, to discard it. */
  #skipDecoder: WireDecoder | undefined;
  readonly #queue: { at: number; bytes: Buffer }[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(socket: net.Socket, state: ServerState) {
    this.#socket = socket;
    this.#state = state;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      try {
        socket.cork();
        this.#onData(chunk);
      } catch {
        // Never let a bad request escape a socket handler.
        this.#reset();
      } finally {
        socket.uncork();
      }
    });
    socket.once('close', () => this.dispose());
  }

  /** Stops the reply timer and forgets pending bytes. */
  dispose(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.length = 0;
    this.#reset();
  }

  #reset(): void {
    this.#parts = [];
    this.#partsLength = 0;
    this.#skipping = false;
    this.#skipDecoder = undefined;
  }

  #onData(chunk: Buffer): void {
    switch (this.#state.dialect) {
      case 'etx':
        this.#onEtxData(chunk, true);
        return;
      case 'etx-request':
        this.#onEtxData(chunk, false);
        return;
      case 'legacy':
        this.#onLegacyData(chunk);
        return;
    }
  }

  #stash(piece: Buffer): void {
    if (piece.length === 0 || this.#skipping) return;
    this.#parts.push(piece);
    this.#partsLength += piece.length;
    if (this.#partsLength > this.#state.maxRequestBytes) {
      // Too large already: answer now and discard the rest of it, up to its 0x03.
      this.#parts = [];
      this.#partsLength = 0;
      this.#skipping = true;
      this.#state.requests++;
      this.#sendError(SERVER_ERRORS.payloadExceeded);
    }
  }

  #takeRequest(last: Buffer): Buffer {
    const bytes = this.#parts.length === 0 ? last : Buffer.concat([...this.#parts, last]);
    this.#parts = [];
    this.#partsLength = 0;
    return bytes;
  }

  /**
   * Newer dialects: requests end with 0x03. With `pipelining` every request is
   * answered in order; without it only the first request completed by a read
   * is, and any bytes after it in that read are dropped.
   */
  #onEtxData(chunk: Buffer, pipelining: boolean): void {
    let start = 0;
    while (start < chunk.length) {
      const end = chunk.indexOf(ETX, start);
      if (end === -1) {
        this.#stash(chunk.subarray(start));
        return;
      }
      const piece = chunk.subarray(start, end);
      start = end + 1;
      if (this.#skipping) {
        // The 0x03 that ends an oversized request; what follows is a fresh start.
        this.#stash(piece);
        this.#skipping = false;
        continue;
      }
      const request = this.#takeRequest(piece);
      if (request.length === 0) continue; // a stray 0x03
      this.#handleBytes(request);
      if (!pipelining) {
        if (start < chunk.length) this.#state.pipeliningViolations++;
        return;
      }
    }
  }

  /**
   * Newer dialects: decodes one framed request and answers it. Bytes after the
   * first value are ignored, as the real server does.
   */
  #handleBytes(request: Buffer): void {
    this.#state.requests++;
    if (request.length > this.#state.maxRequestBytes) {
      this.#sendError(SERVER_ERRORS.payloadExceeded);
      return;
    }
    let decoded: { value: WireValue; end: number } | undefined;
    try {
      decoded = decodeWire(request, this.#state.limits);
    } catch (error) {
      this.#sendDecodeError(error);
      return;
    }
    if (decoded === undefined) {
      // The request ended (0x03) inside a value.
      this.#sendError(SERVER_ERRORS.unprocessable);
      return;
    }
    this.#answer(decoded.value);
  }

  /**
   * Plain servers: no terminator, one request per read, at most 4096 bytes.
   * A read with more than one request gets one reply; an oversized request
   * gets two `-ERR bad request`.
   */
  #onLegacyData(chunk: Buffer): void {
    const skipper = this.#skipDecoder;
    if (skipper !== undefined) {
      let done = false;
      try {
        skipper.push(chunk, () => {
          done = true;
        });
      } catch {
        done = true;
      }
      if (done) this.#skipDecoder = undefined;
      return;
    }
    this.#parts.push(chunk);
    this.#partsLength += chunk.length;
    const oversized = this.#partsLength > LEGACY_MAX_REQUEST_BYTES;
    if (!oversized && !chunk.includes(0x0a)) return; // the real server waits for a line feed
    const pending = this.#takeRequest(EMPTY);
    let decoded: { value: WireValue; end: number } | undefined;
    try {
      decoded = decodeWire(pending, this.#state.limits);
    } catch (error) {
      this.#state.requests++;
      if (oversized) this.#sendOversized();
      else this.#sendDecodeError(error);
      return;
    }
    if (decoded === undefined) {
      if (!oversized) {
        // Keep waiting for the rest of the request.
        this.#parts.push(pending);
        this.#partsLength = pending.length;
        return;
      }
      this.#state.requests++;
      this.#sendOversized();
      // Follow the rest of the oversized request, to discard it whole.
      const skipper = new WireDecoder({ limits: this.#state.limits });
      let done = false;
      try {
        skipper.push(pending, () => {
          done = true;
        });
      } catch {
        done = true;
      }
      if (!done) this.#skipDecoder = skipper;
      return;
    }
    if (decoded.end < pending.length) this.#state.pipeliningViolations++;
    this.#state.requests++;
    if (decoded.end > LEGACY_MAX_REQUEST_BYTES) {
      this.#sendOversized();
      return;
    }
    this.#answer(decoded.value);
  }

  #sendOversized(): void {
    this.#sendError(SERVER_ERRORS.badRequest);
    this.#sendError(SERVER_ERRORS.badRequest);
  }

  #sendDecodeError(error: unknown): void {
    if (error instanceof ProtocolError) {
      this.#send(encodeReply(protocolErrorReply(error, this.#state.dialect)));
    } else {
      this.#sendError(this.#state.dialect === 'legacy' ? SERVER_ERRORS.badRequest : SERVER_ERRORS.unprocessable);
    }
  }

  #sendError(text: string): void {
    this.#send(encodeReply({ type: 'error', value: text }));
  }

  /** Runs one decoded request (unless the server is not answering) and sends its reply. */
  #answer(request: WireValue): void {
    if (!this.#state.answering) return;
    let reply: WireValue;
    try {
      reply = executeRequest(request, this.#state.context);
    } catch {
      reply = { type: 'error', value: SERVER_ERRORS.unexpected };
    }
    this.#send(encodeReply(reply));
  }

  /** Queues one reply: adds the dialect's terminator and applies the reply delay, keeping order. */
  #send(reply: Buffer): void {
    if (!this.#state.answering) return;
    const bytes = this.#state.dialect === 'etx' ? Buffer.concat([reply, ETX_BYTE]) : reply;
    const delay = this.#state.delayMs;
    if (delay === 0 && this.#queue.length === 0) {
      this.#write(bytes);
      return;
    }
    const last = this.#queue.at(-1)?.at ?? 0;
    this.#queue.push({ at: Math.max(Date.now() + delay, last), bytes });
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#queue.length === 0) return;
    const next = this.#queue[0] as { at: number };
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#flush();
      },
      Math.max(0, next.at - Date.now()),
    );
  }

  #flush(): void {
    const now = Date.now();
    while (this.#queue.length > 0 && (this.#queue[0] as { at: number }).at <= now) {
      this.#write((this.#queue.shift() as { bytes: Buffer }).bytes);
    }
    this.#schedule();
  }

  #write(bytes: Buffer): void {
    if (this.#socket.destroyed || !this.#socket.writable) return;
    this.#socket.write(bytes);
  }
}

function validateOptions(options: StartServerOptions): void {
  const { host, port, dialect, maxClients, maxRequestBytes, store } = options;
  if (host !== undefined && typeof host !== 'string') throw new TypeError('startServer: host must be a string');
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
 *   each reply followed by 0x03; pipelining works.
 * - `'etx-request'`: requests end with 0x03, replies bare; one request per
 *   socket read (bytes after the first request of a read are dropped and
 *   counted in `stats.pipeliningViolations`).
 * - `'legacy'`: no terminator, one request per read, at most 4096 bytes (a
 *   longer one gets two `-ERR bad request`), no line feeds in bulk strings,
 *   no sets and none of ECHO, SIZEOF, RENAME, COPY.
 *
 * @throws TypeError / RangeError for invalid options
 * @throws the listen error (such as `EADDRINUSE`) when the port cannot be bound
 */
export async function startServer(options: StartServerOptions = {}): Promise<ZCachedServer> {
  validateOptions(options);
  const host = options.host ?? '127.0.0.1';
  const dialect = options.dialect ?? 'etx';
  const store = options.store ?? new ZCachedStore();
  const maxClients = options.maxClients;
  const maxRequestBytes = dialect === 'legacy' ? LEGACY_MAX_REQUEST_BYTES : (options.maxRequestBytes ?? MAX_REQUEST_BYTES);
  const state: ServerState = {
    dialect,
    context: { store, dialect },
    maxRequestBytes,
    limits: {
      // Generous: sizes are checked by the framing; legacy must still follow an oversized request to its end.
      maxBulkBytes: Math.max(maxRequestBytes, MAX_REQUEST_BYTES),
      maxBufferedBytes: Math.max(maxRequestBytes, MAX_REQUEST_BYTES) + 1024,
      maxDepth: 512,
    },
    delayMs: 0,
    answering: true,
    requests: 0,
    pipeliningViolations: 0,
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
    tls: useTls,
    store,
    get stats(): ServerStats {
      return Object.freeze({
        connectionsAccepted,
        connectionsRefused,
        openConnections: open,
        requests: state.requests,
        pipeliningViolations: state.pipeliningViolations,
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
