/**
 * The data store of the embedded test server: a key → value map plus the
 * time of the last SAVE. It is its own object so that a server restarted on
 * the same port can share the store of the one it replaces
 * (`startServer({ port, store: previous.store })`).
 *
 * Keys are byte strings on the wire. Internally each key is held as a
 * `latin1` string (one character per byte), so any byte sequence round-trips;
 * the public methods take and return ordinary (UTF-8) JavaScript strings.
 *
 * @module
 */

import type { WireValue } from '../protocol/values.js';

/** Seconds since the Unix epoch, as LASTSAVE reports them. */
function unixSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Turns a JavaScript (UTF-8) key into the store's internal byte-string form. */
function toBinaryKey(key: string): string {
  return Buffer.from(key, 'utf8').toString('latin1');
}

/** Turns an internal byte-string key back into a JavaScript (UTF-8) string. */
function fromBinaryKey(key: string): string {
  return Buffer.from(key, 'latin1').toString('utf8');
}

/**
 * The in-memory database of a test server.
 *
 * Values are kept in their normalised wire form (simple strings stored as bulk
 * strings, map keys as bulk strings), exactly as the server sends them back.
 */
export class ZCachedStore {
  readonly #entries = new Map<string, WireValue>();
  #lastSave: number;
  #savedSnapshot: ReadonlyMap<string, WireValue> | undefined;

  /**
   * @param lastSave - the initial LASTSAVE value in Unix seconds; defaults to
   *   now (a real server reports its start time until the first SAVE).
   */
  constructor(lastSave: number = unixSeconds()) {
    this.#lastSave = lastSave;
  }

  /** Number of keys (what DBSIZE reports). */
  get size(): number {
    return this.#entries.size;
  }

  /** Unix seconds of the last successful SAVE, or of the store's creation before any. */
  get lastSave(): number {
    return this.#lastSave;
  }

  /**
   * A copy of the data as of the last successful SAVE (the server keeps it in
   * memory instead of writing a file), or `undefined` before any SAVE.
   */
  get savedSnapshot(): ReadonlyMap<string, WireValue> | undefined {
    return this.#savedSnapshot;
  }

  /** The keys, as JavaScript strings, in insertion order. */
  keys(): string[] {
    return [...this.#entries.keys()].map(fromBinaryKey);
  }

  /** The stored value of `key`, or `undefined` when it is missing. */
  get(key: string): WireValue | undefined {
    return this.#entries.get(toBinaryKey(key));
  }

  /** True when `key` is stored. */
  has(key: string): boolean {
    return this.#entries.has(toBinaryKey(key));
  }

  /**
   * Stores `value` under `key` as is (no normalisation: pass the form the
   * server should send back, e.g. bulk strings rather than simple ones).
   */
  set(key: string, value: WireValue): void {
    this.#entries.set(toBinaryKey(key), value);
  }

  /** Removes `key`. @returns whether it was there */
  delete(key: string): boolean {
    return this.#entries.delete(toBinaryKey(key));
  }

  /** Removes every key (what FLUSH does). LASTSAVE is unchanged. */
  clear(): void {
    this.#entries.clear();
  }

  /**
   * Records a SAVE: keeps a snapshot in memory and sets LASTSAVE to now.
   * @returns false (and changes nothing) when the store is empty, as the
   *   real server refuses to save an empty database
   */
  save(): boolean {
    if (this.#entries.size === 0) return false;
    this.#savedSnapshot = new Map(this.#entries);
    this.#lastSave = unixSeconds();
    return true;
  }

  /** @internal The value under a key given as raw bytes. */
  getRaw(key: Buffer): WireValue | undefined {
    return this.#entries.get(key.toString('latin1'));
  }

  /** @internal Stores a value under a key given as raw bytes. */
  setRaw(key: Buffer, value: WireValue): void {
    this.#entries.set(key.toString('latin1'), value);
  }

  /** @internal Whether a key given as raw bytes is stored. */
  hasRaw(key: Buffer): boolean {
    return this.#entries.has(key.toString('latin1'));
  }

  /** @internal Removes a key given as raw bytes. */
  deleteRaw(key: Buffer): boolean {
    return this.#entries.delete(key.toString('latin1'));
  }

  /** @internal The keys as raw bytes, in insertion order. */
  rawKeys(): Buffer[] {
    return [...this.#entries.keys()].map((key) => Buffer.from(key, 'latin1'));
  }
}
