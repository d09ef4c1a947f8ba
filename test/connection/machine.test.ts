import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { TimeoutError } from '../../src/errors.js';
import { ExponentialBackoff } from '../../src/connection/backoff.js';
import {
  connectionMachine,
  isOutOfAttempts,
  lifecycleState,
  MAX_TIMER_DELAY,
  validateConnectionMachineInput,
  type ConnectionMachineEvent,
  type ConnectionMachineInput,
  type ConnectionMachineSnapshot,
  type OpenSocketInput,
} from '../../src/connection/machine.js';
import type { ConnectionState } from '../../src/connection/state.js';

/** XState's simulated clock, also tracking which timers are still pending and every delay asked for. */
class TrackingClock extends SimulatedClock {
  /** Ids of timers set and neither fired nor cleared. */
  readonly pending = new Set<number>();
  /** Every delay passed to `setTimeout`, in order. */
  readonly delays: number[] = [];

  override setTimeout(fn: (...args: unknown[]) => void, timeout: number): number {
    this.delays.push(timeout);
    const id = super.setTimeout(() => {
      this.pending.delete(id);
      fn();
    }, timeout);
    this.pending.add(id);
    return id;
  }

  override clearTimeout(id: number): void {
    this.pending.delete(id);
    super.clearTimeout(id);
  }
}

/** One call of the fake `openSocket` actor, settled by the test. */
interface FakeAttempt {
  readonly attempt: number;
  readonly signal: AbortSignal;
  settled: boolean;
  resolve(): void;
  reject(error: Error): void;
}

/** Lets promise callbacks, and the events they send to the machine, run. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A fixed `random`, counting its calls. */
function fixedRandom(value: number): (() => number) & { calls: number } {
  const random = Object.assign(() => {
    random.calls += 1;
    return value;
  }, { calls: 0 });
  return random;
}

const defaultBackoff = new ExponentialBackoff({ initial: 100, multiplier: 2, max: 1_000, jitter: 0.5 });

/** Starts the machine with fake implementations and a tracking simulated clock. */
function harness(overrides: Partial<ConnectionMachineInput> = {}) {
  const clock = new TrackingClock();
  const attempts: FakeAttempt[] = [];
  const closeSocket = vi.fn();
  const input: ConnectionMachineInput = {
    connectionAttempts: 3,
    reconnect: true,
    connectTimeout: 1_000,
    backoff: defaultBackoff,
    random: fixedRandom(0.25),
    ...overrides,
  };
  const machine = connectionMachine.provide({
    actors: {
      openSocket: fromPromise<void, OpenSocketInput>(
        ({ input: { attempt }, signal }) =>
          new Promise<void>((resolve, reject) => {
            const fake: FakeAttempt = {
              attempt,
              signal,
              settled: false,
              resolve: () => {
                fake.settled = true;
                resolve();
              },
              reject: (error) => {
                fake.settled = true;
                reject(error);
              },
            };
            attempts.push(fake);
          }),
      ),
    },
    actions: { closeSocket },
  });
  const actor = createActor(machine, { input, clock });
  actor.start();
  const snapshot = (): ConnectionMachineSnapshot => actor.getSnapshot();
  return {
    actor,
    clock,
    attempts,
    closeSocket,
    input,
    snapshot,
    send: (event: ConnectionMachineEvent) => actor.send(event),
    state: () => lifecycleState(snapshot()),
    /** The attempt that is running: not settled and not aborted. */
    live: () => attempts.filter((a) => !a.settled && !a.signal.aborted),
    current: (): FakeAttempt => {
      const last = attempts.at(-1);
      if (last === undefined) throw new Error('no attempt started');
      return last;
    },
  };
}

type Harness = ReturnType<typeof harness>;

/** Drives a fresh harness into `connected`. */
async function connected(overrides: Partial<ConnectionMachineInput> = {}): Promise<Harness> {
  const h = harness(overrides);
  h.send({ type: 'CONNECT' });
  h.current().resolve();
  await flush();
  expect(h.snapshot().value).toBe('connected');
  return h;
}

/** Drives a fresh harness into `broken.failed` by failing every attempt. */
async function failed(overrides: Partial<ConnectionMachineInput> = {}): Promise<Harness> {
  const h = harness({ connectionAttempts: 1, ...overrides });
  h.send({ type: 'CONNECT' });
  h.current().reject(new Error('refused'));
  await flush();
  expect(isOutOfAttempts(h.snapshot())).toBe(true);
  return h;
}

/** Drives a fresh harness into `broken.waiting`. */
async function waiting(overrides: Partial<ConnectionMachineInput> = {}): Promise<Harness> {
  const h = harness(overrides);
  h.send({ type: 'CONNECT' });
  h.current().reject(new Error('refused'));
  await flush();
  expect(h.snapshot().value).toEqual({ broken: 'waiting' });
  return h;
}

let warn: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  // XState's development build warns about events sent to a finished actor; "closed" tests do that on purpose.
  warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
});
afterEach(() => {
  warn.mockRestore();
});

describe('connectionMachine', () => {
  it('starts idle with no attempts, no error and no timers', () => {
    const h = harness();
    expect(h.snapshot().value).toBe('idle');
    expect(h.state()).toBe('idle');
    expect(h.snapshot().context.attempt).toBe(0);
    expect(h.snapshot().context.lastError).toBeUndefined();
    expect(h.clock.pending.size).toBe(0);
    expect(h.attempts).toHaveLength(0);
  });

  it('connects: CONNECT starts attempt 1, success enters connected', async () => {
    const h = harness();
    h.send({ type: 'CONNECT' });
    expect(h.state()).toBe('connecting');
    expect(h.snapshot().context.attempt).toBe(1);
    expect(h.attempts.map((a) => a.attempt)).toEqual([1]);
    expect(h.clock.pending.size).toBe(1); // the connect timeout
    h.current().resolve();
    await flush();
    expect(h.state()).toBe('connected');
    expect(h.clock.pending.size).toBe(0);
    expect(h.closeSocket).not.toHaveBeenCalled();
  });

  it('counts attempts and stops at connectionAttempts', async () => {
    const h = harness({ connectionAttempts: 3 });
    h.send({ type: 'CONNECT' });
    for (let n = 1; n <= 3; n++) {
      expect(h.snapshot().value).toBe('connecting');
      expect(h.snapshot().context.attempt).toBe(n);
      const error = new Error(`refused ${n}`);
      h.current().reject(error);
      await flush();
      expect(h.snapshot().context.lastError).toBe(error);
      if (n < 3) {
        expect(h.snapshot().value).toEqual({ broken: 'waiting' });
        h.clock.increment(1_000); // longer than any back-off here
      }
    }
    expect(h.snapshot().value).toEqual({ broken: 'failed' });
    expect(isOutOfAttempts(h.snapshot())).toBe(true);
    expect(h.state()).toBe('broken');
    expect(h.snapshot().context.attempt).toBe(3);
    expect(h.attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    expect(h.clock.pending.size).toBe(0);
    h.clock.increment(1_000_000);
    expect(h.attempts).toHaveLength(3);
  });

  it('waits exactly backoff.delay(attempt, random()) between attempts', async () => {
    const random = fixedRandom(0.25);
    const h = harness({ connectionAttempts: 4, random });
    h.send({ type: 'CONNECT' });
    // delay(n, 0.25) with initial 100, multiplier 2, jitter 0.5: base * 0.875
    const expected = [87.5, 175, 350];
    for (const [i, wait] of expected.entries()) {
      expect(wait).toBe(defaultBackoff.delay(i + 1, 0.25));
      h.current().reject(new Error('refused'));
      await flush();
      expect(h.clock.delays.at(-1)).toBe(wait);
      h.clock.increment(wait - 0.5);
      expect(h.snapshot().value).toEqual({ broken: 'waiting' });
      h.clock.increment(0.5);
      expect(h.snapshot().value).toBe('connecting');
      expect(h.snapshot().context.attempt).toBe(i + 2);
    }
    expect(random.calls).toBe(3);
    expect(h.clock.delays).toEqual([1_000, 87.5, 1_000, 175, 1_000, 350, 1_000]);
  });

  it('fails an attempt with a TimeoutError after connectTimeout and aborts it', () => {
    const h = harness({ connectTimeout: 500, connectionAttempts: 2 });
    h.send({ type: 'CONNECT' });
    const first = h.current();
    h.clock.increment(499);
    expect(h.state()).toBe('connecting');
    expect(first.signal.aborted).toBe(false);
    h.clock.increment(1);
    expect(h.snapshot().value).toEqual({ broken: 'waiting' });
    expect(first.signal.aborted).toBe(true);
    const error = h.snapshot().context.lastError;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error?.message).toBe('connect timed out after 500 ms');
    expect((error as TimeoutError).code).toBe('ETIMEOUT');

    h.clock.increment(87.5);
    expect(h.snapshot().context.attempt).toBe(2);
    h.clock.increment(500);
    expect(h.snapshot().value).toEqual({ broken: 'failed' });
    expect(h.snapshot().context.lastError).toBeInstanceOf(TimeoutError);
    expect(h.clock.pending.size).toBe(0);
  });

  it('ignores an attempt that settles after it timed out', async () => {
    const h = harness({ connectTimeout: 100, connectionAttempts: 1 });
    h.send({ type: 'CONNECT' });
    const attempt = h.current();
    h.clock.increment(100);
    expect(h.snapshot().value).toEqual({ broken: 'failed' });
    attempt.resolve();
    await flush();
    expect(h.snapshot().value).toEqual({ broken: 'failed' });
  });

  it('wraps a non-Error rejection in an Error', async () => {
    const h = harness({ connectionAttempts: 1 });
    h.send({ type: 'CONNECT' });
    h.current().reject('nope' as unknown as Error);
    await flush();
    const error = h.snapshot().context.lastError;
    expect(error).toBeInstanceOf(Error);
    expect(error?.message).toBe('nope');
    expect(error?.cause).toBe('nope');
  });

  it('clamps a huge connect timeout to the largest timer delay', () => {
    const h = harness({ connectTimeout: Infinity });
    h.send({ type: 'CONNECT' });
    expect(h.clock.delays).toEqual([MAX_TIMER_DELAY]);
  });

  describe('DROP', () => {
    it('with reconnect: closes the socket and waits backoff.delay(1) before a fresh run', async () => {
      const h = await connected({ reconnect: true });
      const error = new Error('socket hang up');
      h.send({ type: 'DROP', error });
      expect(h.snapshot().value).toEqual({ broken: 'waiting' });
      expect(h.snapshot().context.attempt).toBe(0);
      expect(h.snapshot().context.lastError).toBe(error);
      expect(h.closeSocket).toHaveBeenCalledTimes(1);
      expect(h.clock.delays.at(-1)).toBe(defaultBackoff.delay(1, 0.25));
      h.clock.increment(defaultBackoff.delay(1, 0.25));
      expect(h.state()).toBe('connecting');
      expect(h.snapshot().context.attempt).toBe(1);
      expect(h.current().attempt).toBe(1);
    });

    it('a reconnect run after a drop also stops at connectionAttempts', async () => {
      const h = await connected({ reconnect: true, connectionAttempts: 2 });
      h.send({ type: 'DROP', error: new Error('drop') });
      h.clock.increment(1_000);
      h.current().reject(new Error('refused 1'));
      await flush();
      expect(h.snapshot().value).toEqual({ broken: 'waiting' });
      h.clock.increment(1_000);
      h.current().reject(new Error('refused 2'));
      await flush();
      expect(h.snapshot().value).toEqual({ broken: 'failed' });
      expect(h.snapshot().context.attempt).toBe(2);
      expect(h.snapshot().context.lastError?.message).toBe('refused 2');
    });

    it('without reconnect: closes the socket and stays in broken.failed', async () => {
      const h = await connected({ reconnect: false });
      const error = new Error('socket hang up');
      h.send({ type: 'DROP', error });
      expect(h.snapshot().value).toEqual({ broken: 'failed' });
      expect(isOutOfAttempts(h.snapshot())).toBe(true);
      expect(h.snapshot().context.lastError).toBe(error);
      expect(h.closeSocket).toHaveBeenCalledTimes(1);
      expect(h.clock.pending.size).toBe(0);
      h.clock.increment(1_000_000);
      expect(h.snapshot().value).toEqual({ broken: 'failed' });
    });

    it('is ignored outside connected', async () => {
      const error = new Error('drop');
      const idle = harness();
      idle.send({ type: 'DROP', error });
      expect(idle.snapshot().value).toBe('idle');

      const connecting = harness();
      connecting.send({ type: 'CONNECT' });
      connecting.send({ type: 'DROP', error });
      expect(connecting.snapshot().value).toBe('connecting');
      expect(connecting.live()).toHaveLength(1);

      const w = await waiting();
      w.send({ type: 'DROP', error });
      expect(w.snapshot().value).toEqual({ broken: 'waiting' });
      expect(w.snapshot().context.lastError).not.toBe(error);

      const f = await failed();
      f.send({ type: 'DROP', error });
      expect(f.snapshot().value).toEqual({ broken: 'failed' });
      expect(f.snapshot().context.lastError).not.toBe(error);
    });
  });

  describe('CONNECT and RECONNECT', () => {
    it('CONNECT from broken.failed starts a fresh run', async () => {
      const h = await failed({ connectionAttempts: 1 });
      h.send({ type: 'CONNECT' });
      expect(h.state()).toBe('connecting');
      expect(h.snapshot().context.attempt).toBe(1);
      expect(h.attempts.map((a) => a.attempt)).toEqual([1, 1]);
      expect(h.snapshot().context.lastError?.message).toBe('refused'); // kept until the next failure
      h.current().resolve();
      await flush();
      expect(h.state()).toBe('connected');
      expect(h.snapshot().context.lastError?.message).toBe('refused');
    });

    it('CONNECT in broken.waiting skips the wait and starts a fresh run', async () => {
      const h = harness({ connectionAttempts: 3 });
      h.send({ type: 'CONNECT' });
      h.current().reject(new Error('refused'));
      await flush();
      h.clock.increment(1_000);
      h.current().reject(new Error('refused'));
      await flush();
      expect(h.snapshot().value).toEqual({ broken: 'waiting' });
      expect(h.snapshot().context.attempt).toBe(2);
      h.send({ type: 'CONNECT' });
      expect(h.state()).toBe('connecting');
      expect(h.snapshot().context.attempt).toBe(1);
      expect(h.clock.pending.size).toBe(1); // only the connect timeout; the back-off timer is gone
    });

    it('RECONNECT from connected closes the socket and starts a fresh run', async () => {
      const h = await connected();
      h.send({ type: 'RECONNECT' });
      expect(h.closeSocket).toHaveBeenCalledTimes(1);
      expect(h.state()).toBe('connecting');
      expect(h.snapshot().context.attempt).toBe(1);
      expect(h.attempts).toHaveLength(2);
    });

    it('RECONNECT works like CONNECT from idle, broken.waiting and broken.failed', async () => {
      const idle = harness();
      idle.send({ type: 'RECONNECT' });
      expect(idle.state()).toBe('connecting');

      const w = await waiting();
      w.send({ type: 'RECONNECT' });
      expect(w.state()).toBe('connecting');
      expect(w.snapshot().context.attempt).toBe(1);
      expect(w.clock.pending.size).toBe(1);

      const f = await failed();
      f.send({ type: 'RECONNECT' });
      expect(f.state()).toBe('connecting');
      expect(f.snapshot().context.attempt).toBe(1);
    });

    it('CONNECT and RECONNECT are ignored while connecting; CONNECT is ignored while connected', async () => {
      const h = harness();
      h.send({ type: 'CONNECT' });
      h.send({ type: 'CONNECT' });
      h.send({ type: 'RECONNECT' });
      expect(h.attempts).toHaveLength(1);
      expect(h.live()).toHaveLength(1);
      expect(h.snapshot().context.attempt).toBe(1);
      h.current().resolve();
      await flush();
      h.send({ type: 'CONNECT' });
      expect(h.state()).toBe('connected');
      expect(h.closeSocket).not.toHaveBeenCalled();
    });
  });

  describe('CLOSE', () => {
    const setups: Record<string, () => Promise<Harness>> = {
      idle: () => Promise.resolve(harness()),
      connecting: () => {
        const h = harness();
        h.send({ type: 'CONNECT' });
        return Promise.resolve(h);
      },
      connected: () => connected(),
      'broken.waiting': () => waiting(),
      'broken.failed': () => failed(),
      closed: () => {
        const h = harness();
        h.send({ type: 'CLOSE' });
        return Promise.resolve(h);
      },
    };

    for (const [name, make] of Object.entries(setups)) {
      it(`from ${name}: enters closed, cancels every timer and the running attempt`, async () => {
        const h = await make();
        const wasConnected = h.state() === 'connected';
        const started = h.attempts.length;
        h.send({ type: 'CLOSE' });
        expect(h.snapshot().value).toBe('closed');
        expect(h.state()).toBe('closed');
        expect(h.snapshot().status).toBe('done');
        expect(h.clock.pending.size).toBe(0);
        expect(h.live()).toHaveLength(0);
        expect(h.attempts.filter((a) => !a.settled).every((a) => a.signal.aborted)).toBe(true);
        expect(h.closeSocket).toHaveBeenCalledTimes(wasConnected ? 1 : 0);
        h.clock.increment(1_000_000);
        expect(h.attempts).toHaveLength(started);
        expect(h.state()).toBe('closed');
      });
    }

    it('closed ignores every event, timer and late attempt result', async () => {
      const h = harness();
      h.send({ type: 'CONNECT' });
      const attempt = h.current();
      h.send({ type: 'CLOSE' });
      const events: ConnectionMachineEvent[] = [
        { type: 'CONNECT' },
        { type: 'RECONNECT' },
        { type: 'DROP', error: new Error('drop') },
        { type: 'CLOSE' },
      ];
      for (const event of events) {
        h.send(event);
        expect(h.snapshot().value).toBe('closed');
      }
      attempt.resolve();
      await flush();
      h.clock.increment(1_000_000);
      expect(h.snapshot().value).toBe('closed');
      expect(h.attempts).toHaveLength(1);
      expect(h.closeSocket).not.toHaveBeenCalled();
    });
  });

  it('has a placeholder openSocket that rejects until provided', async () => {
    const actor = createActor(connectionMachine, {
      input: { connectionAttempts: 1, reconnect: false, connectTimeout: 1_000, backoff: defaultBackoff, random: () => 0 },
      clock: new TrackingClock(),
    });
    actor.start();
    actor.send({ type: 'CONNECT' });
    await flush();
    expect(actor.getSnapshot().value).toEqual({ broken: 'failed' });
    expect(actor.getSnapshot().context.lastError?.message).toMatch(/openSocket.*must be provided/);
    actor.stop();
  });

  describe('input validation', () => {
    const valid: ConnectionMachineInput = {
      connectionAttempts: 1,
      reconnect: true,
      connectTimeout: 1,
      backoff: defaultBackoff,
      random: Math.random,
    };
    const bad: [Partial<Record<keyof ConnectionMachineInput, unknown>>, ErrorConstructor | RangeErrorConstructor, string][] =
      [
        [{ connectionAttempts: '3' }, TypeError, 'connectionAttempts'],
        [{ connectionAttempts: 0 }, RangeError, 'connectionAttempts'],
        [{ connectionAttempts: 1.5 }, RangeError, 'connectionAttempts'],
        [{ reconnect: 1 }, TypeError, 'reconnect'],
        [{ connectTimeout: null }, TypeError, 'connectTimeout'],
        [{ connectTimeout: 0 }, RangeError, 'connectTimeout'],
        [{ connectTimeout: Number.NaN }, RangeError, 'connectTimeout'],
        [{ backoff: {} }, TypeError, 'backoff'],
        [{ random: 0.5 }, TypeError, 'random'],
      ];

    it('accepts a valid input', () => {
      expect(() => validateConnectionMachineInput(valid)).not.toThrow();
    });

    for (const [patch, type, name] of bad) {
      it(`rejects ${JSON.stringify(patch)}`, () => {
        const input = { ...valid, ...patch } as ConnectionMachineInput;
        expect(() => validateConnectionMachineInput(input)).toThrow(type);
        expect(() => validateConnectionMachineInput(input)).toThrow(name);
        // The machine refuses it too: the actor ends in an error snapshot.
        const actor = createActor(connectionMachine, { input });
        expect(actor.getSnapshot().status).toBe('error');
      });
    }
  });

  it('lifecycleState and isOutOfAttempts map state values', () => {
    const cases: [ConnectionMachineSnapshot['value'], ConnectionState, boolean][] = [
      ['idle', 'idle', false],
      ['connecting', 'connecting', false],
      ['connected', 'connected', false],
      [{ broken: 'waiting' }, 'broken', false],
      [{ broken: 'failed' }, 'broken', true],
      ['closed', 'closed', false],
    ];
    for (const [value, state, out] of cases) {
      expect(lifecycleState({ value })).toBe(state);
      expect(isOutOfAttempts({ value })).toBe(out);
    }
  });
});

describe('connectionMachine invariants (property)', () => {
  type Step =
    | { readonly kind: 'send'; readonly event: ConnectionMachineEvent }
    | { readonly kind: 'succeed' }
    | { readonly kind: 'fail' }
    | { readonly kind: 'settleStale'; readonly ok: boolean }
    | { readonly kind: 'advance'; readonly ms: number };

  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 9, arbitrary: fc.constantFrom<ConnectionMachineEvent['type']>('CONNECT', 'RECONNECT', 'DROP').map(
      (type): Step => ({ kind: 'send', event: type === 'DROP' ? { type, error: new Error('drop') } : { type } }),
    ) },
    // Rare, so that most sequences spend a while in the other states before closing.
    { weight: 1, arbitrary: fc.constant<Step>({ kind: 'send', event: { type: 'CLOSE' } }) },
    { weight: 9, arbitrary: fc.constant<Step>({ kind: 'succeed' }) },
    { weight: 9, arbitrary: fc.constant<Step>({ kind: 'fail' }) },
    { weight: 3, arbitrary: fc.boolean().map((ok): Step => ({ kind: 'settleStale', ok })) },
    { weight: 12, arbitrary: fc.integer({ min: 0, max: 3_000 }).map((ms): Step => ({ kind: 'advance', ms })) },
  );

  const input = fc.record({
    connectionAttempts: fc.integer({ min: 1, max: 4 }),
    reconnect: fc.boolean(),
    connectTimeout: fc.integer({ min: 1, max: 2_000 }),
    initial: fc.integer({ min: 0, max: 500 }),
    random: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  });

  /** Timers each state may have pending: the connect timeout, or the back-off wait. */
  const expectedTimers: Record<string, number> = {
    idle: 0,
    connecting: 1,
    connected: 0,
    'broken.waiting': 1,
    'broken.failed': 0,
    closed: 0,
  };

  const name = (s: ConnectionMachineSnapshot): string =>
    typeof s.value === 'string' ? s.value : `broken.${s.value.broken}`;

  it('holds for random sequences of events, attempt results and clock advances', async () => {
    await fc.assert(
      fc.asyncProperty(input, fc.array(step, { minLength: 1, maxLength: 40, size: 'max' }), async (params, steps) => {
        const h = harness({
          connectionAttempts: params.connectionAttempts,
          reconnect: params.reconnect,
          connectTimeout: params.connectTimeout,
          backoff: new ExponentialBackoff({ initial: params.initial, max: 2_000 }),
          random: () => params.random,
        });
        let wasClosed = false;
        for (const s of steps) {
          const before = h.state();
          const closesBefore = h.closeSocket.mock.calls.length;
          switch (s.kind) {
            case 'send':
              h.send(s.event);
              break;
            case 'succeed':
            case 'fail': {
              const running = h.live()[0];
              if (running !== undefined) {
                if (s.kind === 'succeed') running.resolve();
                else running.reject(new Error('refused'));
                await flush();
              }
              break;
            }
            case 'settleStale': {
              const stale = h.attempts.find((a) => !a.settled && a.signal.aborted);
              if (stale !== undefined) {
                if (s.ok) stale.resolve();
                else stale.reject(new Error('late'));
                await flush();
              }
              break;
            }
            case 'advance':
              h.clock.increment(s.ms);
              break;
          }

          const snapshot = h.snapshot();
          const state = h.state();
          const { attempt, connectionAttempts } = snapshot.context;
          // The state is always one of the five, and consistent with the raw value.
          expect(['idle', 'connecting', 'connected', 'broken', 'closed']).toContain(state);
          expect(Object.keys(expectedTimers)).toContain(name(snapshot));
          // Attempts are counted within bounds.
          expect(attempt).toBeGreaterThanOrEqual(0);
          expect(attempt).toBeLessThanOrEqual(connectionAttempts);
          if (state === 'connecting') expect(attempt).toBeGreaterThanOrEqual(1);
          // Exactly the expected timers are pending (none in broken.failed or closed).
          expect(h.clock.pending.size).toBe(expectedTimers[name(snapshot)]);
          // Exactly one attempt runs while connecting, none otherwise.
          expect(h.live()).toHaveLength(state === 'connecting' ? 1 : 0);
          // closeSocket runs once each time connected is left, and only then.
          const left = before === 'connected' && (state !== 'connected' || s.kind === 'send' && s.event.type === 'RECONNECT');
          expect(h.closeSocket.mock.calls.length - closesBefore).toBe(left ? 1 : 0);
          // closed is absorbing, and means the actor is done.
          if (wasClosed) expect(state).toBe('closed');
          if (state === 'closed') {
            expect(snapshot.status).toBe('done');
            wasClosed = true;
          } else {
            expect(snapshot.status).toBe('active');
          }
          if (isOutOfAttempts(snapshot)) expect(state).toBe('broken');
        }
        h.actor.stop();
      }),
      { numRuns: 100 },
    );
  });
});
