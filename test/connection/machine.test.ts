import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { TimeoutError } from '../../src/errors.js';
import { ExponentialBackoff } from '../../src/connection/backoff.js';
import {
  brokenPhase,
  connectionMachine,
  DEFAULT_STABLE_AFTER,
  hasGivenUp,
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
  /** Simulated time at which the attempt started. */
  readonly startedAt: number;
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
              startedAt: clock.now(),
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

/**
 * Drives a fresh harness out of attempts: a single attempt fails, and the
 * machine rests (`reconnect` on) or fails for good (`reconnect` off).
 */
async function outOfAttempts(reconnect: boolean, overrides: Partial<ConnectionMachineInput> = {}): Promise<Harness> {
  const h = harness({ connectionAttempts: 1, reconnect, ...overrides });
  h.send({ type: 'CONNECT' });
  h.current().reject(new Error('refused'));
  await flush();
  expect(h.snapshot().value).toEqual({ broken: reconnect ? 'resting' : 'failed' });
  expect(isOutOfAttempts(h.snapshot())).toBe(true);
  return h;
}

/** Drives a fresh harness into `broken.failed`. */
const failed = (overrides: Partial<ConnectionMachineInput> = {}): Promise<Harness> => outOfAttempts(false, overrides);

/** Drives a fresh harness into `broken.resting`. */
const resting = (overrides: Partial<ConnectionMachineInput> = {}): Promise<Harness> => outOfAttempts(true, overrides);

/** The rest before a fresh run: `backoff.max * (1 - backoff.jitter * random)`. */
const restDelay = (backoff: ExponentialBackoff, random: number): number => backoff.max * (1 - backoff.jitter * random);

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

  it('connects: CONNECT starts attempt 1, success enters connected with only the stable timer pending', async () => {
    const h = harness();
    h.send({ type: 'CONNECT' });
    expect(h.state()).toBe('connecting');
    expect(h.snapshot().context.attempt).toBe(1);
    expect(h.attempts.map((a) => a.attempt)).toEqual([1]);
    expect(h.clock.pending.size).toBe(1); // the connect timeout
    h.current().resolve();
    await flush();
    expect(h.state()).toBe('connected');
    // The connect timeout is gone; the stableAfter timer runs instead.
    expect(h.clock.pending.size).toBe(1);
    expect(h.clock.delays).toEqual([1_000, DEFAULT_STABLE_AFTER]);
    // Entering connected does not reset the run.
    expect(h.snapshot().context.attempt).toBe(1);
    expect(h.closeSocket).not.toHaveBeenCalled();
  });

  it('with reconnect: counts attempts per run, stops at connectionAttempts, rests, then starts a fresh run', async () => {
    const h = harness({ connectionAttempts: 3, reconnect: true });
    h.send({ type: 'CONNECT' });
    for (let run = 1; run <= 2; run++) {
      for (let n = 1; n <= 3; n++) {
        expect(h.snapshot().value).toBe('connecting');
        expect(h.snapshot().context.attempt).toBe(n);
        expect(h.current().attempt).toBe(n);
        const error = new Error(`refused ${run}.${n}`);
        h.current().reject(error);
        await flush();
        expect(h.snapshot().context.lastError).toBe(error);
        if (n < 3) {
          expect(h.snapshot().value).toEqual({ broken: 'waiting' });
          expect(isOutOfAttempts(h.snapshot())).toBe(false);
          h.clock.increment(1_000); // longer than any back-off here
        }
      }
      expect(h.snapshot().value).toEqual({ broken: 'resting' });
      expect(isOutOfAttempts(h.snapshot())).toBe(true);
      expect(h.state()).toBe('broken');
      expect(h.snapshot().context.attempt).toBe(3);
      expect(h.attempts).toHaveLength(3 * run);
      expect(h.clock.pending.size).toBe(1); // the rest, nothing else
      const rest = restDelay(defaultBackoff, 0.25);
      expect(rest).toBe(875);
      expect(h.clock.delays.at(-1)).toBe(rest);
      h.clock.increment(rest - 0.5);
      expect(h.snapshot().value).toEqual({ broken: 'resting' });
      expect(h.attempts).toHaveLength(3 * run);
      h.clock.increment(0.5);
      // A fresh run: attempt 1 again; lastError is kept until the next failure.
      expect(h.snapshot().value).toBe('connecting');
      expect(h.snapshot().context.attempt).toBe(1);
      expect(h.snapshot().context.lastError?.message).toBe(`refused ${run}.3`);
      expect(h.clock.pending.size).toBe(1); // the connect timeout
    }
    expect(h.attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 1, 2, 3, 1]);
  });

  it('without reconnect: counts attempts, stops at connectionAttempts in broken.failed with no timers', async () => {
    const h = harness({ connectionAttempts: 3, reconnect: false });
    h.send({ type: 'CONNECT' });
    for (let n = 1; n <= 3; n++) {
      expect(h.snapshot().value).toBe('connecting');
      expect(h.snapshot().context.attempt).toBe(n);
      const error = new Error(`refused ${n}`);
      h.current().reject(error);
      await flush();
      expect(h.snapshot().context.lastError).toBe(error);
      if (n < 3) {
        // The first run retries on its own even without reconnect.
        expect(h.snapshot().value).toEqual({ broken: 'waiting' });
        h.clock.increment(1_000);
      }
    }
    expect(h.snapshot().value).toEqual({ broken: 'failed' });
    expect(isOutOfAttempts(h.snapshot())).toBe(true);
    expect(h.state()).toBe('broken');
    expect(h.snapshot().context.attempt).toBe(3);
    expect(h.attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    expect(h.clock.pending.size).toBe(0);
    h.clock.increment(1_000_000);
    expect(h.snapshot().value).toEqual({ broken: 'failed' });
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

  describe('rest (broken.resting)', () => {
    it('lasts exactly backoff.max * (1 - backoff.jitter * random()), one random draw', async () => {
      const random = fixedRandom(0.25);
      const backoff = new ExponentialBackoff({ initial: 10, multiplier: 3, max: 4_000, jitter: 0.3 });
      const h = await resting({ backoff, random });
      const rest = 4_000 * (1 - 0.3 * 0.25);
      expect(rest).toBe(3_700);
      expect(random.calls).toBe(1);
      expect(h.clock.delays).toEqual([1_000, rest]);
      expect(h.clock.pending.size).toBe(1);
      h.clock.increment(rest - 1);
      expect(h.snapshot().value).toEqual({ broken: 'resting' });
      expect(h.attempts).toHaveLength(1);
      h.clock.increment(1);
      expect(h.snapshot().value).toBe('connecting');
      expect(h.snapshot().context.attempt).toBe(1);
      expect(h.attempts.map((a) => a.attempt)).toEqual([1, 1]);
      expect(h.clock.pending.size).toBe(1);
    });

    it('is exactly backoff.max without jitter, and between max * (1 - jitter) and max with it', async () => {
      const exact = await resting({ backoff: new ExponentialBackoff({ initial: 50, max: 2_500, jitter: 0 }), random: () => 0.9 });
      expect(exact.clock.delays.at(-1)).toBe(2_500);
      for (const r of [0, 0.5, 0.999_999]) {
        const h = await resting({ random: () => r });
        const rest = h.clock.delays.at(-1) ?? Number.NaN;
        expect(rest).toBe(restDelay(defaultBackoff, r));
        expect(rest).toBeGreaterThanOrEqual(defaultBackoff.max * (1 - defaultBackoff.jitter));
        expect(rest).toBeLessThanOrEqual(defaultBackoff.max);
      }
    });

    it('records the rest it drew as context.retryDelay (and each back-off wait before it), so the time left can be told', async () => {
      const random = fixedRandom(0.25);
      const h = harness({ connectionAttempts: 2, random });
      expect(h.snapshot().context.retryDelay).toBeUndefined();
      h.send({ type: 'CONNECT' });
      h.current().reject(new Error('refused'));
      await flush();
      expect(h.snapshot().value).toEqual({ broken: 'waiting' });
      expect(h.snapshot().context.retryDelay).toBe(87.5);
      expect(h.clock.delays.at(-1)).toBe(87.5);
      h.clock.increment(87.5);
      h.current().reject(new Error('refused'));
      await flush();
      expect(h.snapshot().value).toEqual({ broken: 'resting' });
      expect(h.snapshot().context.retryDelay).toBe(restDelay(defaultBackoff, 0.25));
      expect(h.clock.delays.at(-1)).toBe(restDelay(defaultBackoff, 0.25));
      // One draw per wait, as before the delay was kept.
      expect(random.calls).toBe(2);
      expect(brokenPhase(h.snapshot())).toBe('resting');
      expect(hasGivenUp(h.snapshot())).toBe(false);
      const huge = await resting({ backoff: new ExponentialBackoff({ initial: 100, max: 1e12, jitter: 0 }) });
      expect(huge.snapshot().context.retryDelay).toBe(MAX_TIMER_DELAY);
    });

    it('brokenPhase and hasGivenUp tell waiting, resting and failed apart', async () => {
      expect(brokenPhase((await waiting()).snapshot())).toBe('waiting');
      expect(brokenPhase((await resting()).snapshot())).toBe('resting');
      const gaveUp = await failed();
      expect(brokenPhase(gaveUp.snapshot())).toBe('failed');
      expect(hasGivenUp(gaveUp.snapshot())).toBe(true);
      expect(brokenPhase(harness().snapshot())).toBeUndefined();
      expect(hasGivenUp((await connected()).snapshot())).toBe(false);
    });

    it('clamps a huge rest to the largest timer delay', async () => {
      const h = await resting({ backoff: new ExponentialBackoff({ initial: 100, max: 1e12, jitter: 0 }) });
      expect(h.clock.delays.at(-1)).toBe(MAX_TIMER_DELAY);
    });

    it('CONNECT and RECONNECT skip the rest and start a fresh run', async () => {
      for (const type of ['CONNECT', 'RECONNECT'] as const) {
        const h = await resting();
        h.send({ type });
        expect(h.state()).toBe('connecting');
        expect(h.snapshot().context.attempt).toBe(1);
        expect(h.clock.pending.size).toBe(1); // only the connect timeout; the rest timer is gone
        h.clock.increment(restDelay(defaultBackoff, 0.25)); // would have ended the rest
        expect(h.attempts).toHaveLength(2);
        expect(h.live()).toHaveLength(1);
      }
    });
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
    // The last attempt timed out and reconnect is on: rest, then a fresh run.
    expect(h.snapshot().value).toEqual({ broken: 'resting' });
    expect(h.snapshot().context.lastError).toBeInstanceOf(TimeoutError);
    expect(h.live()).toHaveLength(0);
    expect(h.clock.pending.size).toBe(1);
    expect(h.clock.delays.at(-1)).toBe(restDelay(defaultBackoff, 0.25));
  });

  it('without reconnect, a timed-out last attempt ends in broken.failed with no timers', () => {
    const h = harness({ connectTimeout: 500, connectionAttempts: 1, reconnect: false });
    h.send({ type: 'CONNECT' });
    h.clock.increment(500);
    expect(h.snapshot().value).toEqual({ broken: 'failed' });
    expect(h.snapshot().context.lastError).toBeInstanceOf(TimeoutError);
    expect(h.live()).toHaveLength(0);
    expect(h.clock.pending.size).toBe(0);
  });

  it('ignores an attempt that settles after it timed out', async () => {
    for (const [reconnect, value] of [[true, 'resting'], [false, 'failed']] as const) {
      for (const late of ['resolve', 'reject'] as const) {
        const h = harness({ connectTimeout: 100, connectionAttempts: 1, reconnect });
        h.send({ type: 'CONNECT' });
        const attempt = h.current();
        h.clock.increment(100);
        expect(h.snapshot().value).toEqual({ broken: value });
        const lastError = h.snapshot().context.lastError;
        if (late === 'resolve') attempt.resolve();
        else attempt.reject(new Error('late'));
        await flush();
        expect(h.snapshot().value).toEqual({ broken: value });
        expect(h.snapshot().context.lastError).toBe(lastError);
      }
    }
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

  describe('stableAfter', () => {
    it('after stableAfter in connected the run is over: attempt 0, no timer left, socket kept', async () => {
      const h = harness({ stableAfter: 5_000, connectionAttempts: 3 });
      h.send({ type: 'CONNECT' });
      h.current().reject(new Error('refused'));
      await flush();
      h.clock.increment(87.5);
      h.current().resolve();
      await flush();
      expect(h.snapshot().value).toBe('connected');
      expect(h.snapshot().context.attempt).toBe(2);
      expect(h.clock.delays.at(-1)).toBe(5_000);
      expect(h.clock.pending.size).toBe(1);
      h.clock.increment(4_999);
      expect(h.snapshot().context.attempt).toBe(2);
      expect(h.clock.pending.size).toBe(1);
      h.clock.increment(1);
      expect(h.snapshot().value).toBe('connected');
      expect(h.snapshot().context.attempt).toBe(0);
      expect(h.snapshot().context.lastError?.message).toBe('refused');
      expect(h.clock.pending.size).toBe(0);
      expect(h.closeSocket).not.toHaveBeenCalled();
      h.clock.increment(1_000_000);
      expect(h.snapshot().value).toBe('connected');
      expect(h.attempts).toHaveLength(2);
    });

    it(`defaults to DEFAULT_STABLE_AFTER (${DEFAULT_STABLE_AFTER} ms)`, async () => {
      expect(DEFAULT_STABLE_AFTER).toBe(1_000);
      const h = await connected({ connectTimeout: 300 });
      expect(h.clock.delays).toEqual([300, DEFAULT_STABLE_AFTER]);
      h.clock.increment(DEFAULT_STABLE_AFTER - 1);
      expect(h.snapshot().context.attempt).toBe(1);
      h.clock.increment(1);
      expect(h.snapshot().context.attempt).toBe(0);
    });

    it('0 makes the connection stable at the next timer tick; a huge value is clamped', async () => {
      const zero = await connected({ stableAfter: 0 });
      expect(zero.clock.delays.at(-1)).toBe(0);
      expect(zero.snapshot().context.attempt).toBe(1);
      zero.clock.increment(0);
      expect(zero.snapshot().context.attempt).toBe(0);
      expect(zero.clock.pending.size).toBe(0);

      const huge = await connected({ stableAfter: Infinity });
      expect(huge.clock.delays.at(-1)).toBe(MAX_TIMER_DELAY);
    });
  });

  describe('DROP', () => {
    it('after stableAfter, with reconnect: closes the socket and waits backoff.delay(1) before a fresh run', async () => {
      const h = await connected({ reconnect: true });
      h.clock.increment(DEFAULT_STABLE_AFTER);
      const error = new Error('socket hang up');
      h.send({ type: 'DROP', error });
      expect(h.snapshot().value).toEqual({ broken: 'waiting' });
      expect(isOutOfAttempts(h.snapshot())).toBe(false);
      expect(h.snapshot().context.attempt).toBe(0);
      expect(h.snapshot().context.lastError).toBe(error);
      expect(h.closeSocket).toHaveBeenCalledTimes(1);
      expect(h.clock.pending.size).toBe(1);
      expect(h.clock.delays.at(-1)).toBe(defaultBackoff.delay(1, 0.25));
      h.clock.increment(defaultBackoff.delay(1, 0.25));
      expect(h.state()).toBe('connecting');
      expect(h.snapshot().context.attempt).toBe(1);
      expect(h.current().attempt).toBe(1);
    });

    it('after stableAfter, each drop starts a fresh run of connectionAttempts attempts', async () => {
      const h = await connected({ reconnect: true, connectionAttempts: 2 });
      for (let i = 0; i < 3; i++) {
        h.clock.increment(DEFAULT_STABLE_AFTER);
        h.send({ type: 'DROP', error: new Error(`drop ${i}`) });
        expect(h.snapshot().value).toEqual({ broken: 'waiting' });
        expect(h.clock.delays.at(-1)).toBe(87.5);
        h.clock.increment(87.5);
        h.current().reject(new Error('refused'));
        await flush();
        expect(h.snapshot().value).toEqual({ broken: 'waiting' });
        expect(h.clock.delays.at(-1)).toBe(87.5); // delay(1) after attempt 1 of the fresh run
        h.clock.increment(87.5);
        expect(h.snapshot().context.attempt).toBe(2);
        h.current().resolve();
        await flush();
        expect(h.snapshot().value).toBe('connected');
      }
      expect(h.attempts.map((a) => a.attempt)).toEqual([1, 1, 2, 1, 2, 1, 2]);
      expect(h.closeSocket).toHaveBeenCalledTimes(3);
    });

    it('before stableAfter: counts as a failed attempt of the run and waits backoff.delay(attempt)', async () => {
      const h = harness({ reconnect: true, connectionAttempts: 4 });
      h.send({ type: 'CONNECT' });
      h.current().reject(new Error('refused'));
      await flush();
      h.clock.increment(87.5);
      h.current().resolve();
      await flush();
      expect(h.snapshot().value).toBe('connected');
      expect(h.snapshot().context.attempt).toBe(2);
      h.clock.increment(DEFAULT_STABLE_AFTER - 1);
      const error = new Error('socket hang up');
      h.send({ type: 'DROP', error });
      expect(h.snapshot().value).toEqual({ broken: 'waiting' });
      expect(h.snapshot().context.attempt).toBe(2);
      expect(h.snapshot().context.lastError).toBe(error);
      expect(h.closeSocket).toHaveBeenCalledTimes(1);
      expect(h.clock.pending.size).toBe(1); // the back-off only; the stable timer is gone
      expect(h.clock.delays.at(-1)).toBe(defaultBackoff.delay(2, 0.25));
      h.clock.increment(174.5);
      expect(h.snapshot().value).toEqual({ broken: 'waiting' });
      h.clock.increment(0.5);
      expect(h.snapshot().value).toBe('connecting');
      expect(h.snapshot().context.attempt).toBe(3);
      expect(h.current().attempt).toBe(3);
      // The stable timer did not survive the drop: the run keeps counting.
      h.clock.increment(1);
      expect(h.snapshot().context.attempt).toBe(3);
    });

    it('before stableAfter on the last attempt: ends the run in broken.resting, then a fresh run', async () => {
      const h = harness({ reconnect: true, connectionAttempts: 2 });
      h.send({ type: 'CONNECT' });
      h.current().reject(new Error('refused'));
      await flush();
      h.clock.increment(87.5);
      h.current().resolve();
      await flush();
      const error = new Error('socket hang up');
      h.send({ type: 'DROP', error });
      expect(h.snapshot().value).toEqual({ broken: 'resting' });
      expect(isOutOfAttempts(h.snapshot())).toBe(true);
      expect(h.snapshot().context.attempt).toBe(2);
      expect(h.snapshot().context.lastError).toBe(error);
      expect(h.closeSocket).toHaveBeenCalledTimes(1);
      expect(h.clock.pending.size).toBe(1);
      expect(h.clock.delays.at(-1)).toBe(restDelay(defaultBackoff, 0.25));
      h.clock.increment(restDelay(defaultBackoff, 0.25));
      expect(h.snapshot().value).toBe('connecting');
      expect(h.snapshot().context.attempt).toBe(1);
    });

    it('a reconnect run after a drop also stops at connectionAttempts, then rests', async () => {
      const h = await connected({ reconnect: true, connectionAttempts: 2 });
      h.clock.increment(DEFAULT_STABLE_AFTER);
      h.send({ type: 'DROP', error: new Error('drop') });
      h.clock.increment(1_000);
      h.current().reject(new Error('refused 1'));
      await flush();
      expect(h.snapshot().value).toEqual({ broken: 'waiting' });
      h.clock.increment(1_000);
      h.current().reject(new Error('refused 2'));
      await flush();
      expect(h.snapshot().value).toEqual({ broken: 'resting' });
      expect(h.snapshot().context.attempt).toBe(2);
      expect(h.snapshot().context.lastError?.message).toBe('refused 2');
      expect(h.attempts.map((a) => a.attempt)).toEqual([1, 1, 2]);
    });

    it('without reconnect: closes the socket and stays in broken.failed, stable or not', async () => {
      for (const stable of [false, true]) {
        const h = await connected({ reconnect: false });
        if (stable) h.clock.increment(DEFAULT_STABLE_AFTER);
        const error = new Error('socket hang up');
        h.send({ type: 'DROP', error });
        expect(h.snapshot().value).toEqual({ broken: 'failed' });
        expect(isOutOfAttempts(h.snapshot())).toBe(true);
        expect(h.snapshot().context.lastError).toBe(error);
        expect(h.closeSocket).toHaveBeenCalledTimes(1);
        expect(h.clock.pending.size).toBe(0);
        h.clock.increment(1_000_000);
        expect(h.snapshot().value).toEqual({ broken: 'failed' });
        expect(h.attempts).toHaveLength(1);
      }
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

      const r = await resting();
      r.send({ type: 'DROP', error });
      expect(r.snapshot().value).toEqual({ broken: 'resting' });
      expect(r.snapshot().context.lastError).not.toBe(error);
      expect(r.clock.pending.size).toBe(1);

      const f = await failed();
      f.send({ type: 'DROP', error });
      expect(f.snapshot().value).toEqual({ broken: 'failed' });
      expect(f.snapshot().context.lastError).not.toBe(error);
    });
  });

  describe('a server that accepts every connection and drops it at once', () => {
    /**
     * Runs the machine for `duration` ms of simulated time in steps of `step`
     * ms; every attempt succeeds as soon as it starts and the connection is
     * dropped right away. Returns the harness.
     */
    async function acceptAndDrop(overrides: Partial<ConnectionMachineInput>, duration: number, step: number) {
      const h = harness(overrides);
      h.send({ type: 'CONNECT' });
      for (let t = 0; t < duration; t += step) {
        for (const attempt of h.live()) attempt.resolve();
        await flush();
        if (h.state() === 'connected') h.send({ type: 'DROP', error: new Error('connection reset by peer') });
        expect(h.snapshot().context.attempt).toBeLessThanOrEqual(h.input.connectionAttempts);
        expect(h.snapshot().value).not.toEqual({ broken: 'failed' });
        h.clock.increment(step);
      }
      return h;
    }

    it('makes at most connectionAttempts attempts per run with growing back-off, then rests for about backoff.max', async () => {
      // All waits here are multiples of 12.5 ms: 87.5, 175, 350 (back-off) and 875 (rest).
      const h = await acceptAndDrop({ connectionAttempts: 4, reconnect: true }, 10_000, 12.5);
      const offsets = [0, 87.5, 262.5, 612.5]; // waits delay(1), delay(2), delay(3) within a run
      const cycle = 612.5 + restDelay(defaultBackoff, 0.25); // 1487.5: the last attempt, then the rest
      const runs = Math.ceil(10_000 / cycle); // 7 runs start within the 10 s
      const expected = Array.from({ length: runs }, (_, run) => offsets.map((o) => run * cycle + o)).flat();
      expect(h.attempts.map((a) => a.startedAt)).toEqual(expected);
      expect(h.attempts.map((a) => a.attempt)).toEqual(Array.from({ length: runs }, () => [1, 2, 3, 4]).flat());
      // 28 attempts in 10 s; a fresh run on every drop would have made one every 87.5 ms (over 100).
      expect(h.attempts).toHaveLength(28);
      expect(h.closeSocket).toHaveBeenCalledTimes(28);
    });

    it('for any jitter draw and attempt bound: runs of exactly connectionAttempts, growing waits, a rest in [max(1 - jitter), max]', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 6 }),
          // Dyadic fractions keep every delay, and the simulated time, exact in floating point.
          fc.integer({ min: 0, max: 1_023 }).map((k) => k / 1_024),
          fc.integer({ min: 0, max: 16 }).map((k) => k / 16),
          async (connectionAttempts, r, jitter) => {
            const backoff = new ExponentialBackoff({ initial: 100, multiplier: 2, max: 5_000, jitter });
            const h = harness({ connectionAttempts, reconnect: true, backoff, random: () => r });
            h.send({ type: 'CONNECT' });
            const waits: number[] = [];
            for (let n = 0; n < 3 * connectionAttempts; n++) {
              expect(h.snapshot().value).toBe('connecting');
              expect(h.snapshot().context.attempt).toBe((n % connectionAttempts) + 1);
              h.current().resolve();
              await flush();
              h.send({ type: 'DROP', error: new Error('reset') });
              const lastOfRun = (n + 1) % connectionAttempts === 0;
              expect(h.snapshot().value).toEqual({ broken: lastOfRun ? 'resting' : 'waiting' });
              expect(isOutOfAttempts(h.snapshot())).toBe(lastOfRun);
              const wait = h.clock.delays.at(-1) ?? Number.NaN;
              waits.push(wait);
              const k = (n % connectionAttempts) + 1;
              if (lastOfRun) {
                expect(wait).toBe(restDelay(backoff, r));
                expect(wait).toBeGreaterThanOrEqual(backoff.max * (1 - jitter));
                expect(wait).toBeLessThanOrEqual(backoff.max);
              } else {
                expect(wait).toBe(backoff.delay(k, r));
              }
              h.clock.increment(wait);
            }
            // Within a run the waits never shrink, and the rest is at least as long as any of them.
            for (let i = 1; i < waits.length; i++) {
              if (i % connectionAttempts !== 0) expect(waits[i]).toBeGreaterThanOrEqual(waits[i - 1] ?? Infinity);
            }
            h.actor.stop();
          },
        ),
        { numRuns: 50 },
      );
    });
  });

  it('with reconnect, heals by itself after a long outage (never gives up for good)', async () => {
    const h = harness({ connectionAttempts: 3, reconnect: true });
    h.send({ type: 'CONNECT' });
    const step = 12.5;
    let t = 0;
    // The server refuses every connection for a minute.
    for (; t < 60_000; t += step) {
      for (const attempt of h.live()) attempt.reject(new Error('ECONNREFUSED'));
      await flush();
      expect(h.snapshot().value).not.toEqual({ broken: 'failed' });
      h.clock.increment(step);
    }
    // Runs of 3 attempts (waits 87.5 and 175), each followed by a rest of 875 ms: 1137.5 ms per run.
    expect(h.attempts).toHaveLength(3 * Math.ceil(60_000 / 1_137.5));
    expect(h.attempts.map((a) => a.attempt)).toEqual(
      Array.from({ length: Math.ceil(60_000 / 1_137.5) }, () => [1, 2, 3]).flat(),
    );
    // The server is back: the connection comes back within one run plus a rest, with no outside help.
    const back = t;
    while (h.state() !== 'connected') {
      for (const attempt of h.live()) attempt.resolve();
      await flush();
      if (h.state() !== 'connected') h.clock.increment(step);
    }
    expect(h.clock.now() - back).toBeLessThanOrEqual(1_137.5);
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

    it('RECONNECT from connected closes the socket and starts a fresh run, stable or not', async () => {
      for (const stable of [false, true]) {
        const h = await connected({ connectionAttempts: 1 });
        if (stable) h.clock.increment(DEFAULT_STABLE_AFTER);
        h.send({ type: 'RECONNECT' });
        expect(h.closeSocket).toHaveBeenCalledTimes(1);
        expect(h.state()).toBe('connecting');
        expect(h.snapshot().context.attempt).toBe(1);
        expect(h.attempts.map((a) => a.attempt)).toEqual([1, 1]);
        expect(h.clock.pending.size).toBe(1); // only the connect timeout; the stable timer is gone
      }
    });

    it('RECONNECT works like CONNECT from idle, broken.waiting, broken.resting and broken.failed', async () => {
      const idle = harness();
      idle.send({ type: 'RECONNECT' });
      expect(idle.state()).toBe('connecting');

      const w = await waiting();
      w.send({ type: 'RECONNECT' });
      expect(w.state()).toBe('connecting');
      expect(w.snapshot().context.attempt).toBe(1);
      expect(w.clock.pending.size).toBe(1);

      const r = await resting();
      r.send({ type: 'RECONNECT' });
      expect(r.state()).toBe('connecting');
      expect(r.snapshot().context.attempt).toBe(1);
      expect(r.clock.pending.size).toBe(1);

      const f = await failed();
      f.send({ type: 'RECONNECT' });
      expect(f.state()).toBe('connecting');
      expect(f.snapshot().context.attempt).toBe(1);
      expect(f.clock.pending.size).toBe(1);
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
      'connected (stable)': async () => {
        const h = await connected();
        h.clock.increment(DEFAULT_STABLE_AFTER);
        expect(h.snapshot().context.attempt).toBe(0);
        return h;
      },
      'broken.waiting': () => waiting(),
      'broken.resting': () => resting(),
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
        [{ stableAfter: -1 }, RangeError, 'stableAfter'],
        [{ stableAfter: Number.NaN }, RangeError, 'stableAfter'],
        [{ stableAfter: -Infinity }, RangeError, 'stableAfter'],
        // A wrong type is refused too (with a RangeError, unlike the other fields' TypeError).
        [{ stableAfter: '1000' }, Error, 'stableAfter'],
        [{ stableAfter: null }, Error, 'stableAfter'],
      ];

    it('accepts a valid input', () => {
      expect(() => validateConnectionMachineInput(valid)).not.toThrow();
      for (const stableAfter of [undefined, 0, 1, 2.5, Infinity]) {
        expect(() => validateConnectionMachineInput({ ...valid, stableAfter })).not.toThrow();
      }
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
      [{ broken: 'resting' }, 'broken', true],
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
    stableAfter: fc.option(fc.integer({ min: 0, max: 3_000 }), { nil: undefined }),
  });

  /**
   * Timers each state has pending: the connect timeout (connecting), the
   * stable timer (connected, until it fires and resets the run), the back-off
   * wait (waiting) or the rest (resting); none in failed, idle or closed.
   */
  const expectedTimers = {
    idle: () => 0,
    connecting: () => 1,
    connected: (attempt: number) => (attempt >= 1 ? 1 : 0),
    'broken.waiting': () => 1,
    'broken.resting': () => 1,
    'broken.failed': () => 0,
    closed: () => 0,
  } satisfies Record<string, (attempt: number) => number>;
  type StateName = keyof typeof expectedTimers;

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
          stableAfter: params.stableAfter,
        });
        let wasClosed = false;
        let lastAttempt = 0;
        for (const s of steps) {
          const before = h.state();
          const startedBefore = h.attempts.length;
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
          const stateName = name(snapshot) as StateName;
          // The state is always one of the known ones, and consistent with the raw value.
          expect(['idle', 'connecting', 'connected', 'broken', 'closed']).toContain(state);
          expect(Object.keys(expectedTimers)).toContain(stateName);
          // Attempts are counted within bounds, per run.
          expect(attempt).toBeGreaterThanOrEqual(0);
          expect(attempt).toBeLessThanOrEqual(connectionAttempts);
          if (state === 'connecting') expect(attempt).toBeGreaterThanOrEqual(1);
          if (stateName === 'broken.waiting') expect(attempt).toBeLessThan(connectionAttempts);
          // resting: the run used every attempt, and only with reconnect; failed only without reconnect.
          if (stateName === 'broken.resting') {
            expect(params.reconnect).toBe(true);
            expect(attempt).toBe(connectionAttempts);
          }
          if (stateName === 'broken.failed') expect(params.reconnect).toBe(false);
          // Each new attempt is the next of its run or the first of a fresh one, never past the bound.
          for (const { attempt: n } of h.attempts.slice(startedBefore)) {
            expect(n === 1 || n === lastAttempt + 1).toBe(true);
            expect(n).toBeLessThanOrEqual(connectionAttempts);
            lastAttempt = n;
          }
          // Exactly the expected timers are pending.
          expect(h.clock.pending.size).toBe(expectedTimers[stateName](attempt));
          // Exactly one attempt runs while connecting, none otherwise.
          expect(h.live()).toHaveLength(state === 'connecting' ? 1 : 0);
          // closeSocket runs once each time connected is left, and only then (not when it becomes stable).
          const left = before === 'connected' && (state !== 'connected' || s.kind === 'send' && s.event.type === 'RECONNECT');
          expect(h.closeSocket.mock.calls.length - closesBefore).toBe(left ? 1 : 0);
          // A drop of a connected socket is recorded as lastError.
          if (before === 'connected' && s.kind === 'send' && s.event.type === 'DROP') {
            expect(snapshot.context.lastError).toBe(s.event.error);
          }
          // closed is absorbing, and means the actor is done.
          if (wasClosed) expect(state).toBe('closed');
          if (state === 'closed') {
            expect(snapshot.status).toBe('done');
            wasClosed = true;
          } else {
            expect(snapshot.status).toBe('active');
          }
          expect(isOutOfAttempts(snapshot)).toBe(stateName === 'broken.resting' || stateName === 'broken.failed');
        }
        h.actor.stop();
      }),
      { numRuns: 100 },
    );
  });
});
