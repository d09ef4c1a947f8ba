import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BACKOFF_INITIAL,
  DEFAULT_BACKOFF_JITTER,
  DEFAULT_BACKOFF_MAX,
  DEFAULT_BACKOFF_MULTIPLIER,
  ExponentialBackoff,
  type ExponentialBackoffOptions,
} from '../../src/connection/backoff.js';

/** Valid options: initial <= max, multiplier >= 1, jitter in [0, 1]. */
const validOptions = fc
  .record({
    initial: fc.double({ min: 0, max: 5_000, noNaN: true }),
    extra: fc.double({ min: 0, max: 100_000, noNaN: true }),
    multiplier: fc.double({ min: 1, max: 10, noNaN: true }),
    jitter: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map(({ initial, extra, multiplier, jitter }) => ({ initial, max: initial + extra, multiplier, jitter }));

const attempt = fc.integer({ min: 1, max: 2_000 });
const random = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('ExponentialBackoff', () => {
  it('has documented defaults', () => {
    const backoff = new ExponentialBackoff();
    expect(backoff.initial).toBe(DEFAULT_BACKOFF_INITIAL);
    expect(backoff.multiplier).toBe(DEFAULT_BACKOFF_MULTIPLIER);
    expect(backoff.max).toBe(DEFAULT_BACKOFF_MAX);
    expect(backoff.jitter).toBe(DEFAULT_BACKOFF_JITTER);
    expect([1, 2, 3, 4, 7, 8, 9, 100].map((n) => backoff.baseDelay(n))).toEqual([
      100, 200, 400, 800, 2_000, 2_000, 2_000, 2_000,
    ]);
  });

  it('exposes its options', () => {
    const backoff = new ExponentialBackoff({ initial: 5, multiplier: 3, max: 50, jitter: 0.25 });
    expect([backoff.initial, backoff.multiplier, backoff.max, backoff.jitter]).toEqual([5, 3, 50, 0.25]);
  });

  it('computes jittered delays', () => {
    const backoff = new ExponentialBackoff({ initial: 100, jitter: 0.5 });
    expect(backoff.delay(1, 0)).toBe(100);
    expect(backoff.delay(1, 0.5)).toBe(75);
    expect(backoff.delay(2, 0.25)).toBe(175);
    const full = new ExponentialBackoff({ initial: 100, jitter: 1 });
    expect(full.delay(1, 0.75)).toBe(25);
  });

  it('handles a zero initial delay even when the growth overflows', () => {
    const backoff = new ExponentialBackoff({ initial: 0, max: 0, multiplier: 10 });
    expect(backoff.baseDelay(5_000)).toBe(0);
    expect(backoff.delay(5_000, 0.5)).toBe(0);
  });

  it('base delay never decreases and never passes max', () => {
    fc.assert(
      fc.property(validOptions, attempt, attempt, (options, a, b) => {
        const backoff = new ExponentialBackoff(options);
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(backoff.baseDelay(lo)).toBeLessThanOrEqual(backoff.baseDelay(hi));
        expect(backoff.baseDelay(hi)).toBeLessThanOrEqual(options.max);
        expect(backoff.baseDelay(1)).toBe(options.initial);
      }),
    );
  });

  it('jittered delay lies in [base * (1 - jitter), base]', () => {
    fc.assert(
      fc.property(validOptions, attempt, random, (options, n, r) => {
        const backoff = new ExponentialBackoff(options);
        const base = backoff.baseDelay(n);
        const delay = backoff.delay(n, r);
        expect(delay).toBeLessThanOrEqual(base);
        expect(delay).toBeGreaterThanOrEqual(base * (1 - options.jitter));
        if (options.jitter === 0) expect(delay).toBe(base);
        if (options.jitter === 1 && base > 0) expect(delay).toBeGreaterThan(0);
      }),
    );
  });

  it('a positive wait stays positive when jitter would round it to 0 (fast-check counterexample)', () => {
    const backoff = new ExponentialBackoff({ initial: 5e-324, max: 5e-324, multiplier: 1, jitter: 1 });
    expect(backoff.baseDelay(1)).toBe(5e-324);
    expect(backoff.delay(1, 0.49999999999999994)).toBeGreaterThan(0);
    expect(backoff.delay(1, 0)).toBe(5e-324);
  });

  it('is pure: the same arguments give the same delay', () => {
    fc.assert(
      fc.property(validOptions, attempt, random, (options, n, r) => {
        const backoff = new ExponentialBackoff(options);
        expect(backoff.delay(n, r)).toBe(new ExponentialBackoff(options).delay(n, r));
      }),
    );
  });

  describe('validation', () => {
    const names = ['initial', 'multiplier', 'max', 'jitter'] as const;

    it('rejects non-numbers with a TypeError naming the option', () => {
      const notNumber = fc.oneof(
        fc.string(),
        fc.boolean(),
        fc.constant(null),
        fc.constant(Number.NaN),
        fc.object(),
        fc.bigInt(),
      );
      fc.assert(
        fc.property(fc.constantFrom(...names), notNumber, (name, value) => {
          const options = { [name]: value } as unknown as ExponentialBackoffOptions;
          expect(() => new ExponentialBackoff(options)).toThrow(TypeError);
          expect(() => new ExponentialBackoff(options)).toThrow(`"${name}"`);
        }),
      );
    });

    it('rejects infinite values with a RangeError naming the option', () => {
      for (const name of names) {
        for (const value of [Infinity, -Infinity]) {
          expect(() => new ExponentialBackoff({ [name]: value })).toThrow(RangeError);
          expect(() => new ExponentialBackoff({ [name]: value })).toThrow(`"${name}"`);
        }
      }
    });

    it('rejects out-of-range values with a RangeError naming the option', () => {
      const cases: [ExponentialBackoffOptions, string][] = [
        [{ initial: -1 }, 'initial'],
        [{ multiplier: 0.99 }, 'multiplier'],
        [{ initial: 200, max: 199 }, 'max'],
        [{ jitter: -0.01 }, 'jitter'],
        [{ jitter: 1.01 }, 'jitter'],
      ];
      for (const [options, name] of cases) {
        expect(() => new ExponentialBackoff(options)).toThrow(RangeError);
        expect(() => new ExponentialBackoff(options)).toThrow(`"${name}"`);
      }
    });

    it('accepts every valid combination and treats undefined as the default', () => {
      fc.assert(fc.property(validOptions, (options) => void new ExponentialBackoff(options)));
      expect(new ExponentialBackoff({ initial: undefined }).initial).toBe(DEFAULT_BACKOFF_INITIAL);
    });

    it('rejects a bad attempt or random number', () => {
      const backoff = new ExponentialBackoff();
      for (const n of [0, -1, 1.5, Number.NaN, Infinity]) {
        expect(() => backoff.baseDelay(n)).toThrow(RangeError);
        expect(() => backoff.delay(n, 0)).toThrow(RangeError);
      }
      for (const r of [-0.1, 1, 2, Number.NaN]) {
        expect(() => backoff.delay(1, r)).toThrow(RangeError);
      }
    });
  });
});
