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

describe('deadlines count from the turn', () => {
  it("a request's time limit counts from the clock read when the turn's flush was scheduled (as Node's timers count from the loop's time), read again every 256 requests", async () => {
    const { connection } = await connected();
    const { TimeoutError } = await import('../../src/errors.js');
    const { vi } = await import('vitest');
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const first = connection.send(['ECHO', 'a'], { timeout: 100 }); // reads the clock: t
      vi.advanceTimersByTime(60); // the same turn: no await in between
      const sameTurn = connection.send(['ECHO', 'b'], { timeout: 100 }); // counts from t
      const filler = Array.from({ length: 254 }, (_, i) => connection.send(['ECHO', `f${i}`], { timeout: 10_000 }));
      const reread = connection.send(['ECHO', 'c'], { timeout: 100 }); // the 256th since the reading: reads it again (t + 60)
      for (const p of [first, sameTurn, reread, ...filler]) p.catch(() => {});
      vi.advanceTimersByTime(45); // t + 105
      await expect(first).rejects.toBeInstanceOf(TimeoutError);
      await expect(sameTurn).rejects.toBeInstanceOf(TimeoutError);
      let settled = false;
      reread.then(
        () => (settled = true),
        () => (settled = true),
      );
      await Promise.resolve();
      expect(settled).toBe(false); // due at t + 160
      vi.advanceTimersByTime(60);
      await expect(reread).rejects.toBeInstanceOf(TimeoutError);
    } finally {
      vi.useRealTimers();
      await connection.close({ force: true });
    }
  });
});
