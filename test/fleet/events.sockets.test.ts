/**
 * `ZCachedFleet` is an `EventEmitter` as `ZCached` is: `on`, `once`, `off`
 * with typed events. The fleet's own events (`serverEjected`, ...) come one
 * by one under their type, and `ZCached`'s connection events (`connect`,
 * `ready`, `reconnecting`, `end`, `error`) come over every server, each
 * naming its server. Embedded servers on loopback addresses and a refused
 * port; waits poll with generous bounds.
 */
import { describe, expect, it } from 'vitest';
import { ConnectError, ZCachedError } from '../../src/errors.js';
import { ZCachedFleet, type FleetEvent, type ZCachedFleetEvents } from '../../src/fleet/index.js';
import type { ZCachedServer } from '../../src/testing/index.js';
import { deferredCleanup, refusedPort, sleep, until, watchUnhandledRejections } from '../support.js';
import { idOf, QUICK, restart, startServers } from './fleet-support.js';

const cleanup = deferredCleanup();
const unhandled = watchUnhandledRejections();

const NAMES: readonly (keyof ZCachedFleetEvents)[] = [
  'serverAdded', 'serverRemoved', 'weightChanged', 'serverEjected', 'probeFailed', 'serverReturned',
  'connect', 'ready', 'reconnecting', 'end', 'error',
];

/** Every event the fleet emits, in order: its name and first argument (and the server of an `error`). */
function record(fleet: ZCachedFleet): { name: string; payload: unknown; server?: string }[] {
  const log: { name: string; payload: unknown; server?: string }[] = [];
  for (const name of NAMES) {
    (fleet.on as (name: string, listener: (...args: unknown[]) => void) => ZCachedFleet)(name, (payload: unknown, server?: unknown) =>
      log.push(server === undefined ? { name, payload } : { name, payload, server: server as string }),
    );
  }
  return log;
}

async function servers(count: number): Promise<ZCachedServer[]> {
  const list = await startServers(count);
  cleanup.push(() => Promise.all(list.map((server) => server.close())));
  return list;
}

describe('ZCachedFleet events: on, once, off', () => {
  it("the fleet's events by type, and every server's connection events naming the server; close() ends with end and nothing after", async () => {
    const [live] = await servers(1);
    const port = await refusedPort();
    const down = `127.0.0.1:${port}`;
    const fleet = new ZCachedFleet({ ...QUICK, failureLimit: 1, retryTimeout: 60_000, servers: [`zcached://${idOf(live!)}`, `zcached://${down}`] });
    cleanup.push(() => fleet.close());
    const log = record(fleet);
    const subscribed: FleetEvent[] = [];
    fleet.subscribe((event) => subscribed.push(event));
    let readyOnce = 0;
    fleet.once('ready', () => readyOnce++);
    const never = (): void => {
      throw new Error('an event after off()');
    };
    fleet.on('connect', never);
    fleet.off('connect', never);
    // Typed payloads: these compile only because the event map types them.
    const ejections: { server: string; retryAt: number; failures: number }[] = [];
    fleet.on('serverEjected', (event) => ejections.push({ server: event.server, retryAt: event.retryAt, failures: event.failures }));
    const errors: [ZCachedError, string][] = [];
    fleet.on('error', (error, server) => errors.push([error, server]));

    await fleet.run();
    await until(() => ejections.length === 1 && errors.length > 0);
    expect(ejections).toEqual([{ server: down, retryAt: expect.any(Number), failures: 1 }]);
    expect(errors[0]![0]).toBeInstanceOf(ConnectError);
    expect(errors.every(([, server]) => server === down)).toBe(true);

    const connects = log.filter((entry) => entry.name === 'connect');
    expect(connects.map((entry) => entry.payload)).toEqual([
      expect.objectContaining({ server: idOf(live!), host: live!.host, port: live!.port, generation: 'etx' }),
      expect.objectContaining({ server: idOf(live!), host: live!.host, port: live!.port, generation: 'etx' }),
    ]);
    expect(log.filter((entry) => entry.name === 'ready').map((entry) => entry.payload)).toEqual([expect.objectContaining({ server: idOf(live!) })]);
    expect(readyOnce).toBe(1);
    const reconnecting = log.filter((entry) => entry.name === 'reconnecting').map((entry) => entry.payload as { server: string; delay: number });
    expect(reconnecting.length).toBeGreaterThan(0);
    expect(reconnecting.every((event) => event.server === down && typeof event.delay === 'number')).toBe(true);
    // The fleet's own events under their type are what subscribe() gets.
    const fleetEvents = log.filter((entry) => ['serverEjected', 'serverReturned', 'probeFailed', 'serverRemoved', 'weightChanged'].includes(entry.name));
    expect(fleetEvents.map((entry) => entry.payload)).toEqual(subscribed);

    fleet.setWeight(down, 2);
    expect(log.at(-1)).toEqual({ name: 'weightChanged', payload: { type: 'weightChanged', server: down, from: 1, to: 2 } });

    await fleet.close();
    // close() ends the fleet's connections: one `end`, the last event (close() reports no serverRemoved).
    expect(log.filter((entry) => entry.name === 'end')).toHaveLength(1);
    expect(log.at(-1)).toEqual({ name: 'end', payload: undefined });
    const settled = log.length;
    await sleep(200); // only a chance for a stray event to show: none may come
    expect(log.length).toBe(settled);
    expect(unhandled).toEqual([]);
  });

  it('ready and end alternate over an outage of the only server', async () => {
    const list = await servers(1);
    const fleet = new ZCachedFleet({ ...QUICK, servers: [`zcached://${idOf(list[0]!)}`] });
    cleanup.push(() => fleet.close());
    const log = record(fleet);
    await fleet.run();
    expect(log.filter((entry) => entry.name === 'ready' || entry.name === 'end').map((entry) => entry.name)).toEqual(['ready']);
    await list[0]!.close();
    await until(() => log.some((entry) => entry.name === 'end'));
    list[0] = await restart(list[0]!);
    await until(() => log.filter((entry) => entry.name === 'ready').length === 2, 15_000);
    expect(log.filter((entry) => entry.name === 'ready' || entry.name === 'end').map((entry) => entry.name)).toEqual(['ready', 'end', 'ready']);
    expect(log.find((entry) => entry.name === 'serverEjected' || entry.name === 'reconnecting')).toMatchObject({ payload: { server: idOf(list[0]!) } });
  });

  it('without an error listener, connection failures emit nothing that could crash the process', async () => {
    const port = await refusedPort();
    const fleet = new ZCachedFleet({ ...QUICK, servers: [`zcached://127.0.0.1:${port}`] });
    cleanup.push(() => fleet.close());
    const reconnecting: unknown[] = [];
    fleet.on('reconnecting', (event) => reconnecting.push(event));
    await expect(fleet.run()).rejects.toBeInstanceOf(ConnectError);
    await until(() => reconnecting.length > 1);
    expect(fleet.listenerCount('error')).toBe(0);
  });
});
