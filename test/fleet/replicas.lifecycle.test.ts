/**
 * The replica lifecycle over embedded servers (`replicas: 2`): a replica
 * that cannot confirm a write is fenced (out at once, its keys' places
 * taken by the next-ranked server), comes back flushed and is warmed up
 * from its peers; a server joining a running fleet makes the others sweep
 * the copies that moved to it and gets its copies; a server that left and
 * joins again is flushed before it serves. The new events (`serverFenced`,
 * `serverWarmed`, `serverSwept`) on the emitter, through `subscribe` and
 * on the `zcached:fleet` diagnostics channel; `close()` leaves no socket or
 * timer behind once sweeps and warm-ups ran.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { TimeoutError } from '../../src/errors.js';
import { FLEET_CHANNEL, rankServers, type FleetEvent, type ZCachedFleet } from '../../src/fleet/index.js';
import type { ZCachedServer } from '../../src/testing/index.js';
import { deferredCleanup, until, watchUnhandledRejections } from '../support.js';
import { fleetOver, idOf, openResources, startServers, untilResourcesBackTo, storedText } from './fleet-support.js';

const cleanup = deferredCleanup();
const unhandled = watchUnhandledRejections();

async function servers(count: number): Promise<ZCachedServer[]> {
  const list = await startServers(count);
  cleanup.push(() => Promise.all(list.map((server) => server.close())));
  return list;
}

/** The fleet's events three ways: the emitter (the replica events), `subscribe`, the diagnostics channel. */
function record(fleet: ZCachedFleet): { emitted: FleetEvent[]; subscribed: FleetEvent[]; published: FleetEvent[]; stop: () => void } {
  const emitted: FleetEvent[] = [];
  const subscribed: FleetEvent[] = [];
  const published: FleetEvent[] = [];
  const push = (event: FleetEvent): void => {
    emitted.push(event);
  };
  for (const name of ['serverFenced', 'serverSwept', 'serverWarmed', 'failover', 'readRepaired', 'serverReturned'] as const) fleet.on(name, push);
  const unsubscribeFleet = fleet.subscribe((event) => subscribed.push(event));
  const onMessage = (message: unknown): void => {
    const { fleet: from, event } = message as { fleet: unknown; event: FleetEvent };
    if (from === fleet) published.push(event);
  };
  subscribe(FLEET_CHANNEL, onMessage);
  return {
    emitted,
    subscribed,
    published,
    stop: () => {
      unsubscribeFleet();
      unsubscribe(FLEET_CHANNEL, onMessage);
    },
  };
}

const REPLICA_EVENTS = new Set(['serverFenced', 'serverSwept', 'serverWarmed', 'failover', 'readRepaired', 'serverReturned']);
const replicaEvents = (log: readonly FleetEvent[]): FleetEvent[] => log.filter((event) => REPLICA_EVENTS.has(event.type));

const settledFleet = (fleet: ZCachedFleet): boolean =>
  fleet.state.servers.every((server) => server.health === 'up' && server.doubts.length === 0 && server.sweep === undefined && server.warming === undefined);


describe('fencing, return, warm-up', () => {
  it('a replica that cannot confirm a write is fenced, replaced, flushed on return and warmed up; events three ways; close() leaks nothing', async () => {
    const list = await servers(3);
    const baseline = openResources();
    // timeoutLimit: what fences the silent server; long enough that no other request runs out of it on a loaded machine
    // (a GET of the only holder timing out would fail over to the stand-in, which misses).
    const fleet = fleetOver(list, { replicas: 2, timeoutLimit: 2_000, failureLimit: 3, retryTimeout: 50 });
    const log = record(fleet);
    try {
      await fleet.run();
      const keys = Array.from({ length: 40 }, (_, index) => `f:${index}`);
      await fleet.mset(keys.map((key) => [key, 'v1'] as const));
      const key = keys[0]!;
      const [first, second] = fleet.placement(key) as [string, string];
      const silent = list.find((server) => idOf(server) === second)!;
      silent.stopAnswering();
      // The first replica confirms: acknowledged; the silent one is fenced, not waited for.
      expect(await fleet.set(key, 'v2')).toBe('OK');
      const fenced = log.subscribed.find((event) => event.type === 'serverFenced');
      expect(fenced).toMatchObject({ type: 'serverFenced', server: second, key });
      expect((fenced as { error?: Error }).error).toBeInstanceOf(TimeoutError);
      expect(fleet.state.servers.find((server) => server.id === second)!.health).not.toBe('up');
      // Its place is taken by the next-ranked server, for every key it held.
      const live = fleet.state.servers.filter((server) => server.id !== second);
      for (const each of keys) expect(fleet.placement(each)).toEqual(rankServers(each, live).slice(0, 2).map((server) => server.id));
      expect(fleet.placement(key)[0]).toBe(first);
      expect(await fleet.get(key)).toBe('v2');

      silent.resumeAnswering();
      await until(() => log.subscribed.some((event) => event.type === 'serverWarmed' && event.server === second), 15_000);
      await until(() => settledFleet(fleet), 15_000);
      const warmed = log.subscribed.find((event) => event.type === 'serverWarmed' && event.server === second)!;
      // Flushed in its probe, then given back exactly the keys it is a replica of, with their latest values.
      const mine = keys.filter((each) => fleet.placement(each).includes(second));
      expect(warmed).toEqual({ type: 'serverWarmed', server: second, copied: mine.length });
      expect(silent.store.keys().sort()).toEqual([...mine].sort());
      expect(storedText(silent, key) ?? 'not a replica').toBe(mine.includes(key) ? 'v2' : 'not a replica');
      for (const each of keys) expect(await fleet.get(each)).toBe(each === key ? 'v2' : 'v1');
      // The servers that stood in for it swept the copies they took meanwhile: every key on exactly its replicas.
      for (const each of keys) expect(list.filter((server) => server.store.has(each)).map(idOf).sort(), each).toEqual([...fleet.placement(each)].sort());

      for (const other of [log.emitted, log.published]) expect(replicaEvents(other)).toEqual(replicaEvents(log.subscribed));
      const own = replicaEvents(log.subscribed).filter((event) => 'server' in event && event.server === second).map((event) => event.type);
      expect(own).toEqual(['serverFenced', 'serverReturned', 'serverWarmed']);
      // Its fence sent the others a warm-up each (they stand in for its keys); its return moved keys off them: each swept once.
      const others = replicaEvents(log.subscribed).filter((event) => 'server' in event && event.server !== second).map((event) => event.type);
      expect([...others].sort()).toEqual(['serverSwept', 'serverSwept', 'serverWarmed', 'serverWarmed']);
      expect(new Set(log.subscribed.filter((event) => event.type === 'serverSwept').map((event) => (event as { server: string }).server))).toEqual(new Set(live.map((server) => server.id)));
    } finally {
      log.stop();
      await fleet.close();
    }
    await untilResourcesBackTo(baseline);
    expect(unhandled).toEqual([]);
  });
});

describe('a server joins a running fleet', () => {
  it('the others sweep the copies that moved to it, it is warmed up with them: every key on exactly its replicas; close() leaks nothing', async () => {
    const list = await servers(3);
    const baseline = openResources();
    const [a, b, c] = list as [ZCachedServer, ZCachedServer, ZCachedServer];
    const fleet = fleetOver([a, b], { replicas: 2 });
    const log = record(fleet);
    try {
      await fleet.run();
      const keys = Array.from({ length: 120 }, (_, index) => `j:${index}`);
      await fleet.mset(keys.map((key) => [key, `v-${key}`] as const));
      expect(a.store.size).toBe(keys.length);
      expect(b.store.size).toBe(keys.length);
      await fleet.addServer(`zcached://${idOf(c)}`);
      await until(() => settledFleet(fleet) && log.subscribed.some((event) => event.type === 'serverWarmed'), 15_000);
      for (const key of keys) {
        expect(list.filter((server) => server.store.has(key)).map(idOf).sort(), key).toEqual([...fleet.placement(key)].sort());
        expect(await fleet.get(key)).toBe(`v-${key}`);
      }
      const moved = keys.filter((key) => fleet.placement(key).includes(idOf(c)));
      expect(moved.length).toBeGreaterThan(0);
      const swept = log.subscribed.filter((event) => event.type === 'serverSwept') as { server: string; deleted: number }[];
      expect(new Set(swept.map((event) => event.server))).toEqual(new Set([idOf(a), idOf(b)]));
      // Each key that moved to the newcomer left exactly one of the others.
      expect(swept.reduce((sum, event) => sum + event.deleted, 0)).toBe(moved.length);
      expect(log.subscribed.find((event) => event.type === 'serverWarmed')).toEqual({ type: 'serverWarmed', server: idOf(c), copied: moved.length });
      for (const other of [log.emitted, log.published]) expect(replicaEvents(other)).toEqual(replicaEvents(log.subscribed));
      expect(await fleet.dbsize()).toBe(2 * keys.length);
    } finally {
      log.stop();
      await fleet.close();
    }
    await untilResourcesBackTo(baseline);
  });

  it('a server that left and joins again with old copies is flushed before it serves: no read returns an old value', async () => {
    const list = await servers(3);
    const [, , c] = list as [ZCachedServer, ZCachedServer, ZCachedServer];
    const fleet = fleetOver(list, { replicas: 2 });
    cleanup.push(() => fleet.close());
    const log = record(fleet);
    cleanup.push(async () => log.stop());
    await fleet.run();
    const keys = Array.from({ length: 60 }, (_, index) => `r:${index}`);
    await fleet.mset(keys.map((key) => [key, 'old'] as const));
    await fleet.removeServer(idOf(c));
    await fleet.mset(keys.map((key) => [key, 'new'] as const));
    // c kept its copies of 'old' (it was removed, not flushed).
    expect(keys.some((key) => storedText(c, key) === 'old')).toBe(true);
    let stale = 0;
    let misses = 0;
    let reading = true;
    const reads = (async () => {
      while (reading) {
        for (const value of (await fleet.mget(keys)).values()) {
          if (value === 'old') stale++;
          if (value === null) misses++;
        }
      }
    })();
    await fleet.addServer(`zcached://${idOf(c)}`);
    await until(() => settledFleet(fleet) && log.subscribed.some((event) => event.type === 'serverWarmed' && event.server === idOf(c)), 15_000);
    reading = false;
    await reads;
    expect({ stale, misses }).toEqual({ stale: 0, misses: 0 });
    for (const key of keys) expect(storedText(c, key) ?? 'new').toBe('new');
    for (const key of keys) expect(list.filter((server) => server.store.has(key)).map(idOf).sort()).toEqual([...fleet.placement(key)].sort());
    // Joined out, probed (flushed), back, warmed.
    expect(log.subscribed.filter((event) => 'server' in event && event.server === idOf(c)).map((event) => event.type)).toEqual(['serverRemoved', 'serverAdded', 'serverReturned', 'serverWarmed']);
  });
});

describe('a weight change', () => {
  // The key's new replica is warmed up (a weight change starts warm-ups) before the old one's copy is swept away.
  it('leaves every key on its k replicas: losing one server then loses no key', async () => {
    const list = await servers(3);
    const [a, , c] = list as [ZCachedServer, ZCachedServer, ZCachedServer];
    const fleet = fleetOver(list, { replicas: 2, failureLimit: 1, retryTimeout: 60_000 });
    cleanup.push(() => fleet.close());
    await fleet.run();
    const ids = list.map((server) => ({ id: idOf(server), weight: 1 }));
    const heavier = ids.map((server) => (server.id === idOf(c) ? { ...server, weight: 3 } : server));
    const top2 = (key: string, servers: { id: string; weight: number }[]): string => rankServers(key, servers).slice(0, 2).map((server) => server.id).join();
    // Keys on A and B that move to A and C when C weighs 3.
    const keys = Array.from({ length: 2_000 }, (_, index) => `w:${index}`).filter((key) => top2(key, ids) === [idOf(a), idOf(list[1]!)].join() && top2(key, heavier) === [idOf(a), idOf(c)].join());
    expect(keys.length).toBeGreaterThan(0);
    await fleet.mset(keys.map((key) => [key, 'v'] as const));
    fleet.setWeight(idOf(c), 3);
    await until(() => settledFleet(fleet), 15_000);
    for (const key of keys) expect(list.filter((server) => server.store.has(key)).map(idOf).sort(), key).toEqual([...fleet.placement(key)].sort());
    await a.close();
    await until(() => {
      void fleet.get(keys[0]!).catch(() => undefined);
      return fleet.state.servers.find((server) => server.id === idOf(a))!.health !== 'up';
    }, 15_000, 20);
    for (const key of keys) expect(await fleet.get(key), key).toBe('v');
  });
});
