/**
 * The request queue's order and bookkeeping at scale: replies matched to
 * their callers after more than 1,024 requests went through one queue while
 * others still wait; `hasWaiting` with settled requests around live ones;
 * and the compaction of a waiting queue that fills with settled requests.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RequestQueue, type RequestSink } from '../../src/connection/requests.js';
import { AbortError, TimeoutError } from '../../src/errors.js';
import { DIALECTS, resolveDialect, type Dialect } from '../../src/protocol/dialect.js';
import { encodeRequest, type Command } from '../../src/protocol/encoder.js';
import type { Reply } from '../../src/protocol/values.js';

const PIPELINING = resolveDialect({ base: 'etx', maxWriteBytes: Infinity, maxUnansweredBytes: Infinity });
const ONE_AT_A_TIME = DIALECTS['etx-request'];

afterEach(() => {
  vi.useRealTimers();
});

class Sink implements RequestSink {
  readonly calls: string[] = [];
  readonly writes: Buffer[] = [];
  write(bytes: Buffer): void {
    this.calls.push('write');
    this.writes.push(Buffer.from(bytes));
  }
  cork(): void {
    this.calls.push('cork');
  }
  uncork(): void {
    this.calls.push('uncork');
  }
  get bytes(): Buffer {
    return Buffer.concat(this.writes);
  }
  clear(): void {
    this.calls.length = 0;
    this.writes.length = 0;
  }
}

function queue(dialect: Dialect, options: { maxPending?: number; timeoutLimit?: number } = {}): { queue: RequestQueue; drained: () => number } {
  let drained = 0;
  const q = new RequestQueue({
    dialect,
    maxPending: options.maxPending ?? 100_000,
    timeoutLimit: options.timeoutLimit ?? 60_000,
    onStreamTimeout: () => undefined,
    onDrained: () => drained++,
  });
  return { queue: q, drained: () => drained };
}

/** Records each promise's outcome in order of request. */
function track(promises: Promise<Reply>[]): { values: unknown[]; errors: unknown[] } {
  const out = { values: Array<unknown>(promises.length), errors: Array<unknown>(promises.length) };
  promises.forEach((promise, i) =>
    promise.then(
      (value) => (out.values[i] = value),
      (error: unknown) => (out.errors[i] = error),
    ),
  );
  return out;
}

const flushPromises = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const get = (i: number): Command => ['GET', `k${i}`];

describe('replies reach their callers through more than 1,024 requests', () => {
  it('one at a time: each of 1,100 requests gets its own reply while the rest wait', async () => {
    const { queue: q } = queue(ONE_AT_A_TIME);
    const sink = new Sink();
    const count = 1100;
    const promises = Array.from({ length: count }, (_, i) => q.enqueue(get(i)));
    const outcome = track(promises);
    for (let i = 0; i < count; i++) {
      q.flush(sink);
      if (q.onTheWire !== 1) expect.fail(`nothing written before reply ${i}`);
      q.deliver(`v${i}`);
    }
    expect(q.deliver('extra')).toBe(false);
    await flushPromises();
    expect(outcome.values).toEqual(Array.from({ length: count }, (_, i) => `v${i}`));
    expect(sink.bytes.equals(Buffer.concat(Array.from({ length: count }, (_, i) => encodeRequest(ONE_AT_A_TIME, get(i)))))).toBe(true);
    expect(q.pending).toBe(0);
  });

  it('pipelining: 1,200 on the wire, answered in order while more are written', async () => {
    const { queue: q } = queue(PIPELINING);
    const sink = new Sink();
    const first = Array.from({ length: 1200 }, (_, i) => q.enqueue(get(i)));
    q.flush(sink);
    expect(q.onTheWire).toBe(1200);
    for (let i = 0; i < 1100; i++) q.deliver(`v${i}`);
    const second = Array.from({ length: 300 }, (_, i) => q.enqueue(get(1200 + i)));
    q.flush(sink);
    expect(q.onTheWire).toBe(400);
    for (let i = 1100; i < 1500; i++) q.deliver(`v${i}`);
    const outcome = track([...first, ...second]);
    await flushPromises();
    expect(outcome.values).toEqual(Array.from({ length: 1500 }, (_, i) => `v${i}`));
    expect(sink.bytes.equals(Buffer.concat(Array.from({ length: 1500 }, (_, i) => encodeRequest(PIPELINING, get(i)))))).toBe(true);
  });
});

describe('hasWaiting', () => {
  it.each([
    ['pipelining', PIPELINING],
    ['one at a time', ONE_AT_A_TIME],
  ] as const)('is true while a live request waits, whatever settled requests surround it (%s)', async (_, dialect) => {
    const { queue: q } = queue(dialect);
    const sink = new Sink();
    expect(q.hasWaiting).toBe(false);
    const live = q.enqueue(get(1));
    expect(q.hasWaiting).toBe(true);
    // A live one followed by an aborted one.
    const controller = new AbortController();
    const aborted = q.enqueue(get(2), { signal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortError);
    expect(q.hasWaiting).toBe(true);
    q.flush(sink);
    expect(q.hasWaiting).toBe(false);
    q.deliver('one');
    await expect(live).resolves.toBe('one');
    // Aborted ones before a live one.
    const first = new AbortController();
    const a = q.enqueue(get(3), { signal: first.signal });
    const second = new AbortController();
    const b = q.enqueue(get(4), { signal: second.signal });
    const c = q.enqueue(get(5));
    second.abort();
    first.abort();
    await expect(Promise.allSettled([a, b])).resolves.toHaveLength(2);
    expect(q.hasWaiting).toBe(true);
    q.flush(sink);
    expect(q.hasWaiting).toBe(false);
    q.deliver('five');
    await expect(c).resolves.toBe('five');
    // Only settled ones: nothing waits.
    const last = new AbortController();
    const d = q.enqueue(get(6), { signal: last.signal });
    const e = q.enqueue(get(7), { signal: last.signal });
    last.abort();
    await Promise.allSettled([d, e]);
    expect(q.hasWaiting).toBe(false);
  });

  it('is true with a live request behind one that timed out while waiting', async () => {
    vi.useFakeTimers();
    const { queue: q } = queue(PIPELINING, { timeoutLimit: 1000 });
    const live = q.enqueue(get(1));
    const short = q.enqueue(get(2), { timeout: 10 });
    const after = q.enqueue(get(3));
    short.catch(() => undefined);
    await vi.advanceTimersByTimeAsync(20);
    await expect(short).rejects.toBeInstanceOf(TimeoutError);
    expect(q.hasWaiting).toBe(true);
    const sink = new Sink();
    q.flush(sink);
    expect(q.hasWaiting).toBe(false);
    q.deliver('1');
    q.deliver('3');
    await expect(Promise.all([live, after])).resolves.toEqual(['1', '3']);
  });
});

describe('a waiting queue that fills with settled requests is compacted', () => {
  /** A live request, `settled` requests aborted behind it, and a live one last; returns the sink's calls at the next flush. */
  async function flushAround(settled: number): Promise<{ calls: string[]; bytes: Buffer; replies: unknown[] }> {
    const { queue: q } = queue(PIPELINING);
    const sink = new Sink();
    const first = q.enqueue(get(0));
    const controller = new AbortController();
    const aborted = Array.from({ length: settled }, (_, i) => q.enqueue(get(1 + i), { signal: controller.signal }));
    const last = q.enqueue(get(1 + settled));
    controller.abort();
    await Promise.allSettled(aborted);
    expect(q.hasWaiting).toBe(true);
    expect(q.pending).toBe(2);
    q.flush(sink);
    q.deliver('first');
    q.deliver('last');
    return { calls: sink.calls, bytes: sink.bytes, replies: await Promise.all([first, last]) };
  }

  it('past 1,024 settled, the live requests are kept back to back: one plain write', async () => {
    const { calls, bytes, replies } = await flushAround(1025);
    expect(calls).toEqual(['write']);
    expect(bytes).toEqual(Buffer.concat([encodeRequest(PIPELINING, get(0)), encodeRequest(PIPELINING, get(1026))]));
    expect(replies).toEqual(['first', 'last']);
  });

  it('up to 1,024 settled, they are skipped at the flush instead (runs around them, corked)', async () => {
    const { calls, bytes, replies } = await flushAround(1024);
    expect(calls).toEqual(['cork', 'write', 'write', 'uncork']);
    expect(bytes).toEqual(Buffer.concat([encodeRequest(PIPELINING, get(0)), encodeRequest(PIPELINING, get(1025))]));
    expect(replies).toEqual(['first', 'last']);
  });

  it('compaction keeps every live request and its bytes, in order, among many settled ones', async () => {
    const { queue: q } = queue(PIPELINING);
    const sink = new Sink();
    const live: Promise<Reply>[] = [];
    const liveIds: number[] = [];
    const settledOnes: Promise<Reply>[] = [];
    const controller = new AbortController();
    for (let i = 0; i < 3000; i++) {
      if (i % 3 === 0) {
        live.push(q.enqueue(get(i)));
        liveIds.push(i);
      } else {
        settledOnes.push(q.enqueue(get(i), { signal: controller.signal }));
      }
    }
    controller.abort();
    await Promise.allSettled(settledOnes);
    q.flush(sink);
    expect(sink.bytes.equals(Buffer.concat(liveIds.map((i) => encodeRequest(PIPELINING, get(i)))))).toBe(true);
    liveIds.forEach((i) => q.deliver(`v${i}`));
    await expect(Promise.all(live)).resolves.toEqual(liveIds.map((i) => `v${i}`));
    expect(q.pending).toBe(0);
  });

  it('one at a time, compaction keeps the live requests and their own bytes', async () => {
    const { queue: q } = queue(ONE_AT_A_TIME);
    const sink = new Sink();
    const a = q.enqueue(get(0));
    const controller = new AbortController();
    const aborted = Array.from({ length: 1100 }, (_, i) => q.enqueue(get(1 + i), { signal: controller.signal }));
    const b = q.enqueue(get(9999));
    controller.abort();
    await Promise.allSettled(aborted);
    q.flush(sink);
    q.deliver('a');
    q.flush(sink);
    q.deliver('b');
    expect(sink.writes).toEqual([encodeRequest(ONE_AT_A_TIME, get(0)), encodeRequest(ONE_AT_A_TIME, get(9999))]);
    await expect(Promise.all([a, b])).resolves.toEqual(['a', 'b']);
  });
});
