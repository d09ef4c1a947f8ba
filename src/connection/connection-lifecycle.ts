/**
 * `ConnectionLifecycle`: the lifecycle side of a `Connection`, everything
 * that happens when the connection changes state rather than per request.
 * It carries out `connect()`, `tryReconnect()` and `close()` (with its
 * graceful drain), runs the connection's XState machine (machine.ts),
 * opens the socket the machine asks for and routes the transport's events,
 * and does what each state change means: it answers the `connect()` /
 * `tryReconnect()` callers, fails the requests a broken or closed socket
 * took with it, runs the keep-alive `PING`, and tells the connection's
 * subscribers and the `zcached:connection:state` channel.
 *
 * The per-request path stays in `Connection`, on its own fields; the
 * connection hands this module a {@link LifecycleHost}, built once, for
 * what the lifecycle must read and do of it.
 *
 * @module
 */

import { createActor, fromPromise, type Actor } from 'xstate';
import { ConnectError, ConnectionClosedError, ConnectionError, DialectMismatchError } from '../errors.js';
import { Listeners, type Unsubscribe } from '../events.js';
import { connectionStateChanged } from './diagnostics.js';
import { tlsStalledError, verifyServer } from './handshake.js';
import { startKeepAlive, stopKeepAlive } from './keep-alive.js';
import type { ServerGeneration } from '../protocol/dialect.js';
import {
  brokenPhase,
  connectionMachine,
  isOutOfAttempts,
  lifecycleState,
  type ConnectionMachineContext,
  type ConnectionMachineEvent,
  type ConnectionMachineSnapshot,
  type OpenSocketInput,
} from './machine.js';
import { resolveCloseOptions, timerDuration } from './options.js';
import { rootCauseText } from './root-cause.js';
import { formatAddress } from './address.js';
import { describeConnectionState, type CloseOptions, type ConnectionStateChange } from './state.js';
import type { LifecycleHost, LifecycleSettings } from './lifecycle-host.js';
import type { Transport, TransportEvents } from './transport.js';

export { lifecycleSettings, type LifecycleHost, type LifecycleSettings } from './lifecycle-host.js';

/** The lifecycle machine of one connection and what its changes do. */
export class ConnectionLifecycle {
  /** The sub-state of `broken` (`undefined` in the other states). */
  phase: 'waiting' | 'resting' | 'failed' | undefined;
  /** When the next connect attempt starts (`performance.now()` time), in `broken.waiting` and `broken.resting`. */
  retryAt = 0;

  #host!: LifecycleHost;
  readonly #settings: LifecycleSettings;
  readonly #actor: Actor<typeof connectionMachine>;
  readonly #listeners = new Listeners<ConnectionStateChange>();
  #connectWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  #pingTimer: NodeJS.Timeout | undefined;
  #closedEarly: Error | undefined;
  /** Bytes the server sent after the handshake's verdict, before `connected`: read on arrival there. */
  #earlyData: Buffer[] = [];
  /** While a handshake runs: why the attempt would time out now. */
  #stalled: (() => Error) | undefined;
  /** Ends a graceful close: set while one waits for the pending requests. */
  #drained: (() => void) | undefined;

  /** Creates the machine; nothing runs until {@link start}. */
  constructor(settings: LifecycleSettings) {
    this.#settings = settings;
    const machine = connectionMachine.provide({
      actors: { openSocket: fromPromise<void, OpenSocketInput>(({ signal }) => this.#open(signal)) },
      actions: { closeSocket: () => this.#host.detach() },
    });
    this.#actor = createActor(machine, { input: { ...settings.machine, timeoutCause: () => this.#stalled?.() } });
    this.#actor.subscribe((snapshot) => this.#onLifecycle(snapshot));
  }

  /** Binds the lifecycle to its connection and starts the machine (in `idle`). */
  start(host: LifecycleHost): void {
    this.#host = host;
    this.#actor.start();
  }

  /** The request queue's `onDrained`: no request is pending any more (ends a graceful close that waits). */
  readonly onDrained = (): void => {
    this.#drained?.();
  };

  /** The machine's context now (attempts, last error, settings). */
  get context(): ConnectionMachineContext {
    return this.#actor.getSnapshot().context;
  }

  /** Why the connection last failed to connect or broke; `undefined` before any failure. */
  get lastError(): Error | undefined {
    return this.#actor.getSnapshot().context.lastError;
  }

  /** Sends an event to the machine. */
  send(event: ConnectionMachineEvent): void {
    this.#actor.send(event);
  }

  /** `Connection.describeState()`. */
  describe(): string {
    const host = this.#host;
    const { context } = this;
    return describeConnectionState({
      id: host.connection.id,
      state: host.state(),
      phase: this.phase,
      closing: host.closing() !== undefined,
      attempt: context.attempt,
      connectionAttempts: context.connectionAttempts,
      reconnect: context.reconnect,
      retryIn: host.connection.nextAttemptIn,
      lastError: context.lastError,
    });
  }

  /** `Connection.connect()`. */
  connect(): Promise<void> {
    const host = this.#host;
    const state = host.state();
    if (state === 'connected') return Promise.resolve();
    if (state === 'closed' || host.closing() !== undefined) {
      return Promise.reject(new ConnectionClosedError(`connection ${host.connection.id} is closed`));
    }
    const promise = this.#waitForConnect();
    if (state !== 'connecting') this.#actor.send({ type: 'CONNECT' });
    return promise;
  }

  /** `Connection.tryReconnect()`. */
  tryReconnect(): Promise<boolean> {
    const host = this.#host;
    if (host.state() === 'closed' || host.closing() !== undefined) return Promise.resolve(false);
    const promise = this.#waitForConnect();
    this.#actor.send({ type: 'RECONNECT' });
    return promise.then(
      () => true,
      () => false,
    );
  }

  /** `Connection.close(options)`. */
  close(options: CloseOptions): Promise<void> {
    const host = this.#host;
    resolveCloseOptions(options, 'Connection');
    const timeout = timerDuration('timeout', options.timeout ?? this.#settings.closeTimeout, true);
    const state = host.state();
    if (state === 'closed') return Promise.resolve();
    const force = options.force === true || host.requests.pending === 0 || state !== 'connected';
    const closing = host.closing();
    if (closing !== undefined) {
      if (force) this.finishClose();
      return closing;
    }
    if (force) {
      const closed = Promise.resolve();
      host.setClosing(closed);
      this.finishClose();
      return closed;
    }
    const drained = new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.#drained?.(), timeout);
      this.#drained = () => {
        clearTimeout(timer);
        this.#drained = undefined;
        this.finishClose();
        resolve();
      };
    });
    host.setClosing(drained);
    return drained;
  }

  /** Listens to lifecycle state changes; returns the function that stops listening. */
  subscribe(listener: (change: ConnectionStateChange) => void): Unsubscribe {
    return this.#listeners.subscribe(listener);
  }

  /** A promise settled when the current (or next) run of attempts ends: connected, out of attempts, or closed. */
  #waitForConnect(): Promise<void> {
    return new Promise<void>((resolve, reject) => this.#connectWaiters.push({ resolve, reject }));
  }

  /** Closes for good now, unless closed already. */
  finishClose(): void {
    if (this.#host.state() === 'closed') return;
    this.#actor.send({ type: 'CLOSE' });
  }

  /** The `openSocket` actor: opens a transport whose events feed the connection. */
  async #open(signal: AbortSignal): Promise<void> {
    const host = this.#host;
    const { connection } = host;
    let transport: Transport | undefined;
    let closedBeforeUse: Error | undefined;
    /** While the generation handshake runs: where the socket's bytes and end go. */
    let handshake: TransportEvents | undefined;
    /** Bytes not read yet: before the handshake (it reads them first), or after its verdict (the connection reads them first). */
    const early: Buffer[] = [];
    this.#stalled = undefined;
    const opened = await this.#settings.openTransport(
      { host: connection.host, port: connection.port, tls: this.#settings.tls, keepAliveDelay: this.#settings.keepAliveDelay },
      {
        // A timeout from now on names the TLS handshake, not the TCP connect (the generation handshake's replaces it).
        onTlsHandshake: () => {
          if (!signal.aborted) this.#stalled = () => tlsStalledError(formatAddress(connection.host, connection.port), this.context.connectTimeout);
        },
        onData: (chunk) => {
          if (handshake !== undefined) handshake.onData(chunk);
          else if (transport !== undefined && host.state() === 'connected') host.data(transport, chunk);
          else early.push(chunk); // before the handshake, or before `connected`: read then, never dropped
        },
        onClose: (error) => {
          if (handshake !== undefined) handshake.onClose(error);
          if (transport === undefined) {
            closedBeforeUse ??= error; // closed before this attempt saw it open
            return;
          }
          if (transport !== host.transport()) return;
          if (host.state() === 'connected') host.break(error);
          else this.#closedEarly = error; // opened, but not 'connected' yet: break on arrival
        },
      },
      signal,
    );
    if (signal.aborted || closedBeforeUse !== undefined) {
      opened.destroy();
      throw closedBeforeUse ?? new ConnectionError('connect aborted');
    }
    let generation: ServerGeneration | undefined;
    try {
      generation = await verifyServer(
        opened,
        this.#settings.dialect,
        connection,
        signal,
        (events, stalled) => {
          handshake = events;
          this.#stalled = stalled;
          // Bytes the server sent before being asked anything: the handshake judges them first.
          for (const chunk of early.splice(0)) events.onData(chunk);
        },
        (chunk) => early.push(chunk),
      );
    } catch (error) {
      opened.destroy();
      // A mismatch is no passing fault: connect() and run() hear of it now, not after every attempt.
      if (error instanceof DialectMismatchError) {
        host.noteGeneration(error.detected);
        this.#settleConnectWaiters(error);
      }
      throw error;
    } finally {
      handshake = undefined;
      this.#stalled = undefined;
    }
    if (signal.aborted || closedBeforeUse !== undefined) {
      opened.destroy();
      throw closedBeforeUse ?? new ConnectionError('connect aborted');
    }
    transport = opened;
    this.#closedEarly = undefined;
    host.attach(opened, generation);
    this.#earlyData = early;
  }

  #onLifecycle(snapshot: ConnectionMachineSnapshot): void {
    const host = this.#host;
    const { connection, requests } = host;
    const next = lifecycleState(snapshot);
    const phase = brokenPhase(snapshot);
    const from = host.state();
    if (next === from && phase === this.phase) return;
    host.setState(next);
    this.phase = phase;
    // The machine reads no clock: the wait it drew starts now.
    if (phase === 'waiting' || phase === 'resting') this.retryAt = performance.now() + (snapshot.context.retryDelay ?? 0);
    // A socket that opened as its attempt was cancelled (close, connect timeout) never reached `connected`.
    if (next !== 'connected' && host.transport() !== undefined) host.detach();
    if (next !== 'connected') this.#earlyData = [];
    const lastError = this.lastError;
    const cause = lastError === undefined ? undefined : { cause: lastError };
    if (from === 'connected' && next !== 'connected') {
      stopKeepAlive(this.#pingTimer);
      this.#pingTimer = undefined;
      requests.failWritten(
        next === 'closed'
          ? new ConnectionClosedError(`connection ${connection.id} was closed before the reply arrived`)
          : new ConnectionError(
              `connection ${connection.id} broke before the reply arrived${lastError === undefined ? '' : ` (${rootCauseText(lastError)})`}`,
              cause,
            ),
      );
    }
    if (next === 'connected') {
      this.#settleConnectWaiters(undefined);
      this.#pingTimer = startKeepAlive(this.#host, this.#settings.pingInterval, this.#settings.timeoutLimit);
      if (requests.hasWaiting) host.flushSoon();
    } else if (next === 'broken' && isOutOfAttempts(snapshot)) {
      // The run is over: connect() and tryReconnect() answer now. Requests wait for a resting
      // connection (a fresh run starts by itself) within their own timeout; one that gave up fails them.
      const attempts = snapshot.context.attempt;
      const fate =
        phase === 'resting'
          ? `it retries by itself in ~${Math.round(connection.nextAttemptIn ?? 0)} ms`
          : 'it does not reconnect by itself (reconnect: false)';
      this.#settleConnectWaiters(
        new ConnectError(
          `cannot connect to ${formatAddress(connection.host, connection.port)} after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${lastError === undefined ? 'unknown error' : rootCauseText(lastError)}; ${fate}`,
          cause,
        ),
      );
      if (phase === 'failed') requests.failAll(new ConnectionError(connection.describeState(), cause));
    } else if (next === 'closed') {
      this.#settleConnectWaiters(new ConnectionClosedError(`connection ${connection.id} was closed`));
      // A request that waited for a connection that never came up: say why it did not (a mismatch, a refused connect...).
      const why = from !== 'connected' && lastError !== undefined ? ` (it was not connected: ${rootCauseText(lastError)})` : '';
      requests.failAll(new ConnectionClosedError(`connection ${connection.id} was closed before the request settled${why}`, why === '' ? undefined : cause));
      requests.dispose();
      host.cancelFlush();
      this.#drained?.();
      this.#actor.stop();
    }
    if (next !== from) {
      this.#listeners.emit(
        next === 'broken' && lastError !== undefined ? { id: connection.id, from, to: next, error: lastError } : { id: connection.id, from, to: next },
      );
      connectionStateChanged(connection, from, next, lastError);
    }
    // Bytes that came between the handshake's verdict and `connected` (a stray reply breaks the stream there).
    if (next === 'connected' && this.#earlyData.length > 0) {
      const early = this.#earlyData;
      this.#earlyData = [];
      const transport = host.transport();
      if (transport !== undefined) for (const chunk of early) host.data(transport, chunk);
    }
    // The socket ended between opening and `connected`: break now (after the 'connected' event).
    if (next === 'connected' && this.#closedEarly !== undefined) {
      const error = this.#closedEarly;
      this.#closedEarly = undefined;
      host.break(error);
    }
    if (next === 'closed') this.#listeners.clear();
  }

  #settleConnectWaiters(error: Error | undefined): void {
    const waiters = this.#connectWaiters;
    if (waiters.length === 0) return;
    this.#connectWaiters = [];
    for (const waiter of waiters) {
      if (error === undefined) waiter.resolve();
      else waiter.reject(error);
    }
  }
}
