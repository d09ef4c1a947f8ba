/**
 * The request FIFO on its own: order through compaction (after 1,024 taken
 * while others still wait), retain, drain and walk.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PendingRequest, RequestFifo } from '../../src/connection/request-fifo.js';

afterEach(() => {
  vi.restoreAllMocks();
});

const noop = (): void => undefined;
const request = (id: number): PendingRequest => new PendingRequest(undefined, id, id + 1, 0, 0, noop, noop);
const ids = (requests: readonly (PendingRequest | undefined)[]): (number | undefined)[] => requests.map((r) => r?.start);

/** Everything the FIFO holds, oldest first, by walking it. */
function walked(fifo: RequestFifo): number[] {
  const out: number[] = [];
  fifo.walk((r) => out.push(r.start) > 0);
  return out;
}

describe('PendingRequest', () => {
  it('starts unsettled, unwritten, with no signal and not a probe', () => {
    const resolve = (): void => undefined;
    const reject = (): void => undefined;
    const bytes = Buffer.from('x');
    const r = new PendingRequest(bytes, 5, 9, 123, 45, resolve, reject);
    expect(r).toMatchObject({ bytes, start: 5, end: 9, deadline: 123, timeout: 45, settled: false, written: false, signal: undefined, writtenAt: 0, probe: false });
    expect(r.resolve).toBe(resolve);
    expect(r.reject).toBe(reject);
  });
});

describe('RequestFifo', () => {
  it('is empty at first', () => {
    const fifo = new RequestFifo();
    expect(fifo.length).toBe(0);
    expect(fifo.peek()).toBeUndefined();
    expect(fifo.shift()).toBeUndefined();
    expect(fifo.drain()).toEqual([]);
    expect(walked(fifo)).toEqual([]);
  });

  it('shifts in push order, and is empty again after the last one', () => {
    const fifo = new RequestFifo();
    for (let i = 0; i < 3; i++) fifo.push(request(i));
    expect(fifo.length).toBe(3);
    expect(fifo.peek()?.start).toBe(0);
    expect(fifo.shift()?.start).toBe(0);
    expect(fifo.length).toBe(2);
    expect(fifo.peek()?.start).toBe(1);
    expect(ids([fifo.shift(), fifo.shift(), fifo.shift()])).toEqual([1, 2, undefined]);
    expect(fifo.length).toBe(0);
    fifo.push(request(7));
    expect(fifo.length).toBe(1);
    expect(fifo.peek()?.start).toBe(7);
    expect(walked(fifo)).toEqual([7]);
  });

  it('keeps every waiting request in order when it compacts after more than 1,024 taken', () => {
    const fifo = new RequestFifo();
    const total = 5000;
    for (let i = 0; i < total; i++) fifo.push(request(i));
    for (let taken = 0; taken < total; taken++) {
      const r = fifo.shift();
      expect(r?.start).toBe(taken);
      expect(fifo.length).toBe(total - taken - 1);
      if (taken === 1024 || taken === 2500 || taken === 2501 || taken === 4000) {
        expect(fifo.peek()?.start).toBe(taken + 1);
        expect(walked(fifo)).toEqual(Array.from({ length: total - taken - 1 }, (_, i) => taken + 1 + i));
      }
    }
    expect(fifo.shift()).toBeUndefined();
  });

  it('keeps order when pushes and shifts interleave over many compactions', () => {
    const fifo = new RequestFifo();
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 300; i++) fifo.push(request(next++));
      for (let i = 0; i < 250; i++) expect(fifo.shift()?.start).toBe(expected++);
      expect(fifo.length).toBe(next - expected);
      expect(fifo.peek()?.start).toBe(expected);
    }
    expect(walked(fifo)).toEqual(Array.from({ length: next - expected }, (_, i) => expected + i));
    expect(ids(fifo.drain())).toEqual(Array.from({ length: next - expected }, (_, i) => expected + i));
    expect(fifo.length).toBe(0);
  });

  it('does not compact while fewer than half of the slots are taken (the order holds either way)', () => {
    const fifo = new RequestFifo();
    for (let i = 0; i < 3000; i++) fifo.push(request(i));
    for (let i = 0; i < 1100; i++) fifo.shift();
    expect(fifo.length).toBe(1900);
    expect(fifo.peek()?.start).toBe(1100);
    expect(walked(fifo)[1899]).toBe(2999);
  });

  it('compacts its storage only once more than 1,024 were taken and they are most of it, and starts afresh when drained', () => {
    // Memory stays bounded by what waits: the taken slots are dropped by a copy (an array slice)
    // made at these points only, never on every shift.
    const slice = vi.spyOn(Array.prototype, 'slice');
    const fifo = new RequestFifo();
    /** Shifts `count` requests; returns after which shifts (1-based) the storage was compacted. */
    const shiftAll = (count: number): number[] => {
      const at: number[] = [];
      for (let taken = 1; taken <= count; taken++) {
        const before = slice.mock.calls.length;
        fifo.shift();
        if (slice.mock.calls.length > before) at.push(taken);
      }
      return at;
    };
    // A drained FIFO starts again from an empty array: the next batch compacts as a first one.
    for (let i = 0; i < 3; i++) fifo.push(request(i));
    expect(shiftAll(3)).toEqual([]);
    for (let i = 0; i < 3000; i++) fifo.push(request(i));
    // 3,000 slots: past 1,024 taken, compacted once taken > half (1,501); then 1,499 slots: at 1,025 more.
    expect(shiftAll(3000)).toEqual([1501, 2526]);
    expect(fifo.length).toBe(0);
  });

  it('retain keeps the requests it is told to, in order, and shifting goes on from there', () => {
    const fifo = new RequestFifo();
    for (let i = 0; i < 10; i++) fifo.push(request(i));
    fifo.shift();
    fifo.shift();
    fifo.retain((r) => r.start % 2 === 1);
    expect(fifo.length).toBe(4);
    expect(walked(fifo)).toEqual([3, 5, 7, 9]);
    expect(fifo.shift()?.start).toBe(3);
    fifo.push(request(10));
    expect(ids(fifo.drain())).toEqual([5, 7, 9, 10]);
    fifo.retain(() => true);
    expect(fifo.length).toBe(0);
  });

  it('drain returns what is left after shifts and empties the FIFO', () => {
    const fifo = new RequestFifo();
    for (let i = 0; i < 5; i++) fifo.push(request(i));
    fifo.shift();
    expect(ids(fifo.drain())).toEqual([1, 2, 3, 4]);
    expect(fifo.length).toBe(0);
    expect(fifo.peek()).toBeUndefined();
    fifo.push(request(9));
    expect(ids([fifo.shift()])).toEqual([9]);
  });

  it('walk visits oldest first and stops at the first false', () => {
    const fifo = new RequestFifo();
    for (let i = 0; i < 6; i++) fifo.push(request(i));
    fifo.shift();
    const seen: number[] = [];
    fifo.walk((r) => {
      seen.push(r.start);
      return r.start < 3;
    });
    expect(seen).toEqual([1, 2, 3]);
  });

  it('walk ends when a visit drains the FIFO', () => {
    const fifo = new RequestFifo();
    for (let i = 0; i < 4; i++) fifo.push(request(i));
    const seen: number[] = [];
    fifo.walk((r) => {
      seen.push(r.start);
      fifo.drain();
      return true;
    });
    expect(seen).toEqual([0]);
  });
});
