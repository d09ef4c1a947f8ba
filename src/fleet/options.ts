/**
 * The fleet's options and how server specs are read: `'zcached://host:port'`
 * strings or `{ host, port, weight, ... }` objects. Pure; throws on
 * anything invalid, naming the option.
 *
 * @module
 */

import { resolveCodec, type CodecOption, type ResolvedCodec } from '../client/codec.js';
import { URL_OBJECT_ONLY, ZCACHED_URL_GRAMMAR } from '../client/options.js';
import { parseConnectionUrl, type UrlGrammar } from '../client/url.js';
import { Connection, type ConnectionOptions } from '../connection/connection.js';
import { assertKnownConnectionOptions, CONNECTION_OPTION_NAMES } from '../connection/options.js';
import { resolveDialect, type Dialect } from '../protocol/dialect.js';
import { assertReplicas, assertWeight } from './placement.js';
import { DEFAULT_EJECTION, type EjectionConfig } from './state.js';

/** The zcached server's default port. */
export const DEFAULT_PORT = 7556;

/** One server of a fleet, as an object: where it is, its weight, and connection options of its own. */
export interface FleetServerOptions extends Omit<ConnectionOptions, 'host' | 'port'> {
  /** Host name or address. */
  readonly host: string;
  /** TCP port. Default 7556. */
  readonly port?: number;
  /** Placement weight, a finite number > 0. Default 1. */
  readonly weight?: number;
  /**
   * The server's identity in placement, events and errors. Default
   * `host:port`. Give a name (`'cache-a'`) to keep the keys where they are
   * when the server moves to another address.
   */
  readonly id?: string;
  /** Connections to this server. Default: the fleet's `poolSize`. */
  readonly poolSize?: number;
}

/**
 * A server spec: a URL as `new ZCached(url)` reads it (`'zcached://host:port'`,
 * `zcacheds://` for TLS, `[::1]` for IPv6, connection options in the query;
 * see src/client/url.ts) with `weight` and `id` in the query too
 * (`?weight=2&id=cache-a`), `'host:port'`, `'host'`, or a
 * {@link FleetServerOptions} object. An unknown key, in the query or the
 * object, is a `TypeError` naming the closest valid one.
 */
export type FleetServerSpec = string | FleetServerOptions;

/**
 * What to do with the keys of an ejected server:
 * - `'fail-fast'` (default): reject at once with a `ServerEjectedError`.
 *   Never a stale read.
 * - `'rehash'`: send them to their next server in rendezvous order.
 *   Available, but reads can be stale once the server returns with its old
 *   data (see docs/fleet.md).
 */
export type FailoverPolicy = 'fail-fast' | 'rehash';

/**
 * Options of `ZCachedFleet`: the servers, the connection options every server shares, and the fleet's own.
 * @typeParam C - the type of the `codec` option (it types the fleet: `ZCachedFleet<C>`)
 */
export interface ZCachedFleetOptions<C extends CodecOption | undefined = undefined> extends Omit<ConnectionOptions, 'host' | 'port'> {
  /** The servers (at least one is not required: servers can be added later). */
  readonly servers: readonly FleetServerSpec[];
  /** Connections per server. Default 1. */
  readonly poolSize?: number;
  /** Consecutive failures (connect failures, broken sockets, timeouts; never error replies) that eject a server. Default 3; `Infinity` never ejects. */
  readonly failureLimit?: number;
  /** How long an ejected server stays out before a probe, in ms. Default 30 000. */
  readonly retryTimeout?: number;
  /**
   * Keys of an ejected server: `'fail-fast'` (default) or `'rehash'`. With
   * `replicas` > 1 reads fail over between replicas instead: giving
   * `failover` then is a `RangeError`.
   */
  readonly failover?: FailoverPolicy;
  /**
   * `FLUSH` a server before it returns from an ejection (its data may be
   * stale after `'rehash'`). Default false; always done with `replicas` > 1
   * (`false` is then a `RangeError`).
   */
  readonly flushOnReturn?: boolean;
  /**
   * Copies of each key: an integer from 1 (default: one server per key) to
   * 16. With `k` > 1 a key lives on the k best servers of its rendezvous
   * ranking; writes go to all k, reads to the best live one and on to the
   * next on a failure (and a miss, see `failoverOnMiss`). See docs/fleet.md,
   * "Replicas", for the contract and the cost.
   */
  readonly replicas?: number;
  /**
   * With `replicas` > 1: a read that finds no key on a replica tries the
   * next one (and writes the value back to those that missed: read repair).
   * Default true. False: a miss is final, a read costs one request even for
   * a missing key, and a replica that came back empty misses until written.
   */
  readonly failoverOnMiss?: boolean;
  /** Hash only the `{tag}` of keys that have one. Default true. */
  readonly hashTags?: boolean;
  /** The clock for ejection times, in ms. Default `performance.now`. */
  readonly now?: () => number;
  /**
   * How the values of `get`, `set`, `mget` and `mset` are stored, on every
   * server: `'json'` or a `ValueCodec` of your own, as for `ZCached` (see
   * src/client/codec.ts). Default: none, values as they are. A fleet option
   * only: a server spec that gives one is refused.
   */
  readonly codec?: C;
}

/** A server spec read and checked. */
export interface ResolvedServer {
  readonly id: string;
  readonly weight: number;
  readonly poolSize: number;
  readonly dialect: Dialect;
  /** The options each of its connections gets. */
  readonly connection: ConnectionOptions;
}

/** The fleet's options read and checked. */
export interface ResolvedFleetOptions {
  readonly servers: readonly ResolvedServer[];
  readonly ejection: EjectionConfig;
  readonly failover: FailoverPolicy;
  readonly flushOnReturn: boolean;
  readonly replicas: number;
  readonly failoverOnMiss: boolean;
  readonly hashTags: boolean;
  readonly now: () => number;
  /** The value codec, checked; undefined: values as they are. */
  readonly codec: ResolvedCodec | undefined;
  /** What every server shares, for servers added later. */
  readonly shared: SharedServerOptions;
}

/** The part of the fleet options that servers inherit. */
export interface SharedServerOptions {
  readonly poolSize: number;
  readonly connection: Omit<ConnectionOptions, 'host' | 'port'>;
}

/** The fleet's own options (the compiler keeps this table in step with {@link ZCachedFleetOptions}). */
const FLEET_ONLY_TABLE = {
  servers: true,
  poolSize: true,
  failureLimit: true,
  retryTimeout: true,
  failover: true,
  flushOnReturn: true,
  replicas: true,
  failoverOnMiss: true,
  hashTags: true,
  now: true,
  codec: true,
} satisfies Record<Exclude<keyof ZCachedFleetOptions, keyof ConnectionOptions>, true>;
const FLEET_ONLY = Object.keys(FLEET_ONLY_TABLE) as (keyof typeof FLEET_ONLY_TABLE)[];

/** What a server object holds besides connection options. */
const SERVER_ONLY = { weight: true, id: true, poolSize: true } satisfies Record<Exclude<keyof FleetServerOptions, keyof ConnectionOptions>, true>;

/** Every key of {@link ZCachedFleetOptions}: the connection options but `host` and `port`, and the fleet's own. */
const FLEET_OPTION_NAMES: readonly string[] = [...CONNECTION_OPTION_NAMES.filter((name) => name !== 'host' && name !== 'port'), ...FLEET_ONLY];
/** Every key of {@link FleetServerOptions}. */
const SERVER_OPTION_NAMES: readonly string[] = [...CONNECTION_OPTION_NAMES, ...Object.keys(SERVER_ONLY)];

/**
 * Reads and checks the fleet options.
 * @throws TypeError / RangeError naming the option at fault; RangeError for two servers with the same id.
 */
export function resolveFleetOptions(options: ZCachedFleetOptions<CodecOption | undefined>): ResolvedFleetOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('ZCachedFleet: options must be an object');
  assertKnownConnectionOptions(options, 'ZCachedFleet', FLEET_OPTION_NAMES);
  if (!Array.isArray(options.servers)) throw new TypeError('servers must be an array of server specs');
  const connection: Record<string, unknown> = { ...options };
  for (const name of FLEET_ONLY) delete connection[name];
  const shared: SharedServerOptions = { poolSize: poolSizeOption(options.poolSize ?? 1, 'poolSize'), connection };
  const failureLimit = options.failureLimit ?? DEFAULT_EJECTION.failureLimit;
  if (typeof failureLimit !== 'number') throw new TypeError(`failureLimit must be a number, got ${typeof failureLimit}`);
  if (failureLimit !== Infinity && (!Number.isSafeInteger(failureLimit) || failureLimit < 1)) {
    throw new RangeError(`failureLimit must be a positive integer or Infinity, got ${failureLimit}`);
  }
  const retryTimeout = options.retryTimeout ?? DEFAULT_EJECTION.retryTimeout;
  if (typeof retryTimeout !== 'number') throw new TypeError(`retryTimeout must be a number, got ${typeof retryTimeout}`);
  if (!Number.isFinite(retryTimeout) || retryTimeout < 0 || retryTimeout > 2 ** 31 - 1) {
    throw new RangeError(`retryTimeout must be a number of ms from 0 to 2^31 - 1, got ${retryTimeout}`);
  }
  const failover = options.failover ?? 'fail-fast';
  if (failover !== 'fail-fast' && failover !== 'rehash') throw new TypeError(`failover must be 'fail-fast' or 'rehash', got ${String(failover)}`);
  for (const name of ['flushOnReturn', 'hashTags', 'failoverOnMiss'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'boolean') throw new TypeError(`${name} must be a boolean`);
  }
  const replicas = options.replicas ?? 1;
  assertReplicas(replicas);
  if (replicas > 1 && options.failover !== undefined) {
    throw new RangeError(`failover applies to replicas: 1; with replicas: ${replicas} reads fail over between a key's replicas (leave failover out)`);
  }
  if (replicas > 1 && options.flushOnReturn === false) {
    throw new RangeError(`flushOnReturn cannot be false with replicas: ${replicas}: a server that was out missed writes, so it is flushed before it returns`);
  }
  if (replicas === 1 && options.failoverOnMiss !== undefined) {
    throw new RangeError('failoverOnMiss applies to replicas > 1 (with replicas: 1 a key has no other copy to try)');
  }
  if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError('now must be a function');
  const codec = resolveCodec(options.codec);
  const servers = options.servers.map((spec, index) => resolveServer(spec, shared, `servers[${index}]`));
  const ids = new Set<string>();
  for (const server of servers) {
    if (ids.has(server.id)) throw new RangeError(`two servers have the id ${JSON.stringify(server.id)}; give one of them another id`);
    ids.add(server.id);
  }
  return {
    servers,
    ejection: { failureLimit, retryTimeout },
    failover,
    flushOnReturn: options.flushOnReturn ?? replicas > 1,
    replicas,
    failoverOnMiss: options.failoverOnMiss ?? true,
    hashTags: options.hashTags ?? true,
    now: options.now ?? (() => performance.now()),
    codec,
    shared,
  };
}

/**
 * Reads one server spec, filling in what the fleet shares.
 * @throws TypeError / RangeError naming `label` and the option at fault.
 */
export function resolveServer(spec: FleetServerSpec, shared: SharedServerOptions, label = 'server'): ResolvedServer {
  const fields = typeof spec === 'string' ? parseServerUrl(spec, label) : spec;
  if (typeof fields !== 'object' || fields === null) throw new TypeError(`${label} must be a 'zcached://host:port' string or a { host, port } object`);
  if (Object.hasOwn(fields, 'codec')) throw new TypeError(`${label}: ${SERVER_CODEC}`);
  assertKnownConnectionOptions(fields, label, SERVER_OPTION_NAMES);
  const { weight = 1, id, poolSize, ...own } = fields;
  const host = own.host;
  const port = own.port ?? DEFAULT_PORT;
  try {
    assertWeight(weight, 'weight');
    if (id !== undefined && (typeof id !== 'string' || id.length === 0)) throw new TypeError('id must be a non-empty string');
    const connection: ConnectionOptions = { ...shared.connection, ...own, host, port };
    Connection.validateOptions(connection);
    return {
      id: id ?? `${host.includes(':') ? `[${host}]` : host}:${port}`,
      weight,
      poolSize: poolSize === undefined ? shared.poolSize : poolSizeOption(poolSize, 'poolSize'),
      dialect: resolveDialect(connection.dialect),
      connection,
    };
  } catch (error) {
    if (error instanceof TypeError) throw new TypeError(`${label}: ${error.message}`, { cause: error });
    if (error instanceof RangeError) throw new RangeError(`${label}: ${error.message}`, { cause: error });
    throw error;
  }
}

/** Why a server spec cannot have a codec of its own. */
const SERVER_CODEC = 'codec is an option of the whole fleet, not of one server (a key may move to another server): new ZCachedFleet({ servers, codec })';

/**
 * `zcached://host:port?weight=2&id=name`, `zcacheds://...` (TLS), `host:port`
 * or `host`. The URL grammar of `new ZCached(url)` (src/client/url.ts), with
 * `weight` and `id` in the query too; a host is required.
 */
function parseServerUrl(spec: string, label: string): FleetServerOptions {
  const text = spec.includes('://') ? spec : `zcached://${spec}`;
  const grammar: UrlGrammar = {
    ...ZCACHED_URL_GRAMMAR,
    owner: label,
    query: { ...ZCACHED_URL_GRAMMAR.query, weight: 'number', id: 'string' },
    objectOnly: { ...URL_OBJECT_ONLY, codec: SERVER_CODEC },
  };
  const fields = parseConnectionUrl(text, grammar);
  if (fields.host === undefined) throw new TypeError(`${label}: no host in ${JSON.stringify(spec)}`);
  return fields as FleetServerOptions;
}

function poolSizeOption(value: unknown, name: string): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
