/**
 * The request queue's timer and bookkeeping at their edges: the messages of
 * its errors, the one timer armed for the deadline (not before), a stalled
 * stream reported once, nothing settled by the timer after a reset, the
 * bytes of requests settled while waiting released, and the counts the send
 * policy is given after settled requests were skipped.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RequestQueue, type RequestQueueOptions, type RequestSink } from '../../src/connection/requests.js';
import { UnsentBytes } from '../../src/connection/unsent-bytes.js';
import { AbortError, QueueFullError, TimeoutError } from '../../src/errors.js';
import { DIALECTS, resolveDialect, type Dialect } from '../../src/protocol/dialect.js';
import { encodeRequest, type Command } from '../../src/protocol/encoder.js';
import { watch, type Outcome } from './outcome.js';

const PIPELINING = resolveDialect({ base: 'etx', maxWriteBytes: Infinity, maxUnansweredBytes: Infinity });
const ONE_AT_A_TIME = DIALECTS['etx-request'];

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

class Sink implements RequestSink {
  readonly writes: Buffer[] = [];
  write(bytes: Buffer): void {
    this.writes.push(Buffer.from(bytes));
  }
  cork(): void {}
  uncork(): void {}
}

function harness(dialect: Dialect, options: Partial<RequestQueueOptions> = {}) {
  const streamTimeouts: TimeoutError[] = [];
  const queue = new RequestQueue({
    dialect,
    maxPending: 1000,
    timeoutLimit: 100,
    onStreamTimeout: (error) => streamTimeouts.push(error),
    onDrained: () => undefined,
    ...options,
  });
  return { queue, sink: new Sink(), streamTimeouts };
}


const get = (i: number): Command => ['GET', `k${i}`];

describe('error messages', () => {
  it('a full queue says how many requests are pending', async () => {
    const { queue } = harness(PIPELINING, { maxPending: 2 });
    queue.enqueue(get(1)).catch(() => undefined);
    queue.enqueue(get(2)).catch(() => undefined);
    await expect(queue.enqueue(get(3))).rejects.toEqual(new QueueFullError('the connection already has 2 pending requests (maxPending)'));
    queue.failAll(new Error('end'));
  });

  it('an abort rejects with the signal’s reason as cause', async () => {
    const { queue } = harness(PIPELINING);
    const controller = new AbortController();
    const reason = new Error('user gave up');
    const pending = queue.enqueue(get(1), { signal: controller.signal });
    controller.abort(reason);
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    expect((error as Error).cause).toBe(reason);
  });

  it('a keep-alive probe that times out on the wire says the connection is reset as half-open', async () => {
    vi.useFakeTimers();
    const { queue, sink, streamTimeouts } = harness(PIPELINING, { timeoutLimit: 1000 });
    const probe = watch(queue.enqueue(['PING'], { timeout: 50 }, true));
    queue.flush(sink);
    await vi.advanceTimersByTimeAsync(60);
    expect(probe.error).toEqual(new TimeoutError('no reply to the keep-alive PING within 50 ms; the connection is reset as half-open'));
    expect(streamTimeouts).toEqual([probe.error]);
  });

  it('a probe timing out behind an aborted request is reported as the probe’s timeout, not as a stall', async () => {
    vi.useFakeTimers();
    const { queue, sink, streamTimeouts } = harness(PIPELINING, { timeoutLimit: 100 });
    const controller = new AbortController();
    watch(queue.enqueue(get(1), { signal: controller.signal }));
    const probe = watch(queue.enqueue(['PING'], { timeout: 100 }, true));
    queue.flush(sink);
    controller.abort();
    await vi.advanceTimersByTimeAsync(101);
    expect(probe.error).toBeInstanceOf(TimeoutError);
    expect(streamTimeouts).toEqual([probe.error]);
  });

  it('a stalled stream says how long the oldest request has gone unanswered', async () => {
    vi.useFakeTimers();
    await vi.advanceTimersByTimeAsync(5000); // the request goes out well after time 0
    const { queue, sink, streamTimeouts } = harness(PIPELINING, { timeoutLimit: 100 });
    const controller = new AbortController();
    watch(queue.enqueue(get(1), { signal: controller.signal }));
    queue.flush(sink);
    controller.abort();
    await vi.advanceTimersByTimeAsync(150);
    expect(streamTimeouts).toHaveLength(1);
    expect(streamTimeouts[0]?.message).toBe(
      'no reply for 101 ms to the oldest request on the wire; the connection is reset because its reply stream has stalled',
    );
  });
});

describe('the one timer', () => {
  it('is armed for the deadline plus 1 ms, never earlier, once the code that made the request yields', async () => {
    vi.useFakeTimers();
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const { queue } = harness(PIPELINING, { timeoutLimit: 100 });
    queue.enqueue(get(1)).catch(() => undefined);
    expect(setTimeoutSpy).not.toHaveBeenCalled(); // stamped at the end of this synchronous stretch
    await Promise.resolve();
    expect(setTimeoutSpy).toHaveBeenCalledTimes(1);
    expect(setTimeoutSpy.mock.calls[0]?.[1]).toBe(101);
    queue.enqueue(get(2), { timeout: 40 }).catch(() => undefined);
    await Promise.resolve();
    expect(setTimeoutSpy.mock.calls[1]?.[1]).toBe(41);
    queue.failAll(new Error('end'));
    queue.dispose();
  });

  it.each([
    ['waiting', false],
    ['on the wire', true],
  ] as const)('a request %s times out at the tick of its deadline, even when the timer was armed for another', async (_, written) => {
    vi.useFakeTimers();
    const { queue, sink } = harness(PIPELINING, { timeoutLimit: 1000 });
    const a = watch(queue.enqueue(get(1), { timeout: 100 }));
    const b = watch(queue.enqueue(get(2), { timeout: 101 }));
    if (written) queue.flush(sink);
    // The timer fires at 101 ms (a's deadline + 1): b's deadline is exactly now.
    await vi.advanceTimersByTimeAsync(101);
    expect(a.error).toBeInstanceOf(TimeoutError);
    expect(b.error).toBeInstanceOf(TimeoutError);
    queue.failAll(new Error('end'));
  });

  it('reports a stalled stream once, and then waits for nothing', async () => {
    vi.useFakeTimers();
    const { queue, sink, streamTimeouts } = harness(PIPELINING, { timeoutLimit: 100 });
    const controller = new AbortController();
    watch(queue.enqueue(get(1), { signal: controller.signal }));
    queue.flush(sink);
    controller.abort();
    await vi.advanceTimersByTimeAsync(150);
    expect(streamTimeouts).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(1000);
    expect(streamTimeouts).toHaveLength(1);
  });

  it('after a reset, the timer settles nothing else on the wire: the connection’s reset fails it with its own error', async () => {
    vi.useFakeTimers();
    // As the connection does: a stream timeout resets at once, failing what is on the wire.
    let queue!: RequestQueue;
    queue = new RequestQueue({
      dialect: PIPELINING,
      maxPending: 100,
      timeoutLimit: 1000,
      onStreamTimeout: (error) => queue.failWritten(new Error('reset', { cause: error })),
      onDrained: () => undefined,
    });
    const probe = watch(queue.enqueue(['PING'], { timeout: 50 }, true));
    const behind = watch(queue.enqueue(get(1), { timeout: 50 }));
    queue.flush(new Sink());
    await vi.advanceTimersByTimeAsync(60);
    expect(probe.error).toBeInstanceOf(TimeoutError);
    expect((behind.error as Error).message).toBe('reset');
  });

  it('a request enqueued by the stream-timeout handler keeps its own, earlier deadline', async () => {
    vi.useFakeTimers();
    let queue!: RequestQueue;
    let inside: Outcome | undefined;
    const sink = new Sink();
    queue = new RequestQueue({
      dialect: PIPELINING,
      maxPending: 100,
      timeoutLimit: 100,
      onStreamTimeout: () => {
        inside = watch(queue.enqueue(['PING'], { timeout: 5 }));
      },
      onDrained: () => undefined,
    });
    const controller = new AbortController();
    watch(queue.enqueue(get(1), { signal: controller.signal }));
    watch(queue.enqueue(get(2), { timeout: 10_000 }));
    queue.flush(sink);
    controller.abort();
    await vi.advanceTimersByTimeAsync(102);
    expect(inside).toBeDefined();
    await vi.advanceTimersByTimeAsync(10);
    expect(inside?.error).toBeInstanceOf(TimeoutError);
    queue.failAll(new Error('end'));
  });
});

describe('bookkeeping', () => {
  it('one at a time, answered requests leave no unanswered bytes', () => {
    const { queue, sink } = harness(ONE_AT_A_TIME);
    watch(queue.enqueue(get(1)));
    queue.flush(sink);
    expect(queue.deliver('one')).toBe(true);
    expect(queue.unansweredBytes).toBe(0);
  });

  it('with pipelining, the bytes of requests settled at the head of the waiting queue are released, trimmed', async () => {
    const release = vi.spyOn(UnsentBytes.prototype, 'release');
    const { queue, sink } = harness(PIPELINING);
    const controller = new AbortController();
    const first = queue.enqueue(get(1), { signal: controller.signal });
    const second = queue.enqueue(get(2), { signal: controller.signal });
    watch(queue.enqueue(get(3)));
    const end = encodeRequest(PIPELINING, get(1)).length + encodeRequest(PIPELINING, get(2)).length;
    controller.abort();
    await Promise.allSettled([first, second]);
    expect(release.mock.calls).toEqual([[end, true]]);
    release.mockClear();
    // A request settled behind a live one is not at the head: nothing to release yet.
    const middle = new AbortController();
    const skipped = queue.enqueue(get(4), { signal: middle.signal });
    watch(queue.enqueue(get(5)));
    middle.abort();
    await skipped.catch(() => undefined);
    expect(release).not.toHaveBeenCalled();
    queue.flush(sink);
    queue.failAll(new Error('end'));
  });

  it('one at a time, requests settled while waiting hold no shared bytes to release', async () => {
    const release = vi.spyOn(UnsentBytes.prototype, 'release');
    const { queue } = harness(ONE_AT_A_TIME);
    const controller = new AbortController();
    const pending = queue.enqueue(get(1), { signal: controller.signal });
    controller.abort();
    await pending.catch(() => undefined);
    expect(release).not.toHaveBeenCalled();
    expect(queue.hasWaiting).toBe(false);
  });

  it('settled requests skipped by a flush are no longer counted: a large request alone still holds the live one behind it', async () => {
    const dialect = resolveDialect({ base: 'etx', maxWriteBytes: 200, maxUnansweredBytes: 10_000 });
    const { queue, sink } = harness(dialect);
    const controller = new AbortController();
    watch(queue.enqueue(get(1)));
    const a = queue.enqueue(get(2), { signal: controller.signal });
    const b = queue.enqueue(get(3), { signal: controller.signal });
    controller.abort();
    await Promise.allSettled([a, b]);
    queue.flush(sink); // writes k1, skips k2 and k3
    expect(sink.writes).toHaveLength(1);
    queue.deliver('one');
    watch(queue.enqueue(['SET', 'big', 'x'.repeat(300)]));
    watch(queue.enqueue(get(4)));
    queue.flush(sink);
    expect(queue.onTheWire).toBe(1);
    expect(queue.held).toBe(true);
    queue.failAll(new Error('end'));
  });
});
