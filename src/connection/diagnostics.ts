/**
 * What the library tells observers that hold no reference to a client:
 * `node:diagnostics_channel` channels for commands and connection
 * lifecycle changes, and `NODE_DEBUG=zcached` lines through `util.debuglog`.
 *
 * Both cost next to nothing when nobody listens: a command checks whether its
 * tracing channel has a subscriber before it builds a context, and a
 * lifecycle change checks the channel and `debuglog`'s `enabled` before it
 * builds a message.
 *
 * @module
 */

import { channel, tracingChannel } from 'node:diagnostics_channel';
import { debuglog } from 'node:util';
import type { ServerGeneration } from '../protocol/dialect.js';
import type { Command } from '../protocol/encoder.js';
import { isNotFound, NOT_FOUND_IS_A_VALUE } from './not-found.js';
import type { ConnectionState } from './state.js';

/** Name of the tracing channel of commands: `zcached:command` (sub-channels `tracing:zcached:command:start`, …). */
export const COMMAND_CHANNEL = 'zcached:command';

/** Name of the channel of connection lifecycle changes. */
export const CONNECTION_STATE_CHANNEL = 'zcached:connection:state';

/**
 * The context of one traced command, as every event of the `zcached:command`
 * tracing channel receives it (the same object from `start` to `asyncEnd`,
 * so a subscriber may store its own data on it, such as a span).
 *
 * Node adds `result` (the decoded reply) before `asyncStart` when the
 * command succeeds, and `error` before `error` when it fails.
 *
 * A GET or DELETE of a missing key is a success here, not a failure: the
 * client turns the server's not-found reply into a value (`get()` resolves
 * `undefined`, `delete()` `false`), so the trace gets `result`
 * {@link NOT_FOUND_RESULT} (`{ notFound: true }`) and no `error`, while the
 * caller's promise still rejects with the `ServerError` as before.
 */
export interface CommandTraceContext {
  /** The command name, upper-case: `'GET'`, `'MSET'`. */
  readonly command: string;
  /**
   * How many keys the command names: 1 for GET, SET, DELETE and SIZEOF, 2
   * for RENAME and COPY, one per key for MGET, one per pair for MSET, 0 for
   * every other command (PING, KEYS, FLUSH, ECHO, unknown commands, …).
   */
  readonly keyCount: number;
  /** The server's host, as the connection was given it. */
  readonly serverAddress: string;
  /** The server's TCP port. */
  readonly serverPort: number;
  /** The id of the connection that carries the command (`<host>:<port>#<n>`). */
  readonly connectionId: string;
  /**
   * The reply, set by Node when the command succeeded (from `asyncStart` on);
   * {@link NOT_FOUND_RESULT} for a GET or DELETE of a missing key.
   */
  result?: unknown;
  /** Why the command failed (a `ZCachedError`, or a `TypeError` / `RangeError` for arguments), set by Node. */
  error?: unknown;
}

/** What the `zcached:connection:state` channel publishes on every lifecycle change of a connection. */
export interface ConnectionStateMessage {
  /** The connection's id (`<host>:<port>#<n>`). */
  readonly id: string;
  /** Server host. */
  readonly host: string;
  /** Server port. */
  readonly port: number;
  /** The state before. */
  readonly from: ConnectionState;
  /** The state after. */
  readonly to: ConnectionState;
  /** Why it broke or failed to connect, when `to` is `'broken'`. */
  readonly error?: Error;
  /** When `to` is `'broken'` and it reconnects by itself: ms until its next connect attempt starts. */
  readonly retryIn?: number;
  /**
   * When `to` is `'connected'`: the server generation the connect-time
   * handshake found (`'legacy'`, `'etx-request'`, `'etx'`); absent for a
   * custom dialect without `base` (not probed).
   */
  readonly generation?: ServerGeneration;
}

/** What the channels need of a connection (the `Connection` class, without importing it). */
export interface ObservedConnection {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly nextAttemptIn: number | undefined;
  readonly generation: ServerGeneration | undefined;
  describeState(): string;
}

/**
 * The `result` a traced GET or DELETE of a missing key gets: `{ notFound: true }`
 * (frozen, always this object). No reply has this shape: a map reply decodes
 * to a `Map`, never a plain object.
 */
export const NOT_FOUND_RESULT: Readonly<{ notFound: true }> = Object.freeze({ notFound: true });

/** The tracing channel of commands (one per process, as Node keeps channels by name). */
export const commandChannel = tracingChannel<unknown, CommandTraceContext>(COMMAND_CHANNEL);

/** The lifecycle channel. */
export const connectionStateChannel = channel(CONNECTION_STATE_CHANNEL);

/** `NODE_DEBUG=zcached` logging; a no-op (with `enabled` false) otherwise. */
export const debug = debuglog('zcached');

/**
 * True when any event of the command tracing channel has a subscriber.
 * Reads the five sub-channels: `TracingChannel.hasSubscribers` only exists
 * from Node 20.13.
 */
export function isTracingCommands(): boolean {
  const { start, end, asyncStart, asyncEnd, error } = commandChannel;
  return start.hasSubscribers || end.hasSubscribers || asyncStart.hasSubscribers || asyncEnd.hasSubscribers || error.hasSubscribers;
}

/** Keys named by each command of the server, past its name; MGET and MSET count their arguments. */
const KEY_COUNTS: Readonly<Record<string, number>> = { GET: 1, SET: 1, DELETE: 1, SIZEOF: 1, RENAME: 2, COPY: 2 };

/** How many keys a command names (see {@link CommandTraceContext.keyCount}). */
export function keyCount(name: string, command: Command): number {
  const args = command.length - 1;
  if (name === 'MGET') return args;
  if (name === 'MSET') return args >> 1;
  const count = Object.hasOwn(KEY_COUNTS, name) ? (KEY_COUNTS[name] ?? 0) : 0;
  return Math.min(count, args);
}

/**
 * Runs `send` under the command tracing channel (`tracePromise`): `start`
 * and `end` around the synchronous part, `error` when it throws or the
 * promise rejects, `asyncStart` / `asyncEnd` when it settles. Call it only
 * when {@link isTracingCommands} is true.
 *
 * For a command whose not-found reply is a value (GET, DELETE), the trace
 * follows a promise derived from the command's, which resolves with
 * {@link NOT_FOUND_RESULT} instead of rejecting with that reply; the promise
 * returned settles as the command's does (the same reply or the same error
 * object), after the trace's `asyncEnd`.
 */
export function traceCommand<T, O>(
  connection: ObservedConnection,
  send: (this: T, command: Command, options: O) => Promise<unknown>,
  self: T,
  command: Command,
  options: O,
): Promise<unknown> {
  const name = typeof command[0] === 'string' ? command[0].toUpperCase() : String(command[0]);
  const context: CommandTraceContext = {
    command: name,
    keyCount: keyCount(name, command),
    serverAddress: connection.host,
    serverPort: connection.port,
    connectionId: connection.id,
  };
  if (!NOT_FOUND_IS_A_VALUE.has(name)) return commandChannel.tracePromise(send, context, self, command, options);
  let sent: Promise<unknown> | undefined;
  const traced = commandChannel.tracePromise(
    function (this: T, command: Command, options: O): Promise<unknown> {
      sent = send.call(this, command, options);
      return sent.catch(notFoundAsResult);
    },
    context,
    self,
    command,
    options,
  );
  // The caller gets the command's own outcome: its not-found rejection too.
  return traced.then((result) => (result === NOT_FOUND_RESULT ? sent : result));
}

function notFoundAsResult(error: unknown): typeof NOT_FOUND_RESULT {
  if (isNotFound(error)) return NOT_FOUND_RESULT;
  throw error;
}

/**
 * A connection changed state: publishes it on `zcached:connection:state`
 * (when subscribed) and logs it with `NODE_DEBUG=zcached`, with what the
 * connection does next (the wait before its next attempt, giving up).
 */
export function connectionStateChanged(connection: ObservedConnection, from: ConnectionState, to: ConnectionState, error: Error | undefined): void {
  const publish = connectionStateChannel.hasSubscribers;
  if (!publish && !debug.enabled) return;
  const retryIn = to === 'broken' ? connection.nextAttemptIn : undefined;
  if (publish) {
    const message: ConnectionStateMessage = {
      id: connection.id,
      host: connection.host,
      port: connection.port,
      from,
      to,
      ...(to === 'broken' && error !== undefined ? { error } : {}),
      ...(retryIn === undefined ? {} : { retryIn: Math.round(retryIn) }),
      ...(to === 'connected' && connection.generation !== undefined ? { generation: connection.generation } : {}),
    };
    connectionStateChannel.publish(message);
  }
  // describeState() names the connection, the last error and the wait before the next attempt.
  if (debug.enabled) debug('%s -> %s: %s', from, to, connection.describeState());
}
