/**
 * Every command of `ZCachedFleet` with `replicas: 2`, over three embedded
 * servers: writes land on each of the key's two replicas (checked in the
 * servers' stores), reads go to the best one and fail over on a miss with
 * read repair, server-wide commands say what they count, `sendCommand`
 * refuses writes. Events: `failover` and `readRepaired` on the emitter,
 * through `subscribe` and on the `zcached:fleet` diagnostics channel.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CrossServerError, FLEET_CHANNEL, ZCachedFleet, type FleetEvent } from '../../src/fleet/index.js';
import type { ZCachedServer } from '../../src/testing/index.js';
import { until, watchUnhandledRejections } from '../support.js';
import { fleetOver, idOf, QUICK, startServers, storedText, holdersOf } from './fleet-support.js';

const unhandled = watchUnhandledRejections();

let servers: ZCachedServer[];
let fleet: ZCachedFleet;
/** Every event of `fleet`, as `subscribe` gives them. */
const events: FleetEvent[] = [];

beforeAll(async () => {
  servers = await startServers(3);
  fleet = fleetOver(servers, { replicas: 2 });
  fleet.subscribe((event) => events.push(event));
  await fleet.run();
});
afterAll(async () => {
  await fleet?.close();
  await Promise.all((servers ?? []).map((server) => server.close()));
  expect(unhandled).toEqual([]);
});
beforeEach(async () => {
  await fleet.flush();
  events.length = 0;
});

const serverOf = (id: string): ZCachedServer => servers.find((server) => idOf(server) === id)!;
const holders = (key: string): string[] => holdersOf(servers, key);
/** The key's replicas, sorted. */
const replicasOf = (key: string): string[] => [...fleet.placement(key)].sort();
const requests = (): number[] => servers.map((server) => server.stats.requests);
/** Requests each server got since `before`, by id. */
const sentSince = (before: readonly number[]): Map<string, number> => new Map(servers.map((server, index) => [idOf(server), server.stats.requests - before[index]!]));

/** Keys `prefix0`, `prefix1`, ... until `accept` takes one. */
function findKey(prefix: string, accept: (key: string) => boolean): string {
  for (let index = 0; index < 100_000; index++) if (accept(`${prefix}${index}`)) return `${prefix}${index}`;
  throw new Error(`no key ${prefix}* found`);
}

describe('writes reach both replicas, reads come from one', () => {
  it('fleet.placement(key): two distinct ids of the fleet, the first where reads go', async () => {
    const ids = servers.map(idOf);
    for (let index = 0; index < 200; index++) {
      const placed = fleet.placement(`p${index}`);
      expect(placed).toHaveLength(2);
      expect(new Set(placed).size).toBe(2);
      for (const id of placed) expect(ids).toContain(id);
    }
    await fleet.set('read-here', 'v');
    const before = requests();
    expect(await fleet.get('read-here')).toBe('v');
    expect([...sentSince(before)].filter(([, count]) => count > 0)).toEqual([[fleet.placement('read-here')[0], 1]]);
  });

  it('set, then get / getBuffer / exists / sizeof', async () => {
    const keys = Array.from({ length: 40 }, (_, index) => `set:${index}`);
    for (const key of keys) expect(await fleet.set(key, `value of ${key}`)).toBe('OK');
    for (const key of keys) {
      expect(holders(key)).toEqual(replicasOf(key));
      for (const id of fleet.placement(key)) expect(storedText(serverOf(id), key)).toBe(`value of ${key}`);
      expect(await fleet.get(key)).toBe(`value of ${key}`);
      expect(await fleet.getBuffer(key)).toEqual(Buffer.from(`value of ${key}`));
      expect(await fleet.exists(key)).toBe(true);
    }
    const sizes = await fleet.byServer.sendCommand(['SIZEOF', keys[0]!]);
    const expected = [...sizes.values()].find((outcome) => outcome.status === 'fulfilled');
    expect(expected).toBeDefined();
    expect(await fleet.sizeof(keys[0]!)).toBe((expected as { value: number }).value);
    expect(await fleet.get('never-set')).toBeUndefined();
    expect(await fleet.getBuffer('never-set')).toBeUndefined();
    expect(await fleet.exists('never-set')).toBe(false);
    await expect(fleet.sizeof('never-set')).rejects.toThrow(/not found/i);
  });

  it('delete: from both replicas; true when the key existed on any of them, false when on none', async () => {
    await fleet.set('del:both', 'v');
    expect(await fleet.delete('del:both')).toBe(true);
    expect(holders('del:both')).toEqual([]);
    await fleet.set('del:one', 'v');
    serverOf(fleet.placement('del:one')[0]!).store.delete('del:one');
    expect(await fleet.delete('del:one')).toBe(true);
    expect(holders('del:one')).toEqual([]);
    await fleet.set('del:other', 'v');
    serverOf(fleet.placement('del:other')[1]!).store.delete('del:other');
    expect(await fleet.delete('del:other')).toBe(true);
    expect(await fleet.delete('del:none')).toBe(false);
    expect(await fleet.get('del:both')).toBeUndefined();
  });

  it('rename and copy of one hash tag: on both replicas', async () => {
    await fleet.set('{t}a', 'va');
    expect(await fleet.rename('{t}a', '{t}b')).toBe('OK');
    expect(holders('{t}a')).toEqual([]);
    expect(holders('{t}b')).toEqual(replicasOf('{t}b'));
    expect(await fleet.copy('{t}b', '{t}c')).toBe('OK');
    expect(holders('{t}b')).toEqual(replicasOf('{t}b'));
    expect(holders('{t}c')).toEqual(replicasOf('{t}c'));
    await fleet.set('{t}d', 'vd');
    expect(await fleet.copy('{t}d', '{t}c', { replace: true })).toBe('OK');
    for (const id of fleet.placement('{t}c')) expect(storedText(serverOf(id), '{t}c')).toBe('vd');
    expect(await fleet.get('{t}c')).toBe('vd');
  });

  it('rename / copy between keys of different replicas: CrossServerError naming both pairs, nothing sent', async () => {
    const a = 'x:a';
    const b = findKey('x:b', (key) => replicasOf(key).join() !== replicasOf(a).join());
    await fleet.set(a, 'v');
    const before = requests();
    for (const call of [() => fleet.rename(a, b), () => fleet.copy(a, b, { replace: true })]) {
      const error = await call().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(CrossServerError);
      expect((error as CrossServerError).servers).toEqual(new Map([[a, fleet.placement(a).join(' + ')], [b, fleet.placement(b).join(' + ')]]));
    }
    expect([...sentSince(before).values()]).toEqual([0, 0, 0]);
    expect(holders(a)).toEqual(replicasOf(a));
  });

  it('rename / copy between keys held by the same two servers, ranked in the other order: taken (no other server is involved)', async () => {
    const a = 'swap:a';
    const b = findKey('swap:b', (key) => {
      const [first, second] = fleet.placement(key);
      return first === fleet.placement(a)[1] && second === fleet.placement(a)[0];
    });
    await fleet.set(a, 'v');
    expect(await fleet.rename(a, b)).toBe('OK');
    expect(holders(a)).toEqual([]);
    expect(holders(b)).toEqual(replicasOf(b));
    expect(await fleet.copy(b, a)).toBe('OK');
    expect(await fleet.get(a)).toBe('v');
    expect(holders(a)).toEqual(replicasOf(a));
  });

  it('mset puts each key on its two servers; mget / mgetBuffer read them back in the caller order, null when missing', async () => {
    const keys = Array.from({ length: 60 }, (_, index) => `multi:${index}`);
    expect(await fleet.mset(keys.map((key) => [key, `v-${key}`] as const))).toBe('OK');
    for (const key of keys) {
      expect(holders(key)).toEqual(replicasOf(key));
      for (const id of fleet.placement(key)) expect(storedText(serverOf(id), key)).toBe(`v-${key}`);
    }
    const asked = [...keys].reverse().concat(['multi:missing', keys[0]!]);
    const values = await fleet.mget(asked);
    expect([...values.keys()]).toEqual([...new Set(asked)]);
    for (const key of keys) expect(values.get(key)).toBe(`v-${key}`);
    expect(values.get('multi:missing')).toBeNull();
    const bytes = await fleet.mgetBuffer(keys.slice(0, 5), { timeout: 2_000 });
    expect([...bytes]).toEqual(keys.slice(0, 5).map((key) => [key, Buffer.from(`v-${key}`)]));
    expect(await fleet.mget()).toEqual(new Map());
  });

  it('echo answers from one server', async () => {
    const before = requests();
    expect(await fleet.echo('hello')).toBe('hello');
    expect([...sentSince(before).values()].sort()).toEqual([0, 0, 1]);
  });

  it('keys lists each key once; dbsize counts the copies: 2 per key, as documented', async () => {
    const keys = Array.from({ length: 25 }, (_, index) => `count:${index}`);
    await fleet.mset(keys.map((key) => [key, 'v'] as const));
    expect((await fleet.keys()).sort()).toEqual([...keys].sort());
    expect(await fleet.dbsize()).toBe(2 * keys.length);
    expect(await fleet.ping()).toBe('PONG');
  });
});

describe("with codec: 'json'", () => {
  it('values are encoded once, stored on both replicas, decoded on reads; a repaired copy decodes the same', async () => {
    const json = new ZCachedFleet({ ...QUICK, servers: servers.map((server) => `zcached://${idOf(server)}`), replicas: 2, codec: 'json' });
    try {
      await json.run();
      await json.set('j:o', { a: 1, b: [true, 'x'] });
      await json.mset([['j:p', { n: 2 }], ['j:q', [1, 2]]]);
      for (const key of ['j:o', 'j:p', 'j:q']) {
        expect(holders(key)).toEqual(replicasOf(key));
        serverOf(json.placement(key)[0]!).store.delete(key);
      }
      expect(await json.get('j:o')).toEqual({ a: 1, b: [true, 'x'] });
      expect(await json.mget(['j:p', 'j:q', 'j:none'])).toEqual(new Map<string, unknown>([['j:p', { n: 2 }], ['j:q', [1, 2]], ['j:none', undefined]]));
      await until(() => ['j:o', 'j:p', 'j:q'].every((key) => holders(key).join() === replicasOf(key).join()));
      for (const key of ['j:o', 'j:p', 'j:q']) expect(storedText(serverOf(json.placement(key)[0]!), key)).toBe(storedText(serverOf(json.placement(key)[1]!), key));
      expect(await json.get('j:o')).toEqual({ a: 1, b: [true, 'x'] });
    } finally {
      await json.close();
    }
  });
});

describe('sendCommand with replicas', () => {
  it.each([
    [['SET', 'k', 'v'], 'SET', 'set'],
    [['set', 'k', 'v'], 'SET', 'set'],
    [['Delete', 'k'], 'DELETE', 'delete'],
    [['RENAME', '{t}a', '{t}b'], 'RENAME', 'rename'],
    [['COPY', '{t}a', '{t}b'], 'COPY', 'copy'],
  ] as const)('%j is refused with a TypeError naming the method to use, nothing sent', async (command, name, method) => {
    const before = requests();
    expect(() => fleet.sendCommand(command)).toThrow(TypeError);
    expect(() => fleet.sendCommand(command)).toThrow(`ZCachedFleet.sendCommand: ${name} with replicas would reach one replica only; use fleet.${method}(), which writes to every replica of the key`);
    expect(() => fleet.sendCommand(['MSET', 'a', '1'], { key: 'a' })).toThrow(/use fleet\.mset\(\)/);
    expect([...sentSince(before).values()]).toEqual([0, 0, 0]);
  });

  it('a read goes to the key\'s first replica', async () => {
    await fleet.set('sc', 'v');
    const before = requests();
    expect(await fleet.sendCommand(['GET', 'sc'])).toBe('v');
    expect(await fleet.sendCommand(['SIZEOF', 'sc'], { timeout: 2_000 })).toBeGreaterThan(0);
    expect([...sentSince(before)].filter(([, count]) => count > 0)).toEqual([[fleet.placement('sc')[0], 2]]);
  });
});

describe('failover on a miss and read repair', () => {
  it('a replica that lost the key: get still answers, a failover and a readRepaired event, the copy is back', async () => {
    const onEmitter: FleetEvent[] = [];
    const onChannel: FleetEvent[] = [];
    const listen = (event: FleetEvent): void => {
      onEmitter.push(event);
    };
    const channelListener = (message: unknown): void => {
      const { fleet: from, event } = message as { fleet: unknown; event: FleetEvent };
      if (from === fleet) onChannel.push(event);
    };
    fleet.on('failover', listen).on('readRepaired', listen);
    subscribe(FLEET_CHANNEL, channelListener);
    try {
      await fleet.set('lost', 'v1');
      const [first, second] = fleet.placement('lost') as [string, string];
      serverOf(first).store.clear();
      expect(await fleet.get('lost')).toBe('v1');
      await until(() => serverOf(first).store.has('lost'));
      expect(storedText(serverOf(first), 'lost')).toBe('v1');
      const failover = { type: 'failover', key: 'lost', from: first, to: second, reason: 'miss', error: undefined };
      const repaired = { type: 'readRepaired', key: 'lost', from: second, to: [first] };
      for (const log of [onEmitter, events, onChannel]) {
        await until(() => log.some((event) => event.type === 'readRepaired'));
        expect(log.filter((event) => event.type === 'failover' || event.type === 'readRepaired')).toEqual([failover, repaired]);
      }
    } finally {
      fleet.off('failover', listen).off('readRepaired', listen);
      unsubscribe(FLEET_CHANNEL, channelListener);
    }
  });

  it.each([
    ['getBuffer', (key: string) => fleet.getBuffer(key), Buffer.from('v')],
    ['exists', (key: string) => fleet.exists(key), true],
    ['sizeof', (key: string) => fleet.sizeof(key), 1],
  ] as const)('%s fails over on a miss and repairs too', async (name, read, expected) => {
    const key = `lost:${name}`;
    await fleet.set(key, 'v');
    const first = fleet.placement(key)[0]!;
    serverOf(first).store.delete(key);
    expect(await read(key)).toEqual(expected);
    await until(() => serverOf(first).store.has(key));
    expect(events.filter((event) => event.type === 'failover').map((event) => (event as { key: string }).key)).toEqual([key]);
  });

  it('mget: keys a replica lost come from the other one, and are copied back', async () => {
    const keys = Array.from({ length: 60 }, (_, index) => `mlost:${index}`);
    await fleet.mset(keys.map((key) => [key, `v-${key}`] as const));
    const victim = servers[0]!;
    const lost = keys.filter((key) => victim.store.has(key));
    expect(lost.length).toBeGreaterThan(0);
    for (const key of lost) victim.store.delete(key);
    const values = await fleet.mget(keys);
    for (const key of keys) expect(values.get(key)).toBe(`v-${key}`);
    // The keys whose first replica is the victim were read there, missed, read on the other replica and copied back.
    const missedFirst = lost.filter((key) => fleet.placement(key)[0] === idOf(victim));
    expect(missedFirst.length).toBeGreaterThan(0);
    await until(() => missedFirst.every((key) => victim.store.has(key)));
    await until(() => events.filter((event) => event.type === 'readRepaired').length === missedFirst.length);
    expect(events.filter((event) => event.type === 'failover').map((event) => (event as { key: string }).key).sort()).toEqual([...missedFirst].sort());
  });

  it('failoverOnMiss: false: a miss on the first replica is final, nothing is repaired', async () => {
    const own = fleetOver(servers, { replicas: 2, failoverOnMiss: false });
    const log: FleetEvent[] = [];
    own.subscribe((event) => log.push(event));
    try {
      await own.run();
      await own.set('final', 'v');
      const [first, second] = own.placement('final') as [string, string];
      serverOf(first).store.delete('final');
      const before = requests();
      expect(await own.get('final')).toBeUndefined();
      expect(await own.exists('final')).toBe(false);
      expect((await own.mget(['final'])).get('final')).toBeNull();
      expect(sentSince(before).get(second)).toBe(0);
      expect(serverOf(first).store.has('final')).toBe(false);
      expect(serverOf(second).store.has('final')).toBe(true);
      expect(log.filter((event) => event.type === 'failover' || event.type === 'readRepaired')).toEqual([]);
    } finally {
      await own.close();
    }
  });
});
