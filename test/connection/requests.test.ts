import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RequestQueue, type RequestQueueOptions, type RequestSink } from '../../src/connection/requests.js';
import { AbortError, QueueFullError, ServerError, TimeoutError } from '../../src/errors.js';
import type { Reply } from '../../src/protocol/values.js';

/** A sink that records every call, and what would leave as one socket write. */
class RecordingSink implements RequestSink {
  readonly calls: string[] = [];
  readonly writes: Buffer[] = [];
  /** Bytes per flushed segment (writes between cork and uncork are one segment). */
  readonly segments: string[] = [];
  #corked = false;
  #segment: Buffer[] = [];

  write(bytes: Buffer): void {
    this.calls.push('write');
    this.writes.push(Buffer.from(bytes));
    if (this.#corked) this.#segment.push(Buffer.from(bytes));
    else this.segments.push(bytes.toString('latin1'));
  }

  cork(): void {
    this.calls.push('cork');
    this.#corked = true;
  }

  uncork(): void {
    this.calls.push('uncork');
    this.#corked = false;
    if (this.#segment.length > 0) this.segments.push(Buffer.concat(this.#segment).toString('latin1'));
    this.#segment = [];
  }

  get written(): string {
    return Buffer.concat(this.writes).toString('latin1');
  }
}

interface Harness {
  readonly queue: RequestQueue;
  readonly sink: RecordingSink;
  readonly streamTimeouts: TimeoutError[];
  drained: number;
}

function harness(options: Partial<RequestQueueOptions> = {}): Harness {
  const h: Harness = {
    sink: new RecordingSink(),
    streamTimeouts: [],
    drained: 0,
    queue: undefined as unknown as RequestQueue,
  };
  const queue = new RequestQueue({
    pipelining: true,
    maxPending: 1000,
    timeoutLimit: 1000,
    onStreamTimeout: (error) => h.streamTimeouts.push(error),
    onDrained: () => h.drained++,
    ...options,
  });
  Object.assign(h, { queue });
  return h;
}

/** Records how a promise settled, without awaiting it. */
interface Outcome {
  settled: number;
  value?: Reply;
  error?: unknown;
}
function watch(promise: Promise<Reply>): Outcome {
  const outcome: Outcome = { settled: 0 };
  promise.then(
    (value) => {
      outcome.settled++;
      outcome.value = value;
    },
    (error: unknown) => {
      outcome.settled++;
      outcome.error = error;
    },
  );
  return outcome;
}

const microtasks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** `n` requests cut from one buffer, back to back, as the RequestWriter hands them out. */
function contiguous(...texts: string[]): Buffer[] {
  const whole = Buffer.from(texts.join(''), 'latin1');
  const out: Buffer[] = [];
  let at = 0;
  for (const text of texts) {
    out.push(whole.subarray(at, at + text.length));
    at += text.length;
  }
  return out;
}

afterEach(() => {
  // Spies first: a spy made under fake timers would otherwise put the fake back.
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe('RequestQueue: writing', () => {
  it('merges contiguous requests into one write, inside cork/uncork', () => {
    const { queue, sink } = harness();
    for (const bytes of contiguous('AAA', 'BB', 'C')) watch(queue.enqueue(bytes));
    expect(queue.pending).toBe(3);
    expect(queue.hasWaiting).toBe(true);
    queue.flush(sink);
    expect(sink.calls).toEqual(['cork', 'write', 'uncork']);
    expect(sink.written).toBe('AAABBC');
    expect(queue.onTheWire).toBe(3);
    expect(queue.hasWaiting).toBe(false);
    queue.failAll(new Error('end'));
  });

  it('writes separate buffers separately, in order, within one cork', () => {
    const { queue, sink } = harness();
    const [a, b] = contiguous('aa', 'bb');
    watch(queue.enqueue(a as Buffer));
    watch(queue.enqueue(Buffer.from('XX')));
    watch(queue.enqueue(b as Buffer)); // not adjacent to XX
    queue.flush(sink);
    expect(sink.calls).toEqual(['cork', 'write', 'write', 'write', 'uncork']);
    expect(sink.written).toBe('aaXXbb');
    expect(sink.segments).toEqual(['aaXXbb']);
    queue.failAll(new Error('end'));
  });

  it('does not merge across a request that was aborted before it was written', async () => {
    const { queue, sink } = harness();
    const [a, b, c] = contiguous('11', '22', '33');
    const controller = new AbortController();
    const first = watch(queue.enqueue(a as Buffer));
    const skipped = watch(queue.enqueue(b as Buffer, { signal: controller.signal }));
    const third = watch(queue.enqueue(c as Buffer));
    controller.abort();
    expect(queue.pending).toBe(2);
    queue.flush(sink);
    expect(sink.written).toBe('1133');
    expect(sink.writes.map((w) => w.toString())).toEqual(['11', '33']);
    expect(queue.onTheWire).toBe(2);
    expect(queue.deliver('one')).toBe(true);
    expect(queue.deliver('three')).toBe(true);
    expect(queue.deliver('extra')).toBe(false);
    await microtasks();
    expect(first).toMatchObject({ settled: 1, value: 'one' });
    expect(skipped.settled).toBe(1);
    expect(skipped.error).toBeInstanceOf(AbortError);
    expect(third).toMatchObject({ settled: 1, value: 'three' });
  });

  it('flushing an empty queue writes nothing', () => {
    const { queue, sink } = harness();
    queue.flush(sink);
    const aborted = new AbortController();
    void queue.enqueue(Buffer.from('x'), { signal: aborted.signal }).catch(() => {});
    aborted.abort();
    queue.flush(sink);
    expect(sink.writes).toEqual([]);
    expect(sink.calls.filter((c) => c === 'write')).toEqual([]);
  });

  it('without pipelining writes one request, and the next only after its reply', async () => {
    const { queue, sink } = harness({ pipelining: false });
    const [a, b, c] = contiguous('a', 'b', 'c');
    const outcomes = [a, b, c].map((bytes) => watch(queue.enqueue(bytes as Buffer)));
    queue.flush(sink);
    queue.flush(sink);
    expect(sink.written).toBe('a');
    expect(queue.onTheWire).toBe(1);
    expect(queue.deliver('A')).toBe(true);
    queue.flush(sink);
    queue.flush(sink);
    expect(sink.written).toBe('ab');
    queue.deliver('B');
    queue.flush(sink);
    queue.deliver('C');
    queue.flush(sink);
    expect(sink.writes.map((w) => w.toString())).toEqual(['a', 'b', 'c']);
    await microtasks();
    expect(outcomes.map((o) => o.value)).toEqual(['A', 'B', 'C']);
  });

  it('without pipelining, an aborted written request still holds the line until its reply', async () => {
    const { queue, sink } = harness({ pipelining: false });
    const controller = new AbortController();
    const first = watch(queue.enqueue(Buffer.from('a'), { signal: controller.signal }));
    const second = watch(queue.enqueue(Buffer.from('b')));
    queue.flush(sink);
    controller.abort();
    queue.flush(sink);
    expect(sink.written).toBe('a'); // 'b' must wait for the reply to 'a'
    queue.deliver('reply-to-a');
    queue.flush(sink);
    expect(sink.written).toBe('ab');
    queue.deliver('reply-to-b');
    await microtasks();
    expect(first.error).toBeInstanceOf(AbortError);
    expect(second.value).toBe('reply-to-b');
  });

  it('without pipelining, skips waiting requests that were aborted', () => {
    const { queue, sink } = harness({ pipelining: false });
    const controller = new AbortController();
    void queue.enqueue(Buffer.from('a'), { signal: controller.signal }).catch(() => {});
    void queue.enqueue(Buffer.from('b'), { signal: controller.signal }).catch(() => {});
    watch(queue.enqueue(Buffer.from('c')));
    controller.abort();
    queue.flush(sink);
    expect(sink.written).toBe('c');
    queue.failAll(new Error('end'));
  });
});

describe('RequestQueue: replies and settlement', () => {
  it('matches replies in order; error replies reject with the ServerError', async () => {
    const { queue, sink } = harness();
    const outcomes = contiguous('1', '2', '3').map((bytes) => watch(queue.enqueue(bytes)));
    queue.flush(sink);
    const serverError = new ServerError('ERR nope');
    queue.deliver('first');
    queue.deliver(serverError);
    queue.deliver(null);
    await microtasks();
    expect(outcomes[0]).toMatchObject({ settled: 1, value: 'first' });
    expect(outcomes[1]).toMatchObject({ settled: 1, error: serverError });
    expect(outcomes[2]).toMatchObject({ settled: 1, value: null });
    expect(queue.pending).toBe(0);
    expect(queue.onTheWire).toBe(0);
  });

  it('a written request settled by abort still consumes its reply; the next gets its own', async () => {
    const { queue, sink, drained } = harness();
    expect(drained).toBe(0);
    const controller = new AbortController();
    const aborted = watch(queue.enqueue(Buffer.from('a'), { signal: controller.signal }));
    const next = watch(queue.enqueue(Buffer.from('b')));
    queue.flush(sink);
    controller.abort();
    expect(queue.pending).toBe(1);
    expect(queue.onTheWire).toBe(2);
    expect(queue.deliver('for-a')).toBe(true);
    expect(queue.deliver('for-b')).toBe(true);
    await microtasks();
    expect(aborted.error).toBeInstanceOf(AbortError);
    expect(next).toMatchObject({ settled: 1, value: 'for-b' });
  });

  it('deliver returns false when no request waits for a reply', () => {
    const { queue } = harness();
    expect(queue.deliver('stray')).toBe(false);
    void queue.enqueue(Buffer.from('x')).catch(() => {});
    expect(queue.deliver('not written yet')).toBe(false);
    queue.failAll(new Error('end'));
  });

  it('failWritten rejects only written requests; waiting ones are written by the next flush', async () => {
    const h = harness();
    const { queue, sink } = h;
    const written = [watch(queue.enqueue(Buffer.from('w1'))), watch(queue.enqueue(Buffer.from('w2')))];
    queue.flush(sink);
    const waiting = watch(queue.enqueue(Buffer.from('q1')));
    const broken = new Error('socket broke');
    queue.failWritten(broken);
    expect(queue.onTheWire).toBe(0);
    expect(queue.pending).toBe(1);
    expect(h.drained).toBe(0);
    const fresh = new RecordingSink();
    queue.flush(fresh);
    expect(fresh.written).toBe('q1');
    queue.deliver('ok');
    await microtasks();
    expect(written.map((o) => o.error)).toEqual([broken, broken]);
    expect(waiting).toMatchObject({ settled: 1, value: 'ok' });
    expect(h.drained).toBe(1);
  });

  it('failAll rejects written and waiting requests once, oldest first, and drains', async () => {
    const h = harness();
    const order: string[] = [];
    const track = (name: string, promise: Promise<Reply>): Outcome => {
      promise.catch(() => order.push(name));
      return watch(promise);
    };
    const a = track('a', h.queue.enqueue(Buffer.from('a')));
    h.queue.flush(h.sink);
    const b = track('b', h.queue.enqueue(Buffer.from('b')));
    const error = new Error('closed');
    h.queue.failAll(error);
    h.queue.failAll(new Error('again'));
    h.queue.failWritten(new Error('again'));
    expect(h.queue.pending).toBe(0);
    expect(h.queue.hasWaiting).toBe(false);
    expect(h.drained).toBe(1);
    await microtasks();
    expect([a, b]).toEqual([
      { settled: 1, error },
      { settled: 1, error },
    ]);
    expect(order).toEqual(['a', 'b']);
  });

  it('rejects at once with an already-aborted signal, and past maxPending, without counting them', async () => {
    const { queue } = harness({ maxPending: 2 });
    const reason = new Error('why');
    await expect(queue.enqueue(Buffer.from('x'), { signal: AbortSignal.abort(reason) })).rejects.toMatchObject({
      name: 'AbortError',
      cause: reason,
    });
    expect(queue.pending).toBe(0);
    void queue.enqueue(Buffer.from('1')).catch(() => {});
    void queue.enqueue(Buffer.from('2')).catch(() => {});
    await expect(queue.enqueue(Buffer.from('3'))).rejects.toBeInstanceOf(QueueFullError);
    expect(queue.pending).toBe(2);
    queue.failAll(new Error('end'));
    expect(queue.pending).toBe(0);
  });

  it('removes its abort listener once the request settles', async () => {
    const { queue, sink } = harness();
    const controller = new AbortController();
    const a = watch(queue.enqueue(Buffer.from('a'), { signal: controller.signal }));
    const b = watch(queue.enqueue(Buffer.from('b'), { signal: controller.signal }));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(2);
    queue.flush(sink);
    queue.deliver('A');
    queue.failAll(new Error('end'));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    controller.abort(); // no effect now
    await microtasks();
    expect(a).toEqual({ settled: 1, value: 'A' });
    expect(b.settled).toBe(1);
    expect(b.error).not.toBeInstanceOf(AbortError);
  });

  it('an abort after settlement changes nothing and does not drain twice', async () => {
    const h = harness();
    const controller = new AbortController();
    const a = watch(h.queue.enqueue(Buffer.from('a'), { signal: controller.signal }));
    h.queue.flush(h.sink);
    h.queue.deliver('A');
    controller.abort();
    await microtasks();
    expect(a).toEqual({ settled: 1, value: 'A' });
    expect(h.drained).toBe(1);
    expect(h.queue.pending).toBe(0);
  });
});

describe('RequestQueue: deadlines', () => {
  it('a waiting request that times out rejects without onStreamTimeout, and is never written', async () => {
    vi.useFakeTimers();
    const h = harness({ timeoutLimit: 50 });
    const waiting = watch(h.queue.enqueue(Buffer.from('w')));
    await vi.advanceTimersByTimeAsync(49);
    expect(waiting.settled).toBe(0);
    await vi.advanceTimersByTimeAsync(5);
    expect(waiting.settled).toBe(1);
    expect(waiting.error).toBeInstanceOf(TimeoutError);
    expect((waiting.error as Error).message).toMatch(/never sent/);
    expect(h.streamTimeouts).toEqual([]);
    expect(h.drained).toBe(1);
    h.queue.flush(h.sink);
    expect(h.sink.writes).toEqual([]);
  });

  it('a written request that times out calls onStreamTimeout once, with the error it rejected with', async () => {
    vi.useFakeTimers();
    const h = harness({ timeoutLimit: 50 });
    const first = watch(h.queue.enqueue(Buffer.from('a')));
    const second = watch(h.queue.enqueue(Buffer.from('b'), { timeout: 500 }));
    h.queue.flush(h.sink);
    await vi.advanceTimersByTimeAsync(60);
    expect(first.error).toBeInstanceOf(TimeoutError);
    expect((first.error as Error).message).toMatch(/no reply within 50 ms/);
    expect(h.streamTimeouts).toEqual([first.error]);
    expect(second.settled).toBe(0);
    expect(h.queue.pending).toBe(1);
    h.queue.failWritten(new Error('reset')); // what the connection does on onStreamTimeout
    await vi.advanceTimersByTimeAsync(1);
    expect(second.settled).toBe(1);
    expect(h.streamTimeouts).toHaveLength(1);
  });

  it('reports every expired written request when the stream is not reset in between', async () => {
    vi.useFakeTimers();
    const h = harness({ timeoutLimit: 20 });
    const a = watch(h.queue.enqueue(Buffer.from('a')));
    const b = watch(h.queue.enqueue(Buffer.from('b')));
    h.queue.flush(h.sink);
    await vi.advanceTimersByTimeAsync(30);
    expect([a.error, b.error].every((e) => e instanceof TimeoutError)).toBe(true);
    expect(h.streamTimeouts).toEqual([a.error, b.error]);
    // Their replies are still consumed in order.
    expect(h.queue.deliver('late a')).toBe(true);
    expect(h.queue.deliver('late b')).toBe(true);
    expect(h.queue.deliver('extra')).toBe(false);
  });

  it('a per-request timeout overrides timeoutLimit (shorter and longer), to within a couple of ms', async () => {
    vi.useFakeTimers();
    const h = harness({ timeoutLimit: 100 });
    const normal = watch(h.queue.enqueue(Buffer.from('n')));
    const short = watch(h.queue.enqueue(Buffer.from('s'), { timeout: 30 }));
    const long = watch(h.queue.enqueue(Buffer.from('l'), { timeout: 300 }));
    const tiny = watch(h.queue.enqueue(Buffer.from('t'), { timeout: 1 }));
    await vi.advanceTimersByTimeAsync(3);
    expect(tiny.error).toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(26); // 29 ms
    expect(short.settled).toBe(0);
    await vi.advanceTimersByTimeAsync(3); // 32 ms
    expect(short.error).toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(67); // 99 ms
    expect(normal.settled).toBe(0);
    await vi.advanceTimersByTimeAsync(3); // 102 ms
    expect(normal.error).toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(197); // 299 ms
    expect(long.settled).toBe(0);
    await vi.advanceTimersByTimeAsync(3); // 302 ms
    expect(long.error).toBeInstanceOf(TimeoutError);
    expect(h.streamTimeouts).toEqual([]);
  });

  it('an aborted or answered request does not time out later', async () => {
    vi.useFakeTimers();
    const h = harness({ timeoutLimit: 20 });
    const controller = new AbortController();
    const aborted = watch(h.queue.enqueue(Buffer.from('a'), { signal: controller.signal }));
    const answered = watch(h.queue.enqueue(Buffer.from('b')));
    h.queue.flush(h.sink);
    controller.abort();
    h.queue.deliver('late reply to a');
    h.queue.deliver('B');
    await vi.advanceTimersByTimeAsync(200);
    expect(aborted.error).toBeInstanceOf(AbortError);
    expect(answered).toEqual({ settled: 1, value: 'B' });
    expect(h.streamTimeouts).toEqual([]);
  });

  it('keeps one timer for every deadline, armed for the earliest, and none once the deadlines have passed', async () => {
    vi.useFakeTimers();
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const h = harness({ timeoutLimit: 50 });
    expect(vi.getTimerCount()).toBe(0);
    const many = Array.from({ length: 100 }, (_, i) => watch(h.queue.enqueue(Buffer.from(`r${i}`))));
    expect(vi.getTimerCount()).toBe(1);
    expect(setTimeoutSpy).toHaveBeenCalledTimes(1); // not one per request
    // A request with an earlier deadline re-arms the one timer; a later one does not.
    const early = watch(h.queue.enqueue(Buffer.from('early'), { timeout: 10 }));
    watch(h.queue.enqueue(Buffer.from('late'), { timeout: 1000 }));
    expect(vi.getTimerCount()).toBe(1);
    expect(setTimeoutSpy).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(12);
    expect(early.error).toBeInstanceOf(TimeoutError);
    expect(many.every((r) => r.settled === 0)).toBe(true);
    expect(vi.getTimerCount()).toBe(1); // re-armed for the next deadline
    h.queue.flush(h.sink);
    for (let i = 0; i <= 100; i++) h.queue.deliver(i); // 'early' was skipped; the 100 and 'late' are on the wire
    await vi.advanceTimersByTimeAsync(0);
    expect(many.every((r) => r.settled === 1)).toBe(true);
    expect(h.queue.pending).toBe(0);
    // The timer may still be armed for the passed deadline, but it stops there: nothing re-arms it.
    await vi.advanceTimersByTimeAsync(100);
    expect(vi.getTimerCount()).toBe(0);
    expect(h.streamTimeouts).toEqual([]);
  });

  it('never keeps the process alive: no active timer while requests wait (real timers)', async () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const h = harness({ timeoutLimit: 30 });
    const requests = Array.from({ length: 10 }, (_, i) => watch(h.queue.enqueue(Buffer.from(`r${i}`))));
    expect(timers()).toBe(before);
    h.queue.flush(h.sink);
    for (let i = 0; i < 10; i++) h.queue.deliver(i);
    expect(timers()).toBe(before);
    await microtasks();
    expect(requests.every((r) => r.settled === 1)).toBe(true);
    // dispose() clears the timer even with requests pending (the connection fails them first).
    const late = watch(h.queue.enqueue(Buffer.from('y')));
    h.queue.dispose();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(late.settled).toBe(0); // no timer left to time it out
    h.queue.failAll(new Error('end'));
    await microtasks();
    expect(late.settled).toBe(1);
  });

  it('a request enqueued while a deadline fires (from onStreamTimeout) does not postpone earlier deadlines', async () => {
    // The connection runs user code synchronously inside onStreamTimeout: it breaks,
    // emits a state change, and a listener may send() at once.
    vi.useFakeTimers();
    let fromCallback: Outcome | undefined;
    const sink = new RecordingSink();
    const queue = new RequestQueue({
      pipelining: false,
      maxPending: 100,
      timeoutLimit: 10_000,
      onStreamTimeout: (error) => {
        queue.failWritten(error);
        fromCallback = watch(queue.enqueue(Buffer.from('sent by a listener'))); // 10 s limit
      },
      onDrained: () => {},
    });
    const written = watch(queue.enqueue(Buffer.from('a'), { timeout: 20 }));
    const waiting = watch(queue.enqueue(Buffer.from('b'), { timeout: 50 }));
    queue.flush(sink);
    await vi.advanceTimersByTimeAsync(25);
    expect(written.error).toBeInstanceOf(TimeoutError);
    expect(fromCallback?.settled).toBe(0);
    await vi.advanceTimersByTimeAsync(30); // 55 ms: 'b' is 5 ms past its 50 ms limit
    expect(waiting.error, "'b' timed out at 50 ms, not when the listener's request does (10 s)").toBeInstanceOf(TimeoutError);
    queue.failAll(new Error('end'));
  });
});
