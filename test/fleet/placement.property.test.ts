/**
 * Properties of the pure placement function (weighted rendezvous hashing
 * on XXH64 with hash tags): determinism, minimal movement on add, remove
 * and weight changes, balance and weight proportionality (statistical
 * bounds on fixed key sets, so the outcome never varies from run to run),
 * hash tags, the failover order, and the replicas of a key (the top k of
 * its ranking).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashTagOf, keyHash, MAX_REPLICAS, Placement, placement, rankServers, type PlacementServer } from '../../src/fleet/placement.js';
import { xxhash64 } from '../../src/fleet/xxhash64.js';

const ids = (count: number, prefix = '10.0.0.'): PlacementServer[] => Array.from({ length: count }, (_, i) => ({ id: `${prefix}${i + 1}:7556` }));
/** A fixed key set: the same keys on every run. */
const fixedKeys = (count: number): string[] => Array.from({ length: count }, (_, i) => `user:${i}:${(i * 2654435761) % 1000003}`);

const serverSet = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 12 }).map((names) => names.map((id) => ({ id })));
const weightedSet = fc
  .uniqueArray(fc.record({ id: fc.string({ minLength: 1, maxLength: 12 }), weight: fc.double({ min: 0.1, max: 10, noNaN: true }) }), {
    minLength: 1,
    maxLength: 10,
    selector: (server) => server.id,
  });
const keyArb = fc.string({ maxLength: 30 });
const keysArb = fc.array(keyArb, { minLength: 1, maxLength: 40 });

function counts(table: Placement, keys: readonly string[]): Map<string, number> {
  const result = new Map(table.servers.map((server) => [server.id, 0]));
  for (const key of keys) {
    const id = table.serverFor(key)!.id;
    result.set(id, result.get(id)! + 1);
  }
  return result;
}

describe('placement: determinism', () => {
  it('depends only on the key and the set of (id, weight) pairs, not on their order', () => {
    fc.assert(
      fc.property(weightedSet, keysArb, fc.nat(), (servers, keys, seed) => {
        const shuffled = [...servers].reverse();
        shuffled.push(...shuffled.splice(0, seed % shuffled.length));
        const a = new Placement(servers);
        const b = new Placement(shuffled);
        for (const key of keys) expect(b.serverFor(key)!.id).toBe(a.serverFor(key)!.id);
      }),
      { numRuns: 200 },
    );
  });

  it('placement() is the first server of rankServers(), and every server is ranked once', () => {
    fc.assert(
      fc.property(weightedSet, keyArb, (servers, key) => {
        const ranked = rankServers(key, servers);
        expect(ranked[0]).toBe(placement(key, servers));
        expect(new Set(ranked.map((server) => server.id))).toEqual(new Set(servers.map((server) => server.id)));
      }),
      { numRuns: 200 },
    );
  });

  it('without its winner, a key goes to the second of its ranking (the failover order)', () => {
    fc.assert(
      fc.property(weightedSet.filter((servers) => servers.length >= 2), keyArb, (servers, key) => {
        const [first, second] = rankServers(key, servers);
        expect(placement(key, servers.filter((server) => server !== first))).toBe(second);
      }),
      { numRuns: 200 },
    );
  });

  it('no server gives undefined; one server takes every key', () => {
    expect(placement('k', [])).toBeUndefined();
    expect(new Placement([]).indexFor('k')).toBe(-1);
    expect(placement('anything', [{ id: 'only' }])?.id).toBe('only');
  });

  it('refuses duplicate ids and weights that are not finite and positive', () => {
    expect(() => new Placement([{ id: 'a' }, { id: 'a' }])).toThrow(RangeError);
    for (const weight of [0, -1, Number.NaN, Infinity]) expect(() => new Placement([{ id: 'a', weight }])).toThrow(RangeError);
    expect(() => new Placement([{ id: 'a', weight: '2' as unknown as number }])).toThrow(TypeError);
  });
});

describe('placement: replicas (the top k of the ranking)', () => {
  /**
   * Up to 24 servers with equal weights, weights from {1, 2, 3} (a few weight
   * classes of several servers each) or any weights (mostly one server per class).
   */
  const replicaSet = fc
    .tuple(
      fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 24 }),
      fc.constantFrom('equal', 'classes', 'any'),
      fc.array(fc.double({ min: 0.1, max: 10, noNaN: true }), { minLength: 24, maxLength: 24 }),
    )
    .map(([names, kind, weights]) =>
      names.map((id, i): PlacementServer => (kind === 'equal' ? { id } : { id, weight: kind === 'classes' ? 1 + (Math.floor(weights[i]! * 7) % 3) : weights[i]! })),
    );
  const replicaKey = fc.oneof(keyArb, fc.tuple(fc.string({ minLength: 1, maxLength: 6 }), keyArb).map(([tag, rest]) => `{${tag}}${rest}`));
  const ks = fc.integer({ min: 1, max: MAX_REPLICAS });

  it('replicasFor(key, k) is rank(key).slice(0, k), for any servers, weights, keys and k', () => {
    fc.assert(
      fc.property(replicaSet, fc.array(replicaKey, { minLength: 1, maxLength: 20 }), ks, (servers, keys, k) => {
        const table = new Placement(servers);
        for (const key of keys) {
          const replicas = table.replicasFor(key, k);
          expect(replicas).toEqual(table.rank(key).slice(0, k));
          // The same objects, in the same order: the first is serverFor().
          replicas.forEach((server, at) => expect(server).toBe(table.rank(key)[at]));
          expect(replicas[0]).toBe(table.serverFor(key));
          expect(placement(key, servers, { replicas: k })).toEqual(replicas);
          for (const server of servers) expect(table.holds(key, k, server.id)).toBe(replicas.includes(server));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('more than MAX_REPLICAS, or a k that is not a whole number: a RangeError, as placement() gives', () => {
    const table = new Placement(ids(30));
    for (const k of [17, 20, 2.5, 0, Number.NaN]) expect(() => table.replicasFor('k', k)).toThrow(RangeError);
  });

  it('no server: no replica', () => {
    expect(new Placement([]).replicasFor('k', 2)).toEqual([]);
    expect(placement('k', [], { replicas: 3 })).toEqual([]);
  });
});

describe('placement: minimal movement', () => {
  it('adding a server moves keys only to it', () => {
    fc.assert(
      fc.property(weightedSet, fc.record({ id: fc.string({ minLength: 13, maxLength: 20 }), weight: fc.double({ min: 0.1, max: 10, noNaN: true }) }), keysArb, (servers, added, keys) => {
        const before = new Placement(servers);
        const after = new Placement([...servers, added]);
        for (const key of keys) {
          const to = after.serverFor(key)!;
          if (to !== added) expect(to).toBe(before.serverFor(key));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('removing a server moves only its own keys', () => {
    fc.assert(
      fc.property(weightedSet.filter((servers) => servers.length >= 2), fc.nat(), keysArb, (servers, pick, keys) => {
        const removed = servers[pick % servers.length]!;
        const before = new Placement(servers);
        const after = new Placement(servers.filter((server) => server !== removed));
        for (const key of keys) {
          const from = before.serverFor(key)!;
          if (from !== removed) expect(after.serverFor(key)).toBe(from);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('raising a weight moves keys only to that server; lowering it, only away from it', () => {
    fc.assert(
      fc.property(weightedSet.filter((servers) => servers.length >= 2), fc.nat(), fc.double({ min: 1.01, max: 8, noNaN: true }), keysArb, (servers, pick, factor, keys) => {
        const index = pick % servers.length;
        const changed = servers[index]!;
        const heavier = servers.with(index, { ...changed, weight: (changed.weight ?? 1) * factor });
        const before = new Placement(servers);
        const after = new Placement(heavier);
        for (const key of keys) {
          const from = before.serverFor(key)!.id;
          const to = after.serverFor(key)!.id;
          if (from !== to) expect(to).toBe(changed.id); // raising: only towards it
        }
        // Lowering is the same change seen backwards: keys only leave it.
        for (const key of keys) {
          const from = after.serverFor(key)!.id;
          const to = before.serverFor(key)!.id;
          if (from !== to) expect(from).toBe(changed.id);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('on a fixed set of 20,000 keys, an 11th server takes about 1/11 of them and no key moves between the first ten', () => {
    const keys = fixedKeys(20_000);
    const ten = new Placement(ids(10));
    const eleven = new Placement([...ids(10), { id: '10.0.0.11:7556' }]);
    let moved = 0;
    for (const key of keys) {
      const to = eleven.serverFor(key)!;
      if (to.id === ten.serverFor(key)!.id) continue;
      expect(to.id).toBe('10.0.0.11:7556');
      moved++;
    }
    // Binomial(20000, 1/11): mean 1818, standard deviation 41; the bound is over 4 deviations wide.
    expect(Math.abs(moved / keys.length - 1 / 11)).toBeLessThan(0.01);
  });
});

describe('placement: balance and weights (fixed key sets)', () => {
  it("a removed server's keys spread evenly over the other nine (the failover order is fair)", () => {
    const ten = ids(10);
    const before = new Placement(ten);
    const gone = ten[4]!;
    const after = new Placement(ten.filter((server) => server !== gone));
    const heirs = new Map<string, number>();
    let own = 0;
    for (const key of fixedKeys(90_000)) {
      if (before.serverFor(key) !== gone) continue;
      own++;
      const heir = after.serverFor(key)!.id;
      heirs.set(heir, (heirs.get(heir) ?? 0) + 1);
    }
    // About 9,000 keys over 9 heirs: ~1,000 each (sd ~31); every heir within 15 %.
    expect(heirs.size).toBe(9);
    for (const count of heirs.values()) expect(Math.abs(count / (own / 9) - 1)).toBeLessThan(0.15);
  });

  it('10 equal servers: the busiest holds at most 1.04 x the mean of 50,000 keys', () => {
    const loads = [...counts(new Placement(ids(10)), fixedKeys(50_000)).values()];
    // Binomial(50000, 0.1): sd 67 on a mean of 5000 (1.3 %); the max of 10 stays within ~3 sd.
    expect(Math.max(...loads) / 5000).toBeLessThanOrEqual(1.04);
    expect(Math.min(...loads) / 5000).toBeGreaterThanOrEqual(0.96);
  });

  it('weights 1:2:3 give shares within 2 % of 1/6, 2/6, 3/6 (60,000 keys)', () => {
    const servers = [
      { id: 'a', weight: 1 },
      { id: 'b', weight: 2 },
      { id: 'c', weight: 3 },
    ];
    const loads = counts(new Placement(servers), fixedKeys(60_000));
    for (const server of servers) {
      const share = loads.get(server.id)! / 60_000;
      expect(Math.abs(share / (server.weight / 6) - 1)).toBeLessThan(0.02);
    }
  });

  it('the key hash is XXH64 of the UTF-8 bytes of the key (or of its tag)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 20 }), (key) => {
        expect(keyHash(key, { hashTags: false })).toBe(xxhash64(key));
        expect(keyHash(key)).toBe(xxhash64(hashTagOf(key)));
      }),
      { numRuns: 300 },
    );
    // Long and non-ASCII keys take the other encoding paths.
    const long = 'é'.repeat(70_000);
    expect(keyHash(long)).toBe(xxhash64(long));
  });
});

describe('placement: hash tags (the Redis Cluster rule)', () => {
  const tag = fc.string({ minLength: 1, maxLength: 10 }).filter((text) => !text.includes('}'));

  it('keys with the same non-empty {tag} land on the same server, whatever surrounds it', () => {
    fc.assert(
      fc.property(serverSet, tag, fc.string({ maxLength: 10 }).filter((text) => !text.includes('{')), fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }), (servers, t, prefix, a, b) => {
        expect(placement(`${prefix}{${t}}${a}`, servers)).toBe(placement(`${prefix}{${t}}${b}`, servers));
        expect(hashTagOf(`${prefix}{${t}}${a}`)).toBe(t);
      }),
      { numRuns: 200 },
    );
    const ten = ids(10);
    expect(placement('{user42}:profile', ten)).toBe(placement('{user42}:cart', ten));
  });

  it('follows the rule exactly: first {, first } after it, non-empty between; otherwise the whole key', () => {
    expect(hashTagOf('{user42}:profile')).toBe('user42');
    expect(hashTagOf('a{b}{c}')).toBe('b');
    expect(hashTagOf('a{{b}}')).toBe('{b');
    expect(hashTagOf('{}user42')).toBe('{}user42');
    expect(hashTagOf('}{x')).toBe('}{x');
    expect(hashTagOf('no-tag')).toBe('no-tag');
    expect(hashTagOf('{a}', false)).toBe('{a}');
  });

  it('can be turned off', () => {
    const servers = ids(20);
    const spread = new Set(Array.from({ length: 50 }, (_, i) => placement(`{same}:${i}`, servers, { hashTags: false })!.id));
    expect(spread.size).toBeGreaterThan(1);
  });
});
