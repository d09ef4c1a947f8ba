/**
 * The client the CLI talks through: built from the URL and flags, connected
 * once, described for the prompt and for `zcached info`.
 *
 * @module
 */

import { readFileSync } from 'node:fs';
import { ZCached } from '../client/client.js';
import { resolveZCachedOptions, type ZCachedOptions } from '../client/options.js';
import { formatAddress } from '../connection/address.js';
import type { ServerGeneration } from '../protocol/dialect.js';
import type { CliSettings } from './args.js';
import { CliUsageError } from './errors.js';

/** The time limit of the connect and of each command when neither `--timeout` nor the URL sets one, in ms. */
export const DEFAULT_TIMEOUT_MS = 5000;

/** The URL used when neither an argument nor `ZCACHED_URL` gives one. */
export const DEFAULT_URL = 'zcached://127.0.0.1:7556';

/** A client of the CLI, with what it was built from. */
export interface CliClient {
  readonly client: ZCached;
  /** `host:port` as the client connects to it (IPv6 in brackets). */
  readonly address: string;
  /** Whether it connects with TLS. */
  readonly tls: boolean;
}

/**
 * Builds (does not connect) the client for `settings`: the URL's options
 * (its query included) over the CLI's defaults (one connection, 5000 ms
 * time limits), the flags over both; bulk strings as bytes (the CLI shows
 * invalid UTF-8 as bytes, not lossily).
 * @param persistent - the REPL's client keeps reconnecting after a drop;
 *   the others try once (`connectionAttempts: 1`, `reconnect: false`)
 * @throws CliUsageError for a URL the client refuses or a `--cacert` file it cannot read
 */
export function createCliClient(settings: CliSettings, persistent: boolean): CliClient {
  const url = settings.url ?? DEFAULT_URL;
  let ca: Buffer | undefined;
  if (settings.cacert !== undefined) {
    try {
      ca = readFileSync(settings.cacert);
    } catch (error) {
      throw new CliUsageError(`--cacert: cannot read ${settings.cacert}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }
  try {
    // The URL's options (host, port, TLS, its query) over the CLI's defaults; the flags over both.
    const fromUrl = resolveZCachedOptions(url, undefined).options as ZCachedOptions;
    const options: ZCachedOptions = {
      poolSize: 1,
      connectTimeout: DEFAULT_TIMEOUT_MS,
      timeoutLimit: DEFAULT_TIMEOUT_MS,
      ...fromUrl,
      bulkAsBuffer: true,
      ...(persistent ? {} : { connectionAttempts: 1, reconnect: false }),
      ...(settings.dialect === undefined ? {} : { dialect: settings.dialect }),
      ...(settings.timeoutMs === undefined ? {} : { connectTimeout: settings.timeoutMs, timeoutLimit: settings.timeoutMs }),
      ...(ca !== undefined ? { tls: { ca } } : settings.tls && fromUrl.tls === undefined ? { tls: true } : {}),
    };
    const connection = resolveZCachedOptions(options, undefined).connection;
    const { host, port, tls } = connection;
    const address = formatAddress(host, port);
    return { client: new ZCached(options), address, tls: tls !== undefined && tls !== false };
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) throw new CliUsageError(error.message, { cause: error });
    throw error;
  }
}

/** The generation the client's connection found at its last connect; undefined before one. */
export function generationOf(client: ZCached): ServerGeneration | undefined {
  return client.connectionPool.connections[0]?.generation;
}
