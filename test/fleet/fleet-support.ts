/**
 * Shared pieces of the fleet's socket tests: embedded servers on distinct
 * loopback addresses (the whole 127.0.0.0/8 block is local), a fleet with
 * short time limits, and a watch on the resources a test leaves behind.
 */
import { ZCachedFleet, type ZCachedFleetOptions } from '../../src/fleet/index.js';
import { startServer, type ZCachedServer } from '../../src/testing/index.js';
import { until } from '../support.js';

/** Loopback addresses for the servers of a fleet. */
export const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];

/** Starts `count` embedded servers, one per loopback address. */
export function startServers(count: number): Promise<ZCachedServer[]> {
  return Promise.all(HOSTS.slice(0, count).map((host) => startServer({ host })));
}

/** Brings a closed server back on its address and port, with its data. */
export function restart(server: ZCachedServer): Promise<ZCachedServer> {
  return startServer({ host: server.host, port: server.port, store: server.store });
}

/** The fleet id of a server (`host:port`). */
export const idOf = (server: ZCachedServer): string => `${server.host}:${server.port}`;

/**
 * Time limits short enough for a test, long enough for a loaded machine:
 * they decide how fast a failure is seen, never whether a test passes.
 */
export const QUICK = {
  poolSize: 2,
  connectTimeout: 1_000,
  connectionAttempts: 2,
  backoff: { initial: 10, max: 40, jitter: 0 },
  timeoutLimit: 5_000,
  closeTimeout: 50,
  failureLimit: 2,
  retryTimeout: 50,
} as const;

/** A fleet over `servers` with {@link QUICK} limits, plus `options`. */
export function fleetOver(servers: readonly ZCachedServer[], options: Partial<ZCachedFleetOptions> = {}): ZCachedFleet {
  return new ZCachedFleet({ ...QUICK, servers: servers.map((server) => `zcached://${server.host}:${server.port}`), ...options });
}

const WATCHED = new Set(['TCPSocketWrap', 'TCPServerWrap', 'Timeout', 'Immediate']);

/** How many sockets, servers, timers and immediates keep the process alive now. */
export function openResources(): number {
  return process.getActiveResourcesInfo().filter((kind) => WATCHED.has(kind)).length;
}

/** Waits (generously) until what keeps the process alive is back to `baseline` or below. */
export async function untilResourcesBackTo(baseline: number): Promise<void> {
  await until(() => openResources() <= baseline, 15_000);
}

/** The text `server` stores for `key` (a bulk string as UTF-8, another value as JSON), or `undefined` when it holds none. */
export function storedText(server: ZCachedServer, key: string): string | undefined {
  const value = server.store.get(key);
  return value?.type === 'bulk' ? value.value.toString('utf8') : value === undefined ? undefined : JSON.stringify(value);
}

/** The ids of the servers among `servers` whose store holds `key`, sorted. */
export function holdersOf(servers: readonly ZCachedServer[], key: string): string[] {
  return servers.filter((server) => server.store.has(key)).map(idOf).sort();
}
