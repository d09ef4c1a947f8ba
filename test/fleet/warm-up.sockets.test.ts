/**
 * The warm-up of a server that returns empty (`replicas` > 1) over real
 * sockets, when its batches do not fit one request of the dialect: the
 * 'legacy' dialect carries 1,400 bytes at most (an MGET of 256 keys does
 * not fit), and any dialect refuses an MSET past its `maxRequestBytes`
 * (256 large values). The warm-up must still copy every key, in smaller
 * batches, and end (`serverWarmed`) without an unhandled rejection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ZCachedFleet, type FleetEvent } from '../../src/fleet/index.js';
import type { DialectInput } from '../../src/protocol/dialect.js';
import { startServer, type ZCachedServer } from '../../src/testing/index.js';
import { until } from '../support.js';
import { HOSTS, QUICK } from './fleet-support.js';

let servers: ZCachedServer[] = [];
let fleet: ZCachedFleet | undefined;

afterEach(async () => {
  await fleet?.close();
  await Promise.all(servers.map((server) => server.close()));
  fleet = undefined;
  servers = [];
});

/**
 * Three servers, `replicas: 2`, `count` keys of `valueBytes`; the third
 * server stops, is ejected, starts again empty, returns and warms up.
 * Resolves with the keys it should hold, what it holds, and the warm-up's event.
 */
async function warmUpAfterEmptyReturn(generation: 'legacy' | 'etx', dialect: DialectInput, prefix: string, count: number, valueBytes: number) {
  servers = await Promise.all(HOSTS.slice(0, 3).map((host) => startServer({ host, dialect: generation })));
  const events: FleetEvent[] = [];
  fleet = new ZCachedFleet({ ...QUICK, servers: servers.map((server) => ({ host: server.host, port: server.port })), replicas: 2, dialect, failureLimit: 1 });
  fleet.subscribe((event) => events.push(event));
  await fleet.run();
  const keys = Array.from({ length: count }, (_, n) => `${prefix}${n}`);
  for (const key of keys) await fleet.set(key, `${key}=${'v'.repeat(valueBytes)}`);
  const victim = servers[2]!;
  const id = `${victim.host}:${victim.port}`;
  const own = keys.filter((key) => fleet!.placement(key).includes(id));
  expect(own.length).toBeGreaterThan(0);
  expect(own.every((key) => victim.store.has(key))).toBe(true);
  await victim.close();
  await until(() => events.some((event) => event.type === 'serverEjected' && event.server === id));
  servers[2] = await startServer({ host: victim.host, port: victim.port, dialect: generation });
  await until(() => events.some((event) => event.type === 'serverWarmed' && event.server === id), 15_000);
  const warmed = events.find((event) => event.type === 'serverWarmed' && event.server === id);
  return { own, held: own.filter((key) => servers[2]!.store.has(key)), warmed };
}

describe('the warm-up of a server that returned empty, in batches that fit the dialect', () => {
  it("'legacy' (1,400 bytes a request), an MGET of the batch's keys past it: every key is copied", async () => {
    // About 150 keys of 20 bytes to copy: their MGET is over 1,400 bytes (before: nothing copied, `copied: 0`).
    const { own, held, warmed } = await warmUpAfterEmptyReturn('legacy', 'legacy', 'warm-up:legacy:key:', 300, 8);
    expect(warmed).toMatchObject({ copied: own.length });
    expect(held).toEqual(own);
  }, 30_000);

  it('an MSET past maxRequestBytes: every key is copied, no unhandled rejection, the warm-up ends', async () => {
    // 64 KB a request: about 130 values of 1 KB do not fit one MSET (before: an unhandled DialectError, no serverWarmed).
    const { own, held, warmed } = await warmUpAfterEmptyReturn('etx', { base: 'etx', maxRequestBytes: 64 * 1024 }, 'k:', 400, 1_000);
    expect(warmed).toMatchObject({ copied: own.length });
    expect(held).toEqual(own);
  }, 30_000);
});
