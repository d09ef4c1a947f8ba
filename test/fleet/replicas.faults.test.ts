/**
 * Replicated writes and reads when replicas disagree or are slow, over
 * embedded servers (`replicas: 2`):
 * - divergence: a replica answers an error reply while another confirms
 *   (RENAME of a source one replica lacks, COPY onto a destination one
 *   replica has): the call resolves, the erroring replica's copies are
 *   deleted, reads still give the value;
 * - per-call `signal` and `timeout` on writes stop only the caller's wait:
 *   the replicas' writes complete (checked in the stores), nobody is
 *   fenced, no rejection is left unhandled; an already aborted signal
 *   sends nothing, as with `replicas: 1`;
 * - per-call options on reads: a timeout on the first replica fails over;
 * - no live server: ServerEjectedError; no server: NoServerError.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AbortError, ServerError, TimeoutError } from '../../src/errors.js';
import { NoServerError, PartialFailureError, rankServers, ServerEjectedError, ZCachedFleet, type FleetEvent } from '../../src/fleet/index.js';
import type { ZCachedServer } from '../../src/testing/index.js';
import { deferredCleanup, until, watchUnhandledRejections } from '../support.js';
import { fleetOver, idOf, QUICK, startServers, storedText, holdersOf } from './fleet-support.js';

const unhandled = watchUnhandledRejections();
const cleanup = deferredCleanup();

/**
 * A slow server's reply delay, and the per-call limits that must run out
 * before it (writes) or leave time for a healthy replica to answer (reads):
 * seconds apart, so that a loaded machine changes how long the tests take,
 * never their outcome.
 */
const SLOW = 3_000;
const WRITE_TIMEOUT = 300;
const READ_TIMEOUT = 1_000;

let servers: ZCachedServer[];
let fleet: ZCachedFleet;
const events: FleetEvent[] = [];

beforeAll(async () => {
  servers = await startServers(3);
  // failureLimit high: a slow reply under test must not eject its server (fencing is what is watched);
  // timeoutLimit far above SLOW: the replicas' own writes to a slow server never time out, however loaded the machine.
  fleet = fleetOver(servers, { replicas: 2, failureLimit: 100, timeoutLimit: 20_000 });
  fleet.subscribe((event) => events.push(event));
  await fleet.run();
});
afterAll(async () => {
  await fleet?.close();
  await Promise.all((servers ?? []).map((server) => server.close()));
  expect(unhandled).toEqual([]);
});
beforeEach(async () => {
  for (const server of servers) server.delayReplies(0);
  await fleet.flush();
  events.length = 0;
});

const serverOf = (id: string): ZCachedServer => servers.find((server) => idOf(server) === id)!;
const holders = (key: string): string[] => holdersOf(servers, key);
const replicasOf = (key: string): string[] => [...fleet.placement(key)].sort();
const requests = (): number => servers.reduce((sum, server) => sum + server.stats.requests, 0);
/** Every request the fleet sent has its reply (or failure): nothing pending on any connection. */
const settled = (): boolean => fleet.servers.every((server) => server.pool.connections.every((connection) => connection.pendingRequests === 0));
/** Keys `prefix0`, `prefix1`, ... until `accept` takes one. */
function findKey(prefix: string, accept: (key: string) => boolean): string {
  for (let index = 0; index < 100_000; index++) if (accept(`${prefix}${index}`)) return `${prefix}${index}`;
  throw new Error(`no key ${prefix}* found`);
}
const fencedOrEjected = (): FleetEvent[] => events.filter((event) => event.type === 'serverFenced' || event.type === 'serverEjected');

describe('divergence: one replica answers an error reply, the other confirms', () => {
  it('RENAME where one replica lacks the source: resolves, that replica loses its copies, reads give the value', async () => {
    await fleet.set('{d}src', 'v1');
    await fleet.set('{d}dst', 'old');
    const [first, second] = fleet.placement('{d}src') as [string, string];
    serverOf(first).store.delete('{d}src');
    expect(await fleet.rename('{d}src', '{d}dst')).toBe('OK');
    // The replica that refused (no source) keeps no old "{d}dst".
    expect(serverOf(first).store.has('{d}dst')).toBe(false);
    expect(storedText(serverOf(second), '{d}dst')).toBe('v1');
    expect(holders('{d}src')).toEqual([]);
    expect(await fleet.get('{d}dst')).toBe('v1');
    await until(() => storedText(serverOf(first), '{d}dst') === 'v1');
    expect(fencedOrEjected()).toEqual([]);
    expect(fleet.state.servers.every((server) => server.health === 'up')).toBe(true);
  });

  it('the same with the second replica lacking the source', async () => {
    await fleet.set('{e}src', 'v1');
    await fleet.set('{e}dst', 'old');
    const [first, second] = fleet.placement('{e}src') as [string, string];
    serverOf(second).store.delete('{e}src');
    expect(await fleet.rename('{e}src', '{e}dst')).toBe('OK');
    expect(serverOf(second).store.has('{e}dst')).toBe(false);
    expect(storedText(serverOf(first), '{e}dst')).toBe('v1');
    expect(await fleet.get('{e}dst')).toBe('v1');
  });

  it('COPY onto a destination only one replica has: resolves; that replica loses source and destination', async () => {
    await fleet.set('{c}src', 'new');
    const [first, second] = fleet.placement('{c}src') as [string, string];
    serverOf(second).store.set('{c}dst', { type: 'bulk', value: Buffer.from('stray') });
    expect(await fleet.copy('{c}src', '{c}dst')).toBe('OK');
    expect(storedText(serverOf(first), '{c}dst')).toBe('new');
    expect(serverOf(second).store.has('{c}dst')).toBe(false);
    expect(serverOf(second).store.has('{c}src')).toBe(false);
    expect(await fleet.get('{c}dst')).toBe('new');
    expect(await fleet.get('{c}src')).toBe('new');
  });

  it('RENAME every replica refuses: rejects with the error reply, nothing deleted', async () => {
    await fleet.set('{n}dst', 'keep');
    const error = await fleet.rename('{n}missing', '{n}dst').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServerError);
    expect(holders('{n}dst')).toEqual(replicasOf('{n}dst'));
    expect(await fleet.get('{n}dst')).toBe('keep');
  });
});

describe('per-call signal and timeout on writes: the caller stops waiting, the replicas finish', () => {
  it('set / delete / rename / copy / mset with { timeout } or a signal aborted while they run: the caller\'s error; every replica did the write, nobody fenced', async () => {
    await fleet.mset([['{w}a', 'a'], ['{w}b', 'b'], ['{w}gone', 'x']]);
    // Every server slow: no replica has confirmed when the caller gives up (the writes themselves run at once).
    for (const server of servers) server.delayReplies(SLOW);
    const controller = new AbortController();
    const timedOut = [
      fleet.set('t:set', 'v', { timeout: WRITE_TIMEOUT }),
      fleet.delete('{w}gone', { timeout: WRITE_TIMEOUT }),
      fleet.rename('{w}a', '{w}renamed', { timeout: WRITE_TIMEOUT }),
      fleet.copy('{w}b', '{w}copied', { timeout: WRITE_TIMEOUT, replace: true }),
      fleet.mset([['{w}m1', '1'], ['{w}m2', '2']], { timeout: WRITE_TIMEOUT }),
    ];
    const aborted = [fleet.set('t:abort', 'v', { signal: controller.signal }), fleet.mset([['t:m', 'v']], { signal: controller.signal, timeout: 60_000 })];
    controller.abort(new Error('user gave up'));
    const [timedOutOutcomes, abortedOutcomes] = await Promise.all([Promise.allSettled(timedOut), Promise.allSettled(aborted)]);
    for (const outcome of timedOutOutcomes) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(TimeoutError);
      expect(((outcome as PromiseRejectedResult).reason as Error).message).toMatch(/within 300 ms \(their writes go on\)$/);
    }
    for (const outcome of abortedOutcomes) {
      expect(outcome.status).toBe('rejected');
      const reason = (outcome as PromiseRejectedResult).reason as Error;
      expect(reason).toBeInstanceOf(AbortError);
      expect(reason.cause).toEqual(new Error('user gave up'));
    }
    await until(settled, 15_000);
    const pair = replicasOf('{w}a');
    expect(holders('{w}gone')).toEqual([]);
    expect(holders('{w}a')).toEqual([]);
    for (const key of ['{w}renamed', '{w}b', '{w}copied', '{w}m1', '{w}m2']) expect(holders(key)).toEqual(pair);
    for (const key of ['t:set', 't:abort', 't:m']) {
      expect(holders(key)).toEqual(replicasOf(key));
      for (const id of fleet.placement(key)) expect(storedText(serverOf(id), key)).toBe('v');
    }
    expect(fencedOrEjected()).toEqual([]);
    expect(fleet.state.servers.every((server) => server.health === 'up')).toBe(true);
  });

  it('a signal already aborted: AbortError, nothing sent (as with replicas: 1)', async () => {
    const controller = new AbortController();
    controller.abort();
    const before = requests();
    const calls: [string, () => Promise<unknown>][] = [
      ['set', () => fleet.set('pre', 'v', { signal: controller.signal })],
      ['delete', () => fleet.delete('pre', { signal: controller.signal })],
      ['rename', () => fleet.rename('{p}a', '{p}b', { signal: controller.signal })],
      ['copy', () => fleet.copy('{p}a', '{p}b', { signal: controller.signal })],
      ['mset', () => fleet.mset([['pre', 'v']], { signal: controller.signal })],
      ['get', () => fleet.get('pre', { signal: controller.signal })],
    ];
    for (const [name, call] of calls) {
      const error = await call().catch((caught: unknown) => caught);
      expect(error, name).toBeInstanceOf(AbortError);
      expect((error as Error).message, name).toBe('The request was aborted');
    }
    // mget: as with replicas: 1, a PartialFailureError whose parts failed with the AbortError.
    const error = await fleet.mget(['pre', 'other'], { signal: controller.signal }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PartialFailureError);
    for (const failure of (error as PartialFailureError).failures.values()) expect(failure.error).toBeInstanceOf(AbortError);
    await fleet.byServer.ping();
    expect(requests() - before, 'requests besides the PINGs').toBe(servers.length);
    expect(holders('pre')).toEqual([]);
  });

  it('a signal and a timeout the write beats: the value', async () => {
    expect(await fleet.set('quick', 'v', { timeout: 60_000 })).toBe('OK');
    const controller = new AbortController();
    expect(await fleet.delete('quick', { signal: controller.signal, timeout: 60_000 })).toBe(true);
    controller.abort();
    expect(await fleet.get('quick')).toBeUndefined();
  });
});

describe('per-call options on reads', () => {
  it('a timeout on the first replica fails over to the second (get, mget): the values, failover events with the TimeoutError', async () => {
    const slow = servers[0]!;
    const key = findKey('r:slow', (each) => fleet.placement(each)[0] === idOf(slow));
    const keys = Array.from({ length: 30 }, (_, index) => `r:m${index}`);
    await fleet.mset([...keys, key].map((each) => [each, each] as const));
    slow.delayReplies(SLOW);
    const [value, values] = await Promise.all([fleet.get(key, { timeout: READ_TIMEOUT }), fleet.mget(keys, { timeout: READ_TIMEOUT })]);
    expect(value).toBe(key);
    for (const each of keys) expect(values.get(each)).toBe(each);
    const failover = events.find((event) => event.type === 'failover' && event.key === key);
    expect(failover).toMatchObject({ type: 'failover', key, from: idOf(slow), to: fleet.placement(key)[1], reason: 'error' });
    expect((failover as { error?: Error }).error).toBeInstanceOf(TimeoutError);
    const slowFirst = keys.filter((each) => fleet.placement(each)[0] === idOf(slow));
    expect(events.filter((event) => event.type === 'failover' && event.key !== key).map((event) => (event as { key: string }).key).sort()).toEqual([...slowFirst].sort());
    await until(settled, 15_000);
  });

  it("an abort is the caller's: AbortError at once, no failover", async () => {
    await fleet.set('r:abort', 'v');
    const controller = new AbortController();
    const read = fleet.get('r:abort', { signal: controller.signal });
    controller.abort();
    await expect(read).rejects.toBeInstanceOf(AbortError);
    expect(events.filter((event) => event.type === 'failover')).toEqual([]);
    expect(await fleet.get('r:abort')).toBe('v');
  });
});

describe('no server to take a command', () => {
  it('every server ejected: writes and reads reject with ServerEjectedError saying every server is out, nothing sent', async () => {
    const own = await startServers(2);
    cleanup.push(() => Promise.all(own.map((server) => server.close())));
    const small = fleetOver(own, { replicas: 2, failureLimit: 1, retryTimeout: 60_000 });
    cleanup.push(() => small.close());
    await small.run();
    await Promise.all(own.map((server) => server.close()));
    await until(() => {
      void small.set(`k${Math.random()}`, 'v').catch(() => undefined);
      return small.state.servers.every((server) => server.health !== 'up');
    }, 15_000, 20);
    expect(small.placement('k')).toEqual([]);
    const calls: [string, () => Promise<unknown>][] = [
      ['set', () => small.set('k', 'v')],
      ['delete', () => small.delete('k')],
      ['rename', () => small.rename('{t}a', '{t}b')],
      ['copy', () => small.copy('{t}a', '{t}b')],
      ['mset', () => small.mset([['a', '1'], ['b', '2']])],
      ['get', () => small.get('k')],
      ['exists', () => small.exists('k')],
      ['mget', () => small.mget(['a', 'b'])],
      ['sendCommand', () => small.sendCommand(['GET', 'k'])],
    ];
    for (const [name, call] of calls) {
      const error = await call().catch((caught: unknown) => caught);
      expect(error, name).toBeInstanceOf(ServerEjectedError);
      expect((error as Error).message, name).toMatch(/^every server of the fleet is ejected/);
    }
    // A single-key command's error names the key's server (its best-ranked), as replicas: 1's does.
    const ids = small.state.servers.map((server) => ({ id: server.id }));
    for (let index = 0; index < 8; index++) {
      const key = `named${index}`;
      const best = rankServers(key, ids)[0]!.id;
      for (const call of [() => small.set(key, 'v'), () => small.get(key), () => small.delete(key), () => small.sendCommand(['GET', key])]) {
        const error = (await call().catch((caught: unknown) => caught)) as ServerEjectedError;
        expect(error.server).toBe(best);
        expect(error.message).toMatch(new RegExp(`^every server of the fleet is ejected \\(the key's server is ${best.replaceAll('.', '\\.')}: `));
      }
    }
  });

  it('an empty fleet, and a closed one: NoServerError', async () => {
    const empty = new ZCachedFleet({ ...QUICK, servers: [], replicas: 2 });
    await empty.run();
    for (const call of [() => empty.set('k', 'v'), () => empty.get('k'), () => empty.mget(['a']), () => empty.mset([['a', '1']]), () => empty.delete('k'), () => empty.rename('{t}a', '{t}b'), () => empty.keys(), () => empty.dbsize()]) {
      const error = await call().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(NoServerError);
      expect((error as Error).message).toBe('the fleet has no server');
    }
    expect(empty.placement('k')).toEqual([]);
    await empty.close();
    const closed = fleetOver(servers, { replicas: 2 });
    await closed.run();
    await closed.close();
    for (const call of [() => closed.set('k', 'v'), () => closed.get('k'), () => closed.mset([['a', '1']])]) {
      const error = await call().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(NoServerError);
      expect((error as Error).message).toBe('the fleet is closed');
    }
  });
});
