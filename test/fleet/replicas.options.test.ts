/**
 * The `replicas` option and replica placement, without sockets: the
 * option's refusals (typed errors naming the option and the value), the
 * options it rules out (`failover`, `flushOnReturn: false`) or needs
 * (`failoverOnMiss`), and `placement(key, servers, { replicas: k })`,
 * `Placement#replicasFor`, `fleet.placement(key)`: k ids, best first, the
 * first k of the rendezvous ranking.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ZCachedFleet } from '../../src/fleet/index.js';
import { resolveFleetOptions } from '../../src/fleet/options.js';
import { MAX_REPLICAS, Placement, placement, rankServers, type PlacementServer } from '../../src/fleet/placement.js';

const SERVERS = ['10.0.0.1:7556', '10.0.0.2:7556', '10.0.0.3:7556', '10.0.0.4:7556'];
const keys = Array.from({ length: 300 }, (_, index) => `user:${index}`);

describe('the replicas option', () => {
  it.each([
    ['0', 0],
    ['1.5', 1.5],
    ['17', 17],
    ['NaN', Number.NaN],
    ['Infinity', Infinity],
    ['-2', -2],
  ])('replicas: %s is a RangeError naming the option, the bounds and the value', (shown, replicas) => {
    expect(() => new ZCachedFleet({ servers: SERVERS, replicas })).toThrow(RangeError);
    expect(() => new ZCachedFleet({ servers: SERVERS, replicas })).toThrow(`replicas must be an integer from 1 to 16, got ${shown}`);
  });

  it.each([
    ["'2'", '2'],
    ['2n', 2n],
  ])('replicas: %s is a TypeError', (_, replicas) => {
    expect(() => new ZCachedFleet({ servers: SERVERS, replicas: replicas as unknown as number })).toThrow(TypeError);
    expect(() => new ZCachedFleet({ servers: SERVERS, replicas: replicas as unknown as number })).toThrow(/^replicas must be a number, got (string|bigint)$/);
  });

  it('takes 1 to 16, an empty fleet too; the fleet and its state say how many', () => {
    for (const replicas of [1, 2, 3, MAX_REPLICAS]) {
      const fleet = new ZCachedFleet({ servers: SERVERS, replicas });
      expect(fleet.replicas).toBe(replicas);
      expect(fleet.state.replicas).toBe(replicas);
    }
    expect(new ZCachedFleet({ servers: [], replicas: 3 }).replicas).toBe(3);
    expect(new ZCachedFleet({ servers: SERVERS }).replicas).toBe(1);
    expect(new ZCachedFleet({ servers: SERVERS, replicas: undefined } as never).replicas).toBe(1);
  });

  it.each(['fail-fast', 'rehash'] as const)("failover: '%s' with replicas: 2 is a RangeError that says why", (failover) => {
    expect(() => new ZCachedFleet({ servers: SERVERS, replicas: 2, failover })).toThrow(RangeError);
    expect(() => new ZCachedFleet({ servers: SERVERS, replicas: 2, failover })).toThrow(
      'failover applies to replicas: 1; with replicas: 2 reads fail over between a key\'s replicas (leave failover out)',
    );
  });

  it('flushOnReturn: false with replicas: 3 is a RangeError; true is taken, and is the default', () => {
    expect(() => new ZCachedFleet({ servers: SERVERS, replicas: 3, flushOnReturn: false })).toThrow(RangeError);
    expect(() => new ZCachedFleet({ servers: SERVERS, replicas: 3, flushOnReturn: false })).toThrow(/^flushOnReturn cannot be false with replicas: 3: /);
    expect(resolveFleetOptions({ servers: SERVERS, replicas: 3, flushOnReturn: true }).flushOnReturn).toBe(true);
    expect(resolveFleetOptions({ servers: SERVERS, replicas: 3 }).flushOnReturn).toBe(true);
  });

  it('failoverOnMiss with replicas: 1 (given or by default) is a RangeError, true or false; not a boolean is a TypeError', () => {
    for (const failoverOnMiss of [true, false]) {
      expect(() => new ZCachedFleet({ servers: SERVERS, failoverOnMiss })).toThrow(RangeError);
      expect(() => new ZCachedFleet({ servers: SERVERS, replicas: 1, failoverOnMiss })).toThrow(
        'failoverOnMiss applies to replicas > 1 (with replicas: 1 a key has no other copy to try)',
      );
    }
    expect(() => new ZCachedFleet({ servers: SERVERS, replicas: 2, failoverOnMiss: 'no' as unknown as boolean })).toThrow(new TypeError('failoverOnMiss must be a boolean'));
    expect(resolveFleetOptions({ servers: SERVERS, replicas: 2 }).failoverOnMiss).toBe(true);
    expect(resolveFleetOptions({ servers: SERVERS, replicas: 2, failoverOnMiss: false }).failoverOnMiss).toBe(false);
  });

  it('a typo of replicas is refused, naming it', () => {
    expect(() => new ZCachedFleet({ servers: SERVERS, replica: 2 } as never)).toThrow(TypeError);
    expect(() => new ZCachedFleet({ servers: SERVERS, replica: 2 } as never)).toThrow(/replicas/);
  });

  it('replicas: 1 is the old fleet: flushOnReturn off, fail-fast, placement(key) is [serverFor(key)]', () => {
    const options = resolveFleetOptions({ servers: SERVERS });
    expect(options).toMatchObject({ replicas: 1, flushOnReturn: false, failover: 'fail-fast' });
    for (const failover of ['fail-fast', 'rehash'] as const) {
      const fleet = new ZCachedFleet({ servers: SERVERS, failover, replicas: 1 });
      for (const key of keys) expect(fleet.placement(key)).toEqual([fleet.serverFor(key)]);
      // Today's placement: the best of the whole ranking.
      for (const key of keys) expect(fleet.serverFor(key)).toBe(rankServers(key, SERVERS.map((id) => ({ id })))[0]!.id);
    }
    expect(new ZCachedFleet({ servers: [] }).placement('k')).toEqual([]);
  });
});

describe('placement(key, servers, { replicas: k })', () => {
  const weighted = fc.uniqueArray(fc.record({ id: fc.string({ minLength: 1, maxLength: 10 }), weight: fc.double({ min: 0.1, max: 10, noNaN: true }) }), {
    minLength: 1,
    maxLength: 20,
    selector: (server) => server.id,
  });

  it('is the first k of the ranking, best first, k distinct ids (all of them when k is more), the first being placement()', () => {
    fc.assert(
      fc.property(weighted, fc.string({ maxLength: 20 }), fc.integer({ min: 1, max: MAX_REPLICAS }), fc.boolean(), (servers, key, k, hashTags) => {
        const replicas = placement(key, servers, { replicas: k, hashTags });
        const ranked = rankServers(key, servers, { hashTags });
        expect(replicas).toEqual(ranked.slice(0, k));
        expect(replicas).toHaveLength(Math.min(k, servers.length));
        expect(new Set(replicas.map((server) => server.id)).size).toBe(replicas.length);
        expect(replicas[0]).toBe(placement(key, servers, { hashTags }));
        const table = new Placement(servers, { hashTags });
        expect(table.replicasFor(key, k)).toEqual(replicas);
        for (const server of servers) expect(table.holds(key, k, server.id)).toBe(replicas.includes(server));
      }),
      { numRuns: 300 },
    );
  });

  it('an ejected server (left out of the list) is replaced by the next of the ranking', () => {
    const servers: PlacementServer[] = Array.from({ length: 6 }, (_, index) => ({ id: `s${index}`, weight: 1 + (index % 3) }));
    for (const key of keys) {
      const ranked = rankServers(key, servers);
      const out = ranked[0]!;
      const left = servers.filter((server) => server !== out);
      expect(placement(key, left, { replicas: 3 })).toEqual(ranked.slice(1, 4));
    }
  });

  it('hash tags: keys of one tag have the same replicas, in the same order', () => {
    const servers = Array.from({ length: 8 }, (_, index) => ({ id: `s${index}` }));
    for (let tag = 0; tag < 50; tag++) expect(placement(`{t${tag}}:a`, servers, { replicas: 3 })).toEqual(placement(`{t${tag}}:b`, servers, { replicas: 3 }));
  });

  it('an empty list gives no replica', () => {
    expect(placement('k', [], { replicas: 2 })).toEqual([]);
    expect(new Placement([]).replicasFor('k', 2)).toEqual([]);
  });

  it.each([0, 1.5, 17, Number.NaN, -1])('replicas: %s is a RangeError', (replicas) => {
    expect(() => placement('k', SERVERS.map((id) => ({ id })), { replicas })).toThrow(RangeError);
  });

  it("replicas: '2' is a TypeError", () => {
    expect(() => placement('k', SERVERS.map((id) => ({ id })), { replicas: '2' as unknown as number })).toThrow(TypeError);
  });
});

describe('Placement#replicasFor and #holds (public): k is checked as placement() checks it', () => {
  const many = new Placement(Array.from({ length: 30 }, (_, index) => ({ id: `s${index}` })));

  it.each([0, 2.5, 17, 20, Number.NaN, -1])('replicasFor(key, %s) is a RangeError, not a wrong list', (k) => {
    expect(() => many.replicasFor('k', k)).toThrow(RangeError);
    expect(() => many.holds('k', k, 's1')).toThrow(RangeError);
  });

  it('replicasFor(key, 16) over 30 servers is the first 16 of the ranking (no hole)', () => {
    for (const key of keys.slice(0, 50)) expect(many.replicasFor(key, 16)).toEqual(many.rank(key).slice(0, 16));
  });
});
