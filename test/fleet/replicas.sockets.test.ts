/**
 * Replicas over real sockets, the "Done means" of the replicas issue: four
 * embedded servers, each behind a fault proxy, a fleet with `replicas: 2`
 * and thousands of keys. Every key must sit on exactly its two servers,
 * evenly spread; with one server refusing connections, then back empty,
 * then another cut off by `halfOpen()` while keys are updated and healed,
 * no read may miss, fail or return a value older than the last
 * acknowledged write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZCachedFleet, type FleetEvent } from '../../src/fleet/index.js';
import { startProxy, type FaultProxy, type ZCachedServer } from '../../src/testing/index.js';
import { until } from '../support.js';
import { startServers } from './fleet-support.js';

const KEYS = Array.from({ length: 4000 }, (_, index) => `user:${index}`);
const IDS = ['s1', 's2', 's3', 's4'];

let servers: ZCachedServer[];
let proxies: FaultProxy[];
let fleet: ZCachedFleet;
const events: FleetEvent[] = [];
/** Key → the value of its last acknowledged write, and the values of writes not acknowledged since. */
const latest = new Map<string, { acked: string; maybe: Set<string> }>();
let counter = 0;

beforeAll(async () => {
  servers = await startServers(4);
  proxies = await Promise.all(servers.map((server) => startProxy({ target: { host: server.host, port: server.port }, host: server.host })));
  fleet = new ZCachedFleet({
    servers: proxies.map((proxy, index) => ({ host: servers[index]!.host, port: proxy.port, id: IDS[index]! })),
    replicas: 2,
    poolSize: 1,
    // The issue measured with 400 ms; 1 s keeps a loaded machine's slow reply from fencing a healthy server.
    timeoutLimit: 1_000,
    connectTimeout: 1_000,
    failureLimit: 3,
    retryTimeout: 800,
    backoff: { initial: 20, max: 100, jitter: 0 },
  });
  fleet.subscribe((event) => events.push(event));
  await fleet.run();
});

afterAll(async () => {
  await fleet?.close();
  await Promise.all((proxies ?? []).map((proxy) => proxy.close()));
  await Promise.all((servers ?? []).map((server) => server.close()));
});

/** Writes a fresh value to each key, `concurrency` at a time; counts the acknowledged writes. */
async function writeAll(keys: readonly string[], concurrency = 100): Promise<{ acked: number; failed: number }> {
  let acked = 0;
  let failed = 0;
  for (let at = 0; at < keys.length; at += concurrency) {
    await Promise.all(
      keys.slice(at, at + concurrency).map(async (key) => {
        const value = `v${++counter}`;
        const entry = latest.get(key) ?? { acked: '', maybe: new Set<string>() };
        latest.set(key, entry);
        entry.maybe.add(value);
        try {
          await fleet.set(key, value);
          entry.acked = value;
          entry.maybe.clear();
          acked++;
        } catch {
          failed++;
        }
      }),
    );
  }
  return { acked, failed };
}

/** Reads every key; counts misses, errors and values older than the last acknowledged write. */
async function readAll(concurrency = 100): Promise<{ misses: number; errors: number; stale: number }> {
  let misses = 0;
  let errors = 0;
  let stale = 0;
  for (let at = 0; at < KEYS.length; at += concurrency) {
    await Promise.all(
      KEYS.slice(at, at + concurrency).map(async (key) => {
        const entry = latest.get(key)!;
        try {
          const value = await fleet.get(key);
          if (value === undefined) misses++;
          else if (value !== entry.acked && !entry.maybe.has(value as string)) stale++;
        } catch {
          errors++;
        }
      }),
    );
  }
  return { misses, errors, stale };
}

const holders = (key: string): string[] => servers.flatMap((server, index) => (server.store.has(key) ? [IDS[index]!] : []));

describe('a fleet with replicas: 2 over four servers behind fault proxies', () => {
  it('puts every key on exactly its two replicas, evenly spread', async () => {
    const { acked } = await writeAll(KEYS);
    expect(acked).toBe(KEYS.length);
    const perServer = new Map(IDS.map((id) => [id, 0]));
    for (const key of KEYS) {
      const where = holders(key);
      expect(where.sort()).toEqual([...fleet.placement(key)].sort());
      for (const id of where) perServer.set(id, perServer.get(id)! + 1);
    }
    // 8,000 copies over 4 servers: 2,000 each expected; a binomial spread stays well within ±10 %.
    for (const count of perServer.values()) expect(Math.abs(count - 2000)).toBeLessThan(200);
  });

  it('loses nothing while one server refuses connections', async () => {
    await proxies[1]!.refuseConnections(true);
    proxies[1]!.cutConnections();
    expect(await readAll()).toEqual({ misses: 0, errors: 0, stale: 0 });
    const writes = await writeAll(KEYS.slice(0, 1000));
    expect(writes).toEqual({ acked: 1000, failed: 0 });
    expect(await readAll()).toEqual({ misses: 0, errors: 0, stale: 0 });
    expect(fleet.state.servers.find((server) => server.id === 's2')?.health).not.toBe('up');
  });

  it('misses nothing when that server comes back empty', async () => {
    servers[1]!.store.clear();
    await proxies[1]!.refuseConnections(false);
    await until(() => fleet.state.servers.every((server) => server.health === 'up'), 15_000);
    expect(await readAll()).toEqual({ misses: 0, errors: 0, stale: 0 });
    // Its keys get their second copy back from their other replicas.
    await until(() => fleet.state.servers.every((server) => server.warming === undefined), 15_000);
    const warmed = events.find((event) => event.type === 'serverWarmed' && event.server === 's2');
    expect(warmed).toBeDefined();
    const wrong = KEYS.filter((key) => holders(key).sort().join() !== [...fleet.placement(key)].sort().join());
    if (wrong.length > 0) console.log(wrong.length, wrong.slice(0, 5).map((key) => [key, holders(key), fleet.placement(key)]), events.filter((e) => e.type !== 'failover' && e.type !== 'readRepaired'));
    expect(wrong).toEqual([]);
  });

  it('serves nothing stale after another server is cut off while keys are updated, then healed', async () => {
    proxies[2]!.halfOpen();
    const writes = await writeAll(KEYS.slice(0, 1500));
    expect(writes.acked / 1500).toBeGreaterThanOrEqual(0.99);
    expect(await readAll()).toEqual({ misses: 0, errors: 0, stale: 0 });
    proxies[2]!.heal();
    await until(() => fleet.state.servers.every((server) => server.health === 'up' && server.doubts.length === 0 && server.warming === undefined), 15_000);
    expect(await readAll()).toEqual({ misses: 0, errors: 0, stale: 0 });
    // Taken out (fenced by a write it could not confirm, or ejected by its timeouts first), flushed, back.
    expect(events.some((event) => (event.type === 'serverFenced' || event.type === 'serverEjected') && event.server === 's3')).toBe(true);
  });
});
