/**
 * Warm-up against a placement change (`replicas: 2`, embedded servers): a
 * server S that returned is warmed up from a peer P in batches; when,
 * while a batch is in flight, another server joins and takes P's place
 * among a key's replicas, and the key is written (to S and the newcomer,
 * not to P), the next batch must not copy P's old value of that key to S:
 * S would then serve a value older than the last acknowledged write.
 *
 * P's replies are delayed so that the batches are seconds apart; the
 * join and the write happen within that window. Should the machine be so
 * slow that they do not, the write lands after the copy was read and the
 * guard skips it: the test can pass without showing anything, never fail
 * without a bug.
 */
import { expect, it } from 'vitest';
import { rankServers, type FleetEvent } from '../../src/fleet/index.js';
import { deferredCleanup, until, watchUnhandledRejections } from '../support.js';
import { fleetOver, idOf, startServers } from './fleet-support.js';

const cleanup = deferredCleanup();
const unhandled = watchUnhandledRejections();

/** P's reply delay: the gap between two warm-up batches read from it. */
const GAP = 2_000;

it("warm-up never copies to a server a peer's copy of a key the peer stopped being a replica of", async () => {
  const all = await startServers(4);
  cleanup.push(() => Promise.all(all.map((server) => server.close())));
  const [s, p, q, j] = all as [(typeof all)[0], (typeof all)[0], (typeof all)[0], (typeof all)[0]];
  const ids = { s: idOf(s), p: idOf(p), q: idOf(q), j: idOf(j) };
  const withJ = [ids.s, ids.p, ids.q, ids.j].map((id) => ({ id }));
  const withoutJ = withJ.slice(0, 3);
  const top = (key: string, servers: { id: string }[], count: number): string[] => rankServers(key, servers).slice(0, count).map((server) => server.id);
  // K: S first, then J, then P. Fillers: on S and P; more than a warm-up batch (256) of them, written before K.
  let key = '';
  for (let index = 0; key === ''; index++) if (top(`k${index}`, withJ, 3).join() === [ids.s, ids.j, ids.p].join()) key = `k${index}`;
  const fillers: string[] = [];
  for (let index = 0; fillers.length < 300; index++) if (top(`f${index}`, withoutJ, 2).sort().join() === [ids.s, ids.p].sort().join()) fillers.push(`f${index}`);

  const fleet = fleetOver([s, p, q], { replicas: 2, failureLimit: 1, retryTimeout: 50 });
  cleanup.push(() => fleet.close());
  const events: FleetEvent[] = [];
  fleet.subscribe((event) => events.push(event));
  await fleet.run();
  await fleet.mset(fillers.map((filler) => [filler, 'f'] as const));
  await fleet.set(key, 'old');
  expect(p.store.keys().at(-1)).toBe(key);

  // S goes out (connections refused), and comes back: flushed, then warmed up from P and Q.
  s.refuseConnections(true);
  s.dropConnections();
  await until(() => fleet.state.servers.find((server) => server.id === ids.s)!.health !== 'up', 15_000);
  await fleet.byServer.ping().catch(() => undefined);
  p.delayReplies(GAP);
  const before = p.stats.requests;
  s.refuseConnections(false);
  await until(() => events.some((event) => event.type === 'serverReturned' && event.server === ids.s), 15_000);
  // P gets its sweep's KEYS and the warm-up's KEYS, then (a GAP later) the first batch's MGET: the window is open.
  await until(() => p.stats.requests >= before + 3, 15_000);
  await fleet.addServer(`zcached://${ids.j}`);
  expect(fleet.placement(key)).toEqual([ids.s, ids.j]);
  expect(await fleet.set(key, 'new')).toBe('OK');
  await until(() => events.some((event) => event.type === 'serverWarmed' && event.server === ids.s), 30_000);
  p.delayReplies(0);
  await until(() => fleet.state.servers.every((server) => server.health === 'up' && server.doubts.length === 0 && server.warming === undefined), 30_000);

  expect(await fleet.get(key)).toBe('new');
  const onS = s.store.get(key);
  expect(onS === undefined ? undefined : onS.type === 'bulk' ? onS.value.toString('utf8') : onS).not.toBe('old');
  expect(unhandled).toEqual([]);
}, 60_000);
