/**
 * The send policy (PipelinedWrites) on its own, with the real FIFO and byte
 * stream: which waiting requests leave in which writes under maxWriteBytes
 * and maxUnansweredBytes, when it holds requests back, the large request that
 * goes alone, settled requests skipped, and the counts it keeps.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PendingRequest, RequestFifo } from '../../src/connection/request-fifo.js';
import type { RequestSink } from '../../src/connection/requests.js';
import { PipelinedWrites } from '../../src/connection/send-policy.js';
import { UnsentBytes } from '../../src/connection/unsent-bytes.js';
import { resolveDialect } from '../../src/protocol/dialect.js';
import { encodeRequest, type Command } from '../../src/protocol/encoder.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** Every request below is `GET kNN`: 23 bytes on 'etx' framing (two-digit keys). */
const SIZE = encodeRequest(resolveDialect('etx'), ['GET', 'k00']).length;

class Sink implements RequestSink {
  readonly calls: string[] = [];
  readonly writes: Buffer[] = [];
  /** The buffers exactly as handed over. */
  readonly handed: Buffer[] = [];
  write(bytes: Buffer): void {
    this.calls.push(`write ${bytes.length}`);
    this.handed.push(bytes);
    this.writes.push(Buffer.from(bytes));
  }
  cork(): void {
    this.calls.push('cork');
  }
  uncork(): void {
    this.calls.push('uncork');
  }
  /** The keys written, in order. */
  get keys(): string[] {
    return Buffer.concat(this.writes)
      .toString('latin1')
      .split('\x03')
      .filter((request) => request !== '')
      .map((request) => request.split('\r\n')[4] as string);
  }
  clear(): void {
    this.calls.length = 0;
    this.writes.length = 0;
  }
}

interface Setup {
  readonly policy: PipelinedWrites;
  readonly unsent: UnsentBytes;
  readonly waiting: RequestFifo;
  readonly written: RequestFifo;
  readonly sink: Sink;
  /** Enqueues `GET k<id>` (or a larger request) and returns its record. */
  add(id: number, padding?: number): PendingRequest;
  /** Flushes with the right count of settled waiting requests; returns what flush returned. */
  flush(): number;
  /** Settles a waiting request (as an abort would). */
  settle(request: PendingRequest): void;
  /** The reply to the oldest written request arrived. */
  answer(): PendingRequest;
}

function setup(maxWriteBytes: number, maxUnansweredBytes: number): Setup {
  const dialect = resolveDialect({ base: 'etx', maxWriteBytes, maxUnansweredBytes });
  const unsent = new UnsentBytes(dialect);
  const policy = new PipelinedWrites(unsent, dialect);
  const waiting = new RequestFifo();
  const written = new RequestFifo();
  const sink = new Sink();
  let settledWaiting = 0;
  const noop = (): void => undefined;
  return {
    policy,
    unsent,
    waiting,
    written,
    sink,
    add(id, padding = 0) {
      const start = unsent.end;
      const key = `k${String(id).padStart(2, '0')}`;
      const command: Command = padding === 0 ? ['GET', key] : ['SET', key, 'x'.repeat(padding)];
      const end = unsent.append(command);
      const request = new PendingRequest(undefined, start, end, 0, 0, noop, noop);
      waiting.push(request);
      return request;
    },
    flush() {
      const skipped = policy.flush(waiting, written, sink, settledWaiting);
      settledWaiting -= skipped;
      return skipped;
    },
    settle(request) {
      request.settled = true;
      settledWaiting++;
    },
    answer() {
      const request = written.shift() as PendingRequest;
      policy.answered(request, written.length === 0);
      return request;
    },
  };
}

const keys = (...ids: number[]): string[] => ids.map((id) => `k${String(id).padStart(2, '0')}`);

describe('PipelinedWrites without limits', () => {
  it('writes everything waiting in one write, uncorked, exactly as encoded', () => {
    const s = setup(Infinity, Infinity);
    for (let i = 0; i < 5; i++) s.add(i);
    expect(s.flush()).toBe(0);
    expect(s.sink.calls).toEqual([`write ${5 * SIZE}`]);
    expect(s.sink.keys).toEqual(keys(0, 1, 2, 3, 4));
    expect(s.waiting.length).toBe(0);
    expect(s.written.length).toBe(5);
    expect(s.policy.unansweredBytes).toBe(5 * SIZE);
    expect(s.policy.held).toBe(false);
  });

  it('skips settled requests: runs around them go out corked, as one segment', () => {
    const s = setup(Infinity, Infinity);
    const requests = [0, 1, 2, 3, 4, 5].map((i) => s.add(i));
    s.settle(requests[1]!);
    s.settle(requests[2]!);
    s.settle(requests[4]!);
    expect(s.flush()).toBe(3);
    expect(s.sink.calls).toEqual(['cork', `write ${SIZE}`, `write ${SIZE}`, `write ${SIZE}`, 'uncork']);
    expect(s.sink.keys).toEqual(keys(0, 3, 5));
    expect(s.written.length).toBe(3);
    expect(s.waiting.length).toBe(0);
    expect(requests.map((r) => r.written)).toEqual([true, false, false, true, false, true]);
    expect(s.policy.unansweredBytes).toBe(3 * SIZE);
  });

  it('only settled requests waiting: nothing written, all skipped', () => {
    const s = setup(Infinity, Infinity);
    const [a, b] = [s.add(0), s.add(1)];
    s.settle(a!);
    s.settle(b!);
    expect(s.flush()).toBe(2);
    expect(s.sink.writes).toEqual([]);
    expect(s.waiting.length).toBe(0);
    expect(s.policy.held).toBe(false);
    s.add(2);
    s.flush();
    expect(s.sink.keys).toEqual(keys(2));
  });

  it('marks written requests with the time they went out', () => {
    vi.spyOn(performance, 'now').mockReturnValue(1234.5);
    const s = setup(Infinity, Infinity);
    const r = s.add(0);
    s.flush();
    expect(r.written).toBe(true);
    expect(r.writtenAt).toBe(1234.5);
    expect(s.written.peek()).toBe(r);
  });

  it('an empty queue writes nothing and holds nothing', () => {
    const s = setup(Infinity, Infinity);
    expect(s.flush()).toBe(0);
    expect(s.sink.calls).toEqual([]);
    expect(s.policy.held).toBe(false);
  });
});

describe('PipelinedWrites with maxWriteBytes', () => {
  it('cuts writes at whole requests, each at most maxWriteBytes (a write exactly at the limit is one write)', () => {
    const s = setup(2 * SIZE, Infinity);
    for (let i = 0; i < 5; i++) s.add(i);
    s.flush();
    expect(s.sink.calls).toEqual([`write ${2 * SIZE}`, `write ${2 * SIZE}`, `write ${SIZE}`]);
    expect(s.sink.keys).toEqual(keys(0, 1, 2, 3, 4));
    expect(s.policy.held).toBe(false);
  });

  it('joins the runs around settled requests into one write, never corked', () => {
    const s = setup(3 * SIZE, Infinity);
    const requests = [0, 1, 2, 3, 4].map((i) => s.add(i));
    s.settle(requests[1]!);
    expect(s.flush()).toBe(1);
    expect(s.sink.calls).toEqual([`write ${3 * SIZE}`, `write ${SIZE}`]);
    expect(s.sink.keys).toEqual(keys(0, 2, 3, 4));
  });

  it('a request larger than maxWriteBytes goes alone, only once nothing else is unanswered', () => {
    const s = setup(2 * SIZE, 4 * SIZE);
    s.add(0);
    const large = s.add(1, 3 * SIZE);
    s.add(2);
    s.flush();
    // The small one goes; the large one waits for its reply.
    expect(s.sink.keys).toEqual(keys(0));
    expect(s.policy.held).toBe(true);
    s.sink.clear();
    s.flush();
    expect(s.sink.writes).toEqual([]);
    expect(s.policy.held).toBe(true);
    s.answer();
    s.flush();
    expect(s.sink.calls).toEqual([`write ${large.end - large.start}`]);
    expect(s.sink.keys).toEqual(keys(1));
    // Nothing after it until its reply, whatever the limits.
    expect(s.policy.held).toBe(true);
    s.sink.clear();
    s.flush();
    expect(s.sink.writes).toEqual([]);
    expect(s.policy.held).toBe(true);
    expect(s.policy.unansweredBytes).toBe(large.end - large.start);
    s.answer();
    expect(s.policy.unansweredBytes).toBe(0);
    s.flush();
    expect(s.sink.keys).toEqual(keys(2));
    expect(s.policy.held).toBe(false);
  });

  it('a large request first in line goes at once, alone, even with the unanswered limit below its size', () => {
    const s = setup(SIZE, SIZE);
    const large = s.add(0, 5 * SIZE);
    s.add(1);
    s.flush();
    expect(s.sink.calls).toEqual([`write ${large.end - large.start}`]);
    expect(s.policy.held).toBe(true);
  });

  it('a large request waits while an earlier one of the same flush is in the write', () => {
    const s = setup(2 * SIZE, 2 * SIZE);
    s.add(0);
    s.add(1, 3 * SIZE);
    s.flush();
    expect(s.sink.keys).toEqual(keys(0));
    expect(s.waiting.length).toBe(1);
    expect(s.policy.held).toBe(true);
  });

  it('alone on the wire with only settled requests behind it: nothing is held', () => {
    const s = setup(SIZE, SIZE);
    s.add(0, 2 * SIZE);
    const behind = s.add(1);
    s.flush();
    expect(s.policy.held).toBe(true);
    s.settle(behind);
    s.flush();
    expect(s.policy.held).toBe(false);
    s.settle(s.add(2));
    s.flush();
    expect(s.policy.held).toBe(false);
  });

  it('settled requests after a large request are skipped with it in the same flush', () => {
    const s = setup(SIZE, SIZE);
    s.add(0, 2 * SIZE);
    const settled = s.add(1);
    s.settle(settled);
    s.add(2);
    // Flushing writes the large one alone; the settled one stays counted until the next flush.
    expect(s.flush()).toBe(0);
    expect(s.policy.held).toBe(true);
    s.answer();
    expect(s.flush()).toBe(1);
    expect(s.sink.keys).toEqual(['k00', 'k02']);
    expect(s.policy.held).toBe(false);
  });
});

describe('PipelinedWrites: what it holds, hands over and releases', () => {
  it('holds nothing before its first flush', () => {
    expect(setup(SIZE, SIZE).policy.held).toBe(false);
    expect(setup(Infinity, Infinity).policy.unansweredBytes).toBe(0);
  });

  it('while a large request is alone, nothing else is written, even within every limit', () => {
    const s = setup(2 * SIZE, 100 * SIZE);
    const large = s.add(0, 3 * SIZE);
    s.flush();
    expect(s.sink.keys).toEqual(keys(0));
    s.add(1);
    s.add(2);
    s.sink.clear();
    expect(s.flush()).toBe(0);
    expect(s.sink.calls).toEqual([]);
    expect(s.policy.held).toBe(true);
    expect(s.policy.unansweredBytes).toBe(large.end - large.start);
    s.answer();
    s.flush();
    expect(s.sink.keys).toEqual(keys(1, 2));
  });

  it('written alone with only settled requests behind it in the same flush: nothing is held', () => {
    const s = setup(SIZE, SIZE);
    s.add(0, 2 * SIZE);
    s.settle(s.add(1));
    s.flush();
    expect(s.sink.keys).toEqual(keys(0));
    expect(s.policy.held).toBe(false);
  });

  it('written alone after skipped settled requests, with a live one behind: held', () => {
    const s = setup(SIZE, SIZE);
    s.settle(s.add(0));
    s.add(1, 2 * SIZE);
    s.add(2);
    expect(s.flush()).toBe(1);
    expect(s.sink.keys).toEqual(keys(1));
    expect(s.policy.held).toBe(true);
  });

  it('a write of one run is handed over without a copy', () => {
    const s = setup(10 * SIZE, 10 * SIZE);
    const a = s.add(0);
    const b = s.add(1);
    s.unsent.collect();
    const view = s.unsent.slice(a.start, b.end);
    s.flush();
    expect(s.sink.handed).toHaveLength(1);
    expect(s.sink.handed[0]!.buffer).toBe(view.buffer);
    expect(s.sink.handed[0]!.byteOffset).toBe(view.byteOffset);
  });

  it('releases the bytes up to the last request it wrote or skipped, and nothing when it wrote none', () => {
    const s = setup(SIZE, SIZE);
    const release = vi.spyOn(s.unsent, 'release');
    const first = s.add(0);
    s.add(1);
    s.flush();
    expect(release.mock.calls).toEqual([[first.end]]);
    release.mockClear();
    s.flush(); // held: nothing written
    expect(release).not.toHaveBeenCalled();
    const empty = setup(SIZE, SIZE);
    const none = vi.spyOn(empty.unsent, 'release');
    empty.flush();
    empty.settle(empty.add(0));
    const skipped = empty.waiting.peek()!;
    empty.flush();
    expect(none.mock.calls).toEqual([[skipped.end]]);
  });
});

describe('PipelinedWrites with maxUnansweredBytes', () => {
  it('holds requests past the unanswered limit until replies arrive (exactly at the limit is allowed)', () => {
    const s = setup(SIZE, 3 * SIZE);
    for (let i = 0; i < 5; i++) s.add(i);
    s.flush();
    expect(s.sink.keys).toEqual(keys(0, 1, 2));
    expect(s.sink.calls).toEqual([`write ${SIZE}`, `write ${SIZE}`, `write ${SIZE}`]);
    expect(s.policy.unansweredBytes).toBe(3 * SIZE);
    expect(s.policy.held).toBe(true);
    s.sink.clear();
    s.answer();
    expect(s.policy.unansweredBytes).toBe(2 * SIZE);
    s.flush();
    expect(s.sink.keys).toEqual(keys(3));
    expect(s.policy.held).toBe(true);
    s.sink.clear();
    s.answer();
    s.answer();
    s.flush();
    expect(s.sink.keys).toEqual(keys(4));
    expect(s.policy.held).toBe(false);
    expect(s.policy.unansweredBytes).toBe(2 * SIZE);
  });

  it('held is false again after a flush that leaves nothing live waiting', () => {
    const s = setup(SIZE, SIZE);
    s.add(0);
    const second = s.add(1);
    s.flush();
    expect(s.policy.held).toBe(true);
    s.settle(second);
    s.flush();
    expect(s.policy.held).toBe(false);
  });

  it('streamLost forgets the unanswered bytes, the large request alone, and what was held', () => {
    const s = setup(SIZE, 2 * SIZE);
    s.add(0, 3 * SIZE);
    s.add(1);
    s.flush();
    expect(s.policy.held).toBe(true);
    expect(s.policy.unansweredBytes).toBeGreaterThan(0);
    s.policy.streamLost();
    s.written.drain();
    expect(s.policy.unansweredBytes).toBe(0);
    expect(s.policy.held).toBe(false);
    s.sink.clear();
    s.flush();
    expect(s.sink.keys).toEqual(keys(1));
  });

  it('answered() frees only that request’s bytes, and ends "alone" only when the wire is empty', () => {
    const s = setup(2 * SIZE, 4 * SIZE);
    const a = s.add(0);
    s.add(1);
    s.flush();
    s.policy.answered(a, false);
    expect(s.policy.unansweredBytes).toBe(SIZE);
  });

  it('the bytes of written requests are released: the stream keeps only what is still unsent', () => {
    const s = setup(SIZE, SIZE);
    s.add(0);
    const second = s.add(1);
    s.flush();
    // The unsent request can still be sliced after the written one was released.
    expect(s.unsent.slice(second.start, second.end).toString('latin1')).toContain('k01');
  });
});

describe('blocked and the time held, as the pool and users see them', () => {
  it('a request over maxWriteBytes blocks the connection from the moment it is queued until 4 of its round trips after its reply; the held time grows while requests wait', async () => {
    const { Connection } = await import('../../src/connection/connection.js');
    const { FakeTransport } = await import('./fake-transport.js');
    vi.useFakeTimers({ toFake: ['performance'] }); // the simulated clock measures the round trip and the time held
    try {
      const fake = new FakeTransport();
      const connection = new Connection({ host: 'fake', port: 1, openTransport: fake.open });
      await connection.connect();
      expect(connection.blocked).toBe(false);
      expect(connection.largeRequestBytes).toBe(1400);
      const small = connection.send(['ECHO', 'a']);
      expect(connection.blocked).toBe(false);
      const large = connection.send(['ECHO', 'x'.repeat(5000)]);
      expect(connection.blocked).toBe(true); // at once: nothing given now would go before it
      const after = connection.send(['ECHO', 'b']);
      await new Promise((resolve) => setImmediate(resolve));
      // The small one went; the large one waits for the wire to empty: blocked, and requests held.
      expect(connection.blocked).toBe(true);
      const heldAt = connection.sendPolicyHeldMs;
      vi.advanceTimersByTime(5);
      expect(connection.sendPolicyHeldMs).toBe(heldAt + 5);
      fake.answer(); // the small one: the large one goes alone
      await small;
      await new Promise((resolve) => setImmediate(resolve));
      expect(connection.blocked).toBe(true);
      vi.advanceTimersByTime(10); // the large one's round trip: 10 ms
      fake.answer(); // the large one: the last goes
      expect(await large).toBe('x'.repeat(5000));
      await new Promise((resolve) => setImmediate(resolve));
      fake.answer();
      expect(await after).toBe('b');
      // Kept for large requests for 4 round trips of the last one (40 ms), then free.
      expect(connection.blocked).toBe(true);
      vi.advanceTimersByTime(39);
      expect(connection.blocked).toBe(true);
      vi.advanceTimersByTime(2);
      expect(connection.blocked).toBe(false);
      await connection.close({ force: true });
    } finally {
      vi.useRealTimers();
    }
  });

});
