/**
 * Value codecs: how `ZCached` turns the values you store into what goes on
 * the wire, and back. Without a codec (the default) values map onto the
 * protocol's types as they are ({@link Value} in, {@link Reply} out). With
 * `codec: 'json'` every value is stored as its JSON text; with a
 * {@link ValueCodec} of your own, as whatever its `encode` returns.
 *
 * A codec applies to the values of `get`, `set`, `mget` and `mset`, never to
 * keys, and not to `sendCommand`.
 *
 * @module
 */

import { CodecError } from '../errors.js';
import type { Reply, Value } from '../protocol/values.js';
import type { MsetEntries } from './commands.js';

/**
 * A pair of functions between your values and what the server stores.
 *
 * - `encode` runs synchronously inside `set` / `mset`: what it throws is
 *   thrown by the call, and nothing is sent. What it returns must be a
 *   {@link Value} the dialect can carry (on `'etx'`: no line feed, no 0x03,
 *   no empty string), or the call throws a `DialectError`.
 * - `decode` runs on each stored value that `get` / `mget` read (never on a
 *   missing key); what it throws becomes a {@link CodecError} rejection
 *   naming the key, with the thrown value as `cause`.
 *
 * Do not encode to `null`: `mget` reports missing keys as `null` on the
 * wire, so a stored `null` reads back as missing there.
 *
 * @typeParam T - the values you store and read back
 */
export interface ValueCodec<T = unknown> {
  /** A name for error messages (`CodecError.codec`). Default `'custom'`. */
  readonly name?: string;
  /** Your value → what is stored. */
  encode(value: T): Value;
  /** What is stored → your value. */
  decode(stored: Reply): T;
}

/** The `codec` option: `'json'`, or a {@link ValueCodec} of your own. */
export type CodecOption = 'json' | ValueCodec<any>;

/**
 * What `get` resolves with (besides `undefined`) for a client whose codec is `C`:
 * {@link Reply} without a codec, `unknown` with `'json'` (name the type with
 * `get<T>()`), `T` with a `ValueCodec<T>`.
 */
export type DecodedValue<C> = [C] extends [undefined] ? Reply : C extends ValueCodec<infer T> ? T : C extends 'json' ? unknown : Reply;

/**
 * What `set` accepts for a client whose codec is `C`: {@link Value} without
 * a codec, anything with `'json'` (checked when called), `T` with a `ValueCodec<T>`.
 */
export type EncodableValue<C> = [C] extends [undefined] ? Value : C extends ValueCodec<infer T> ? T : C extends 'json' ? unknown : Value;

/** Entries for `mset` with a codec: a `Map`, a plain object or `[key, value]` pairs of the codec's values. */
export type CodecEntries<V> = ReadonlyMap<string, V> | Readonly<Record<string, V>> | Iterable<readonly [string, V]>;

/** What `mset` accepts for a client whose codec is `C`. */
export type EntriesFor<C> = [C] extends [undefined] ? MsetEntries : CodecEntries<EncodableValue<C>>;

/** What `mget` maps each key to: the raw reply (`null` when missing) without a codec, `T | undefined` with one. */
export type MgetValue<C, T> = [C] extends [undefined] ? T : T | undefined;

/** A codec checked and ready: `name` for messages. */
export interface ResolvedCodec {
  readonly name: string;
  encode(value: unknown): Value;
  decode(stored: Reply): unknown;
}

/**
 * Checks the `codec` option.
 * @throws TypeError when it is neither `'json'` nor an object with `encode` and `decode` functions
 */
export function resolveCodec(codec: unknown): ResolvedCodec | undefined {
  if (codec === undefined) return undefined;
  if (codec === 'json') return JSON_CODEC;
  if (typeof codec === 'object' && codec !== null) {
    const { encode, decode, name } = codec as Partial<ValueCodec>;
    if (typeof encode === 'function' && typeof decode === 'function') {
      if (name !== undefined && typeof name !== 'string') throw new TypeError('codec.name must be a string when given');
      return { name: name ?? 'custom', encode: encode.bind(codec), decode: decode.bind(codec) };
    }
  }
  throw new TypeError(
    `codec must be 'json' or an object with encode(value) and decode(stored) functions, got ${typeof codec === 'string' ? JSON.stringify(codec) : codec === null ? 'null' : typeof codec}`,
  );
}

/** Encodes the value of one `set` / `mset` entry; `where` names the call for messages (`SET "user:1"`). */
export function encodeValue(codec: ResolvedCodec, value: unknown, where: string): Value {
  return codec === JSON_CODEC ? toJson(value, where) : codec.encode(value);
}

/**
 * Decodes what GET read for `key` (`undefined`, a missing key, stays
 * `undefined`).
 * @throws CodecError when the codec's `decode` throws (or, for `'json'`, the stored value is not JSON text)
 */
export function decodeValue(codec: ResolvedCodec, key: string, stored: Reply | undefined): unknown {
  if (stored === undefined) return undefined;
  try {
    return codec.decode(stored);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new CodecError(`the value stored under ${JSON.stringify(key)} could not be decoded by the '${codec.name}' codec: ${why}`, {
      cause: error,
      codec: codec.name,
      key,
    });
  }
}

/** Decodes an MGET map: a missing key (`null`) becomes `undefined`. */
export function decodeMap(codec: ResolvedCodec, replies: Map<string, Reply>): Map<string, unknown> {
  const decoded = new Map<string, unknown>();
  for (const [key, stored] of replies) decoded.set(key, stored === null ? undefined : decodeValue(codec, key, stored));
  return decoded;
}

/**
 * Encodes the values of MSET entries, keeping their order (so that the
 * `DialectError` paths `mset entry 3 value` still count the caller's
 * entries). Anything malformed is passed on as it is, for `msetCommand` to
 * refuse with its own message.
 */
export function encodeEntries(codec: ResolvedCodec, entries: unknown): MsetEntries {
  if (typeof entries !== 'object' || entries === null) return entries as MsetEntries;
  const pairs: Iterable<unknown> = entries instanceof Map || Symbol.iterator in entries ? (entries as Iterable<unknown>) : Object.entries(entries);
  const encoded: unknown[] = [];
  let index = 0;
  for (const pair of pairs) {
    index++;
    if (Array.isArray(pair) && pair.length === 2 && typeof pair[0] === 'string') {
      encoded.push([pair[0], encodeValue(codec, pair[1], `MSET entry ${index} (key ${JSON.stringify(pair[0])})`)]);
    } else {
      encoded.push(pair);
    }
  }
  return encoded as MsetEntries;
}

/** The built-in `'json'` codec: JSON text out, `JSON.parse` back. */
const JSON_CODEC: ResolvedCodec = {
  name: 'json',
  encode: (value) => toJson(value, 'value'),
  decode: (stored) => {
    const text = typeof stored === 'string' ? stored : Buffer.isBuffer(stored) ? stored.toString('utf8') : undefined;
    if (text === undefined) {
      throw new TypeError(`it holds ${describe(stored)}, not JSON text (was it written without the 'json' codec?)`);
    }
    // A SyntaxError here becomes the CodecError's cause (decodeValue).
    return JSON.parse(text) as unknown;
  },
};

/** Errors made by {@link toJson} itself (the others are JSON.stringify's own, such as a cycle). */
const refusals = new WeakSet<Error>();

function refuse(where: string, path: string, what: string): never {
  const error = new TypeError(`${where}: ${path} is ${what}; nothing was sent`);
  refusals.add(error);
  throw error;
}

/**
 * The JSON text of a value, refusing what JSON would drop or change
 * silently: `undefined` (as the value or an array element), functions,
 * symbols, `bigint`s, `NaN`, infinities and `-0`, `Map`s, `Set`s, binary
 * data, cycles. `undefined` object properties are left out, as JSON does. A
 * `toJSON()` method (a `Date`) is honoured.
 */
function toJson(value: unknown, where: string): string {
  const paths = new WeakMap<object, string>();
  let root: object | undefined;
  try {
    const text = JSON.stringify(value, function replacer(this: unknown, key: string, item: unknown): unknown {
      root ??= this as object;
      const holder = this as Record<string, unknown>;
      const path = holder === root ? 'the value' : childPath(paths.get(holder) ?? 'the value', holder, key);
      const original = holder[key];
      if (item === undefined) {
        if (holder === root) refuse(where, path, 'undefined, which JSON cannot store');
        if (Array.isArray(holder)) refuse(where, path, 'undefined, which JSON would store as null');
        return item; // an undefined property is left out, as JSON does
      }
      if (typeof item === 'function' || typeof item === 'symbol') refuse(where, path, `a ${typeof item}, which JSON cannot store`);
      if (typeof item === 'bigint') refuse(where, path, 'a bigint, which JSON cannot store (store it as a string)');
      if (typeof item === 'number' && !Number.isFinite(item)) refuse(where, path, `${item}, which JSON would store as null`);
      if (Object.is(item, -0)) refuse(where, path, '-0, which JSON would store as 0');
      if (original instanceof Map || original instanceof Set) {
        refuse(where, path, `a ${original instanceof Map ? 'Map' : 'Set'}, which JSON would store as {} (convert it to an array or object)`);
      }
      if (ArrayBuffer.isView(original) || original instanceof ArrayBuffer) {
        refuse(where, path, 'binary data, which JSON would not give back as bytes (store it as base64 text)');
      }
      if (typeof item === 'object' && item !== null) paths.set(item, path);
      return item;
    });
    return text;
  } catch (error) {
    if (error instanceof Error && refusals.has(error)) throw error;
    const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new TypeError(`${where}: the value cannot be stored as JSON (${why}); nothing was sent`, { cause: error });
  }
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function childPath(parent: string, holder: object, key: string): string {
  const base = parent === 'the value' ? 'value' : parent;
  if (Array.isArray(holder)) return `${base}[${key}]`;
  return IDENTIFIER.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

function describe(stored: Reply): string {
  if (stored === null) return 'null';
  if (Array.isArray(stored)) return 'an array';
  if (stored instanceof Map) return 'a map';
  if (stored instanceof Set) return 'a set';
  return `a ${typeof stored}`;
}
