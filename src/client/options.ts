/**
 * The options of {@link ZCached}: their shape, and how the constructor's
 * arguments (a connection URL, an options object, or both) become the
 * pool size and the options of every connection. Pure; throws on anything
 * invalid, naming it.
 *
 * @module
 */

import type { ConnectionOptions } from '../connection/connection.js';
import type { RequestOptions } from '../connection/requests.js';
import { assertKnownConnectionOptions, CONNECTION_OPTION_NAMES, resolveConnectionOptions } from '../connection/options.js';
import type { CodecOption } from './codec.js';
import { checkPoolOptions } from '../pool/checks.js';
import { checkKeyPrefix } from './key-prefix.js';
import { parseConnectionUrl, type QueryValueType, type UrlGrammar } from './url.js';

/** The zcached server's default port. */
export const DEFAULT_PORT = 7556;
/** The host a client connects to when none is given. */
export const DEFAULT_HOST = '127.0.0.1';

/** Per-call options: an `AbortSignal` and a time limit overriding `timeoutLimit`. */
export type CommandOptions = RequestOptions;

/**
 * Options of {@link ZCached}: the connection options (each connection of
 * the pool gets them), with defaults for a local server, plus the client's
 * own. An unknown key is a `TypeError` naming it and the option most likely
 * meant.
 */
export interface ZCachedOptions<C extends CodecOption | undefined = undefined> extends Omit<ConnectionOptions, 'host' | 'port'> {
  /** Server host. Default `'127.0.0.1'`. */
  readonly host?: string;
  /** Server port, 1 to 65535. Default 7556. */
  readonly port?: number;
  /** Connections in the pool, a positive integer. Default 1. */
  readonly poolSize?: number;
  /**
   * How many connections of the pool requests over one write (`'etx'`: over
   * 1400 bytes) may hold at once: each holds its connection alone for a
   * round trip, and the others stay free for small requests. A positive
   * integer; default a quarter of `poolSize`, at least 1. See
   * `ConnectionPoolOptions.largeRequestConnections`.
   */
  readonly largeRequestConnections?: number;
  /**
   * How values of `get`, `set`, `mget` and `mset` are stored: `'json'` (JSON
   * text; any JSON value round-trips on every server generation) or a
   * `ValueCodec` of your own. Default: none, values map onto the protocol's
   * types as they are. See src/client/codec.ts. The type parameter is the
   * codec's type, so that `new ZCached({ codec: 'json' })` is a
   * `ZCached<'json'>` while an object typed plain `ZCachedOptions` (no
   * codec) still makes a plain `ZCached`.
   */
  readonly codec?: C;
  /**
   * A prefix on every key this client sends (as ioredis' `keyPrefix`):
   * every key argument of every command carries it on the wire (values never
   * do), and the keys the client answers with (`keys()`, the `Map` of
   * `mget`) come without it; `keys()` answers only the keys under it. A
   * string the dialect can carry in a key (on `'etx'`: no line feed, no
   * 0x03); default `''`, none. `flush()` and `dbsize()` stay server-wide
   * (they take no key), and the empty key is the prefix itself (allowed
   * then even where the dialect refuses an empty string: the server sees a
   * non-empty key). See src/client/key-prefix.ts.
   */
  readonly keyPrefix?: string;
}

/** The client's own options: what is not a connection option (the compiler keeps this list in step with the interface). */
const CLIENT_ONLY = { poolSize: true, largeRequestConnections: true, codec: true, keyPrefix: true } satisfies Record<Exclude<keyof ZCachedOptions, keyof ConnectionOptions>, true>;

/** Every key a {@link ZCachedOptions} object may hold. */
export const ZCACHED_OPTION_NAMES: readonly string[] = Object.freeze([...CONNECTION_OPTION_NAMES, ...Object.keys(CLIENT_ONLY)]);

/** What can be set from a URL's query (the other options need the options object). */
const URL_QUERY = {
  poolSize: 'integer',
  largeRequestConnections: 'integer',
  connectionAttempts: 'integer',
  reconnect: 'boolean',
  timeoutLimit: 'integer',
  connectTimeout: 'integer',
  dialect: 'dialect',
  keepAliveDelay: 'integer',
  maxPending: 'integer',
  pingInterval: 'integer',
  closeTimeout: 'integer',
  stableAfter: 'integer',
  bulkAsBuffer: 'boolean',
  keyPrefix: 'string',
} as const satisfies Partial<Record<keyof ZCachedOptions, QueryValueType>>;

const OPTIONS_OBJECT = 'pass it in the options object: new ZCached(url, { ... })';

/** Options that exist but cannot be given in a URL, and what to do instead. */
export const URL_OBJECT_ONLY: Readonly<Record<string, string>> = {
  host: "give the host after '//': zcached://host:port",
  port: "give the port after the host: zcached://host:port",
  tls: `use the zcacheds:// scheme for TLS with Node's defaults; for TLS options (certificates, servername, ...) ${OPTIONS_OBJECT}`,
  backoff: OPTIONS_OBJECT,
  decoderLimits: OPTIONS_OBJECT,
  random: OPTIONS_OBJECT,
  openTransport: OPTIONS_OBJECT,
  codec: OPTIONS_OBJECT,
};

/** The grammar of `new ZCached(url)`: see the url module. `timeout` is short for `timeoutLimit`. */
export const ZCACHED_URL_GRAMMAR: UrlGrammar = {
  owner: 'ZCached',
  query: URL_QUERY,
  aliases: { timeout: 'timeoutLimit' },
  objectOnly: URL_OBJECT_ONLY,
};

/** The constructor's arguments, checked and merged. */
export interface ResolvedZCachedOptions {
  /** The options as given: the URL's, overridden key by key by the options object's. */
  readonly options: ZCachedOptions<CodecOption | undefined>;
  /** Connections in the pool. */
  readonly poolSize: number;
  /** The pool's `largeRequestConnections`, when given. */
  readonly largeRequestConnections: number | undefined;
  /** What every connection of the pool gets (host and port filled in). */
  readonly connection: ConnectionOptions;
  /** The `keyPrefix` option, checked; undefined: none. */
  readonly keyPrefix: string | undefined;
}

/**
 * Reads the constructor's arguments: `()`, `(options)`, `(url)` or
 * `(url, options)`. The URL gives host, port, TLS (`zcacheds://`) and
 * options in its query; a key given in both the URL and the options object
 * takes the object's value (a key set to `undefined` in the object keeps
 * the URL's).
 * @throws TypeError for a bad URL, an unknown option (naming the closest
 *   valid one) or an option of the wrong type; RangeError for a value out
 *   of range (`poolSize: 0`, `port: 0`); DialectError for a `keyPrefix`
 *   the dialect cannot carry in a key
 */
export function resolveZCachedOptions(
  target: string | URL | ZCachedOptions<CodecOption | undefined> | undefined,
  extra: ZCachedOptions<CodecOption | undefined> | undefined,
): ResolvedZCachedOptions {
  let fromUrl: Record<string, unknown> = {};
  let given: ZCachedOptions<CodecOption | undefined> | undefined;
  if (typeof target === 'string' || target instanceof URL) {
    fromUrl = parseConnectionUrl(target, ZCACHED_URL_GRAMMAR);
    given = extra;
  } else if (target === undefined || (typeof target === 'object' && target !== null)) {
    if (target !== undefined && extra !== undefined) {
      throw new TypeError('ZCached: give the options once: new ZCached(options) or new ZCached(url, options)');
    }
    given = target ?? extra;
  } else {
    throw new TypeError(`ZCached: expected a 'zcached://host:port' URL or an options object, got ${target === null ? 'null' : typeof target}`);
  }
  if (given !== undefined && (typeof given !== 'object' || given === null)) throw new TypeError('ZCached: options must be an object');
  if (given !== undefined) assertKnownConnectionOptions(given, 'ZCached', ZCACHED_OPTION_NAMES);
  const merged: Record<string, unknown> = { ...fromUrl };
  for (const [key, value] of Object.entries(given ?? {})) if (value !== undefined) merged[key] = value;
  const { poolSize = 1, largeRequestConnections, codec: _codec, keyPrefix, host = DEFAULT_HOST, port = DEFAULT_PORT, ...rest } = merged as ZCachedOptions<CodecOption | undefined>;
  assertPoolSize(poolSize);
  checkPoolOptions({ largeRequestConnections });
  const connection: ConnectionOptions = { ...rest, host, port };
  const { dialect } = resolveConnectionOptions(connection);
  return {
    options: merged as ZCachedOptions<CodecOption | undefined>,
    poolSize,
    largeRequestConnections,
    connection,
    keyPrefix: checkKeyPrefix(keyPrefix, dialect),
  };
}

function assertPoolSize(value: unknown): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`poolSize must be a number, got ${typeof value}`);
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`poolSize must be a positive integer, got ${value}`);
}
