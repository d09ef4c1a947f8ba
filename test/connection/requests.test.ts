import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RequestQueue, type RequestQueueOptions, type RequestSink } from '../../src/connection/requests.js';
import { AbortError, DialectError, QueueFullError, ServerError, TimeoutError } from '../../src/errors.js';
import { WireDecoder } from '../../src/protocol/decoder.js';
import { DIALECTS, resolveDialect, type Dialect } from '../../src/protocol/dialect.js';
import { encodeRequest, type Command } from '../../src/protocol/encoder.js';
import type { Reply } from '../../src/protocol/values.js';
import { watch, type Outcome } from './outcome.js';
import { wireText } from './fake-transport.js';

/** The 'etx' framing without its send policy: pipelining unlimited (the policy has its own tests in send-policy.test.ts). */
const ETX = resolveDialect({ base: 'etx', maxWriteBytes: Infinity, maxUnansweredBytes: Infinity });
const NO_PIPELINING = DIALECTS['etx-request'];

/** A sink that records every call, and what would leave as one socket write. */
class RecordingSink implements RequestSink {
  readonly calls: ('write' | 'cork' | 'uncork')[] = [];
  /** A copy of every write's bytes, in order. */
  readonly writes: Buffer[] = [];
  /** The buffers exactly as handed to `write` (a socket may still hold them after `write` returns). */
  readonly handed: Buffer[] = [];
  /** Bytes per would-be socket write (writes between cork and uncork are one segment). */
  readonly segments: Buffer[] = [];
  #corked = false;
  #segment: Buffer[] = [];

  write(bytes: Buffer): void {
    expect(bytes.length, 'an empty write').toBeGreaterThan(0);
    this.calls.push('write');
    this.handed.push(bytes);
    const copy = Buffer.from(bytes);
    this.writes.push(copy);
    if (this.#corked) this.#segment.push(copy);
    else this.segments.push(copy);
  }

  cork(): void {
    expect(this.#corked, 'cork while corked').toBe(false);
    this.calls.push('cork');
    this.#corked = true;
  }

  uncork(): void {
    expect(this.#corked, 'uncork without cork').toBe(true);
    this.calls.push('uncork');
    this.#corked = false;
    if (this.#segment.length > 0) this.segments.push(Buffer.concat(this.#segment));
    this.#segment = [];
  }

  /** Everything written, joined. */
  get bytes(): Buffer {
    return Buffer.concat(this.writes);
  }

  /** The requests written, decoded from the bytes, as words (e.g. `['ECHO', 'a']`). */
  get requests(): string[][] {
    const decoder = new WireDecoder();
    const out: string[][] = [];
    decoder.push(this.bytes, (value) => out.push(value.type === 'array' ? value.value.map(wireText) : [wireText(value)]));
    expect(decoder.bufferedBytes, 'a partial request was written').toBe(0);
    return out;
  }

  /** Forgets what was recorded (keeps `handed`, to check buffers are never reused). */
  clear(): void {
    this.calls.length = 0;
    this.writes.length = 0;
    this.segments.length = 0;
  }
}

/** The exact bytes of `commands` encoded back to back for `dialect`. */
function encoded(dialect: Dialect, ...commands: Command[]): Buffer {
  return Buffer.concat(commands.map((command) => encodeRequest(dialect, command)));
}

/** Asserts that everything `sink` recorded is exactly `commands`, in order, for `dialect`. */
function expectSent(sink: RecordingSink, dialect: Dialect, ...commands: Command[]): void {
  expect(sink.requests).toEqual(commands.map((command) => command.map(String)));
  expect(sink.bytes.equals(encoded(dialect, ...commands)), 'bytes differ from the encoded commands').toBe(true);
}

/** Asserts that the buffers handed to `sink.write` still hold what was written (none was reused). */
function expectHandedIntact(sink: RecordingSink, copies: readonly Buffer[]): void {
  expect(sink.handed.length).toBe(copies.length);
  sink.handed.forEach((handed, i) => expect(handed.equals(copies[i] as Buffer), `write ${i} was overwritten`).toBe(true));
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
    dialect: ETX,
    maxPending: 1000,
    timeoutLimit: 1000,
    onStreamTimeout: (error) => h.streamTimeouts.push(error),
    onDrained: () => h.drained++,
    ...options,
  });
  Object.assign(h, { queue });
  return h;
}


/** Enqueues a request whose rejection the test does not care about. */
function fireAndForget(queue: RequestQueue, command: Command, options?: Parameters<RequestQueue['enqueue']>[1]): void {
  queue.enqueue(command, options).catch(() => {});
}

const microtasks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const echo = (text: string): Command => ['ECHO', text];

/** Commands the encoder refuses, with the error each throws (for the 'etx' dialect). */
const INVALID: readonly (readonly [string, Command, new (...args: never[]) => Error])[] = [
  ['an undefined argument', ['SET', 'k', undefined] as unknown as Command, TypeError],
  ['an undefined argument after a long one', ['SET', 'k', 'v'.repeat(5000), undefined] as unknown as Command, TypeError],
  ['a function nested in an array', ['SET', 'k', ['ok', () => 1]] as unknown as Command, TypeError],
  ['an empty command name', ['', 'x'] as unknown as Command, TypeError],
  ['a non-string command name', [42, 'x'] as unknown as Command, TypeError],
  ['a bigint past 64 bits', ['SET', 'k', 2n ** 63n], RangeError],
  ['the byte 0x03 in a value', ['SET', 'k', 'a\x03b'], DialectError],
  ['the byte 0x03 in a long value', ['SET', 'k', `${'x'.repeat(100)}\x03`], DialectError],
];

afterEach(() => {
  // Spies first: a spy made under fake timers would otherwise put the fake back.
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe('RequestQueue: writing with pipelining', () => {
  it('writes every waiting request with one write, no cork, exactly as encoded', () => {
    const { queue, sink } = harness();
    const commands: Command[] = [echo('a'), ['SET', 'key', 42], ['GET', 'ключ'], ['PING']];
    for (const command of commands) watch(queue.enqueue(command));
    expect(queue.pending).toBe(4);
    expect(queue.hasWaiting).toBe(true);
    expect(queue.onTheWire).toBe(0);
    queue.flush(sink);
    expect(sink.calls).toEqual(['write']);
    expect(sink.requests).toEqual([['ECHO', 'a'], ['SET', 'key', '42'], ['GET', 'ключ'], ['PING']]);
    expect(sink.bytes.equals(encoded(ETX, ...commands))).toBe(true);
    expect(queue.onTheWire).toBe(4);
    expect(queue.hasWaiting).toBe(false);
    queue.failAll(new Error('end'));
  });

  it('each flush writes only what was enqueued since the last one; an empty flush writes nothing', () => {
    const { queue, sink } = harness();
    queue.flush(sink);
    expect(sink.calls).toEqual([]);
    watch(queue.enqueue(echo('1')));
    watch(queue.enqueue(echo('2')));
    queue.flush(sink);
    queue.flush(sink);
    watch(queue.enqueue(echo('3')));
    queue.flush(sink);
    queue.flush(sink);
    expect(sink.calls).toEqual(['write', 'write']);
    expect(sink.writes[0]?.equals(encoded(ETX, echo('1'), echo('2')))).toBe(true);
    expect(sink.writes[1]?.equals(encoded(ETX, echo('3')))).toBe(true);
    expect(queue.onTheWire).toBe(3);
    queue.failAll(new Error('end'));
  });

  it('never writes again into a buffer it handed to the sink (a socket may still hold it)', () => {
    const { queue, sink } = harness();
    // Sizes chosen to go past the writer's 16 KB start, so it grows and reuses its tail.
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < round % 7; i++) watch(queue.enqueue(['SET', `k${round}.${i}`, 'v'.repeat(round * 97)]));
      queue.flush(sink);
    }
    expectHandedIntact(sink, sink.writes);
    expect(sink.requests).toHaveLength(queue.onTheWire);
    queue.failAll(new Error('end'));
  });

  it('leaves out a request aborted before it was written, and its reply goes to the next', async () => {
    const { queue, sink } = harness();
    const controller = new AbortController();
    const first = watch(queue.enqueue(echo('11')));
    const skipped = watch(queue.enqueue(echo('22'), { signal: controller.signal }));
    const third = watch(queue.enqueue(echo('33')));
    controller.abort();
    expect(queue.pending).toBe(2);
    queue.flush(sink);
    expectSent(sink, ETX, echo('11'), echo('33'));
    // Two runs, one segment: still a single socket write.
    expect(sink.calls).toEqual(['cork', 'write', 'write', 'uncork']);
    expect(sink.segments).toHaveLength(1);
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

  it('writes the requests around aborted ones in contiguous runs', () => {
    const { queue, sink } = harness();
    const controllers = Array.from({ length: 8 }, () => new AbortController());
    const commands = controllers.map((_, i) => echo(`r${i}`));
    commands.forEach((command, i) => fireAndForget(queue, command, { signal: controllers[i]?.signal }));
    for (const i of [0, 3, 4, 7]) controllers[i]?.abort();
    queue.flush(sink);
    expect(sink.calls).toEqual(['cork', 'write', 'write', 'uncork']);
    expect(sink.writes[0]?.equals(encoded(ETX, echo('r1'), echo('r2')))).toBe(true);
    expect(sink.writes[1]?.equals(encoded(ETX, echo('r5'), echo('r6')))).toBe(true);
    expect(sink.segments).toHaveLength(1);
    expect(queue.onTheWire).toBe(4);
    queue.failAll(new Error('end'));
  });

  it('after a flush that skipped aborted requests, the next flush is one plain write again', () => {
    const { queue, sink } = harness();
    const controller = new AbortController();
    fireAndForget(queue, echo('a'), { signal: controller.signal });
    fireAndForget(queue, echo('b'));
    controller.abort();
    queue.flush(sink);
    expectSent(sink, ETX, echo('b'));
    sink.clear();
    fireAndForget(queue, echo('c'));
    fireAndForget(queue, echo('d'));
    queue.flush(sink);
    expect(sink.calls).toEqual(['write']);
    expectSent(sink, ETX, echo('c'), echo('d'));
    queue.failAll(new Error('end'));
  });

  it('writes nothing when every waiting request was aborted, and the next request alone later', () => {
    const { queue, sink } = harness();
    const aborted = new AbortController();
    fireAndForget(queue, echo('x'), { signal: aborted.signal });
    fireAndForget(queue, echo('y'), { signal: aborted.signal });
    aborted.abort();
    expect(queue.pending).toBe(0);
    queue.flush(sink);
    expect(sink.writes).toEqual([]);
    expect(queue.onTheWire).toBe(0);
    expect(queue.hasWaiting).toBe(false);
    fireAndForget(queue, echo('z'));
    queue.flush(sink);
    expect(sink.calls.filter((call) => call === 'write')).toEqual(['write']);
    expectSent(sink, ETX, echo('z'));
    queue.failAll(new Error('end'));
  });

  it.each(INVALID)('refuses %s synchronously; nothing is queued and the next flush is exact', (_, command, errorClass) => {
    const { queue, sink } = harness();
    watch(queue.enqueue(echo('before')));
    expect(() => queue.enqueue(command)).toThrow(errorClass);
    expect(queue.pending).toBe(1);
    watch(queue.enqueue(echo('after')));
    queue.flush(sink);
    expect(sink.calls).toEqual(['write']);
    expectSent(sink, ETX, echo('before'), echo('after'));
    expect(queue.onTheWire).toBe(2);
    queue.failAll(new Error('end'));
  });

  it("refuses a request past the dialect's maxRequestBytes; the queue stays usable", () => {
    const small = resolveDialect({ requestTerminator: true, pipelining: true, maxRequestBytes: 40 });
    const { queue, sink } = harness({ dialect: small });
    watch(queue.enqueue(echo('ok')));
    expect(() => queue.enqueue(['SET', 'k', 'v'.repeat(40)])).toThrow(DialectError);
    expect(queue.pending).toBe(1);
    queue.flush(sink);
    expectSent(sink, small, echo('ok'));
    queue.failAll(new Error('end'));
  });

  it('an already-aborted signal and a full queue reject at once, leave no bytes, and are not counted', async () => {
    const { queue, sink } = harness({ maxPending: 2 });
    const reason = new Error('why');
    await expect(queue.enqueue(echo('aborted'), { signal: AbortSignal.abort(reason) })).rejects.toMatchObject({
      name: 'AbortError',
      cause: reason,
    });
    expect(queue.pending).toBe(0);
    expect(queue.hasWaiting).toBe(false);
    queue.flush(sink);
    expect(sink.calls).toEqual([]);
    fireAndForget(queue, echo('1'));
    await expect(queue.enqueue(echo('aborted too'), { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    fireAndForget(queue, echo('2'));
    await expect(queue.enqueue(echo('3'))).rejects.toBeInstanceOf(QueueFullError);
    expect(queue.pending).toBe(2);
    queue.flush(sink);
    expect(sink.calls).toEqual(['write']);
    expectSent(sink, ETX, echo('1'), echo('2'));
    queue.failAll(new Error('end'));
    expect(queue.pending).toBe(0);
  });
});

describe('RequestQueue: writing without pipelining', () => {
  it('writes one request, and the next only after its reply, each exactly as encoded', async () => {
    const { queue, sink } = harness({ dialect: NO_PIPELINING });
    const outcomes = ['a', 'b', 'c'].map((text) => watch(queue.enqueue(echo(text))));
    queue.flush(sink);
    queue.flush(sink);
    expectSent(sink, NO_PIPELINING, echo('a'));
    expect(queue.onTheWire).toBe(1);
    expect(queue.deliver('A')).toBe(true);
    queue.flush(sink);
    queue.flush(sink);
    expectSent(sink, NO_PIPELINING, echo('a'), echo('b'));
    queue.deliver('B');
    queue.flush(sink);
    queue.deliver('C');
    queue.flush(sink);
    expect(sink.calls).toEqual(['write', 'write', 'write']);
    sink.writes.forEach((write, i) => expect(write.equals(encodeRequest(NO_PIPELINING, echo('abc'[i] as string)))).toBe(true));
    await microtasks();
    expect(outcomes.map((o) => o.value)).toEqual(['A', 'B', 'C']);
  });

  it('uses the framing of its dialect (legacy: no terminator)', () => {
    const { queue, sink } = harness({ dialect: DIALECTS.legacy });
    watch(queue.enqueue(echo('a')));
    queue.flush(sink);
    expectSent(sink, DIALECTS.legacy, echo('a'));
    expect(sink.bytes.includes(0x03)).toBe(false);
    queue.failAll(new Error('end'));
  });

  it('keeps each waiting request intact while later ones are encoded', () => {
    const { queue, sink } = harness({ dialect: NO_PIPELINING });
    const commands = Array.from({ length: 30 }, (_, i): Command => ['SET', `k${i}`, 'v'.repeat(i * 311)]);
    for (const command of commands) watch(queue.enqueue(command));
    for (let i = 0; i < commands.length; i++) {
      queue.flush(sink);
      queue.deliver('OK');
    }
    expectSent(sink, NO_PIPELINING, ...commands);
    expectHandedIntact(sink, sink.writes);
  });

  it('an aborted written request still holds the line until its reply', async () => {
    const { queue, sink } = harness({ dialect: NO_PIPELINING });
    const controller = new AbortController();
    const first = watch(queue.enqueue(echo('a'), { signal: controller.signal }));
    const second = watch(queue.enqueue(echo('b')));
    queue.flush(sink);
    controller.abort();
    queue.flush(sink);
    expectSent(sink, NO_PIPELINING, echo('a')); // 'b' must wait for the reply to 'a'
    queue.deliver('reply-to-a');
    queue.flush(sink);
    expectSent(sink, NO_PIPELINING, echo('a'), echo('b'));
    queue.deliver('reply-to-b');
    await microtasks();
    expect(first.error).toBeInstanceOf(AbortError);
    expect(second.value).toBe('reply-to-b');
  });

  it('skips waiting requests that were aborted', () => {
    const { queue, sink } = harness({ dialect: NO_PIPELINING });
    const controller = new AbortController();
    fireAndForget(queue, echo('a'), { signal: controller.signal });
    fireAndForget(queue, echo('b'), { signal: controller.signal });
    watch(queue.enqueue(echo('c')));
    controller.abort();
    queue.flush(sink);
    expectSent(sink, NO_PIPELINING, echo('c'));
    queue.failAll(new Error('end'));
  });

  it('refuses invalid commands synchronously; nothing is queued and what follows is exact', () => {
    const { queue, sink } = harness({ dialect: NO_PIPELINING });
    watch(queue.enqueue(echo('before')));
    for (const [, command, errorClass] of INVALID) expect(() => queue.enqueue(command)).toThrow(errorClass);
    expect(queue.pending).toBe(1);
    watch(queue.enqueue(echo('after')));
    queue.flush(sink);
    queue.deliver('1');
    queue.flush(sink);
    queue.deliver('2');
    queue.flush(sink);
    expect(sink.calls).toEqual(['write', 'write']);
    expectSent(sink, NO_PIPELINING, echo('before'), echo('after'));
  });

  it('an already-aborted signal and a full queue reject at once and leave no bytes', async () => {
    const { queue, sink } = harness({ dialect: NO_PIPELINING, maxPending: 1 });
    await expect(queue.enqueue(echo('x'), { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    fireAndForget(queue, echo('1'));
    await expect(queue.enqueue(echo('2'))).rejects.toBeInstanceOf(QueueFullError);
    expect(queue.pending).toBe(1);
    queue.flush(sink);
    queue.deliver('one');
    queue.flush(sink);
    expectSent(sink, NO_PIPELINING, echo('1'));
    expect(queue.pending).toBe(0);
  });
});

describe('RequestQueue: replies and settlement', () => {
  it('matches replies in order; error replies reject with the ServerError', async () => {
    const { queue, sink } = harness();
    const outcomes = ['1', '2', '3'].map((text) => watch(queue.enqueue(echo(text))));
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
    const h = harness();
    const { queue, sink } = h;
    const controller = new AbortController();
    const aborted = watch(queue.enqueue(echo('a'), { signal: controller.signal }));
    const next = watch(queue.enqueue(echo('b')));
    queue.flush(sink);
    controller.abort();
    expect(queue.pending).toBe(1);
    expect(queue.onTheWire).toBe(2);
    expect(h.drained).toBe(0);
    expect(queue.deliver('for-a')).toBe(true);
    expect(queue.deliver('for-b')).toBe(true);
    expect(h.drained).toBe(1);
    await microtasks();
    expect(aborted.error).toBeInstanceOf(AbortError);
    expect(next).toMatchObject({ settled: 1, value: 'for-b' });
    expectSent(sink, ETX, echo('a'), echo('b'));
  });

  it('deliver returns false when no request waits for a reply', () => {
    const { queue } = harness();
    expect(queue.deliver('stray')).toBe(false);
    fireAndForget(queue, echo('x'));
    expect(queue.deliver('not written yet')).toBe(false);
    queue.failAll(new Error('end'));
  });

  it('failWritten rejects only written requests; waiting ones are written by the next flush', async () => {
    const h = harness();
    const { queue, sink } = h;
    const written = [watch(queue.enqueue(echo('w1'))), watch(queue.enqueue(echo('w2')))];
    queue.flush(sink);
    const waiting = watch(queue.enqueue(echo('q1')));
    const broken = new Error('socket broke');
    queue.failWritten(broken);
    expect(queue.onTheWire).toBe(0);
    expect(queue.pending).toBe(1);
    expect(queue.hasWaiting).toBe(true);
    expect(h.drained).toBe(0);
    const fresh = new RecordingSink();
    queue.flush(fresh);
    expect(fresh.calls).toEqual(['write']);
    expectSent(fresh, ETX, echo('q1'));
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
    const a = track('a', h.queue.enqueue(echo('a')));
    h.queue.flush(h.sink);
    const b = track('b', h.queue.enqueue(echo('b')));
    const error = new Error('closed');
    h.queue.failAll(error);
    h.queue.failAll(new Error('again'));
    h.queue.failWritten(new Error('again'));
    expect(h.queue.pending).toBe(0);
    expect(h.queue.onTheWire).toBe(0);
    expect(h.queue.hasWaiting).toBe(false);
    expect(h.drained).toBe(1);
    await microtasks();
    expect([a, b]).toEqual([
      { settled: 1, error },
      { settled: 1, error },
    ]);
    expect(order).toEqual(['a', 'b']);
  });

  it.each([
    ['pipelining', ETX],
    ['no pipelining', NO_PIPELINING],
  ] as const)('failAll drops the unsent bytes (%s): the next flush writes only newer requests', (_, dialect) => {
    const { queue, sink } = harness({ dialect });
    const controller = new AbortController();
    fireAndForget(queue, echo('dropped 1'));
    fireAndForget(queue, echo('aborted'), { signal: controller.signal });
    fireAndForget(queue, echo('dropped 2'));
    controller.abort();
    queue.failAll(new Error('reset'));
    fireAndForget(queue, echo('new 1'));
    fireAndForget(queue, echo('new 2'));
    queue.flush(sink);
    queue.deliver('1');
    queue.flush(sink);
    if (dialect.pipelining) {
      expect(sink.calls).toEqual(['write']);
      expectSent(sink, dialect, echo('new 1'), echo('new 2'));
    } else {
      expect(sink.calls).toEqual(['write', 'write']);
      expectSent(sink, dialect, echo('new 1'), echo('new 2'));
    }
    queue.failAll(new Error('end'));
  });

  it('a request enqueued from onDrained while failAll runs is still written, and gets its own reply', async () => {
    let fromDrained: Outcome | undefined;
    const sink = new RecordingSink();
    const queue: RequestQueue = new RequestQueue({
      dialect: ETX,
      maxPending: 10,
      timeoutLimit: 1000,
      onStreamTimeout: () => {},
      onDrained: () => {
        fromDrained ??= watch(queue.enqueue(echo('from onDrained')));
      },
    });
    fireAndForget(queue, echo('old'));
    queue.failAll(new Error('reset'));
    expect(queue.pending).toBe(1); // it survived failAll
    const next = watch(queue.enqueue(echo('next')));
    queue.flush(sink);
    expect(queue.onTheWire).toBe(2);
    // The server echoes what it received: today only 'next', whose reply then goes to the other caller.
    for (const [, text] of sink.requests) queue.deliver(text ?? null);
    await microtasks();
    expect([fromDrained?.value, next.value]).toEqual(['from onDrained', 'next']);
    expectSent(sink, ETX, echo('from onDrained'), echo('next'));
    queue.failAll(new Error('end'));
  });

  it('removes its abort listener once the request settles', async () => {
    const { queue, sink } = harness();
    const controller = new AbortController();
    const a = watch(queue.enqueue(echo('a'), { signal: controller.signal }));
    const b = watch(queue.enqueue(echo('b'), { signal: controller.signal }));
    expect(getEventListeners(controller.signal, 'abort'), 'one listener per signal').toHaveLength(1);
    queue.flush(sink);
    queue.deliver('A');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    queue.failAll(new Error('end'));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    controller.abort(); // no effect now
    await microtasks();
    expect(a).toEqual({ settled: 1, value: 'A' });
    expect(b.settled).toBe(1);
    expect(b.error).not.toBeInstanceOf(AbortError);
  });

  it('one signal shared by 500 requests: one listener, no MaxListenersExceededWarning, and an abort rejects them all', async () => {
    const { queue, sink } = harness();
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const controller = new AbortController();
      const outcomes = Array.from({ length: 500 }, (_, i) => watch(queue.enqueue(echo(`r${i}`), { signal: controller.signal })));
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
      queue.flush(sink);
      for (let i = 0; i < 100; i++) queue.deliver(`R${i}`);
      controller.abort();
      await microtasks();
      await new Promise((resolve) => setImmediate(resolve));
      expect(outcomes.slice(0, 100).every((o, i) => o.value === `R${i}`)).toBe(true);
      expect(outcomes.slice(100).every((o) => o.settled === 1 && o.error instanceof AbortError)).toBe(true);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      expect(queue.pending).toBe(0);
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('an abort after settlement changes nothing and does not drain twice', async () => {
    const h = harness();
    const controller = new AbortController();
    const a = watch(h.queue.enqueue(echo('a'), { signal: controller.signal }));
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
    const waiting = watch(h.queue.enqueue(echo('w')));
    await vi.advanceTimersByTimeAsync(49);
    expect(waiting.settled).toBe(0);
    await vi.advanceTimersByTimeAsync(5);
    expect(waiting.settled).toBe(1);
    expect(waiting.error).toBeInstanceOf(TimeoutError);
    expect((waiting.error as Error).message).toMatch(/never sent/);
    expect(h.streamTimeouts).toEqual([]);
    expect(h.drained).toBe(1);
    expect(h.queue.hasWaiting).toBe(false);
    h.queue.flush(h.sink);
    expect(h.sink.writes).toEqual([]);
    // A later request goes out alone: the timed-out one's bytes stay unsent.
    watch(h.queue.enqueue(echo('later')));
    h.queue.flush(h.sink);
    expectSent(h.sink, ETX, echo('later'));
    h.queue.failAll(new Error('end'));
  });

  it.each([
    ['pipelining', ETX],
    ['no pipelining', NO_PIPELINING],
  ] as const)('waiting requests that time out are left out of the bytes; the others are written (%s)', async (_, dialect) => {
    vi.useFakeTimers();
    const h = harness({ dialect, timeoutLimit: 1000 });
    const k1 = watch(h.queue.enqueue(echo('k1')));
    const k2 = watch(h.queue.enqueue(echo('k2')));
    const x1 = watch(h.queue.enqueue(echo('x1'), { timeout: 10 }));
    const x2 = watch(h.queue.enqueue(echo('x2'), { timeout: 10 }));
    const k3 = watch(h.queue.enqueue(echo('k3')));
    await vi.advanceTimersByTimeAsync(15);
    expect([x1.error, x2.error].map((error) => error instanceof TimeoutError)).toEqual([true, true]);
    expect(h.queue.pending).toBe(3);
    for (let i = 1; i <= 3; i++) {
      h.queue.flush(h.sink);
      h.queue.deliver(`reply ${i}`);
    }
    expectSent(h.sink, dialect, echo('k1'), echo('k2'), echo('k3'));
    if (dialect.pipelining) {
      // Two runs around the timed-out pair, one segment.
      expect(h.sink.calls).toEqual(['cork', 'write', 'write', 'uncork']);
      expect(h.sink.segments).toHaveLength(1);
    }
    await vi.advanceTimersByTimeAsync(0); // settle the promises (setImmediate is faked too)
    expect([k1.value, k2.value, k3.value]).toEqual(['reply 1', 'reply 2', 'reply 3']);
    expect(h.streamTimeouts).toEqual([]);
  });

  it('without pipelining, a written request that times out calls onStreamTimeout once, with the error it rejected with', async () => {
    vi.useFakeTimers();
    const h = harness({ dialect: NO_PIPELINING, timeoutLimit: 50 });
    const first = watch(h.queue.enqueue(echo('a')));
    const second = watch(h.queue.enqueue(echo('b'), { timeout: 500 }));
    h.queue.flush(h.sink);
    await vi.advanceTimersByTimeAsync(60);
    expect(first.error).toBeInstanceOf(TimeoutError);
    expect((first.error as Error).message).toMatch(/no reply within 50 ms; the connection is reset/);
    expect(h.streamTimeouts).toEqual([first.error]);
    expect(second.settled).toBe(0);
    expect(h.queue.pending).toBe(1);
    h.queue.failWritten(new Error('reset')); // what the connection does on onStreamTimeout
    await vi.advanceTimersByTimeAsync(1);
    expect(second.settled, 'a request not yet written is never failed by the reset').toBe(0);
    h.queue.flush(h.sink);
    h.queue.deliver('B');
    await vi.advanceTimersByTimeAsync(0);
    expect(second).toEqual({ settled: 1, value: 'B' });
    expect(h.streamTimeouts).toHaveLength(1);
  });

  it('with pipelining, a per-call timeout fails only its own request; its late reply is read and dropped', async () => {
    vi.useFakeTimers();
    const h = harness({ timeoutLimit: 1000 });
    const before = watch(h.queue.enqueue(echo('before')));
    const slow = watch(h.queue.enqueue(echo('slow'), { timeout: 20 }));
    const after = watch(h.queue.enqueue(['SET', 'k', 'v']));
    h.queue.flush(h.sink);
    await vi.advanceTimersByTimeAsync(30);
    expect(slow.error).toBeInstanceOf(TimeoutError);
    expect((slow.error as Error).message).toMatch(/no reply within 20 ms; the request was abandoned/);
    expect(h.streamTimeouts).toEqual([]);
    expect([before.settled, after.settled]).toEqual([0, 0]);
    expect(h.queue.deliver('B')).toBe(true);
    expect(h.queue.deliver('late reply of slow')).toBe(true);
    expect(h.queue.deliver('OK')).toBe(true);
    await vi.advanceTimersByTimeAsync(0);
    expect([before.value, after.value]).toEqual(['B', 'OK']);
    expect(slow.settled).toBe(1);
    await vi.advanceTimersByTimeAsync(5000);
    expect(h.streamTimeouts).toEqual([]);
  });

  it('with pipelining, the stream is reset once the oldest unanswered request is overdue by timeoutLimit (or its own longer limit)', async () => {
    vi.useFakeTimers();
    const h = harness({ timeoutLimit: 100 });
    const aborted = new AbortController();
    const gone = watch(h.queue.enqueue(echo('gone'), { signal: aborted.signal }));
    const patient = watch(h.queue.enqueue(echo('patient'), { timeout: 300 }));
    h.queue.flush(h.sink);
    aborted.abort();
    await vi.advanceTimersByTimeAsync(90);
    expect(gone.error).toBeInstanceOf(AbortError);
    expect(h.streamTimeouts).toEqual([]);
    await vi.advanceTimersByTimeAsync(20); // 110 ms: the aborted request, oldest on the wire, 100 ms silent
    expect(h.streamTimeouts).toHaveLength(1);
    expect(h.streamTimeouts[0]?.message).toMatch(/oldest request on the wire; the connection is reset because its reply stream has stalled/);
    h.queue.failWritten(new Error('reset', { cause: h.streamTimeouts[0] }));
    await vi.advanceTimersByTimeAsync(0);
    expect(patient.settled).toBe(1);

    // Its own longer limit holds the stream open longer: 300 ms, not 100.
    const long = watch(h.queue.enqueue(echo('save'), { timeout: 300 }));
    h.queue.flush(h.sink);
    await vi.advanceTimersByTimeAsync(250);
    expect(h.streamTimeouts).toHaveLength(1);
    expect(long.settled).toBe(0);
    await vi.advanceTimersByTimeAsync(60);
    expect(long.error).toBeInstanceOf(TimeoutError);
    expect(h.streamTimeouts).toHaveLength(2);
  });

  it('a per-request timeout overrides timeoutLimit (shorter and longer), to within a couple of ms', async () => {
    vi.useFakeTimers();
    const h = harness({ timeoutLimit: 100 });
    const normal = watch(h.queue.enqueue(echo('n')));
    const short = watch(h.queue.enqueue(echo('s'), { timeout: 30 }));
    const long = watch(h.queue.enqueue(echo('l'), { timeout: 300 }));
    const tiny = watch(h.queue.enqueue(echo('t'), { timeout: 1 }));
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
    const aborted = watch(h.queue.enqueue(echo('a'), { signal: controller.signal }));
    const answered = watch(h.queue.enqueue(echo('b')));
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
    const many = Array.from({ length: 100 }, (_, i) => watch(h.queue.enqueue(echo(`r${i}`))));
    await Promise.resolve(); // deadlines are stamped when the code that made the requests yields
    expect(vi.getTimerCount()).toBe(1);
    expect(setTimeoutSpy).toHaveBeenCalledTimes(1); // not one per request
    // A request with an earlier deadline re-arms the one timer; a later one does not.
    const early = watch(h.queue.enqueue(echo('early'), { timeout: 10 }));
    watch(h.queue.enqueue(echo('late'), { timeout: 1000 }));
    await Promise.resolve();
    expect(vi.getTimerCount()).toBe(1);
    expect(setTimeoutSpy).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(12);
    expect(early.error).toBeInstanceOf(TimeoutError);
    expect(many.every((r) => r.settled === 0)).toBe(true);
    expect(vi.getTimerCount()).toBe(1); // re-armed for the next deadline
    h.queue.flush(h.sink);
    // 'early' was left out; the 100 and 'late' are on the wire.
    expect(h.queue.onTheWire).toBe(101);
    expect(h.sink.requests.map((words) => words[1])).toEqual([...many.map((_, i) => `r${i}`), 'late']);
    for (let i = 0; i <= 100; i++) h.queue.deliver(i);
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
    const requests = Array.from({ length: 10 }, (_, i) => watch(h.queue.enqueue(echo(`r${i}`))));
    expect(timers()).toBe(before);
    h.queue.flush(h.sink);
    for (let i = 0; i < 10; i++) h.queue.deliver(i);
    expect(timers()).toBe(before);
    await microtasks();
    expect(requests.every((r) => r.settled === 1)).toBe(true);
    // dispose() clears the timer even with requests pending (the connection fails them first).
    const late = watch(h.queue.enqueue(echo('y')));
    h.queue.dispose();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(late.settled).toBe(0); // no timer left to time it out
    h.queue.failAll(new Error('end'));
    await microtasks();
    expect(late.settled).toBe(1);
  });

  it.each([
    ['pipelining', ETX],
    ['no pipelining', NO_PIPELINING],
  ] as const)(
    'a request enqueued while a deadline fires (from onStreamTimeout) does not postpone earlier deadlines (%s)',
    async (_, dialect) => {
      // The connection runs user code synchronously inside onStreamTimeout: it breaks,
      // emits a state change, and a listener may send() at once.
      vi.useFakeTimers();
      let fromCallback: Outcome | undefined;
      const sink = new RecordingSink();
      const queue = new RequestQueue({
        dialect,
        maxPending: 100,
        // A written request 20 ms overdue resets the stream in every dialect (pipelining: as the oldest unanswered).
        timeoutLimit: 20,
        onStreamTimeout: (error) => {
          queue.failWritten(error);
          fromCallback = watch(queue.enqueue(echo('sent by a listener'), { timeout: 10_000 }));
        },
        onDrained: () => {},
      });
      const written = watch(queue.enqueue(echo('a')));
      queue.flush(sink);
      const waiting = watch(queue.enqueue(echo('b'), { timeout: 50 }));
      if (!dialect.pipelining) queue.flush(sink); // 'b' waits behind 'a'
      await vi.advanceTimersByTimeAsync(25);
      expect(written.error).toBeInstanceOf(TimeoutError);
      expect(fromCallback?.settled).toBe(0);
      await vi.advanceTimersByTimeAsync(30); // 55 ms: 'b' is 5 ms past its 50 ms limit
      expect(waiting.error, "'b' timed out at 50 ms, not when the listener's request does (10 s)").toBeInstanceOf(TimeoutError);
      // Only the listener's request is left to write, and it goes out exactly.
      queue.flush(sink);
      expectSent(sink, dialect, echo('a'), echo('sent by a listener'));
      queue.failAll(new Error('end'));
    },
  );
});
