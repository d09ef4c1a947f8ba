/**
 * A large read of replies is decoded in two turns (src/connection/read-split.ts),
 * so that the requests sent in reply to its first half leave before its
 * second half is settled: client and server overlap. Nothing may be
 * reordered, lost or failed on the way: replies read before the socket
 * closed still settle their requests.
 */
import { describe, expect, it } from 'vitest';
import { Connection } from '../../src/connection/connection.js';
import { ReadSplit, SPLIT_MIN_BYTES, SPLIT_MIN_ON_THE_WIRE } from '../../src/connection/read-split.js';
import { FakeTransport } from './fake-transport.js';

/** The current framing without the send policy: every request goes in one write. */
const NO_POLICY = { base: 'etx', maxWriteBytes: Infinity, maxUnansweredBytes: Infinity } as const;
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const payload = (i: number): string => `r${i}:${'x'.repeat(40)}`;

async function connected(): Promise<{ connection: Connection; fake: FakeTransport }> {
  const fake = new FakeTransport();
  const connection = new Connection({ host: 'fake', port: 1, openTransport: fake.open, dialect: NO_POLICY });
  await connection.connect();
  return { connection, fake };
}

describe('ReadSplit', () => {
  it('splits only reads of at least SPLIT_MIN_BYTES with at least SPLIT_MIN_ON_THE_WIRE requests on the wire', async () => {
    let calls = 0;
    const split = new ReadSplit(() => calls++);
    const small = Buffer.alloc(SPLIT_MIN_BYTES - 1);
    expect(split.firstPart(small, 100)).toBe(small);
    const large = Buffer.alloc(SPLIT_MIN_BYTES + 1);
    expect(split.firstPart(large, SPLIT_MIN_ON_THE_WIRE - 1)).toBe(large);
    expect(split.deferred).toBeUndefined();
    const first = split.firstPart(large, SPLIT_MIN_ON_THE_WIRE);
    expect(first.length + (split.deferred?.length ?? 0)).toBe(large.length);
    expect(first.length).toBe(large.length >>> 1);
    const second = split.take();
    expect(second.length).toBe(large.length - first.length);
    expect(split.deferred).toBeUndefined();
    await turn();
    expect(calls).toBe(0); // take() cancelled the turn
    split.firstPart(large, 100);
    await turn();
    expect(calls).toBe(1);
    split.clear();
    expect(split.deferred).toBeUndefined();
  });
});

describe('a connection decodes a large read in two turns', () => {
  it('writes the requests sent in reply to the first half before settling the second half', async () => {
    const { connection, fake } = await connected();
    const socket = fake.socket!;
    const writesWhenSettled: number[] = [];
    const replies: Promise<unknown>[] = [];
    for (let i = 0; i < 64; i++) {
      replies.push(
        connection.send(['ECHO', payload(i)]).then((value) => {
          writesWhenSettled[i] = socket.writes.length;
          if (i === 0) replies.push(connection.send(['ECHO', 'next']));
          return value;
        }),
      );
    }
    await turn();
    expect(socket.writes).toHaveLength(1);
    socket.answer(); // 64 replies in one read, about 3 KB
    await turn();
    await turn();
    expect(writesWhenSettled[0]).toBe(1);
    // The last reply settled after 'next' (sent when the first one settled) was written.
    expect(writesWhenSettled[63]).toBe(2);
    socket.answer();
    expect(await Promise.all(replies)).toEqual([...Array.from({ length: 64 }, (_, i) => payload(i)), 'next']);
    await connection.close();
  });

  it('a read that arrives while the second half waits is decoded after it, in order', async () => {
    const { connection, fake } = await connected();
    const replies = Array.from({ length: 64 }, (_, i) => connection.send(['ECHO', payload(i)]));
    await turn();
    const socket = fake.socket!;
    socket.answer(40);
    socket.answer(24);
    expect(await Promise.all(replies)).toEqual(Array.from({ length: 64 }, (_, i) => payload(i)));
    await connection.close();
  });

  it('replies read before the caller closes or reconnects (between the two halves) still settle with their values', async () => {
    for (const act of ['close', 'force', 'reconnect'] as const) {
      const { connection, fake } = await connected();
      const replies = Array.from({ length: 64 }, (_, i) =>
        connection.send(['ECHO', payload(i)]).then((value) => {
          if (i === 0) {
            if (act === 'close') void connection.close();
            else if (act === 'force') void connection.close({ force: true });
            else void connection.tryReconnect();
          }
          return value;
        }),
      );
      await turn();
      fake.socket!.answer(64);
      expect(await Promise.all(replies), act).toEqual(Array.from({ length: 64 }, (_, i) => payload(i)));
      await connection.close({ force: true });
    }
  });

  it('a read that breaks the framing in its first half: its second half is never decoded (no reply goes to the wrong request)', async () => {
    const { connection, fake } = await connected();
    const settled: { i: number; value?: unknown; error?: unknown }[] = [];
    const replies = Array.from({ length: 64 }, (_, i) =>
      connection.send(['ECHO', payload(i)]).then(
        (value) => settled.push({ i, value }),
        (error: unknown) => settled.push({ i, error }),
      ),
    );
    await turn();
    const reply = (i: number): string => `$${payload(i).length}\r\n${payload(i)}\r\n\x03`;
    // Replies 0-9, then a byte no reply starts with, then replies 11-63 (about 3 KB: split in two).
    const bytes = Array.from({ length: 10 }, (_, i) => reply(i)).join('') + '?oops\r\n\x03' + Array.from({ length: 53 }, (_, i) => reply(i + 11)).join('');
    fake.socket!.reply(bytes);
    await Promise.all(replies);
    for (const entry of settled) {
      if (entry.i < 10) expect(entry.value).toBe(payload(entry.i));
      else expect(entry.error, `request ${entry.i} resolved with ${String(entry.value)}`).toBeInstanceOf(Error);
    }
    expect(settled).toHaveLength(64);
    await connection.close({ force: true });
  });

  it('replies read before the socket closed still settle their requests, with their values', async () => {
    const { connection, fake } = await connected();
    const replies = Array.from({ length: 64 }, (_, i) => connection.send(['ECHO', payload(i)]));
    const late = connection.send(['ECHO', 'unanswered']);
    await turn();
    const socket = fake.socket!;
    socket.answer(64);
    socket.drop(); // before the turn in which the second half would be decoded
    expect(await Promise.all(replies)).toEqual(Array.from({ length: 64 }, (_, i) => payload(i)));
    await expect(late).rejects.toThrow(/broke before the reply arrived/);
    await connection.close();
  });
});

describe('deadlines', () => {
  it("a request's time limit counts from the end of the synchronous code that made it: never early, even after long synchronous work", async () => {
    const { connection } = await connected();
    const { TimeoutError } = await import('../../src/errors.js');
    const { vi } = await import('vitest');
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const settledAt: Record<string, number> = {};
      const track = (name: string, p: Promise<unknown>): Promise<unknown> => {
        p.then(
          () => (settledAt[name] = performance.now()),
          () => (settledAt[name] = performance.now()),
        );
        return p;
      };
      const start = performance.now();
      const first = track('first', connection.send(['ECHO', 'a'], { timeout: 100 }));
      vi.advanceTimersByTime(300); // 300 ms of synchronous work: no await in between
      const later = track('later', connection.send(['ECHO', 'b'], { timeout: 200 }));
      for (const p of [first, later]) p.catch(() => {});
      await Promise.resolve(); // the code yields: both are stamped now, at start + 300
      vi.advanceTimersByTime(99);
      await Promise.resolve();
      await Promise.resolve();
      expect(settledAt).toEqual({}); // 'first' is not timed out by the 300 ms its caller held the loop
      vi.advanceTimersByTime(2);
      await expect(first).rejects.toBeInstanceOf(TimeoutError);
      expect(settledAt.first! - start).toBeGreaterThanOrEqual(400);
      vi.advanceTimersByTime(98);
      await Promise.resolve();
      await Promise.resolve();
      expect(settledAt.later).toBeUndefined(); // due 200 ms after the stamp, not after 'first'
      vi.advanceTimersByTime(2);
      await expect(later).rejects.toBeInstanceOf(TimeoutError);
      expect(settledAt.later! - start).toBeGreaterThanOrEqual(500);
    } finally {
      vi.useRealTimers();
      await connection.close({ force: true });
    }
  });
});
