/**
 * `ServerEjectedError` says when the ejected server is probed again: in ms
 * from the moment the request was refused (`retryInMs`, in its message
 * too), and as `retryAt` on the fleet's clock. The fleet's clock is
 * simulated here (`now` option), so the figures are exact and no wait
 * depends on the machine's speed.
 */
import { describe, expect, it } from 'vitest';
import { ServerEjectedError, ZCachedFleet, type FleetEvent } from '../../src/fleet/index.js';
import { deferredCleanup, refusedPort, until } from '../support.js';

const cleanup = deferredCleanup();

describe('ServerEjectedError: when the server is probed again', () => {
  it('the message gives the wait in ms; retryAt and retryInMs are properties', () => {
    const error = new ServerEjectedError('10.0.0.1:7556', 61_000, { now: 21_000 });
    expect(error.retryAt).toBe(61_000);
    expect(error.retryInMs).toBe(40_000);
    expect(error.message).toBe('server 10.0.0.1:7556 is ejected after repeated failures; it will be probed again in 40000 ms; nothing was sent');
  });

  it('a probe that is due (the clock passed retryAt) or under way says so', () => {
    const due = new ServerEjectedError('s:1', 1_000, { now: 1_500 });
    expect(due.retryInMs).toBe(0);
    expect(due.message).toContain('its probe is due now');
    const probing = new ServerEjectedError('s:1', undefined, { now: 1_500 });
    expect(probing.retryInMs).toBeUndefined();
    expect(probing.message).toContain('a probe is under way');
    // failover: 'rehash' refuses only when every server is ejected.
    expect(new ServerEjectedError('s:1', 5_000, { now: 1_000, everyServer: true }).message).toBe(
      "every server of the fleet is ejected (the key's server is s:1: it will be probed again in 4000 ms); nothing was sent",
    );
  });

  it('a fleet request for an ejected server: the wait left on the fleet clock, the root cause last', async () => {
    let clock = 1_000;
    const port = await refusedPort();
    const fleet = new ZCachedFleet({
      servers: [`zcached://127.0.0.1:${port}`],
      now: () => clock,
      failureLimit: 1,
      retryTimeout: 60_000,
      connectionAttempts: 1,
      poolSize: 1,
      reconnect: false,
    });
    cleanup.push(() => fleet.close());
    await fleet.run().catch(() => undefined);
    await until(() => fleet.state.servers[0]?.health === 'ejected');
    expect(fleet.state.servers[0]?.retryAt).toBe(61_000);
    clock = 21_000;
    const error = (await fleet.get('k').catch((e: unknown) => e)) as ServerEjectedError;
    expect(error).toBeInstanceOf(ServerEjectedError);
    expect(error.retryAt).toBe(61_000);
    expect(error.retryInMs).toBe(40_000);
    expect(error.message).toMatch(
      new RegExp(`^server 127\\.0\\.0\\.1:${port} is ejected after repeated failures; it will be probed again in 40000 ms; nothing was sent \\(last failure: .*ECONNREFUSED.*\\)$`),
    );
  });

  it('a server fenced by a weight change (too many doubts, replicas 2) is dated on the fleet clock', async () => {
    const fleet = new ZCachedFleet({
      servers: [`zcached://127.0.0.1:${await refusedPort()}`, `zcached://127.0.0.2:${await refusedPort()}`],
      replicas: 2,
      now: () => 50_000,
      retryTimeout: 60_000,
      poolSize: 1,
    });
    cleanup.push(() => fleet.close());
    const events: FleetEvent[] = [];
    fleet.subscribe((event) => events.push(event));
    // Not run: the sweeps the weight changes start cannot end, so each change adds a doubt until one too many fences.
    const [first, second] = fleet.state.servers.map((server) => server.id) as [string, string];
    for (let change = 0; change < 40 && events.every((event) => event.type !== 'serverFenced'); change++) fleet.setWeight(second, change % 2 === 0 ? 2 : 1);
    const fenced = events.find((event) => event.type === 'serverFenced');
    expect(fenced).toMatchObject({ at: 50_000, retryAt: 110_000 });
    const server = fleet.state.servers.find((entry) => entry.health === 'ejected');
    expect(server).toMatchObject({ ejectedAt: 50_000, retryAt: 110_000 });
    expect([first, second]).toContain(server?.id);
  });
});
