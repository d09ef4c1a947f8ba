/**
 * `KeyvZCached`: a Keyv storage adapter over a `ZCached` client, so that
 * Keyv, and what is built on it (cacheable, cache-manager), can keep their
 * data in zcached.
 *
 * @module
 */

import { EventEmitter } from 'node:events';
import type { KeyvStoreAdapter, StoredData } from 'keyv';
import { ZCached, type CommandOptions, type ZCachedOptions } from '../client/client.js';
import type { CodecOption } from '../client/codec.js';
import { isNotFound, replies, undefinedWhenNotFound } from '../client/commands.js';
import { assertKnownOptions, optionNames } from '../connection/option-keys.js';
import type { Command } from '../protocol/encoder.js';
import type { Reply } from '../protocol/values.js';
import { NamespaceBinding } from './shared.js';

/**
 * Options of {@link KeyvZCached}. There is no `namespace` option: Keyv sets
 * the adapter's namespace (`new Keyv({ store, namespace })`).
 */
export interface KeyvZCachedOptions {
  /**
   * Keys per request when `clear()` deletes a namespace's keys and when
   * `iterator()` reads values (MGET), a positive integer. Default 256.
   */
  readonly batchSize?: number;
  /** Options of every command the adapter sends (`timeout` in ms, `signal`). Default: the client's. */
  readonly commandOptions?: CommandOptions;
}

/**
 * The adapter's `opts`, as Keyv reads them. `deserialize` (default
 * `JSON.parse`) reads the `expires` field of a stored entry for `has()`;
 * set it when Keyv uses a serializer of its own whose output is not JSON.
 */
export interface KeyvZCachedOpts {
  /** Always `'zcached'`. */
  readonly dialect: 'zcached';
  /** The server, as a URL when the adapter knows it (`'zcached://127.0.0.1:7556'`), else `'zcached://'`. */
  readonly url: string;
  /** Turns a stored entry back into `{ value, expires }`, for `has()`. Default `JSON.parse`. */
  deserialize?: ((data: string) => unknown) | undefined;
}

const OPTION_NAMES = optionNames({ batchSize: true, commandOptions: true } satisfies Record<keyof KeyvZCachedOptions, true>);
const COMMAND_OPTION_NAMES = optionNames({ signal: true, timeout: true } satisfies Record<keyof CommandOptions, true>);

/** A `ZCached` client, whatever its value codec (the adapter sends its commands raw). */
type AnyZCached = ZCached<any>;

/** What the constructor accepts in place of a client: a URL, or `ZCached` options. */
export type KeyvZCachedTarget = AnyZCached | string | URL | ZCachedOptions<CodecOption | undefined>;

/**
 * A Keyv storage adapter (`KeyvStoreAdapter` of Keyv 5) that keeps Keyv's
 * entries in zcached: `new Keyv({ store: new KeyvZCached(client) })`.
 *
 * - What it stores: the strings Keyv's serializer makes (JSON with the
 *   value and its `expires` time), under the keys Keyv gives it (Keyv adds
 *   the `namespace:` prefix itself; keep Keyv's `useKeyPrefix` on). Any
 *   other value is refused with a `TypeError` (Keyv's `serialize:
 *   undefined` hands the adapter objects: keep a serializer).
 * - Expiry: zcached keeps keys until they are deleted. Keyv writes
 *   `expires` into each entry and checks it when it reads: an expired entry
 *   is removed when Keyv reads it (`get`, `getMany`, the iterator), not
 *   before. `has()` answers false for an expired entry without removing it.
 * - `clear()` removes the keys of the adapter's namespace only (those that
 *   start with `namespace:`, so namespace `users` also removes those of a
 *   namespace `users:admin`), found with KEYS, which lists every key of the
 *   server; without a namespace, the keys that hold no `:`.
 * - One adapter per Keyv: Keyv keeps a single namespace on its store, so
 *   when Keyv instances with different namespaces share an adapter, it
 *   emits a {@link KeyvSharedStoreError} and refuses `clear()` with it
 *   (nothing deleted). Adapters may share one `ZCached` client.
 * - The client: a `ZCached` you give it stays yours (`disconnect()` leaves
 *   it open: close it yourself); from a URL or options the adapter makes a
 *   client of its own, connects it on first use, and `disconnect()` closes
 *   it. Every command waits for the client's `run()` (which is safe to call
 *   many times), so a client you give it need not be running yet.
 * - Keys and values go through the client's dialect: on `'etx'` a key
 *   holding a line feed or 0x03, or an empty key without a namespace, is a
 *   `DialectError` (Keyv's `set` then emits `error` and resolves false; its
 *   `get` resolves undefined). Keyv's default serializer escapes line feeds
 *   and 0x03 in values, so values are safe.
 * - Iterating: the adapter has `iterator(namespace)`, but Keyv 5.6 only
 *   offers `keyv.iterator()` for the adapters it knows by name; to iterate
 *   through Keyv, set `keyv.iterator = keyv.generateIterator(store.iterator.bind(store))`.
 *
 * It is an `EventEmitter` (Keyv listens to its `error` event); errors reach
 * Keyv as rejections of its calls, except those of `has()` / `hasMany()`,
 * which Keyv calls without catching: the adapter emits them as `error` and
 * answers false, as Keyv does for stores without `has()` (with no `error`
 * listener at all, Node's `EventEmitter` throws, so they reject).
 */
export class KeyvZCached extends EventEmitter implements KeyvStoreAdapter {
  /** The client every command goes through. */
  readonly client: AnyZCached;
  /** See {@link KeyvZCachedOpts}. */
  readonly opts: KeyvZCachedOpts;
  readonly #binding = new NamespaceBinding();
  readonly #owned: boolean;
  readonly #batchSize: number;
  readonly #commandOptions: CommandOptions | undefined;

  /**
   * @param target - a `ZCached` client (left open by {@link disconnect}), or
   *   a URL (`'zcached://host:7556'`) or `ZCached` options, from which the
   *   adapter makes a client of its own
   * @param options - see {@link KeyvZCachedOptions}
   * @throws TypeError for an unknown option (with the one meant, `batchsize` → `batchSize`), `namespace`
   *   (Keyv's option), or an invalid URL or client option; RangeError for an invalid `batchSize`
   */
  constructor(target: KeyvZCachedTarget = {}, options: KeyvZCachedOptions = {}) {
    super();
    if (Object.hasOwn(options, 'namespace')) {
      throw new TypeError("KeyvZCached: namespace is Keyv's option, not the adapter's: new Keyv({ store, namespace: 'users' }) sets it on the adapter and prefixes the keys");
    }
    assertKnownOptions(options, OPTION_NAMES, 'KeyvZCached');
    const { batchSize = 256, commandOptions } = options;
    if (typeof commandOptions === 'object' && commandOptions !== null) assertKnownOptions(commandOptions, COMMAND_OPTION_NAMES, 'KeyvZCached', 'commandOptions.');
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${String(batchSize)}`);
    this.#batchSize = batchSize;
    this.#commandOptions = commandOptions;
    if (isClient(target)) {
      this.client = target;
      this.#owned = false;
      this.opts = { dialect: 'zcached', url: 'zcached://' };
    } else {
      this.client = typeof target === 'string' || target instanceof URL ? new ZCached(target) : new ZCached(target);
      this.#owned = true;
      this.opts = { dialect: 'zcached', url: describeTarget(target) };
    }
    // Keyv subscribes to `error`, then assigns the namespace: see NamespaceBinding.
    this.on('newListener', (event: string | symbol) => {
      if (event === 'error') this.#binding.subscribed();
    });
  }

  /** The namespace Keyv sets (its `namespace` option, default `'keyv'`); `clear()` and `iterator()` keep to it. */
  get namespace(): string | undefined {
    return this.#binding.namespace;
  }

  set namespace(namespace: string | undefined) {
    const shared = this.#binding.assign(namespace);
    if (shared !== undefined) this.emit('error', shared);
  }

  /** The stored entry, or undefined when the key does not exist. */
  async get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    const stored = await this.#send(['GET', key]).catch(undefinedWhenNotFound);
    return stored as StoredData<Value> | undefined;
  }

  /** The stored entries of many keys (MGET), undefined where a key does not exist. */
  async getMany<Value>(keys: string[]): Promise<Array<StoredData<Value | undefined>>> {
    if (keys.length === 0) return [];
    const found = replies.mget(await this.#send(['MGET', ...keys]));
    return keys.map((key) => (found.get(key) ?? undefined) as StoredData<Value | undefined>);
  }

  /**
   * Stores an entry; `ttl` is not used (Keyv keeps the expiry in the entry).
   * @throws TypeError (rejection) for a value that is not a string
   */
  async set(key: string, value: unknown, _ttl?: number): Promise<boolean> {
    assertSerialized(value, key);
    await this.#send(['SET', key, value]);
    return true;
  }

  /**
   * Stores many entries in one MSET (`ttl` not used). Resolves with nothing,
   * as Keyv's adapter type says (so `keyv.setMany()` resolves undefined).
   */
  async setMany(entries: Array<{ key: string; value: unknown; ttl?: number }>): Promise<void> {
    if (entries.length === 0) return;
    const command: [string, ...string[]] = ['MSET'];
    for (const { key, value } of entries) {
      assertSerialized(value, key);
      command.push(key, value);
    }
    await this.#send(command);
  }

  /** Deletes a key; resolves with whether it existed. */
  async delete(key: string): Promise<boolean> {
    return this.#send(['DELETE', key]).then(
      () => true,
      (error: unknown) => {
        if (isNotFound(error)) return false;
        throw error;
      },
    );
  }

  /** Deletes many keys; resolves with whether at least one existed. */
  async deleteMany(keys: string[]): Promise<boolean> {
    const deleted = await Promise.all(keys.map((key) => this.delete(key)));
    return deleted.includes(true);
  }

  /**
   * Whether the key holds an entry that has not expired (an expired one is
   * left in place). A failure (client closed, server unreachable, a key the
   * dialect refuses) is emitted as `error` and answers false: Keyv calls
   * `has()` without catching, and answers so for stores without one.
   */
  async has(key: string): Promise<boolean> {
    try {
      const stored = await this.#send(['GET', key]).catch(undefinedWhenNotFound);
      return await this.#live(stored);
    } catch (error) {
      this.emit('error', error); // with no listener, Node throws it: the call rejects
      return false;
    }
  }

  /** {@link has} for many keys, in one MGET; a failure is emitted as `error` and answers false for every key. */
  async hasMany(keys: string[]): Promise<boolean[]> {
    try {
      const stored = await this.getMany<unknown>(keys);
      return await Promise.all(stored.map((entry) => this.#live(entry as Reply | undefined)));
    } catch (error) {
      this.emit('error', error);
      return keys.map(() => false);
    }
  }

  /**
   * Removes the keys of the adapter's namespace (`namespace:` prefix), or,
   * without a namespace, the keys that hold no `:`. Other keys stay.
   * @throws KeyvSharedStoreError (rejection, nothing sent) when Keyv instances with different namespaces share the adapter
   */
  async clear(): Promise<void> {
    const shared = this.#binding.error();
    if (shared !== undefined) throw shared;
    const keys = await this.#keysOf(this.namespace);
    for (let start = 0; start < keys.length; start += this.#batchSize) {
      await Promise.all(keys.slice(start, start + this.#batchSize).map((key) => this.delete(key)));
    }
  }

  /**
   * Every `[key, entry]` of a namespace (keys as stored, with their prefix),
   * read with KEYS, then MGET in batches of `batchSize`; keys deleted
   * meanwhile are skipped. Keyv's iterator removes the prefix and the
   * expired entries.
   */
  async *iterator<Value>(namespace?: string): AsyncGenerator<Array<string | Awaited<Value> | undefined>, void> {
    const keys = await this.#keysOf(namespace ?? this.namespace);
    for (let start = 0; start < keys.length; start += this.#batchSize) {
      const batch = keys.slice(start, start + this.#batchSize);
      const stored = await this.getMany<Value>(batch);
      for (const [index, key] of batch.entries()) {
        const entry = stored[index];
        if (entry !== undefined) yield [key, entry as Awaited<Value>];
      }
    }
  }

  /** Closes the client when the adapter made it (from a URL or options); a client you gave it stays open. */
  async disconnect(): Promise<void> {
    if (this.#owned) await this.client.close();
  }

  /** The keys of a namespace (`ns:` prefix), or without one the keys with no `:`. */
  async #keysOf(namespace: string | undefined): Promise<string[]> {
    const all = replies.keys(await this.#send(['KEYS']));
    if (namespace === undefined || namespace === '') return all.filter((key) => !key.includes(':'));
    const prefix = `${namespace}:`;
    return all.filter((key) => key.startsWith(prefix));
  }

  /** Sends a command once the client runs. */
  async #send(command: Command): Promise<Reply> {
    await this.client.run();
    return this.client.sendCommand(command, this.#commandOptions);
  }

  /** Whether a stored entry exists and has not expired (by its `expires` field, when it can be read). */
  async #live(stored: Reply | undefined): Promise<boolean> {
    if (stored === undefined || stored === null) return false;
    if (typeof stored !== 'string') return true;
    let data: unknown;
    try {
      data = await (this.opts.deserialize ?? JSON.parse)(stored);
    } catch {
      return true; // not ours to read: it exists
    }
    const expires = typeof data === 'object' && data !== null ? (data as { expires?: unknown }).expires : undefined;
    return typeof expires !== 'number' || expires > Date.now();
  }
}

function isClient(target: unknown): target is AnyZCached {
  return target instanceof ZCached || (typeof target === 'object' && target !== null && typeof (target as AnyZCached).sendCommand === 'function' && typeof (target as AnyZCached).run === 'function');
}

function describeTarget(target: Exclude<KeyvZCachedTarget, AnyZCached>): string {
  if (typeof target === 'string') return target;
  if (target instanceof URL) return target.href;
  return `zcached://${target.host ?? '127.0.0.1'}:${target.port ?? 7556}`;
}

function assertSerialized(value: unknown, key: string): asserts value is string {
  if (typeof value !== 'string') {
    throw new TypeError(
      `KeyvZCached stores the strings Keyv's serializer makes; got ${value === null ? 'null' : typeof value} for ${JSON.stringify(key)} (keep Keyv's serialize option)`,
    );
  }
}
