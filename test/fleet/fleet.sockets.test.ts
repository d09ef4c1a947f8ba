/**
 * `ZCachedFleet` over real sockets: embedded servers on 127.0.0.1,
 * 127.0.0.2, 127.0.0.3 (and .4 for a server added at run time). Placement
 * as the pure function says, multi-key commands split and merged in the
 * caller's order, typed partial failures per server, ejection when a
 * server goes away or refuses connections and its return, both failover
 * policies, membership changes at run time, and close() leaving no socket
 * or timer. Waits poll with generous bounds; nothing depends on the
 * machine being idle.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { DialectError, TimeoutError, ZCachedError } from '../../src/errors.js';
import {
  CrossServerError,
  FanOutError,
  FLEET_CHANNEL,
  NoServerError,
  PartialFailureError,
  placement,
  rankServers,
  ServerEjectedError,
  type FleetEvent,
  type ZCachedFleet,
} from '../../src/fleet/index.js';
import { startServer, type ZCachedServer } from '../../src/testing/index.js';
import { deferredCleanup, until, watchUnhandledRejections } from '../support.js';
import { fleetOver, idOf, openResources, restart, startServers, untilResourcesBackTo } from './fleet-support.js';

const cleanup = deferredCleanup();
const unhandled = watchUnhandledRejections();
afterAll(() => {
  expect(unhandled).toEqual([]);
});

/** Servers that `cleanup` closes (the array is read at cleanup time: restarted servers replace their slot). */
async function servers(count: number): Promise<ZCachedServer[]> {
  const list = await startServers(count);
  cleanup.push(() => Promise.all(list.map((server) => server.close())));
  return list;
}

function track(fleet: ZCachedFleet): FleetEvent[] {
  const events: FleetEvent[] = [];
  fleet.subscribe((event) => events.push(event));
  cleanup.push(() => fleet.close());
  return events;
}

const keys = (count: number, prefix = 'key'): string[] => Array.from({ length: count }, (_, i) => `${prefix}:${i}`);

describe('ZCachedFleet: placement, multi-key commands, fan-out', () => {
  it('puts every key on the server placement() names; mget and mset span servers in the caller order', async () => {
    const list = await servers(3);
    const fleet = fleetOver(list);
    track(fleet);
    await fleet.run();
    const ids = list.map((server) => ({ id: idOf(server) }));
    const names = keys(90);
    await fleet.mset(names.map((key) => [key, `value of ${key}`] as const));
    for (const key of names.slice(0, 10)) expect(await fleet.get(key)).toBe(`value of ${key}`);

    const byServer = await fleet.byServer.keys();
    let total = 0;
    for (const [server, outcome] of byServer) {
      expect(outcome.status).toBe('fulfilled');
      const held = outcome.status === 'fulfilled' ? outcome.value : [];
      total += held.length;
      for (const key of held) expect(placement(key, ids)?.id).toBe(server);
      expect(held.length).toBeGreaterThan(10); // 90 keys over 3 servers: every server holds some
    }
    expect(total).toBe(90);
    expect(await fleet.dbsize()).toBe(90);
    expect(new Set(await fleet.keys())).toEqual(new Set(names));

    const asked = [...names.slice(40, 60)].reverse();
    asked.splice(5, 0, 'missing', asked[3]!);
    const values = await fleet.mget(...asked, { timeout: 5_000 });
    expect([...values.keys()]).toEqual([...new Set(asked)]);
    for (const [key, value] of values) expect(value).toBe(key === 'missing' ? null : `value of ${key}`);
    expect(await fleet.mget()).toEqual(new Map());
  });

  it('keeps keys with the same hash tag on one server; rename across servers is refused, within a tag it works', async () => {
    const list = await servers(3);
    const fleet = fleetOver(list);
    track(fleet);
    await fleet.run();
    const tagged = keys(20, '{user42}');
    await fleet.mset(tagged.map((key) => [key, 1] as const));
    const holding = [...(await fleet.byServer.dbsize())].filter(([, outcome]) => outcome.status === 'fulfilled' && outcome.value > 0);
    expect(holding).toHaveLength(1);
    expect(await fleet.rename('{user42}:0', '{user42}:renamed')).toBe('OK');
    expect(await fleet.get('{user42}:renamed')).toBe(1);

    const [a, b] = keys(50).reduce<string[]>((found, key) => (found.length < 2 && (found.length === 0 || fleet.serverFor(key) !== fleet.serverFor(found[0]!)) ? [...found, key] : found), []);
    await fleet.set(a!, 'x');
    const refused = fleet.rename(a!, b!);
    await expect(refused).rejects.toBeInstanceOf(CrossServerError);
    await expect(refused).rejects.toMatchObject({ code: 'ECROSSSERVER', name: 'CrossServerError' });
    await expect(fleet.copy(a!, b!)).rejects.toBeInstanceOf(CrossServerError);
    expect(await fleet.get(a!)).toBe('x');
  });

  it('names the failed keys per server when one server does not answer (mget, mset), and keeps every outcome (fan-out)', async () => {
    const list = await servers(3);
    const fleet = fleetOver(list, { failureLimit: Infinity });
    track(fleet);
    await fleet.run();
    const names = keys(60);
    await fleet.mset(names.map((key) => [key, key] as const));
    const silent = list[1]!;
    const silentId = idOf(silent);
    const onSilent = names.filter((key) => fleet.serverFor(key) === silentId);
    silent.stopAnswering();
    cleanup.push(async () => silent.resumeAnswering());

    const mget = await fleet.mget(...names, { timeout: 300 }).catch((error: unknown) => error);
    expect(mget).toBeInstanceOf(PartialFailureError);
    const partial = mget as PartialFailureError;
    expect(partial.code).toBe('EPARTIAL');
    expect([...partial.failures.keys()]).toEqual([silentId]);
    expect(partial.failures.get(silentId)?.keys).toEqual(onSilent);
    expect(partial.failures.get(silentId)?.error).toBeInstanceOf(TimeoutError);
    expect(partial.failedKeys).toEqual(onSilent);
    expect([...partial.values.keys()]).toEqual(names.filter((key) => !onSilent.includes(key)));
    for (const [key, value] of partial.values) expect(value).toBe(key);

    const mset = await fleet.mset(names.map((key) => [key, 'again'] as const), { timeout: 300 }).catch((error: unknown) => error);
    expect(mset).toBeInstanceOf(PartialFailureError);
    expect((mset as PartialFailureError).failedKeys).toEqual(onSilent);

    const dbsize = await fleet.dbsize({ timeout: 300 }).catch((error: unknown) => error);
    expect(dbsize).toBeInstanceOf(FanOutError);
    const fanOut = dbsize as FanOutError<number>;
    expect([...fanOut.outcomes.keys()]).toEqual(list.map(idOf));
    expect([...fanOut.failures.keys()]).toEqual([silentId]);
    expect(fanOut.failures.get(silentId)).toBeInstanceOf(TimeoutError);
    const counted = [...fanOut.outcomes.values()].reduce((sum, outcome) => sum + (outcome.status === 'fulfilled' ? outcome.value : 0), 0);
    expect(counted).toBe(60 - onSilent.length);
    const pings = await fleet.byServer.ping({ timeout: 300 });
    expect([...pings.values()].map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await fleet.isAlive({ timeout: 300 })).toBe(false);
  });
});

describe('ZCachedFleet: ejection', () => {
  it('ejects a server that goes away, fails its keys fast, keeps the others, and takes it back when it returns', async () => {
    const list = await servers(3);
    const fleet = fleetOver(list, { retryTimeout: 100 });
    const events = track(fleet);
    await fleet.run();
    const names = keys(60);
    await fleet.mset(names.map((key) => [key, `v:${key}`] as const));
    const gone = idOf(list[1]!);
    const onGone = names.filter((key) => fleet.serverFor(key) === gone);
    const elsewhere = names.filter((key) => fleet.serverFor(key) !== gone);

    await list[1]!.close();
    // The broken connections count as failures; requests for its keys help.
    await until(() => {
      void fleet.get(onGone[0]!).catch(() => undefined);
      return fleet.state.servers.some((server) => server.id === gone && server.health !== 'up');
    });
    const ejected = events.find((event) => event.type === 'serverEjected');
    expect(ejected).toMatchObject({ type: 'serverEjected', server: gone, failures: 2 });

    const failing = fleet.get(onGone[1]!);
    await expect(failing).rejects.toBeInstanceOf(ServerEjectedError);
    await expect(failing).rejects.toMatchObject({ code: 'EEJECTED', server: gone, name: 'ServerEjectedError' });
    for (const key of elsewhere.slice(0, 10)) expect(await fleet.get(key)).toBe(`v:${key}`);
    const partial = (await fleet.mget(...names).catch((error: unknown) => error)) as PartialFailureError;
    expect(partial).toBeInstanceOf(PartialFailureError);
    expect(partial.failures.get(gone)?.error).toBeInstanceOf(ServerEjectedError);
    expect(partial.failedKeys).toEqual(onGone);

    list[1] = await restart(list[1]!);
    await until(() => events.some((event) => event.type === 'serverReturned' && event.server === gone));
    for (const key of onGone.slice(0, 5)) expect(await fleet.get(key)).toBe(`v:${key}`);
    expect(await fleet.dbsize()).toBe(60);
  });

  it('ejects a server that refuses connections, and takes it back when it accepts them again', async () => {
    const list = await servers(2);
    const fleet = fleetOver(list, { retryTimeout: 100 });
    const events = track(fleet);
    await fleet.run();
    const refusing = list[0]!;
    refusing.refuseConnections(true);
    refusing.dropConnections();
    await until(() => events.some((event) => event.type === 'serverEjected' && event.server === idOf(refusing)));
    await until(() => events.some((event) => event.type === 'probeFailed'));
    refusing.refuseConnections(false);
    await until(() => events.some((event) => event.type === 'serverReturned' && event.server === idOf(refusing)));
    expect(await fleet.ping()).toBe('PONG');
  });

  it("with failover 'rehash', sends an ejected server's keys to their next server; its old data comes back stale unless flushOnReturn", async () => {
    for (const flushOnReturn of [false, true]) {
      const list = await servers(3);
      const fleet = fleetOver(list, { failover: 'rehash', retryTimeout: 100, flushOnReturn });
      const events = track(fleet);
      await fleet.run();
      const ids = list.map((server) => ({ id: idOf(server) }));
      const key = keys(50).find((name) => placement(name, ids)?.id === idOf(list[1]!))!;
      await fleet.set(key, 'old');
      await list[1]!.close();
      await until(() => {
        void fleet.get(key).catch(() => undefined);
        return fleet.serverFor(key) !== idOf(list[1]!);
      });
      expect(fleet.serverFor(key)).toBe(rankServers(key, ids)[1]!.id);
      expect(await fleet.get(key)).toBeUndefined(); // a miss on the next server
      await fleet.set(key, 'new');
      expect(await fleet.get(key)).toBe('new');

      list[1] = await restart(list[1]!);
      await until(() => events.some((event) => event.type === 'serverReturned'));
      // Back on its own server: the value written before the ejection (stale), or nothing after a flush.
      expect(await fleet.get(key)).toBe(flushOnReturn ? undefined : 'old');
      await fleet.close();
    }
  });

  it('settles every request exactly once, with its own reply, while a server dies under load', async () => {
    const list = await servers(3);
    const fleet = fleetOver(list, { retryTimeout: 60_000 });
    track(fleet);
    await fleet.run();
    const names = keys(120);
    let settledTwice = false;
    const requests = names.map((key, index) => {
      let settled = 0;
      const request = (index % 2 === 0 ? fleet.set(key, `v:${key}`).then(() => fleet.get(key)) : fleet.get(key)).then(
        (value) => ({ key, value }),
        (error: unknown) => ({ key, error }),
      );
      return request.finally(() => {
        settled++;
        if (settled > 1) settledTwice = true;
      });
    });
    await list[2]!.close();
    const outcomes = await Promise.all(requests);
    expect(settledTwice).toBe(false);
    for (const outcome of outcomes) {
      if ('error' in outcome) expect(outcome.error).toBeInstanceOf(ZCachedError);
      else expect([undefined, `v:${outcome.key}`]).toContain(outcome.value);
    }
  });
});

describe('ZCachedFleet: membership at run time', () => {
  it('addServer moves keys only to the new server, removeServer only its keys, setWeight only to or from it', async () => {
    const list = await servers(4);
    const fleet = fleetOver(list.slice(0, 3));
    const events = track(fleet);
    await fleet.run();
    const names = keys(300);
    const before = new Map(names.map((key) => [key, fleet.serverFor(key)] as const));
    const added = idOf(list[3]!);
    await fleet.addServer({ host: list[3]!.host, port: list[3]!.port, weight: 1 });
    expect(events.at(-1)).toEqual({ type: 'serverAdded', server: added, weight: 1 });
    expect(fleet.servers.find((server) => server.id === added)?.pool.isWorking()).toBe(true);
    let moved = 0;
    for (const key of names) {
      if (fleet.serverFor(key) === before.get(key)) continue;
      expect(fleet.serverFor(key)).toBe(added);
      moved++;
    }
    expect(moved).toBeGreaterThan(30); // about a quarter of 300
    await expect(fleet.addServer(`zcached://${list[3]!.host}:${list[3]!.port}`)).rejects.toThrow(RangeError);

    const heavier = new Map(names.map((key) => [key, fleet.serverFor(key)] as const));
    fleet.setWeight(added, 3);
    for (const key of names) if (fleet.serverFor(key) !== heavier.get(key)) expect(fleet.serverFor(key)).toBe(added);
    expect(() => fleet.setWeight(added, 0)).toThrow(RangeError);
    expect(() => fleet.setWeight('nobody:1', 2)).toThrow(RangeError);

    await fleet.removeServer(added);
    expect(events.at(-1)).toEqual({ type: 'serverRemoved', server: added });
    for (const key of names) expect(fleet.serverFor(key)).toBe(before.get(key));
    await expect(fleet.removeServer(added)).rejects.toThrow(RangeError);
  });

  it('publishes its events on the zcached:fleet diagnostics channel', async () => {
    const list = await servers(1);
    const fleet = fleetOver([]);
    track(fleet);
    const published: unknown[] = [];
    const listener = (message: unknown): void => {
      published.push(message);
    };
    subscribe(FLEET_CHANNEL, listener);
    cleanup.push(async () => unsubscribe(FLEET_CHANNEL, listener));
    await fleet.addServer({ host: list[0]!.host, port: list[0]!.port, id: 'cache-a' });
    expect(published).toEqual([{ fleet, event: { type: 'serverAdded', server: 'cache-a', weight: 1 } }]);
  });
});

describe('ZCachedFleet: arguments, empty fleets, close', () => {
  it('throws argument errors synchronously, naming the caller argument, even for keys of an ejected server', async () => {
    const list = await servers(3);
    const fleet = fleetOver(list, { retryTimeout: 60_000 });
    track(fleet);
    await fleet.run();
    const names = keys(30);
    const entries: [string, string][] = names.map((key) => [key, 'ok']);
    entries[2] = [names[2]!, 'line\nfeed'];
    const before = list.reduce((sum, server) => sum + server.stats.requests, 0);
    expect(() => fleet.mset(entries)).toThrow(DialectError);
    expect(() => fleet.mset(entries)).toThrow(expect.objectContaining({ path: 'mset entry 3 value' }));
    expect(() => fleet.mget('a', '', 'b')).toThrow(expect.objectContaining({ path: 'mget key #2' }));
    // One server's part only (same hash tag): the client's own check throws, just as synchronously.
    expect(() => fleet.mget('{t}a', '{t}b\nc')).toThrow(expect.objectContaining({ path: 'mget key #2' }));
    expect(() => fleet.mset([['{t}a', 1], ['{t}b', 'x\ny']])).toThrow(expect.objectContaining({ path: 'mset entry 2 value' }));
    expect(() => fleet.get(42 as unknown as string)).toThrow(TypeError);
    expect(list.reduce((sum, server) => sum + server.stats.requests, 0)).toBe(before); // nothing was sent

    await list[0]!.close();
    const down = idOf(list[0]!);
    await until(() => {
      void fleet.ping().catch(() => undefined);
      return fleet.state.servers.some((server) => server.id === down && server.health !== 'up');
    });
    const key = names.find((name) => fleet.serverFor(name) === down)!;
    expect(() => fleet.set(key, 'bad\nvalue')).toThrow(DialectError);
    const result = await fleet.fp.get(key)();
    expect(E.isLeft(result) && result.left instanceof ServerEjectedError).toBe(true);
    const other = names.find((name) => fleet.serverFor(name) !== down)!;
    expect(await fleet.fp.set(other, 'fp')()).toEqual(E.right('OK'));
    const invalid = await fleet.fp.get(7 as unknown as string)();
    expect(E.isLeft(invalid) && invalid.left.code).toBe('EINVAL');
  });

  it('rejects with NoServerError when there is no server; sendCommand needs a key', async () => {
    const fleet = fleetOver([]);
    track(fleet);
    await fleet.run();
    await expect(fleet.get('k')).rejects.toBeInstanceOf(NoServerError);
    await expect(fleet.dbsize()).rejects.toBeInstanceOf(NoServerError);
    await expect(fleet.mset({ a: 1 })).rejects.toMatchObject({ code: 'ENOSERVER' });
    expect(await fleet.byServer.dbsize()).toEqual(new Map());
    expect(() => fleet.sendCommand(['DBSIZE'])).toThrow(TypeError);
    expect(() => fleet.sendCommand(['MGET', 'a', 'b'])).toThrow(/byServer/);
  });

  it('close() leaves no socket or timer, with a server ejected and a retry armed; afterwards commands fail', async () => {
    const list = await servers(3);
    const baseline = openResources();
    const fleet = fleetOver(list, { retryTimeout: 60_000, poolSize: 3 });
    const events = track(fleet);
    await fleet.run();
    await fleet.mset(keys(30).map((key) => [key, 1] as const));
    await list[2]!.close();
    await until(() => events.some((event) => event.type === 'serverEjected'));
    const pending = fleet.mget(...keys(30)).catch((error: unknown) => error);
    await fleet.close();
    await pending;
    await list[2]!.close();
    await untilResourcesBackTo(baseline - 1); // server 3's listening socket is gone too
    await expect(fleet.get('k')).rejects.toMatchObject({ code: 'ENOSERVER', message: 'the fleet is closed' });
    await expect(fleet.run()).rejects.toMatchObject({ code: 'ECLOSED' });
    await expect(fleet.addServer('zcached://127.0.0.1:1')).rejects.toMatchObject({ code: 'ECLOSED' });
    expect(fleet.close()).toBe(fleet.close());
  });

  it('run() rejects with a ConnectError when not one server can be reached', async () => {
    const server = await startServer({ host: '127.0.0.2' });
    const port = server.port;
    await server.close();
    const fleet = fleetOver([], { servers: [`zcached://127.0.0.2:${port}`] });
    track(fleet);
    await expect(fleet.run()).rejects.toMatchObject({ code: 'ECONNECT' });
  });
});
