/**
 * `Connection`: one TCP (or TLS) socket to a zcached server, carrying many
 * requests. It wires three parts together:
 *
 * - the lifecycle (connection-lifecycle.ts: the XState machine, the socket
 *   it opens, what each state change does) for connect, back-off, break and close;
 * - the request queue (plain code) for the per-request hot path;
 * - the wire pump (wire-pump.ts, plain code): one write per turn,
 *   reading and decoding replies;
 * - the transport (the effect layer) for the socket itself.
 *
 * This module holds the class and its public API; connection-wiring.ts
 * builds its parts.
 *
 * @module
 */

import { ConnectionClosedError, ConnectionError } from '../errors.js';
import type { Unsubscribe } from '../events.js';
import type { ReplyDecoder } from '../protocol/decoder.js';
import { DIALECTS, type Dialect, type ServerGeneration } from '../protocol/dialect.js';
import type { Command } from '../protocol/encoder.js';
import type { Reply } from '../protocol/values.js';
import type { ConnectionLifecycle } from './connection-lifecycle.js';
import { connectionParts } from './connection-wiring.js';
import { isTracingCommands, traceCommand } from './diagnostics.js';
import { sendAs, undefinedWhenNotFound } from './not-found.js';

export { sendAs } from './not-found.js';
import type { RequestOptions, RequestQueue } from './requests.js';
import type { CloseOptions, ConnectionState, ConnectionStateChange } from './state.js';
import { resolveConnectionOptions, type ConnectionOptions } from './options.js';
import { assertRequestOptions } from './request-options.js';
import { formatAddress } from './address.js';
import type { WirePump } from './wire-pump.js';

export type { ConnectionOptions } from './options.js';

let nextConnectionNumber = 1;

/**
 * One socket to a zcached server. Requests are pipelined when the dialect
 * allows it (written back to back, one socket write per event-loop turn,
 * replies matched in order) and otherwise sent one at a time from a queue.
 * Every request settles exactly once: reply, server error, timeout, abort,
 * broken socket or close.
 *
 * @example
 * ```ts
 * const connection = new Connection({ host: '127.0.0.1', port: 7556 });
 * await connection.connect();
 * await connection.send(['SET', 'greeting', 'hello']);
 * console.log(await connection.send(['GET', 'greeting'])); // 'hello'
 * await connection.close();
 * ```
 */
export class Connection implements AsyncDisposable {
  /** Server host. */
  readonly host: string;
  /** Server port. */
  readonly port: number;
  /** Unique, readable id: `<host>:<port>#<n>`, an IPv6 host in brackets (`[::1]:7556#2`). */
  readonly id: string;
  /** The dialect this connection was given (`'auto'`, a name, or a custom object, resolved). */
  readonly requestedDialect: Dialect;
  /**
   * The server generation the last connect-time handshake found: `'legacy'`
   * (2024), `'etx-request'` (2025) or `'etx'` (current); `undefined` before
   * the first handshake and for a custom dialect without `base` (not probed).
   */
  generation: ServerGeneration | undefined = undefined;

  readonly #requests: RequestQueue;
  readonly #decoder: ReplyDecoder;
  /** connect / reconnect / close, the machine, the socket it opens, ping, events (connection-lifecycle.ts). */
  readonly #lifecycle: ConnectionLifecycle;

  /** The framing rules in use: the requested dialect, or for `'auto'` the detected generation's once known. */
  #dialect: Dialect;
  #state: ConnectionState = 'idle';
  #totalRequests = 0;
  /** {@link largeRequestBytes}: the write limit of the dialect in use when it pipelines (read per request by the pool). */
  #largeRequestBytes: number;
  /** Writes and reads (wire-pump.ts). */
  readonly #pump: WirePump;
  /** The close under way, if any (set by the lifecycle's `close`). */
  #closing: Promise<void> | undefined;

  /**
   * Creates the connection; nothing is opened until {@link connect}.
   * @throws TypeError / RangeError for an invalid option, naming it
   */
  constructor(options: ConnectionOptions) {
    const settings = resolveConnectionOptions(options);
    this.host = settings.host;
    this.port = settings.port;
    this.id = `${formatAddress(settings.host, settings.port)}#${nextConnectionNumber++}`;
    this.requestedDialect = settings.dialect;
    this.#dialect = settings.dialect;
    this.#largeRequestBytes = settings.dialect.pipelining ? settings.dialect.maxWriteBytes : Infinity;
    const parts = connectionParts(this, options, settings, {
      state: () => this.#state,
      setState: (state) => {
        this.#state = state;
      },
      closing: () => this.#closing,
      setClosing: (closing) => {
        this.#closing = closing;
      },
      connected: () => this.#state === 'connected',
      pipelining: () => this.#dialect.pipelining,
      adopt: (generation) => {
        // 'auto' speaks what the handshake found; requests queued meanwhile are encoded for it (or refused).
        if (generation !== undefined && this.requestedDialect.name === 'auto') this.#dialect = DIALECTS[generation];
        this.#requests.setDialect(this.#dialect);
        this.#largeRequestBytes = this.#dialect.pipelining ? this.#dialect.maxWriteBytes : Infinity;
        const { replyTerminator } = this.#dialect;
        this.#decoder.terminator = replyTerminator === undefined ? 'optional' : replyTerminator ? 'required' : 'forbidden';
      },
      break: (error) => this.#break(error),
    });
    this.#decoder = parts.decoder;
    this.#lifecycle = parts.lifecycle;
    this.#requests = parts.requests;
    this.#pump = parts.pump;
    this.#lifecycle.start(parts.host);
  }

  /**
   * Checks connection options without creating a connection (the client
   * uses it to fail at construction rather than on the first connect).
   * @throws TypeError / RangeError for an invalid option, naming it
   */
  static validateOptions(options: ConnectionOptions): void {
    resolveConnectionOptions(options);
  }

  /**
   * The framing rules in use: the dialect given, or with `'auto'` the preset
   * of the generation the last handshake found ({@link AUTO_DIALECT} before
   * the first one).
   */
  get dialect(): Dialect {
    return this.#dialect;
  }

  /** The lifecycle state: `idle`, `connecting`, `connected`, `broken` or `closed`. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** Requests handed to this connection whose promises have not settled (queued or on the wire). */
  get pendingRequests(): number {
    return this.#requests.pending;
  }

  /**
   * Requests written to the socket whose replies have not arrived, abandoned
   * ones included (their late replies are read and dropped). Under the
   * `'etx'` send policy this stays within one segment's worth of bytes.
   */
  get requestsOnTheWire(): number {
    return this.#requests.onTheWire;
  }

  /**
   * True while a request larger than the send policy's `maxWriteBytes`
   * (`'etx'`: 1400 bytes) holds the connection, alone on the wire or
   * queued (it waits for the wire to empty): a request given now would wait
   * a round trip or more behind it. It stays true for 4 of that request's
   * round trips after the last one's reply, so that the next large request
   * finds the connection free of small ones. The pool gives small requests
   * to other connections while one is free, and large ones to such a
   * connection first (`largeRequestConnections`). Always false without
   * pipelining or without a write limit.
   */
  get blocked(): boolean {
    return this.#largeRequestBytes !== Infinity && this.#requests.blocked;
  }

  /**
   * Requests that encode to more bytes than this go alone on the wire, a
   * round trip each (the send policy's `maxWriteBytes`: 1400 on a current
   * server, `'etx'`); `Infinity` when the dialect does not pipeline or sets
   * no limit (custom dialects, older generations, `'auto'` before the
   * handshake). The pool routes such requests apart from small ones.
   */
  get largeRequestBytes(): number {
    return this.#largeRequestBytes;
  }

  /**
   * Total time, in ms, that requests of this connection waited because of
   * the send policy (the unanswered-bytes window full, or a large request
   * alone on the wire), since the dialect was last set (each connect of an
   * `'auto'` connection that changes generation starts it again).
   */
  get sendPolicyHeldMs(): number {
    return this.#requests.heldMs;
  }

  /** Requests accepted by {@link send} since the connection was created (for load metrics). */
  get totalRequests(): number {
    return this.#totalRequests;
  }

  /** Why the connection last failed to connect or broke; `undefined` before any failure. */
  get lastError(): Error | undefined {
    return this.#lifecycle.lastError;
  }

  /** True when the socket is up and requests flow. */
  isConnected(): boolean {
    return this.#state === 'connected';
  }

  /**
   * True while a run of connect attempts is under way: an attempt runs, or
   * the back-off before the run's next attempt is running (`broken.waiting`).
   * False while resting after a failed run ({@link isResting}).
   */
  isConnecting(): boolean {
    return this.#state === 'connecting' || (this.#state === 'broken' && this.#lifecycle.phase === 'waiting' && this.#closing === undefined);
  }

  /**
   * True while the connection rests after a run of attempts failed
   * (`broken.resting`, with `reconnect: true`): a fresh run starts by
   * itself in {@link nextAttemptIn} ms (about `backoff.max`).
   */
  isResting(): boolean {
    return this.#state === 'broken' && this.#lifecycle.phase === 'resting' && this.#closing === undefined;
  }

  /**
   * In how many ms the next connect attempt starts by itself: 0 while one
   * runs, the time left of the back-off wait or of the rest while broken and
   * reconnecting; `undefined` when none will start by itself (idle,
   * connected, gave up with `reconnect: false`, closing, closed). A request
   * given to a connection with a number here waits for it, at most its timeout.
   */
  get nextAttemptIn(): number | undefined {
    if (this.#closing !== undefined) return undefined;
    if (this.#state === 'connecting') return 0;
    if (this.#state !== 'broken' || this.#lifecycle.phase === 'failed') return undefined;
    return Math.max(0, this.#lifecycle.retryAt - performance.now());
  }

  /**
   * One sentence on what the connection is doing and will do next, as error
   * messages give it: `connection 127.0.0.1:7556#3 is resting after 3 failed
   * attempts (last error: ...) and retries in ~8421 ms`.
   */
  describeState(): string {
    return this.#lifecycle.describe();
  }

  /** Listens to lifecycle state changes; returns the function that stops listening. */
  subscribe(listener: (change: ConnectionStateChange) => void): Unsubscribe {
    return this.#lifecycle.subscribe(listener);
  }

  /**
   * Connects (if not connected yet) and resolves once connected.
   * Rejects with a {@link ConnectError} (its `cause` the last failure) after
   * `connectionAttempts` failed attempts, or a {@link ConnectionClosedError}
   * when the connection is closed first.
   */
  connect(): Promise<void> {
    return this.#lifecycle.connect();
  }

  /**
   * Reconnects with a fresh socket and a fresh run of attempts (from any
   * state but `closed`; a connected socket is replaced, and requests on it
   * reject with a {@link ConnectionError}). Resolves with whether it is
   * connected afterwards; never rejects.
   */
  tryReconnect(): Promise<boolean> {
    return this.#lifecycle.tryReconnect();
  }

  /**
   * Sends one command and resolves with its decoded reply.
   *
   * Validation and encoding happen synchronously, so an invalid argument
   * throws here and nothing is sent. Afterwards the promise rejects with a
   * {@link ServerError} (error reply), {@link TimeoutError}, {@link AbortError},
   * {@link QueueFullError}, {@link ConnectionError} or {@link ConnectionClosedError}.
   *
   * A request given while the connection is connecting, waiting to retry or
   * resting after a failed run (it reconnects by itself) waits for the
   * connection, at most its timeout, then rejects with a TimeoutError. One
   * given to a connection that will not connect by itself (closed or
   * closing: {@link ConnectionClosedError}; idle, or given up with
   * `reconnect: false`: {@link ConnectionError}) is rejected at once, with a
   * message saying so.
   *
   * When the `zcached:command` tracing channel has a subscriber, the call
   * is traced there (`tracePromise`; context and events in
   * docs/observability.md); otherwise nothing is built for it.
   *
   * @throws TypeError / RangeError for arguments with no wire form, a third
   *   argument, or options that are not `{ signal?, timeout? }` (an unknown
   *   key names the closest valid one; `timeout` a positive integer of ms)
   * @throws DialectError for a request the dialect cannot carry
   */
  send(command: Command, options?: RequestOptions): Promise<Reply> {
    // Plain-JavaScript callers: a third argument is something the caller meant and would be lost.
    if (arguments.length > 2) throw new TypeError(`Connection.send takes (command, options?), got ${arguments.length} arguments`);
    // A string would be read letter by letter as a command ('PING' -> P, I, N, G).
    if (!Array.isArray(command)) throw new TypeError(`Connection.send: command must be an array such as ['GET', 'key'], got ${command === null ? 'null' : typeof command}`);
    // Traced (zcached:command) only when someone subscribed: no context is built otherwise.
    return isTracingCommands() ? (traceCommand(this, this.#send, this, command, options) as Promise<Reply>) : this.#send(command, options);
  }

  /**
   * Internal (the client's `get`, `getBuffer`, `mgetBuffer`): {@link send},
   * except that with `notFoundAsUndefined` the server's "key not found" error
   * reply resolves with `undefined`, and with `bytes` the reply's bulk
   * strings come as `Buffer`s (other requests' replies are not affected).
   * Arguments are the caller's to check. Traced like `send` when someone subscribed.
   */
  [sendAs](command: Command, options: RequestOptions | undefined, notFoundAsUndefined: boolean, bytes: boolean): Promise<Reply | undefined> {
    if (isTracingCommands()) {
      const traced = (bytes ? traceCommand(this, this.#sendBytes, this, command, options) : this.send(command, options)) as Promise<Reply>;
      return notFoundAsUndefined ? traced.catch(undefinedWhenNotFound) : traced;
    }
    return this.#send(command, options, notFoundAsUndefined, bytes);
  }

  /** {@link #send} of a request that asked for bytes (for the tracing channel, which calls it with two arguments). */
  readonly #sendBytes = (command: Command, options: RequestOptions | undefined): Promise<Reply> => this.#send(command, options, false, true);

  #send(command: Command, options: RequestOptions | undefined, notFoundAsUndefined = false, bytes = false): Promise<Reply> {
    const state = this.#state;
    if (state === 'closed' || this.#closing !== undefined) {
      return Promise.reject(new ConnectionClosedError(`connection ${this.id} is closed`));
    }
    if (state === 'idle' || (state === 'broken' && this.#lifecycle.phase === 'failed')) {
      const lastError = this.lastError;
      return Promise.reject(new ConnectionError(this.describeState(), lastError === undefined ? undefined : { cause: lastError }));
    }
    if (options !== undefined) assertRequestOptions(options, 'Connection.send');
    const promise = this.#requests.enqueue(command, options, false, notFoundAsUndefined, bytes);
    if (state === 'connected') this.#pump.flushSoon();
    this.#totalRequests++;
    return promise;
  }

  /**
   * Closes for good. By default in-flight requests may finish until
   * `closeTimeout` (or `options.timeout`) has passed; then, or at once with
   * `{ force: true }`, whatever is still pending rejects with a
   * {@link ConnectionClosedError}. Resolves when the socket and every timer
   * are gone; never rejects; calling it again returns the same promise
   * (a forced call still hurries a graceful one).
   * @throws TypeError for options with an unknown key (naming the closest
   *   valid one) or a `force` that is not a boolean
   * @throws RangeError for a `timeout` that is negative or past 2^31 - 1 ms
   */
  close(options: CloseOptions = {}): Promise<void> {
    return this.#lifecycle.close(options);
  }

  /** Closes at once (`close({ force: true })`). */
  destroy(): Promise<void> {
    return this.close({ force: true });
  }

  /** `await using connection = new Connection(...)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- internals -------------------------------------------------------

  /** The reply stream can no longer be trusted: break the connection (or, while closing, finish the close). */
  #break(error: Error): void {
    if (this.#state !== 'connected') return;
    if (this.#closing !== undefined) {
      this.#lifecycle.finishClose();
      return;
    }
    this.#lifecycle.send({ type: 'DROP', error });
  }
}
