/**
 * The value codec of a fleet (`codec` option of `ZCachedFleet`). Values are
 * encoded once, here, before a command is split by server, and decoded once,
 * after the servers' answers are merged. The per-server `ZCached` clients
 * carry no codec: the parts of `mget` / `mset` go through their
 * `sendCommand`, which a codec never touches, and a codec at both levels
 * would encode `set` values twice.
 *
 * The rules are the client's own (src/client/codec.ts): the same refusals,
 * thrown synchronously before anything is sent; the same `CodecError` for a
 * stored value the codec cannot decode; `undefined` from `mget` for a
 * missing key.
 *
 * @module
 */

import { decodeMap, decodeValue, encodeEntries, encodeValue, type ResolvedCodec } from '../client/codec.js';
import type { MsetEntries } from '../client/commands.js';
import type { Reply, Value } from '../protocol/values.js';
import { PartialFailureError } from './errors.js';

/** How a fleet turns values into what is stored and back: the identity without a codec. */
export interface FleetValues {
  /**
   * The value `set` stores under `key`.
   * @throws TypeError with `'json'`, for a value JSON cannot store faithfully; with a codec of your own, what its `encode` throws
   */
  encode(key: string, value: unknown): Value;
  /**
   * `mset` entries with their values encoded, in the caller's order (malformed
   * entries are passed on for `msetCommand` to refuse).
   * @throws as {@link encode}, naming the entry (`MSET entry 2 (key "a")`)
   */
  entries(entries: unknown): MsetEntries;
  /**
   * What a GET of `key` read, decoded (`undefined`, a missing key, stays so).
   * @throws (rejects) CodecError when the codec cannot decode the stored value
   */
  get(key: string, read: Promise<Reply | undefined>): Promise<unknown>;
  /**
   * A merged MGET map, decoded: a missing key (`null`) becomes `undefined`.
   * A `PartialFailureError` is rethrown with its `values` decoded the same way.
   * @throws (rejects) CodecError when the codec cannot decode a stored value, even within a partial failure
   */
  mget(read: Promise<Map<string, Reply>>): Promise<Map<string, unknown>>;
}

/** Values as they are: no codec. */
const RAW: FleetValues = {
  encode: (_key, value) => value as Value,
  entries: (entries) => entries as MsetEntries,
  get: (_key, read) => read,
  mget: (read) => read,
};

/** The {@link FleetValues} of a fleet whose (resolved) codec is `codec`. */
export function fleetValues(codec: ResolvedCodec | undefined): FleetValues {
  if (codec === undefined) return RAW;
  return {
    encode: (key, value) => encodeValue(codec, value, `SET ${JSON.stringify(key)}`),
    entries: (entries) => encodeEntries(codec, entries),
    get: (key, read) => read.then((stored) => decodeValue(codec, key, stored)),
    mget: (read) =>
      read.then(
        (map) => decodeMap(codec, map),
        (error: unknown) => {
          if (!(error instanceof PartialFailureError)) throw error;
          // `values` is typed as replies; with a codec it holds the decoded values (docs/fleet.md).
          const values = decodeMap(codec, new Map(error.values)) as ReadonlyMap<string, Reply>;
          throw new PartialFailureError(error.command, error.failures, error.failedKeys, values);
        },
      ),
  };
}
