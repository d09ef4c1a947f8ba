/**
 * Property tests of `Connection` over an in-memory transport: random
 * interleavings of sends (with and without AbortSignal / per-call timeout),
 * replies (right ones, error replies, split into chunks, stray and garbage
 * bytes), aborts, socket drops, connect outcomes, reconnects, clock advances
 * and closes, in a pipelining and in non-pipelining dialects. Time is
 * simulated (vi fake timers), so the whole file runs in a few seconds.
 *
 * Plus real-TCP checks against the embedded server that the client never
 * pipelines in the dialects that forbid it.
 */

import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Connection } from '../../src/connection/connection.js';
import {
  AbortError,
  ConnectionClosedError,
  ConnectionError,
  ServerError,
  TimeoutError,
  ZCachedError,
} from '../../src/errors.js';
import type { DialectName } from '../../src/protocol/dialect.js';
import type { Reply } from '../../src/protocol/values.js';
import { startServer } from '../../src/testing/server.js';
import { FakeTransport, type ConnectOutcome } from './fake-transport.js';

const TIMEOUT_LIMIT = 50;
const CLOSE_TIMEOUT = 100;

/** One request sent by the test, and everything observed about it. */
interface Sent {
  readonly index: number;
  readonly id: string;
  readonly kind: 'echo' | 'boom';
  readonly controller: AbortController | undefined;
  /** `performance.now()` (simulated) when it was sent, and its time limit: it must settle by then. */
  readonly sentAt: number;
  readonly timeout: number;
  /** Sent from a state-change listener. */
  readonly fromListener: boolean;
  /** Times its promise settled (must end at exactly 1). */
  settled: number;
  value?: Reply;
  error?: unknown;
  /** Global sequence number (shared with the fake's writes) of the abort() call. */
  abortSequence?: number;
  /** Whether the promise was still unsettled when abort() was called. */
  abortedWhilePending?: boolean;
}

/** Any other promise the test got from the connection (connect, tryReconnect, close). */
interface OtherPromise {
  readonly what: string;
  settled: number;
}

interface Real {
  readonly connection: Connection;
  readonly fake: FakeTransport;
  readonly pipelining: boolean;
  readonly sent: Sent[];
  readonly others: OtherPromise[];
}

type Model = Record<string, never>;
type Cmd = fc.AsyncCommand<Model, Real, false>;

/** Lets every promise reaction (and XState's internal chains) run; timers do not move. */
async function settleMicrotasks(): Promise<void> {
  for (let i = 0; i < 30; i++) await Promise.resolve();
}

function track(real: Real, what: string, promise: Promise<unknown>): void {
  const other: OtherPromise = { what, settled: 0 };
  real.others.push(other);
  promise.then(
    () => other.settled++,
    () => other.settled++,
  );
}

function send(real: Real, kind: 'echo' | 'boom', withSignal: boolean, timeout: number | undefined, fromListener = false): Sent {
  const index = real.sent.length;
  const id = `r${index}`;
  const controller = withSignal ? new AbortController() : undefined;
  const record: Sent = {
    index,
    id,
    kind,
    controller,
    sentAt: performance.now(),
    timeout: timeout ?? TIMEOUT_LIMIT,
    fromListener,
    settled: 0,
  };
  real.sent.push(record);
  const options = {
    ...(controller === undefined ? {} : { signal: controller.signal }),
    ...(timeout === undefined ? {} : { timeout }),
  };
  real.connection.send([kind === 'echo' ? 'ECHO' : 'BOOM', id], options).then(
    (value) => {
      record.settled++;
      record.value = value;
    },
    (error: unknown) => {
      record.settled++;
      record.error = error;
    },
  );
  return record;
}

/** Checks that hold whenever microtasks have run. Throws with a readable message. */
function checkInvariants(real: Real): void {
  const { connection, fake, sent, pipelining } = real;
  const unsettled = sent.filter((s) => s.settled === 0).length;
  for (const s of sent) {
    if (s.settled > 1) throw new Error(`${s.id} settled ${s.settled} times`);
    if (s.settled === 0) continue;
    if ('value' in s) {
      if (s.kind !== 'echo') throw new Error(`${s.id} (an error reply) resolved with ${String(s.value)}`);
      if (s.value !== s.id) throw new Error(`${s.id} resolved with the reply of another request: ${String(s.value)}`);
    } else {
      const error = s.error;
      if (!(error instanceof ZCachedError)) throw new Error(`${s.id} rejected with a foreign error: ${String(error)}`);
      if (error instanceof ServerError) {
        if (s.kind !== 'boom') throw new Error(`${s.id} (an ECHO) got an error reply: ${error.reply}`);
        if (error.reply !== `ERR boom ${s.id}`) throw new Error(`${s.id} got the error reply of another request: ${error.reply}`);
      } else if (
        !(error instanceof AbortError || error instanceof TimeoutError || error instanceof ConnectionError || error instanceof ConnectionClosedError)
      ) {
        throw new Error(`${s.id} rejected with an unexpected ${error.name}: ${error.message}`);
      }
    }
    if (s.abortedWhilePending === true && !(s.error instanceof AbortError)) {
      throw new Error(`${s.id} was aborted while pending but settled with ${String(s.error ?? s.value)}`);
    }
  }
  // No request outlives its time limit, whatever the connection is doing (1 ms timer slack).
  const now = performance.now();
  for (const s of sent) {
    if (s.settled === 0 && now > s.sentAt + s.timeout + 2) {
      throw new Error(`${s.id} is still pending ${now - s.sentAt} ms after it was sent with a ${s.timeout} ms limit`);
    }
  }
  if (connection.pendingRequests !== unsettled) {
    throw new Error(`pendingRequests is ${connection.pendingRequests} but ${unsettled} promises are unsettled`);
  }

  // What reached the wire: every request at most once, in send order, never after its abort.
  const written = fake.requests;
  let last = -1;
  const seen = new Set<string>();
  for (const request of written) {
    const id = request.words[1] ?? '?';
    if (seen.has(id)) throw new Error(`${id} was written twice`);
    seen.add(id);
    const index = Number(id.slice(1));
    if (!(index > last)) throw new Error(`${id} was written after r${last}: out of order`);
    last = index;
    const record = sent[index];
    if (record?.abortSequence !== undefined && record.abortSequence < request.sequence) {
      throw new Error(`${id} was written after it was aborted`);
    }
  }
  for (const s of sent) {
    if (s.error instanceof TimeoutError) {
      const wasWritten = seen.has(s.id);
      // Anchored: a "never sent" message goes on to say what the connection was doing, which may quote an earlier "no reply within".
      if (/^the request waited \d+ ms for a connection and was never sent/.test(s.error.message) && wasWritten) {
        throw new Error(`${s.id} timed out as "never sent" but was written`);
      }
      if (/^no reply within/.test(s.error.message) && !wasWritten) throw new Error(`${s.id} timed out as "no reply" but was never written`);
    }
  }

  for (const socket of fake.sockets) {
    if (socket.writesAfterClose > 0) throw new Error(`socket ${socket.index} was written after it closed`);
    if (!pipelining) {
      if (socket.maxOutstanding > 1) throw new Error(`socket ${socket.index}: ${socket.maxOutstanding} requests on the wire without pipelining`);
      if (socket.requests.length !== socket.writes.length) throw new Error(`socket ${socket.index}: a write held more than one request`);
    }
  }
  const open = fake.sockets.filter((socket) => socket.isOpen);
  if (open.length > 1) throw new Error(`${open.length} sockets are open at once`);
  const state = connection.state;
  if (open.length > 0 && state !== 'connected' && state !== 'connecting') {
    throw new Error(`socket ${open[0]?.index} is still open while the connection is ${state}`);
  }
}

/** A command: does something, lets microtasks run, checks the invariants. */
function command(label: string, action: (real: Real) => void | Promise<void>): Cmd {
  return {
    check: () => true,
    run: async (_model, real) => {
      await action(real);
      await settleMicrotasks();
      checkInvariants(real);
    },
    toString: () => label,
  };
}

/** Every command, with how often it is picked (closes are rare, so most runs do a lot before one). */
const commandArbitrary: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc
      .record({
        kind: fc.constantFrom<'echo' | 'boom'>('echo', 'echo', 'echo', 'boom'),
        signal: fc.boolean(),
        timeout: fc.option(fc.integer({ min: 5, max: 120 }), { nil: undefined }),
        burst: fc.integer({ min: 1, max: 4 }),
      })
      .map(({ kind, signal, timeout, burst }) =>
        command(`send(${kind}, signal=${signal}, timeout=${timeout}, x${burst})`, (real) => {
          for (let i = 0; i < burst; i++) send(real, kind, signal, timeout);
        }),
      ),
  },
  {
    weight: 4,
    arbitrary: fc.nat().map((pick) =>
      command(`abort(${pick})`, (real) => {
        const candidates = real.sent.filter((s) => s.controller !== undefined && !s.controller.signal.aborted);
        const target = candidates[pick % Math.max(1, candidates.length)];
        if (target?.controller === undefined) return;
        target.abortedWhilePending = target.settled === 0;
        target.abortSequence = real.fake.nextSequence();
        target.controller.abort(new Error('test abort'));
      }),
    ),
  },
  {
    weight: 10,
    arbitrary: fc
      .record({ count: fc.integer({ min: 1, max: 5 }), chunkSize: fc.option(fc.integer({ min: 1, max: 7 }), { nil: undefined }) })
      .map(({ count, chunkSize }) =>
        command(`answer(${count}, chunk=${chunkSize})`, (real) => {
          real.fake.answer(count, chunkSize === undefined ? {} : { chunkSize });
        }),
      ),
  },
  {
    weight: 4,
    arbitrary: fc.constant(command('answerAll', (real) => void real.fake.answer())),
  },
  {
    weight: 4,
    arbitrary: fc.integer({ min: 0, max: 60 }).map((ms) =>
      command(`advance(${ms})`, async () => {
        await vi.advanceTimersByTimeAsync(ms);
      }),
    ),
  },
  {
    weight: 10,
    arbitrary: fc.constant(
      command('flushTurn', async () => {
        await vi.advanceTimersByTimeAsync(0);
      }),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constant(command('drop', (real) => real.fake.drop())),
  },
  {
    weight: 1,
    arbitrary: fc.constant(command('garbage', (real) => real.fake.reply('?garbage\r\n'))),
  },
  {
    weight: 1,
    arbitrary: fc.constant(
      command('stray', (real) => {
        // A reply no request asked for (only when the client has nothing on the wire).
        const socket = real.fake.socket;
        if (socket !== undefined && socket.outstanding === 0) socket.reply('+STRAY\r\n');
      }),
    ),
  },
  {
    weight: 3,
    arbitrary: fc.constant(command('completeConnect', (real) => void real.fake.completeConnect())),
  },
  {
    weight: 1,
    arbitrary: fc.constant(command('failConnect', (real) => void real.fake.failConnect())),
  },
  {
    weight: 2,
    arbitrary: fc.constant(command('connect', (real) => track(real, 'connect', real.connection.connect()))),
  },
  {
    weight: 1,
    arbitrary: fc.constant(command('tryReconnect', (real) => track(real, 'tryReconnect', real.connection.tryReconnect()))),
  },
  {
    weight: 1,
    arbitrary: fc.boolean().map((force) => command(`close(force=${force})`, (real) => track(real, 'close', real.connection.close({ force })))),
  },
);

const outcomeArbitrary = fc.array(fc.constantFrom<ConnectOutcome>('succeed', 'succeed', 'fail', 'hang'), { maxLength: 6 });

/**
 * `listenerSends`: a state-change listener sends a request (100 ms limit)
 * whenever the connection breaks, as an application reacting to pool events may.
 */
function makeReal(dialect: DialectName, outcomes: ConnectOutcome[], listenerSends = false): Real {
  const fake = new FakeTransport({ replyTerminator: dialect === 'etx', generation: dialect, outcomes });
  const connection = new Connection({
    host: 'fake',
    port: 1,
    dialect,
    openTransport: fake.open,
    timeoutLimit: TIMEOUT_LIMIT,
    connectTimeout: 40,
    connectionAttempts: 2,
    closeTimeout: CLOSE_TIMEOUT,
    backoff: { initial: 5, max: 20, jitter: 0 },
    random: () => 0.5,
  });
  const real: Real = { connection, fake, pipelining: dialect === 'etx', sent: [], others: [] };
  if (listenerSends) {
    connection.subscribe((change) => {
      if (change.to === 'broken') send(real, 'echo', false, 100, true);
    });
  }
  return real;
}

/** Closes (gracefully or by force, answering or not) and checks that nothing is left behind. */
async function finish(real: Real, force: boolean, answer: boolean): Promise<void> {
  const { connection, fake } = real;
  let closed = false;
  void connection.close({ force }).then(() => {
    closed = true;
  });
  for (let elapsed = 0; !closed && elapsed <= CLOSE_TIMEOUT + 50; elapsed += 5) {
    if (answer) fake.answer();
    await vi.advanceTimersByTimeAsync(5);
  }
  await settleMicrotasks();
  expect(closed, 'close() resolved').toBe(true);
  expect(connection.state).toBe('closed');
  checkInvariants(real);
  expect(connection.pendingRequests).toBe(0);
  expect(real.sent.filter((s) => s.settled !== 1).map((s) => s.id), 'requests not settled exactly once').toEqual([]);
  expect(real.others.filter((o) => o.settled !== 1).map((o) => o.what), 'other promises not settled').toEqual([]);
  expect(
    fake.sockets.filter((s) => s.isOpen).map((s) => s.index),
    'sockets left open after close',
  ).toEqual([]);
  expect(fake.hanging.length, 'connect attempts left hanging').toBe(0);
  expect(vi.getTimerCount(), 'timers left after close').toBe(0);
  // Sends after close reject at once.
  await expect(connection.send(['PING'])).rejects.toBeInstanceOf(ConnectionClosedError);
}

/** Simulated time: every timer, setImmediate, Date and performance.now (microtasks stay real). */
function useFakeClock(): void {
  vi.useFakeTimers();
}

afterEach(() => {
  vi.useRealTimers();
});

describe.each([
  ['etx', 120],
  ['etx-request', 120],
  ['legacy', 40],
] as const)('Connection properties in the %s dialect (in-memory transport)', (dialect, numRuns) => {
  it('settles every request exactly once, with its own reply, and leaves nothing behind', async () => {
    await fc.assert(
      fc.asyncProperty(
        outcomeArbitrary,
        fc.commands([commandArbitrary], { maxCommands: 80, size: 'medium' }),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        async (outcomes, commands, force, answerAtEnd, listenerSends) => {
          useFakeClock();
          try {
            const real = makeReal(dialect, outcomes, listenerSends);
            track(real, 'connect', real.connection.connect());
            await fc.asyncModelRun(() => ({ model: {}, real }), commands);
            await finish(real, force, answerAtEnd);
          } finally {
            vi.useRealTimers();
          }
        },
      ),
      { numRuns },
    );
  });
});

describe('Connection properties under a promise scheduler', () => {
  it.each(['etx', 'etx-request'] as const)(
    'in %s: any order of connect completion, sends, replies, drops, reconnects and close leaves nothing pending',
    async (dialect) => {
      const action = fc.oneof(
        fc.constantFrom('send', 'sendAbortable', 'abort', 'answer', 'drop', 'complete', 'fail', 'reconnect', 'turn', 'close', 'forceClose'),
      );
      await fc.assert(
        fc.asyncProperty(fc.scheduler(), fc.array(action, { minLength: 1, maxLength: 12 }), async (s, actions) => {
          useFakeClock();
          try {
            const real = makeReal(dialect, []);
            real.fake.connectOutcome = 'hang';
            track(real, 'connect', real.connection.connect());
            for (const name of actions) {
              const run = async (): Promise<void> => {
                switch (name) {
                  case 'send':
                    send(real, 'echo', false, undefined);
                    return;
                  case 'sendAbortable':
                    send(real, 'echo', true, undefined);
                    return;
                  case 'abort': {
                    const target = real.sent.find((x) => x.controller !== undefined && !x.controller.signal.aborted);
                    if (target?.controller === undefined) return;
                    target.abortSequence = real.fake.nextSequence();
                    target.controller.abort();
                    return;
                  }
                  case 'answer':
                    real.fake.answer();
                    return;
                  case 'drop':
                    real.fake.drop();
                    return;
                  case 'complete':
                    real.fake.completeConnect();
                    return;
                  case 'fail':
                    real.fake.failConnect();
                    return;
                  case 'reconnect':
                    track(real, 'tryReconnect', real.connection.tryReconnect());
                    return;
                  case 'turn':
                    await vi.advanceTimersByTimeAsync(0);
                    return;
                  case 'close':
                    track(real, 'close', real.connection.close());
                    return;
                  case 'forceClose':
                    track(real, 'close', real.connection.close({ force: true }));
                    return;
                }
              };
              void s.schedule(Promise.resolve(name), name).then(run);
            }
            await s.waitAll();
            await settleMicrotasks();
            checkInvariants(real);
            await finish(real, true, false);
          } finally {
            vi.useRealTimers();
          }
        }),
        { numRuns: 150 },
      );
    },
  );
});

describe('Connection: close() racing the end of a connect attempt', () => {
  it('destroys a socket that opened just before close() (every microtask offset)', async () => {
    const leaks: string[] = [];
    for (let hops = 0; hops <= 6; hops++) {
      const fake = new FakeTransport({ connectOutcome: 'hang' });
      const connection = new Connection({ host: 'fake', port: 1, openTransport: fake.open });
      const connecting = connection.connect().catch(() => undefined);
      fake.completeConnect();
      for (let i = 0; i < hops; i++) await Promise.resolve();
      const stateAtClose = connection.state;
      await connection.close();
      await connecting;
      expect(connection.state).toBe('closed');
      for (const socket of fake.sockets) {
        if (socket.isOpen) leaks.push(`close() ${hops} microtask(s) after the socket opened (state ${stateAtClose}): socket left open`);
      }
    }
    expect(leaks).toEqual([]);
  });

  it('notices a socket that closed just after it opened, before the connection became connected', async () => {
    // A transport may report its end in a microtask (a promise-based stream's `closed`).
    const stale: string[] = [];
    for (let hops = 0; hops <= 4; hops++) {
      const fake = new FakeTransport({ outcomes: ['hang'] });
      const connection = new Connection({ host: 'fake', port: 1, openTransport: fake.open, backoff: { initial: 1, jitter: 0 } });
      try {
        const connecting = connection.connect().catch(() => undefined);
        fake.completeConnect();
        for (let i = 0; i < hops; i++) await Promise.resolve();
        const stateAtDrop = connection.state;
        fake.sockets[0]?.drop();
        await connecting;
        await new Promise((resolve) => setTimeout(resolve, 20));
        // The connection must not stay on the dead socket: it reconnects (the next attempt succeeds).
        const dead = fake.sockets[0];
        if (connection.state === 'connected' && fake.socket === undefined) {
          stale.push(`drop ${hops} microtask(s) after open (state ${stateAtDrop}): still 'connected' on the dropped socket`);
        }
        if (dead !== undefined && fake.sockets.length === 1) {
          const reply = connection.send(['ECHO', 'x']).catch((error: unknown) => error);
          await new Promise((resolve) => setImmediate(resolve));
          if (dead.writesAfterClose > 0) stale.push(`drop ${hops} microtask(s) after open: a request was written to the dropped socket`);
          void reply;
        }
      } finally {
        await connection.close({ force: true });
      }
    }
    expect(stale).toEqual([]);
  });
});

describe('Connection: deadlines', () => {
  it('a send() from a state listener, as a stream timeout breaks the connection, does not postpone other deadlines', async () => {
    vi.useFakeTimers();
    const fake = new FakeTransport({ replyTerminator: false, outcomes: ['succeed'], connectOutcome: 'hang' });
    const connection = new Connection({ host: 'fake', port: 1, dialect: 'etx-request', openTransport: fake.open, backoff: { initial: 1, jitter: 0 } });
    try {
      await connection.connect();
      const outcome = (promise: Promise<Reply>): { error?: unknown } => {
        const seen: { error?: unknown } = {};
        promise.catch((error: unknown) => (seen.error = error));
        return seen;
      };
      const written = outcome(connection.send(['ECHO', 'a'], { timeout: 20 }));
      const waiting = outcome(connection.send(['ECHO', 'b'], { timeout: 50 })); // no pipelining: waits behind 'a'
      connection.subscribe((change) => {
        if (change.to === 'broken') outcome(connection.send(['PING'])); // default 10 s limit
      });
      await vi.advanceTimersByTimeAsync(25);
      expect(written.error).toBeInstanceOf(TimeoutError);
      expect(connection.state).not.toBe('connected');
      await vi.advanceTimersByTimeAsync(35); // 60 ms
      expect(waiting.error, "'b' must time out at 50 ms, not at the listener's request's deadline (10 s)").toBeInstanceOf(TimeoutError);
    } finally {
      await connection.close({ force: true });
      vi.useRealTimers();
    }
  });
});

describe.each(['legacy', 'etx-request'] as const)('Connection over TCP in the %s dialect', (dialect) => {
  it('runs 200 concurrent requests, all answered correctly, without ever pipelining', async () => {
    await using server = await startServer({ dialect });
    const connection = new Connection({ host: server.host, port: server.port, dialect });
    try {
      await connection.connect();
      const sets = Array.from({ length: 200 }, (_, i) => connection.send(['SET', `key:${i}`, `value-${i}`]));
      const gets = Array.from({ length: 200 }, (_, i) => connection.send(['GET', `key:${i}`]));
      const missing = connection.send(['GET', 'absent']).catch((error: unknown) => error);
      const more = Array.from({ length: 200 }, (_, i) => connection.send(['GET', `key:${199 - i}`]));
      expect(await Promise.all(sets)).toEqual(Array(200).fill('OK'));
      expect(await Promise.all(gets)).toEqual(Array.from({ length: 200 }, (_, i) => `value-${i}`));
      expect(await missing).toBeInstanceOf(ServerError);
      expect(await Promise.all(more)).toEqual(Array.from({ length: 200 }, (_, i) => `value-${199 - i}`));
      expect(connection.pendingRequests).toBe(0);
      // 601, and the generation handshake's requests (legacy: ECHO, PING; etx-request: ECHO, PING, a lone 0x03).
      expect(server.stats.requests).toBe(601 + (dialect === 'legacy' ? 2 : 3));
      expect(server.stats.pipeliningViolations).toBe(0);
    } finally {
      await connection.close({ force: true });
    }
  });

  it('keeps one request at a time through aborts and a reconnect', async () => {
    await using server = await startServer({ dialect });
    const connection = new Connection({ host: server.host, port: server.port, dialect, backoff: { initial: 5, jitter: 0 } });
    try {
      await connection.connect();
      server.delayReplies(2);
      const controllers = Array.from({ length: 50 }, () => new AbortController());
      const requests = controllers.map((controller, i) =>
        connection.send(['SET', `a:${i}`, i], { signal: controller.signal }).catch((error: unknown) => error),
      );
      await new Promise((resolve) => setTimeout(resolve, 10));
      controllers.forEach((controller, i) => i % 3 === 0 && controller.abort());
      const results = await Promise.all(requests);
      expect(results.every((r) => r === 'OK' || r instanceof AbortError)).toBe(true);
      server.delayReplies(0);
      const broke = new Promise<void>((resolve) => connection.subscribe((change) => change.to === 'broken' && resolve()));
      server.dropConnections();
      await broke;
      const after = await Promise.all(Array.from({ length: 50 }, (_, i) => connection.send(['SET', `b:${i}`, i])));
      expect(after).toEqual(Array(50).fill('OK'));
      expect(server.stats.pipeliningViolations).toBe(0);
    } finally {
      await connection.close({ force: true });
    }
  });
});
