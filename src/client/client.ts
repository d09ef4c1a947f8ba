/**
 * `ZCached`: the client. Every command goes to the pool's least-loaded
 * connected connection. This module holds the class: the command methods
 * and `sendCommand`, the per-request entry. The rest lives beside it: its
 * parts, built by its constructor (client-setup.ts), `run()` / `close()`
 * state and its errors (client-run.ts), events (client-events.ts), value
 * codecs (codec.ts), run-time argument checks (call-arguments.ts), commands
 * and reply shapes (commands.ts), options (options.ts, url.ts).
 *
 * @module
 */

import { EventEmitter } from 'node:events';
import type { Connection } from '../connection/connection.js';
import { resolveCloseOptions } from '../connection/options.js';
import type { CloseOptions } from '../connection/state.js';
import { ConnectionPool } from '../pool/pool.js';
import type { Command } from '../protocol/encoder.js';
import type { Reply, Value } from '../protocol/values.js';
import { CLIENT_CALLS as CALLS, checkCall, checkCommandCall, checkKeyCall, checkTwoKeyCall, mgetArguments, requestOptions } from './call-arguments.js';
import type { CommandDispatch } from './client-dispatch.js';
import type { ClientRun } from './client-run.js';
import { clientParts } from './client-setup.js';
import { copyCommand, falseWhenNotFound, isPong, msetCommand, replies, returnFalse, returnTrue, type CopyOptions, type MsetEntries } from './commands.js';
import type { ZCachedEvents } from './client-events.js';
import { fpView, type ZCachedFp } from './fp.js';
import type { CommandOptions, ZCachedOptions } from './options.js';
import { decodeMap, decodeValue, encodeEntries, encodeValue } from './codec.js';
import type { CodecOption, DecodedValue, EncodableValue, EntriesFor, MgetValue, ResolvedCodec } from './codec.js';

// The options' shapes (the client's, per call) and checks (URL grammar, unknown keys) live in options.ts; `codec` is typed there too.
export type { CommandOptions, ZCachedOptions } from './options.js';

/**
 * A zcached client over a {@link ConnectionPool}.
 *
 * Commands validate their arguments synchronously, for plain JavaScript
 * too (too many arguments, a key that is no string, an unknown or mistyped
 * per-call option throw a `TypeError` naming the method, an out-of-range
 * number a `RangeError`, a value the dialect cannot carry a
 * {@link DialectError}; nothing is sent), then resolve with the reply as
 * JavaScript values or reject with a typed {@link ZCachedError}.
 *
 * What the dialect cannot carry, on the default `'etx'` (current servers,
 * protocol reference and the server's main branch, August 2026): a string
 * (key, value, map key, at any depth; string or bytes) holding a line feed,
 * which the server would store cut at the line feed, or the byte 0x03; an
 * empty string or bytes, an empty `Map` or `{}` (the server answers
 * `-ERR unprocessable`). Empty arrays and sets, and a lone CR, are fine. The
 * error's `path` names the argument as the method does (`value[1]`,
 * `map key "a\nb" in value`, `newKey`, `mset entry 3 value`). Store such
 * values through a codec that escapes them (JSON, base64).
 *
 * It is an `EventEmitter` of {@link ZCachedEvents}: `connect`, `ready`,
 * `reconnecting`, `end` and `error` (emitted only while an `error` listener
 * is attached, so a client without one never crashes the process); see
 * docs/observability.md.
 *
 * @example
 * ```ts
 * const client = new ZCached({ host: '127.0.0.1', port: 7556, poolSize: 4 });
 * await client.run();
 * await client.set('answer', 42);
 * console.log(await client.get('answer')); // 42
 * await client.close();
 * ```
 */
export class ZCached<C extends CodecOption | undefined = undefined> extends EventEmitter<ZCachedEvents> implements AsyncDisposable {
  readonly #pool: ConnectionPool<Connection>;
  /** The value codec (`codec` option); undefined: values as they are. */
  readonly #codec: ResolvedCodec | undefined = undefined;
  #fp: ZCachedFp | undefined;
  /** The shared `run()`, its failure and the closed flag (client-run.ts). */
  readonly #lifecycle: ClientRun;
  /** Where checked commands go (the pool, the reply's form, the key prefix). */
  readonly #dispatch: CommandDispatch;
  /** Set only while {@link fromConnectionPool} constructs a client around an existing pool. */
  static #adopting: ConnectionPool<Connection> | undefined;

  /**
   * Creates a client and its pool (nothing connects until {@link run}).
   * With a `codec`, the client's type says what `get` gives back:
   * `new ZCached({ codec: 'json' })` is a `ZCached<'json'>`.
   *
   * Takes an options object, a connection URL (`'zcached://host:7556?poolSize=4'`,
   * `'zcacheds://...'` for TLS, or a `URL`), or a URL and an options object,
   * whose keys win over the URL's (grammar: see src/client/url.ts).
   * @throws TypeError / RangeError for an invalid URL or option, naming it;
   *   an unknown option is a TypeError naming the closest valid one
   */
  constructor(options?: ZCachedOptions<C>);
  constructor(url: string | URL, options?: ZCachedOptions<C>);
  constructor(target?: string | URL | ZCachedOptions<C>, options?: ZCachedOptions<C>) {
    super();
    const parts = clientParts(this, ZCached.#adopting, target, options);
    this.#pool = parts.pool;
    this.#codec = parts.codec;
    this.#lifecycle = parts.lifecycle;
    this.#dispatch = parts.dispatch;
  }

  /** A client over an existing pool, which it then owns: `close()` closes the pool. */
  static fromConnectionPool(pool: ConnectionPool<Connection>): ZCached {
    if (!(pool instanceof ConnectionPool)) throw new TypeError('fromConnectionPool expects a ConnectionPool');
    ZCached.#adopting = pool;
    try {
      return new ZCached();
    } finally {
      ZCached.#adopting = undefined;
    }
  }

  /** The `keyPrefix` option: what every key this client sends starts with (`''`: none). */
  get keyPrefix(): string {
    return this.#dispatch.keyPrefix ?? '';
  }

  /** The pool every command goes through. */
  get connectionPool(): ConnectionPool<Connection> {
    return this.#pool;
  }

  /** The same commands returning fp-ts `TaskEither<ZCachedError, T>` (lazy: nothing runs until the task is called). */
  get fp(): ZCachedFp {
    // The fp view is typed as the raw client's (with a codec, its get and mget resolve decoded values).
    return (this.#fp ??= fpView(this as unknown as ZCached));
  }

  /**
   * Sets the pool up: creates `poolSize` connections and connects them in
   * parallel. Resolves once each has connected or used up its
   * `connectionAttempts`, when at least one is connected; the others keep
   * reconnecting by themselves (with `reconnect: true`) until {@link close}.
   * A pool that already has connections ({@link fromConnectionPool}) keeps
   * them: the run waits for those still connecting, and replaces none.
   *
   * - Calls made while a run is in progress, or after it resolved, return the
   *   same promise: the pool is set up once (a lazy `await client.run()`
   *   before each use is safe). To reconnect later, use
   *   `connectionPool.reconnect()`.
   * - When no connection could connect it rejects with a {@link ConnectError}
   *   (its `cause` the last connect failure) and leaves nothing running: the
   *   pool is closed, no socket or timer is left, so a script that does not
   *   call `close()` still exits. A later `run()` tries again from scratch.
   * - When {@link close} is called before it finishes, it rejects with a
   *   {@link ConnectError} whose `cause` is a {@link ConnectionClosedError};
   *   `close()` marks that rejection as handled, so a `run()` nobody awaited
   *   does not crash the process as an unhandled rejection.
   * - While it is in progress, the connections' `reconnecting` and `error`
   *   events are held back: emitted when it resolves, dropped when it rejects
   *   (then one `error` carries its ConnectError); see {@link ZCachedEvents}.
   * - After {@link close} it rejects at once with a
   *   {@link ConnectionClosedError}: a closed client does not start again
   *   (create a new `ZCached`).
   */
  run(): Promise<void> {
    checkCall(CALLS.run, arguments.length, undefined);
    return this.#lifecycle.run();
  }

  /**
   * Closes the client for good: the pool, every connection, its timers and
   * sockets. Afterwards `run()` and every command reject with a
   * {@link ConnectionClosedError}. Resolves when all is closed; never
   * rejects; calling it again is harmless.
   *
   * Requests still pending settle as `Connection.close(options)` says: by
   * default each connection lets its in-flight requests finish for up to
   * its `closeTimeout` (default 5 000 ms); `{ timeout }` waits that many ms
   * instead, and `{ force: true }` rejects them at once with a
   * `ConnectionClosedError`. A later call with `force` still hurries a
   * close under way (a `timeout` only applies to the first call).
   *
   * @param options - `{ force?: boolean; timeout?: number }` (ms); default `{}`
   * @throws TypeError for options that are not an object, an unknown key
   *   (naming the closest valid one) or a `force` that is not a boolean
   * @throws RangeError for a `timeout` that is negative or past 2^31 - 1 ms;
   *   nothing is closed then
   */
  close(options?: CloseOptions): Promise<void> {
    checkCall(CALLS.close, arguments.length, undefined);
    return this.#lifecycle.close(resolveCloseOptions(options, 'ZCached'));
  }

  /** `await using client = new ZCached(...)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Sends any command to the least-loaded connected connection and resolves
   * with the raw reply. When none is connected but one will connect by itself
   * (an attempt running, a back-off wait, or a rest after a failed run), the
   * request waits for the one that will be up soonest, at most its timeout
   * (then a {@link TimeoutError}); see `ConnectionPool.getConnectionForRequest`.
   * Otherwise it rejects at once: with a {@link PoolEmptyError} saying what
   * each connection is doing, or that `run()` was never called or failed;
   * with a {@link ConnectionClosedError} after {@link close}.
   * @throws TypeError / RangeError for arguments that cannot be sent
   * @throws DialectError for a request the dialect cannot carry (nothing is
   *   sent). For the server's commands (case-insensitive) its `path` names
   *   the argument (`key`, `value[1]`, `mget key #2`, `mset entry 3 value`)
   *   and its `cause` is the encoder's error, which names it by position
   *   (`argument 2[1]`); for other commands the position stays.
   */
  sendCommand(command: Command, options?: CommandOptions): Promise<Reply> {
    checkCommandCall(CALLS.sendCommand, arguments.length, command, options);
    return this.#command(command, options);
  }

  /** A command whose arguments the caller checked (client-dispatch.ts: its connection, its reply's form, the key prefix). */
  #command(command: Command, options: CommandOptions | undefined, notFoundAsUndefined = false, bytes = false): Promise<Reply> {
    return this.#dispatch.send(command, options, notFoundAsUndefined, bytes);
  }

  /** PING: resolves with `'PONG'`. A message (`ping('hello')`) is refused: use {@link echo}. */
  ping(options?: CommandOptions): Promise<string> {
    checkCall(CALLS.ping, arguments.length, options);
    return this.#command(['PING'], options) as Promise<string>;
  }

  /**
   * GET: the stored value, or `undefined` when the key does not exist. With
   * a codec, the decoded value: `T` names its type (`get<User>('user:1')`;
   * not checked at run time: a codec of your own may check it).
   * @throws CodecError (rejection) when the codec cannot decode the stored value
   */
  get<T extends DecodedValue<C> = DecodedValue<C>>(key: string, options?: CommandOptions): Promise<T | undefined> {
    checkKeyCall(CALLS.get, arguments.length, key, options);
    const stored = this.#command(['GET', key], options, true) as Promise<Reply | undefined>;
    const codec = this.#codec;
    return (codec === undefined ? stored : stored.then((value) => decodeValue(codec, key, value))) as Promise<T | undefined>;
  }

  /**
   * GET, the stored bytes: a string value (text or bytes) as a `Buffer`,
   * exactly as stored (`get` decodes it as UTF-8, replacing bytes that are
   * not UTF-8), `undefined` when the key does not exist. Other values come
   * as `get` gives them, their strings as `Buffer`s (a number stays a
   * number). No codec is applied. Only this request's reply is read so:
   * the other requests of the connection still get strings.
   */
  getBuffer(key: string, options?: CommandOptions): Promise<Buffer | Exclude<Reply, string> | undefined> {
    checkKeyCall(CALLS.getBuffer, arguments.length, key, options);
    return this.#command(['GET', key], options, true, true) as Promise<Buffer | Exclude<Reply, string> | undefined>;
  }

  /**
   * SET: stores a value (any {@link Value}); resolves with `'OK'`. zcached
   * has no expiry: other clients' `set(key, value, 'EX', 10)`,
   * `set(key, value, 10)` or `{ ttl: 10 }` are refused with a TypeError
   * that points to the Keyv adapter (`zcached/keyv`) and its `ttl`.
   * @throws DialectError when the dialect cannot carry the key or the value
   *   (on `'etx'`: a line feed or 0x03 in any string, an empty string, an
   *   empty map), with `path` `'key'`, `'value'` or a part of it (`'value[1]'`)
   * @throws TypeError with `codec: 'json'`, for a value JSON cannot store
   *   faithfully (`undefined`, a function, a symbol, a bigint, NaN, an infinity, -0, a Map,
   *   a Set, binary data, a cycle), naming the part at fault; with a codec of
   *   your own, what its `encode` throws
   */
  set(key: string, value: EncodableValue<C>, options?: CommandOptions): Promise<'OK'> {
    checkKeyCall(CALLS.set, arguments.length, key, options);
    const stored = this.#codec === undefined ? (value as Value) : encodeValue(this.#codec, value, `SET ${JSON.stringify(key)}`);
    return this.#command(['SET', key, stored], options) as Promise<'OK'>;
  }

  /**
   * DELETE: resolves with true when the key existed, false when it did not.
   * One key: zcached's DELETE takes one, so `delete('a', 'b')` is refused
   * (TypeError, nothing deleted); delete several with
   * `Promise.all(keys.map((key) => client.delete(key)))`.
   */
  delete(key: string, options?: CommandOptions): Promise<boolean> {
    checkKeyCall(CALLS.delete, arguments.length, key, options);
    return this.#command(['DELETE', key], options).then(returnTrue, falseWhenNotFound);
  }

  /** EXISTS (client-side, through GET): whether the key exists. One key (`exists('a', 'b')` is refused). */
  exists(key: string, options?: CommandOptions): Promise<boolean> {
    checkKeyCall(CALLS.exists, arguments.length, key, options);
    // Not through get(): the stored value is not decoded.
    return this.#command(['GET', key], options).then(returnTrue, falseWhenNotFound);
  }

  /** FLUSH: removes every key; resolves with `'OK'`. */
  flush(options?: CommandOptions): Promise<'OK'> {
    checkCall(CALLS.flush, arguments.length, options);
    return this.#command(['FLUSH'], options) as Promise<'OK'>;
  }

  /** DBSIZE: the number of keys. */
  dbsize(options?: CommandOptions): Promise<number> {
    checkCall(CALLS.dbsize, arguments.length, options);
    return this.#command(['DBSIZE'], options).then((reply) => replies.integer('DBSIZE', reply));
  }

  /** SAVE: persists the data; rejects with a ServerError when there is nothing to save. */
  save(options?: CommandOptions): Promise<'OK'> {
    checkCall(CALLS.save, arguments.length, options);
    return this.#command(['SAVE'], options) as Promise<'OK'>;
  }

  /** LASTSAVE: unix seconds of the last save (the server's start time before any). */
  lastsave(options?: CommandOptions): Promise<number> {
    checkCall(CALLS.lastsave, arguments.length, options);
    return this.#command(['LASTSAVE'], options).then((reply) => replies.integer('LASTSAVE', reply));
  }

  /** KEYS: every key. zcached takes no pattern: `keys('user:*')` is refused. */
  keys(options?: CommandOptions): Promise<string[]> {
    checkCall(CALLS.keys, arguments.length, options);
    return this.#command(['KEYS'], options).then(replies.keys);
  }

  /**
   * MGET: a `Map` from each requested key to its value, `null` for a missing
   * key; with a codec, to the decoded value, `undefined` for a missing key.
   * Per-call options may follow the keys: `mget('a', 'b', { timeout: 100 })`.
   * The keys may also come as one array, as in ioredis: `mget(['a', 'b'])`,
   * `mget(['a', 'b'], { timeout: 100 })` (an array among other keys is refused).
   * @throws CodecError (rejection) when the codec cannot decode a stored value
   */
  mget<T extends DecodedValue<C> = DecodedValue<C>>(
    ...keys: string[] | [...keys: string[], options: CommandOptions] | [keys: readonly string[], options?: CommandOptions]
  ): Promise<Map<string, MgetValue<C, T>>> {
    const call = mgetArguments(CALLS.mget, keys);
    const stored = this.#command(['MGET', ...call.keys], call.options).then(replies.mget);
    const codec = this.#codec;
    return (codec === undefined ? stored : stored.then((map) => decodeMap(codec, map))) as Promise<Map<string, MgetValue<C, T>>>;
  }

  /**
   * MGET, the stored bytes: a `Map` from each requested key (a string) to
   * its value as {@link getBuffer} gives it, `null` for a missing key. No
   * codec is applied. Takes its keys and options as {@link mget}.
   */
  mgetBuffer(
    ...keys: string[] | [...keys: string[], options: CommandOptions] | [keys: readonly string[], options?: CommandOptions]
  ): Promise<Map<string, Buffer | Exclude<Reply, string>>> {
    const call = mgetArguments(CALLS.mgetBuffer, keys);
    return this.#command(['MGET', ...call.keys], call.options, false, true).then(replies.mget) as Promise<Map<string, Buffer | Exclude<Reply, string>>>;
  }

  /**
   * MSET: stores many values at once; accepts a `Map`, an object or `[key, value]` pairs
   * (ioredis' `mset('a', 1, 'b', 2)` is refused: `mset({ a: 1, b: 2 })`).
   * @throws DialectError as {@link set}, with `path` naming the entry
   *   (1-based, in iteration order): `'mset entry 3 key'`, `'mset entry 3 value'`
   * @throws TypeError with a codec, as {@link set}, naming the entry
   */
  mset(entries: EntriesFor<C>, options?: CommandOptions): Promise<'OK'> {
    checkCall(CALLS.mset, arguments.length, options);
    const encoded = this.#codec === undefined ? (entries as MsetEntries) : encodeEntries(this.#codec, entries);
    return this.#command(msetCommand(encoded), options) as Promise<'OK'>;
  }

  /** ECHO (newer servers): resolves with the message (one message). */
  echo(message: string, options?: CommandOptions): Promise<string> {
    checkKeyCall(CALLS.echo, arguments.length, message, options);
    return this.#command(['ECHO', message], options) as Promise<string>;
  }

  /** SIZEOF (newer servers): string length, element or pair count, byte size of numbers. */
  sizeof(key: string, options?: CommandOptions): Promise<number> {
    checkKeyCall(CALLS.sizeof, arguments.length, key, options);
    return this.#command(['SIZEOF', key], options).then((reply) => replies.integer('SIZEOF', reply));
  }

  /** RENAME (newer servers): rejects with a ServerError when the key does not exist. */
  rename(key: string, newKey: string, options?: CommandOptions): Promise<'OK'> {
    checkTwoKeyCall(CALLS.rename, arguments.length, key, newKey, options);
    return this.#command(['RENAME', key, newKey], options) as Promise<'OK'>;
  }

  /**
   * COPY (newer servers): rejects with code `BUSYKEY` when the destination exists and `replace` is not set.
   * @param options - `{ replace?: boolean }` and the per-call options
   */
  copy(source: string, destination: string, options?: CopyOptions & CommandOptions): Promise<'OK'> {
    checkTwoKeyCall(CALLS.copy, arguments.length, source, destination, options);
    return this.#command(copyCommand(source, destination, options), requestOptions(options)) as Promise<'OK'>;
  }

  /** Whether the server answers PING now; never rejects (invalid arguments throw, as for every call). */
  isAlive(options?: CommandOptions): Promise<boolean> {
    checkCall(CALLS.isAlive, arguments.length, options);
    return this.#command(['PING'], options).then(isPong, returnFalse);
  }
}
