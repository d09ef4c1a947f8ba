/**
 * The value model of the zcached wire protocol, and the JavaScript values
 * that map onto it.
 *
 * Two views of the same data:
 * - {@link WireValue}: a tagged tree that keeps every wire type apart (simple
 *   vs bulk string, integer vs float). The embedded server and tools that need
 *   the exact wire form use it.
 * - {@link Value} / {@link Reply}: plain JavaScript values. The client sends
 *   `Value`s and gets `Reply`s back.
 *
 * @module
 */

import type { ServerError } from '../errors.js';

/**
 * Forces a number onto the wire as a float (`,`), even when it is an integer.
 * Create it with {@link float}.
 */
export class Float {
  /** @param value - the number to send as a float */
  constructor(readonly value: number) {}
}

/** Wraps a number so that it is sent as a float (`,1` rather than `:1`). */
export const float = (value: number): Float => new Float(value);

/**
 * A JavaScript value the client can send as a command argument or a stored value.
 *
 * Mapping: string → bulk (`$`, UTF-8 byte length); `Uint8Array`/`Buffer` →
 * bulk, binary-safe; safe-integer number → `:`; any other number → `,`;
 * `bigint` → `:` (signed 64-bit range); {@link Float} → `,`; boolean → `#`;
 * `null` → `_`; arrays → `*`; `Map` and plain objects → `%` with string keys;
 * `Set` → `~`.
 */
export type Value =
  | string
  | number
  | bigint
  | boolean
  | null
  | Uint8Array
  | Float
  | readonly Value[]
  | ReadonlyMap<string, Value>
  | ReadonlySet<Value>
  | { readonly [key: string]: Value };

/**
 * A decoded reply as JavaScript: strings (or `Buffer` for bulk strings when
 * asked), numbers (`bigint` past the safe-integer range), booleans, `null`,
 * arrays, `Map`s (never plain objects, so any key round-trips) and `Set`s.
 * Error replies decode to a {@link ServerError} value, which the connection
 * turns into a rejection.
 */
export type Reply =
  | string
  | number
  | bigint
  | boolean
  | null
  | Buffer
  | Reply[]
  | Map<string, Reply>
  | Set<Reply>;

/** What the decoder yields in JavaScript mode: a reply, or an error reply as a {@link ServerError}. */
export type DecodedReply = Reply | ServerError;

/** The exact wire form of a value: one variant per protocol type. */
export type WireValue =
  | { readonly type: 'simple'; readonly value: string }
  | { readonly type: 'bulk'; readonly value: Buffer }
  | { readonly type: 'integer'; readonly value: bigint }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'boolean'; readonly value: boolean }
  | { readonly type: 'null' }
  | { readonly type: 'array'; readonly value: readonly WireValue[] }
  | { readonly type: 'map'; readonly value: readonly (readonly [WireValue, WireValue])[] }
  | { readonly type: 'set'; readonly value: readonly WireValue[] }
  | { readonly type: 'error'; readonly value: string };

/** The name of a wire type, as used in {@link WireValue}'s `type` tag. */
export type WireType = WireValue['type'];
