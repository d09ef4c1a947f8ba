/**
 * Doubts over real sockets (`replicas: 2`, three embedded servers): a key
 * whose placement moves off a server that stays up, then back onto it
 * before that server's sweep ends (another server leaves in the same turn).
 *
 * - No write of the key began in between: the server's copy is the key's
 *   current value. It must be served (its other replica never had it), and
 *   the sweep must keep it: deleting it would lose an acknowledged write
 *   from a live replica. (Found by the replicas model test: the server was
 *   not trusted for the key until its sweep ended, then the sweep deleted
 *   the only copy.)
 * - A write of the key began in between and did not reach it: its copy is
 *   old and must never be served.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Placement, ZCachedFleet } from '../../src/fleet/index.js';
import type { ZCachedServer } from '../../src/testing/index.js';
import { until } from '../support.js';
import { QUICK, startServers } from './fleet-support.js';

const IDS = ['s1', 's2', 's3'];
const LOW = 0.25;

/** A key on s2 + s3 at equal weights, on s3 + s1 once s2's weight is {@link LOW}. */
function movingKey(): string {
  const even = new Placement(IDS.map((id) => ({ id })));
  const lowered = new Placement(IDS.map((id) => ({ id, weight: id === 's2' ? LOW : 1 })));
  for (let index = 0; ; index++) {
    const key = `key:${index}`;
    const ids = (placement: Placement): string => placement.replicasFor(key, 2).map((server) => server.id).sort().join();
    if (ids(even) === 's2,s3' && ids(lowered) === 's1,s3') return key;
  }
}

let servers: ZCachedServer[] = [];
let fleet: ZCachedFleet | undefined;

afterEach(async () => {
  await fleet?.close();
  await Promise.all(servers.map((server) => server.close()));
  fleet = undefined;
  servers = [];
});

async function start(): Promise<{ fleet: ZCachedFleet; key: string }> {
  servers = await startServers(3);
  fleet = new ZCachedFleet({ ...QUICK, servers: servers.map((server, index) => ({ host: server.host, port: server.port, id: IDS[index]! })), replicas: 2 });
  await fleet.run();
  return { fleet, key: movingKey() };
}

describe('a key that moves off a server and back before its sweep ends', () => {
  it('is served from that server while no write of the key began since, and its sweep keeps the copy', async () => {
    const { fleet, key } = await start();
    await fleet.set(key, 'v1');
    expect(fleet.placement(key).sort()).toEqual(['s2', 's3']);
    fleet.setWeight('s2', LOW); // the key moves off s2 (to s3 + s1): s2 is doubted, its sweep starts
    const removed = fleet.removeServer('s3'); // same turn: the key is back on s1 + s2, and s1 never had it
    expect(fleet.placement(key).sort()).toEqual(['s1', 's2']);
    expect(await fleet.get(key)).toBe('v1');
    await removed;
    await until(() => fleet.state.servers.every((server) => server.doubts.length === 0 && server.sweep === undefined));
    expect(servers[1]!.store.has(key)).toBe(true);
    expect(await fleet.get(key)).toBe('v1');
  });

  it('is never served from that server once a write of the key began since', async () => {
    const { fleet, key } = await start();
    await fleet.set(key, 'v1');
    fleet.setWeight('s2', LOW);
    await fleet.set(key, 'v2'); // to s3 + s1: s2 keeps v1
    const removed = fleet.removeServer('s3');
    servers[0]!.store.clear(); // s1 loses its copy: s2's old one is all that is left
    expect(await fleet.get(key)).toBeUndefined();
    await removed;
    await until(() => fleet.state.servers.every((server) => server.doubts.length === 0 && server.sweep === undefined));
    expect(servers[1]!.store.has(key)).toBe(false);
    expect(await fleet.get(key)).toBeUndefined();
  });
});
