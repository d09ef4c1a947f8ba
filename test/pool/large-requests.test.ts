/**
 * Issue 19: requests over one write (the 'etx' send policy writes them
 * alone, a round trip each) share at most `largeRequestConnections`
 * connections, so that small requests keep the others.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConnectionState } from '../../src/connection/state.js';
import { ConnectionPool } from '../../src/pool/pool.js';
import { forLargeRequest, type LoadedConnection } from '../../src/pool/selectors.js';
import { FakeConnection } from '../../src/testing/fake-connection.js';

interface Entry extends LoadedConnection {
  readonly id: string;
}

const entry = (id: string, pendingRequests: number, blocked = false, state: ConnectionState = 'connected'): Entry => ({
  id,
  state,
  pendingRequests,
  blocked,
});

describe('forLargeRequest', () => {
  it('takes a held connection with nothing pending, wherever the scan starts; an idle one past the limit only with spread', () => {
    for (let start = 0; start < 6; start++) {
      expect(forLargeRequest([entry('a', 5), entry('b', 0, true), entry('c', 0)], start, 1)?.id).toBe('b');
      // At the limit, an idle connection is taken only when no small request is around (spread).
      expect(forLargeRequest([entry('a', 5), entry('b', 2, true), entry('c', 0)], start, 1)?.id).toBe('b');
      // With spread (a bulk load, no small request around): the least loaded, held or not.
      expect(forLargeRequest([entry('a', 5), entry('b', 2, true), entry('c', 0)], start, 1, true)?.id).toBe('c');
      expect(forLargeRequest([entry('a', 5), entry('b', 2, true), entry('c', 3)], start, 1, true)?.id).toBe('b');
      expect(forLargeRequest([entry('a', 1), entry('b', 2, true), entry('c', 3, true)], start, 1, true)?.id).toBe('a');
    }
  });

  it('below the limit holds one more connection, the least loaded; at the limit queues on the held one with the fewest pending', () => {
    const connections = [entry('a', 5), entry('b', 3, true), entry('c', 2), entry('d', 4, true)];
    expect(forLargeRequest(connections, 0, 3)?.id).toBe('c');
    expect(forLargeRequest(connections, 0, 2)?.id).toBe('b');
    expect(forLargeRequest(connections, 0, 1)?.id).toBe('b');
    expect(forLargeRequest(connections, 0, 0)?.id).toBe('b'); // at least one: a limit under 1 counts as 1
    expect(forLargeRequest([entry('a', 5), entry('b', 2)], 0, 1)?.id).toBe('b'); // none held yet: the least loaded
  });

  it('lanes are the first held connections in pool order: held ones past maxHeld get none and go back to small requests', () => {
    const connections = [entry('a', 1), entry('b', 5, true), entry('c', 3, true), entry('d', 0, true)];
    for (let start = 0; start < 4; start++) {
      expect(forLargeRequest(connections, start, 1)?.id).toBe('b'); // not c (fewer pending) nor d (idle): past the limit
      expect(forLargeRequest(connections, start, 2)?.id).toBe('c');
      expect(forLargeRequest(connections, start, 3)?.id).toBe('d');
      expect(forLargeRequest(connections, start, 1, true)?.id).toBe('d'); // spread: an idle one, held or not
    }
  });

  it('looks only at connected connections', () => {
    expect(forLargeRequest([entry('a', 0, true, 'broken'), entry('b', 9)], 0, 1)?.id).toBe('b');
    expect(forLargeRequest([entry('a', 0, false, 'connecting')], 0, 1)).toBeUndefined();
    expect(forLargeRequest([], 3, 1)).toBeUndefined();
  });

  it('property: never holds a new connection past the limit or uses a held one past the lanes, unless spread (then the least loaded); always answers when one is connected', () => {
    const arbitraryEntry = fc.record({
      pendingRequests: fc.nat(20),
      blocked: fc.boolean(),
      state: fc.constantFrom<ConnectionState>('connected', 'connected', 'broken', 'connecting'),
    });
    fc.assert(
      fc.property(fc.array(arbitraryEntry, { maxLength: 10 }), fc.nat(50), fc.integer({ min: 1, max: 10 }), fc.boolean(), (raw, start, maxHeld, spread) => {
        const connections = raw.map((r, i): Entry => ({ id: `c${i}`, ...r }));
        const live = connections.filter((c) => c.state === 'connected');
        const chosen = forLargeRequest(connections, start, maxHeld, spread);
        if (live.length === 0) return chosen === undefined;
        if (chosen === undefined || chosen.state !== 'connected') return false;
        // Spread: the least loaded of all, held or not.
        if (spread) return live.every((c) => c.pendingRequests >= chosen.pendingRequests);
        const held = live.filter((c) => c.blocked === true).length;
        // A new connection past the limit: never (without spread).
        if (chosen.blocked !== true && held >= maxHeld && held > 0) return false;
        // Lanes: the first maxHeld held connections in pool order. A held connection that is not a
        // lane gets a large request only when idle and spread; a busy lane only when no lane is idle.
        const lanes = live.filter((c) => c.blocked === true).slice(0, maxHeld);
        if (chosen.blocked === true && !lanes.includes(chosen)) return false;
        if (chosen.blocked === true && chosen.pendingRequests > 0 && lanes.some((c) => c.pendingRequests === 0)) return false;
        return true;
      }),
    );
  });
});

/** A fake connection that reports a write limit and whether a large request holds it. */
class LimitedFake extends FakeConnection {
  blocked = false;
  readonly largeRequestBytes = 1400;
  pending = 0;
  override get pendingRequests(): number {
    return this.pending;
  }
}

describe('ConnectionPool.getConnectionForRequest(command)', () => {
  async function poolOf(size: number, options?: { largeRequestConnections?: number }): Promise<ConnectionPool<LimitedFake>> {
    const pool = new ConnectionPool(size, () => new LimitedFake(), options);
    await pool.setup();
    return pool;
  }

  it('routes a command over the connection\'s largeRequestBytes apart from small ones, and small ones past held connections', async () => {
    const pool = await poolOf(4);
    expect(pool.largeRequestConnections).toBe(1);
    const [a, b, c, d] = pool.connections as LimitedFake[];
    for (const [connection, pending] of [[a, 3], [b, 2], [c, 4], [d, 5]] as const) connection!.pending = pending;
    const large = ['SET', 'k', 'x'.repeat(2000)] as const;
    expect(pool.getConnectionForRequest(large)).toBe(b); // none held: the least loaded becomes held
    b!.blocked = true;
    b!.pending = 3;
    expect(pool.getConnectionForRequest(large)).toBe(b); // at the limit: queues on the held one
    expect(pool.getConnectionForRequest(['GET', 'k'])).toBe(a); // small: least loaded past the held one
    expect(pool.getConnectionForRequest()).toBe(a); // no command: as before
    // A command just under the limit is small; one just over, in UTF-8 bytes, is large.
    expect(pool.getConnectionForRequest(['SET', 'k', 'x'.repeat(1300)])).toBe(a);
    expect(pool.getConnectionForRequest(['SET', 'k', 'é'.repeat(700)])).toBe(b);
    await pool.close();
  });

  it('after 8 large requests in a row (no small one between), the least-loaded connection takes the next, held or not: a bulk load uses the pool', async () => {
    const pool = await poolOf(4);
    const [a, b, c, d] = pool.connections as LimitedFake[];
    a!.blocked = true;
    a!.pending = 9;
    for (const connection of [b, c, d]) connection!.pending = 2;
    d!.pending = 0;
    const large = ['SET', 'k', 'x'.repeat(2000)] as const;
    for (let i = 0; i < 8; i++) expect(pool.getConnectionForRequest(large)).toBe(a);
    expect(pool.getConnectionForRequest(large)).toBe(d);
    expect(pool.getConnectionForRequest(['GET', 'k'])).toBe(d); // a small one resets the run
    d!.pending = 0;
    expect(pool.getConnectionForRequest(large)).toBe(a);
    await pool.close();
  });

  it('largeRequestConnections: holds more connections when allowed; the default follows poolSize', async () => {
    const pool = await poolOf(4, { largeRequestConnections: 2 });
    const [a, b, c] = pool.connections as LimitedFake[];
    for (const connection of pool.connections as LimitedFake[]) connection.pending = 5;
    a!.blocked = true;
    c!.pending = 1;
    expect(pool.getConnectionForRequest(['SET', 'k', 'x'.repeat(2000)])).toBe(c);
    expect(b).toBeDefined();
    await pool.close();
    expect((await poolOf(8)).largeRequestConnections).toBe(2);
    expect((await poolOf(3)).largeRequestConnections).toBe(1);
  });

  it('a connection without largeRequestBytes (or Infinity) routes every request least-loaded, without sizing it', async () => {
    const pool = new ConnectionPool(2, () => new FakeConnection());
    await pool.setup();
    const [a, b] = pool.connections as FakeConnection[];
    a!.addPending(1);
    const poisoned = new Proxy([] as unknown[], { get: () => { throw new Error('sized'); } });
    expect(pool.getConnectionForRequest(poisoned)).toBe(b);
    await pool.close();
  });

  it('refuses a command that is not an array (plain-JavaScript callers), before choosing anything', async () => {
    const pool = await poolOf(2);
    expect(() => pool.getConnectionForRequest('GET' as unknown as string[])).toThrow(
      new TypeError(`getConnectionForRequest: command must be an array such as ['GET', 'key'] (or nothing), got "GET"`),
    );
    await pool.close();
  });

  it('refuses bad options, naming them', () => {
    const factory = (): FakeConnection => new FakeConnection();
    expect(() => new ConnectionPool(2, factory, { largeRequestConnections: 0 })).toThrow(new RangeError('largeRequestConnections must be a positive integer, got 0'));
    expect(() => new ConnectionPool(2, factory, { largeRequestConnections: 1.5 })).toThrow(RangeError);
    expect(() => new ConnectionPool(2, factory, { largeRequestConnections: 2 ** 53 })).toThrow(RangeError);
    expect(() => new ConnectionPool(2, factory, { largeRequestConnections: 1e300 })).toThrow(RangeError);
    expect(new ConnectionPool(8, factory, Object.create({ largeRequestConnections: 7 }) as object).largeRequestConnections).toBe(2); // own keys only
    expect(() => new ConnectionPool(2, factory, { largeRequestConnections: '2' as unknown as number })).toThrow(new TypeError('largeRequestConnections must be a number, got "2"'));
    expect(() => new ConnectionPool(2, factory, { largeRequestConection: 2 } as object)).toThrow(/unknown option 'largeRequestConection'/);
    expect(() => new ConnectionPool(2, factory, 3 as unknown as object)).toThrow(TypeError);
  });
});

describe('ZCached largeRequestConnections', () => {
  it('is taken from the options object or the URL, and checked at construction', async () => {
    const { ZCached } = await import('../../src/client/client.js');
    expect(new ZCached({ poolSize: 8 }).connectionPool.largeRequestConnections).toBe(2);
    expect(new ZCached({ poolSize: 8, largeRequestConnections: 3 }).connectionPool.largeRequestConnections).toBe(3);
    expect(new ZCached('zcached://127.0.0.1:7556?poolSize=4&largeRequestConnections=2').connectionPool.largeRequestConnections).toBe(2);
    expect(() => new ZCached({ largeRequestConnections: 0 })).toThrow(new RangeError('largeRequestConnections must be a positive integer, got 0'));
    expect(() => new ZCached('zcached://127.0.0.1:7556?largeRequestConnections=0')).toThrow(RangeError);
    expect(() => new ZCached({ largeRequestConnections: '2' as unknown as number })).toThrow(TypeError);
    expect(() => new ZCached({ largeRequestConection: 2 } as object)).toThrow(/largeRequestConnections/);
  });
});
