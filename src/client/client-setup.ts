/**
 * What a `ZCached` (client.ts) is made of, built once by its constructor:
 * its pool (made from the options, or an existing one it adopts), its value
 * codec (codec.ts), its `run()` / `close()` state (client-run.ts) with its
 * events (client-events.ts), and where its commands go (client-dispatch.ts).
 *
 * @module
 */

import type { EventEmitter } from 'node:events';
import { Connection } from '../connection/connection.js';
import { ConnectionPool } from '../pool/pool.js';
import { CommandDispatch } from './client-dispatch.js';
import { emitClientEvents, type ZCachedEvents } from './client-events.js';
import { ClientRun } from './client-run.js';
import { resolveCodec, type CodecOption, type ResolvedCodec } from './codec.js';
import { resolveZCachedOptions, type ZCachedOptions } from './options.js';

/** The parts of one client. */
export interface ClientParts {
  readonly pool: ConnectionPool<Connection>;
  /** The value codec (`codec` option); undefined: values as they are (always so over an adopted pool). */
  readonly codec: ResolvedCodec | undefined;
  readonly lifecycle: ClientRun;
  readonly dispatch: CommandDispatch;
}

/**
 * Builds the parts of `client`: over `adopted` when given (`fromConnectionPool`),
 * else from its constructor's arguments (a URL and/or options).
 * @throws TypeError / RangeError for an invalid URL or option, naming it
 */
export function clientParts(
  client: EventEmitter<ZCachedEvents>,
  adopted: ConnectionPool<Connection> | undefined,
  target: string | URL | ZCachedOptions<CodecOption | undefined> | undefined,
  options: ZCachedOptions<CodecOption | undefined> | undefined,
): ClientParts {
  if (adopted !== undefined) {
    const lifecycle = new ClientRun(adopted, emitClientEvents(client, adopted));
    return { pool: adopted, codec: undefined, lifecycle, dispatch: new CommandDispatch(adopted, lifecycle, undefined) };
  }
  const resolved = resolveZCachedOptions(target, options);
  const codec = resolveCodec(resolved.options.codec);
  const pool = new ConnectionPool<Connection>(resolved.poolSize, () => new Connection(resolved.connection), {
    largeRequestConnections: resolved.largeRequestConnections,
  });
  const lifecycle = new ClientRun(pool, emitClientEvents(client, pool));
  return { pool, codec, lifecycle, dispatch: new CommandDispatch(pool, lifecycle, resolved.keyPrefix) };
}
