/**
 * The connection machine's edges: every input it refuses with its exact
 * message, the back-off object checked member by member, the delays it
 * clamps (NaN, negative, past the largest timer), what it records as the
 * last error, and the helpers that read a snapshot.
 */
import { describe, expect, it, vi } from 'vitest';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { ExponentialBackoff } from '../../src/connection/backoff.js';
import {
  brokenPhase,
  connectionMachine,
  hasGivenUp,
  isOutOfAttempts,
  lifecycleState,
  MAX_TIMER_DELAY,
  validateConnectionMachineInput,
  type ConnectionMachineInput,
  type ConnectionMachineSnapshot,
  type OpenSocketInput,
} from '../../src/connection/machine.js';
import { TimeoutError } from '../../src/errors.js';

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const valid: ConnectionMachineInput = {
  connectionAttempts: 2,
  reconnect: true,
  connectTimeout: 1_000,
  backoff: new ExponentialBackoff({ initial: 100, multiplier: 2, max: 1_000, jitter: 0.5 }),
  random: () => 0.5,
};

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('nothing was thrown');
}

/** A clock that remembers every delay the machine asked for. */
class RecordingClock extends SimulatedClock {
  readonly delays: number[] = [];
  override setTimeout(fn: (...args: unknown[]) => void, timeout: number): number {
    this.delays.push(timeout);
    return super.setTimeout(fn, timeout);
  }
}

/** A machine whose attempts the test settles. */
function start(overrides: Partial<ConnectionMachineInput> = {}) {
  const clock = new RecordingClock();
  const attempts: { attempt: number; resolve(): void; reject(error: unknown): void; signal: AbortSignal }[] = [];
  const machine = connectionMachine.provide({
    actors: {
      openSocket: fromPromise<void, OpenSocketInput>(
        ({ input, signal }) => new Promise<void>((resolve, reject) => attempts.push({ attempt: input.attempt, resolve, reject, signal })),
      ),
    },
  });
  const actor = createActor(machine, { input: { ...valid, ...overrides }, clock });
  actor.start();
  return { actor, clock, attempts, snapshot: (): ConnectionMachineSnapshot => actor.getSnapshot() };
}

describe('validateConnectionMachineInput', () => {
  const cases: [string, Partial<Record<keyof ConnectionMachineInput, unknown>>, Error][] = [
    ['connectionAttempts not a number', { connectionAttempts: '3' }, new TypeError('connection machine: "connectionAttempts" must be a number')],
    ['connectionAttempts 0', { connectionAttempts: 0 }, new RangeError('connection machine: "connectionAttempts" must be an integer of at least 1, got 0')],
    ['connectionAttempts 1.5', { connectionAttempts: 1.5 }, new RangeError('connection machine: "connectionAttempts" must be an integer of at least 1, got 1.5')],
    ['connectionAttempts -1', { connectionAttempts: -1 }, new RangeError('connection machine: "connectionAttempts" must be an integer of at least 1, got -1')],
    ['reconnect not a boolean', { reconnect: 'yes' }, new TypeError('connection machine: "reconnect" must be a boolean')],
    ['connectTimeout not a number', { connectTimeout: '5' }, new TypeError('connection machine: "connectTimeout" must be a number')],
    ['connectTimeout 0', { connectTimeout: 0 }, new RangeError('connection machine: "connectTimeout" must be positive, got 0')],
    ['connectTimeout -5', { connectTimeout: -5 }, new RangeError('connection machine: "connectTimeout" must be positive, got -5')],
    ['connectTimeout NaN', { connectTimeout: Number.NaN }, new RangeError('connection machine: "connectTimeout" must be positive, got NaN')],
    ['backoff null', { backoff: null }, new TypeError('connection machine: "backoff" must be an ExponentialBackoff')],
    ['backoff a number', { backoff: 5 }, new TypeError('connection machine: "backoff" must be an ExponentialBackoff')],
    [
      'backoff a function with back-off members',
      { backoff: Object.assign(() => 1, { delay: () => 1, max: 1, jitter: 0 }) },
      new TypeError('connection machine: "backoff" must be an ExponentialBackoff'),
    ],
    ['backoff without delay', { backoff: { max: 1, jitter: 0 } }, new TypeError('connection machine: "backoff" must be an ExponentialBackoff')],
    ['backoff.delay not a function', { backoff: { delay: 1, max: 1, jitter: 0 } }, new TypeError('connection machine: "backoff" must be an ExponentialBackoff')],
    ['backoff.max not a number', { backoff: { delay: () => 1, max: '1', jitter: 0 } }, new TypeError('connection machine: "backoff" must be an ExponentialBackoff')],
    ['backoff.jitter not a number', { backoff: { delay: () => 1, max: 1 } }, new TypeError('connection machine: "backoff" must be an ExponentialBackoff')],
    ['random not a function', { random: 0.5 }, new TypeError('connection machine: "random" must be a function')],
    ['stableAfter not a number', { stableAfter: '1' }, new TypeError('connection machine: "stableAfter" must be a number')],
    ['stableAfter null', { stableAfter: null }, new TypeError('connection machine: "stableAfter" must be a number')],
    ['stableAfter -1', { stableAfter: -1 }, new RangeError('connection machine: "stableAfter" must be a number >= 0, got -1')],
    ['stableAfter NaN', { stableAfter: Number.NaN }, new RangeError('connection machine: "stableAfter" must be a number >= 0, got NaN')],
  ];

  it.each(cases)('refuses %s, with its message', (_, patch, error) => {
    const actual = thrown(() => validateConnectionMachineInput({ ...valid, ...patch } as ConnectionMachineInput));
    expect(actual).toEqual(error);
    expect(actual.constructor).toBe(error.constructor);
    // The machine refuses it too: the actor ends in an error snapshot with that error.
    const actor = createActor(connectionMachine, { input: { ...valid, ...patch } as ConnectionMachineInput });
    const errors: unknown[] = [];
    actor.subscribe({ error: (e) => errors.push(e) });
    actor.start();
    expect(actor.getSnapshot().status).toBe('error');
    expect(actor.getSnapshot().error).toEqual(error);
  });

  it('accepts the smallest valid values, and any back-off-shaped object', () => {
    const backoff = { delay: () => 1, max: 1, jitter: 0 } as unknown as ExponentialBackoff;
    for (const patch of [{ connectionAttempts: 1 }, { connectTimeout: 0.5 }, { stableAfter: 0 }, { stableAfter: undefined }, { backoff }, { reconnect: false }]) {
      expect(() => validateConnectionMachineInput({ ...valid, ...patch }), JSON.stringify(patch)).not.toThrow();
    }
  });

  it('starts idle, with the input in its context and a fresh run', () => {
    const { snapshot } = start();
    expect(snapshot().value).toBe('idle');
    expect(snapshot().context).toMatchObject({ ...valid, attempt: 0, lastError: undefined, retryDelay: undefined });
  });
});

describe('delays the machine asks its clock for', () => {
  /** Fails the first attempt and returns the back-off wait that follows. */
  async function waitAfterFailure(delay: number, overrides: Partial<ConnectionMachineInput> = {}): Promise<number | undefined> {
    const backoff = { delay: () => delay, max: 1_000, jitter: 0 } as unknown as ExponentialBackoff;
    const h = start({ backoff, ...overrides });
    h.actor.send({ type: 'CONNECT' });
    h.attempts[0]!.reject(new Error('refused'));
    await flush();
    expect(h.snapshot().value).toEqual({ broken: 'waiting' });
    return h.snapshot().context.retryDelay;
  }

  it('a back-off of NaN waits the longest timer delay, never none', async () => {
    expect(await waitAfterFailure(Number.NaN)).toBe(MAX_TIMER_DELAY);
  });

  it('a negative back-off waits 0; one past the largest timer delay is clamped to it', async () => {
    expect(await waitAfterFailure(-5)).toBe(0);
    expect(await waitAfterFailure(Infinity)).toBe(MAX_TIMER_DELAY);
    expect(await waitAfterFailure(MAX_TIMER_DELAY + 1)).toBe(MAX_TIMER_DELAY);
    expect(await waitAfterFailure(250)).toBe(250);
    expect(MAX_TIMER_DELAY).toBe(2 ** 31 - 1);
  });

  it('the back-off is drawn for the attempt that failed, at least 1, with one random draw', async () => {
    const delay = vi.fn((attempt: number, random: number) => attempt * 100 + random);
    const backoff = { delay, max: 1_000, jitter: 0 } as unknown as ExponentialBackoff;
    const h = start({ backoff, random: () => 0.25, connectionAttempts: 3 });
    h.actor.send({ type: 'CONNECT' });
    h.attempts[0]!.reject(new Error('refused'));
    await flush();
    expect(delay).toHaveBeenLastCalledWith(1, 0.25);
    expect(h.snapshot().context.retryDelay).toBe(100.25);
    h.clock.increment(100.25);
    expect(h.snapshot().value).toBe('connecting');
    expect(h.attempts[1]!.attempt).toBe(2);
    h.attempts[1]!.reject(new Error('refused'));
    await flush();
    expect(delay).toHaveBeenLastCalledWith(2, 0.25);
    // A drop once stable starts a run at attempt 0: its wait is drawn for attempt 1.
    h.clock.increment(200.25);
    h.attempts[2]!.resolve();
    await flush();
    expect(h.snapshot().value).toBe('connected');
    h.clock.increment(1_000);
    expect(h.snapshot().context.attempt).toBe(0);
    h.actor.send({ type: 'DROP', error: new Error('reset') });
    expect(delay).toHaveBeenLastCalledWith(1, 0.25);
  });

  it('the rest is the back-off maximum less its jitter share, clamped at 0', async () => {
    const rest = async (max: number, jitter: number, random: number): Promise<number | undefined> => {
      const backoff = { delay: () => 10, max, jitter } as unknown as ExponentialBackoff;
      const h = start({ backoff, random: () => random, connectionAttempts: 1 });
      h.actor.send({ type: 'CONNECT' });
      h.attempts[0]!.reject(new Error('refused'));
      await flush();
      expect(h.snapshot().value).toEqual({ broken: 'resting' });
      return h.snapshot().context.retryDelay;
    };
    expect(await rest(1_000, 0.5, 0.5)).toBe(750);
    expect(await rest(1_000, 0, 0.9)).toBe(1_000);
    expect(await rest(1_000, 2, 1)).toBe(0);
    expect(await rest(Infinity, 0, 0)).toBe(MAX_TIMER_DELAY);
  });

  it('a connect timeout past the largest timer delay is clamped; the timeout is reported in ms', async () => {
    const h = start({ connectTimeout: 5e12 });
    h.actor.send({ type: 'CONNECT' });
    expect(h.clock.delays).toContain(MAX_TIMER_DELAY);
    const t = start({ connectTimeout: 30, connectionAttempts: 1, reconnect: false });
    t.actor.send({ type: 'CONNECT' });
    expect(t.clock.delays[0]).toBe(30);
    t.clock.increment(29);
    expect(t.snapshot().value).toBe('connecting');
    t.clock.increment(1);
    expect(t.snapshot().value).toEqual({ broken: 'failed' });
    expect(t.snapshot().context.lastError).toEqual(new TimeoutError('connect timed out after 30 ms'));
    expect(t.attempts[0]!.signal.aborted).toBe(true);
  });

  it('stableAfter: exactly that long connected starts a fresh run; a huge one is clamped', async () => {
    const h = start({ stableAfter: 500 });
    h.actor.send({ type: 'CONNECT' });
    h.attempts[0]!.resolve();
    await flush();
    expect(h.snapshot().context.attempt).toBe(1);
    h.clock.increment(499);
    expect(h.snapshot().context.attempt).toBe(1);
    h.clock.increment(1);
    expect(h.snapshot().context.attempt).toBe(0);
    const huge = start({ stableAfter: Infinity });
    huge.actor.send({ type: 'CONNECT' });
    huge.attempts[0]!.resolve();
    await flush();
    expect(huge.clock.delays.at(-1)).toBe(MAX_TIMER_DELAY);
  });
});

describe('the last error', () => {
  it('is the Error an attempt rejected with, as it is', async () => {
    const h = start({ connectionAttempts: 1, reconnect: false });
    h.actor.send({ type: 'CONNECT' });
    const error = new Error('refused');
    h.attempts[0]!.reject(error);
    await flush();
    expect(h.snapshot().context.lastError).toBe(error);
  });

  it('wraps anything else in an Error with its text, the original as cause', async () => {
    for (const value of ['boom', 42, undefined, { code: 'X' }]) {
      const h = start({ connectionAttempts: 1, reconnect: false });
      h.actor.send({ type: 'CONNECT' });
      h.attempts[0]!.reject(value);
      await flush();
      const lastError = h.snapshot().context.lastError;
      expect(lastError).toBeInstanceOf(Error);
      expect(lastError?.message).toBe(String(value));
      expect(lastError?.cause).toBe(value);
    }
  });

  it('is the error of a drop', async () => {
    const h = start({ reconnect: false });
    h.actor.send({ type: 'CONNECT' });
    h.attempts[0]!.resolve();
    await flush();
    const error = new Error('reset');
    h.actor.send({ type: 'DROP', error });
    expect(h.snapshot().value).toEqual({ broken: 'failed' });
    expect(h.snapshot().context.lastError).toBe(error);
  });

  it('is the placeholder’s error when no openSocket was provided', async () => {
    const actor = createActor(connectionMachine, { input: { ...valid, connectionAttempts: 1, reconnect: false }, clock: new SimulatedClock() });
    actor.start();
    actor.send({ type: 'CONNECT' });
    await flush();
    expect(actor.getSnapshot().context.lastError?.message).toBe('connectionMachine: the "openSocket" actor must be provided with connectionMachine.provide()');
  });
});

describe('reading a snapshot', () => {
  it('brokenPhase, isOutOfAttempts and hasGivenUp for every state value', () => {
    const cases: [ConnectionMachineSnapshot['value'], ReturnType<typeof brokenPhase>, boolean, boolean, string][] = [
      ['idle', undefined, false, false, 'idle'],
      ['connecting', undefined, false, false, 'connecting'],
      ['connected', undefined, false, false, 'connected'],
      ['closed', undefined, false, false, 'closed'],
      [{ broken: 'waiting' }, 'waiting', false, false, 'broken'],
      [{ broken: 'resting' }, 'resting', true, false, 'broken'],
      [{ broken: 'failed' }, 'failed', true, true, 'broken'],
      [{ broken: 'deciding' }, undefined, false, false, 'broken'],
    ];
    for (const [value, phase, out, givenUp, state] of cases) {
      expect(brokenPhase({ value }), JSON.stringify(value)).toBe(phase);
      expect(isOutOfAttempts({ value })).toBe(out);
      expect(hasGivenUp({ value })).toBe(givenUp);
      expect(lifecycleState({ value })).toBe(state);
    }
  });
});
