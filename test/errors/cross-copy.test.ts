/**
 * `instanceof` across two copies of the error classes, as an application gets
 * them when it loads both the ES module and the CommonJS build. The second
 * copy ("other") is src/errors.ts (and the fleet's and Keyv adapter's
 * errors, which extend it) evaluated again after `vi.resetModules()`: new
 * classes, new prototypes, the same source. For every pair of classes the
 * answer across copies must be the one the prototypes give within one copy
 * (plus: a `PoolEmptyError` is a `ZCachedError`).
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import * as errors from '../../src/errors.js';
import * as fleetErrors from '../../src/fleet/errors.js';
import * as keyvErrors from '../../src/keyv/shared.js';

type Errors = typeof errors;
type FleetErrors = typeof fleetErrors;
type KeyvErrors = typeof keyvErrors;

/** One copy's error classes, each with a way to make an instance. */
interface Copy {
  readonly classes: Readonly<Record<string, abstract new (...args: never[]) => Error>>;
  readonly make: Readonly<Record<string, () => Error>>;
}

function copyOf(e: Errors, f: FleetErrors, k: KeyvErrors): Copy {
  const make: Record<string, () => Error> = {
    ZCachedError: () => new e.ZCachedError('EX', 'base'),
    ServerError: () => new e.ServerError('ERR unknown command'),
    ProtocolError: () => new e.ProtocolError('bad bytes'),
    DialectError: () => new e.DialectError('too large'),
    InvalidArgumentError: () => new e.InvalidArgumentError('bad argument'),
    TimeoutError: () => new e.TimeoutError('too slow'),
    AbortError: () => new e.AbortError(),
    ConnectError: () => new e.ConnectError('refused'),
    ConnectionError: () => new e.ConnectionError('dropped'),
    ConnectionClosedError: () => new e.ConnectionClosedError('closed'),
    QueueFullError: () => new e.QueueFullError('full'),
    PoolEmptyError: () => new e.PoolEmptyError(),
    CodecError: () => new e.CodecError('not JSON', { key: 'k', codec: 'json' }),
    ServerEjectedError: () => new f.ServerEjectedError('a:1', 5),
    NoServerError: () => new f.NoServerError(),
    CrossServerError: () => new f.CrossServerError('RENAME', new Map([['x', 'a:1'], ['y', 'b:2']])),
    PartialFailureError: () => new f.PartialFailureError('MGET', new Map(), []),
    FanOutError: () => new f.FanOutError('DBSIZE', new Map()),
    KeyvSharedStoreError: () => new k.KeyvSharedStoreError('shared', { namespaces: ['a', 'b'] }),
  };
  const all = { ...e, ...f, ...k } as unknown as Record<string, abstract new (...args: never[]) => Error>;
  const classes = Object.fromEntries(Object.keys(make).map((name) => [name, all[name]!]));
  return { classes, make };
}

/** What the engine's own `instanceof` answers, without any `Symbol.hasInstance`. */
const ordinary = (constructor: object, value: unknown): boolean => Function.prototype[Symbol.hasInstance].call(constructor, value);

let self: Copy;
let other: Copy;
let otherErrors: Errors;

beforeAll(async () => {
  self = copyOf(errors, fleetErrors, keyvErrors);
  vi.resetModules();
  otherErrors = await import('../../src/errors.js');
  const otherFleet = await import('../../src/fleet/errors.js');
  const otherKeyv = await import('../../src/keyv/shared.js');
  other = copyOf(otherErrors, otherFleet, otherKeyv);
});

describe('error classes across two copies of the package', () => {
  it('the second copy really is another copy: new classes, the ordinary check fails across, holds within', () => {
    const names = Object.keys(self.classes);
    expect(names).toHaveLength(19);
    for (const name of names) {
      expect(other.classes[name], name).not.toBe(self.classes[name]);
      expect(ordinary(self.classes[name]!, other.make[name]!()), name).toBe(false);
      expect(ordinary(other.classes[name]!, other.make[name]!()), name).toBe(true);
    }
    // The other fleet's and Keyv adapter's errors extend the other ZCachedError.
    expect(ordinary(otherErrors.ZCachedError, other.make['NoServerError']!())).toBe(true);
    expect(ordinary(otherErrors.ZCachedError, other.make['KeyvSharedStoreError']!())).toBe(true);
  });

  it('for every pair of classes, both ways, instanceof across copies answers as within one copy', () => {
    let positives = 0;
    for (const [madeBy, checkedBy] of [
      [other, self],
      [self, other],
    ] as const) {
      for (const [made, make] of Object.entries(madeBy.make)) {
        for (const [name, constructor] of Object.entries(checkedBy.classes)) {
          // Within one copy, by prototypes alone; a PoolEmptyError (a RangeError) also counts as a ZCachedError.
          const expected = ordinary(madeBy.classes[name]!, make()) || (made === 'PoolEmptyError' && name === 'ZCachedError');
          expect(make() instanceof constructor, `${made} instanceof ${name}`).toBe(expected);
          if (expected) positives++;
        }
      }
    }
    // Each class is an instance of itself and of ZCachedError (ZCachedError of itself once).
    expect(positives).toBe(2 * (19 + 18));
  });

  it('a TimeoutError of the other copy is a TimeoutError and a ZCachedError here, not a ServerError', () => {
    const error = new otherErrors.TimeoutError('too slow');
    expect(error instanceof errors.TimeoutError).toBe(true);
    expect(error instanceof errors.ZCachedError).toBe(true);
    expect(error instanceof errors.ServerError).toBe(false);
    expect(error instanceof errors.PoolEmptyError).toBe(false);
    expect(new errors.TimeoutError('x') instanceof otherErrors.TimeoutError).toBe(true);
    // PoolEmptyError: a RangeError, and a ZCachedError of either copy.
    const empty = new otherErrors.PoolEmptyError();
    expect(empty instanceof errors.PoolEmptyError).toBe(true);
    expect(empty instanceof errors.ZCachedError).toBe(true);
    expect(empty instanceof RangeError).toBe(true);
    expect(new otherErrors.ZCachedError('X', 'x') instanceof errors.PoolEmptyError).toBe(false);
  });

  it('plain errors, look-alikes and non-objects are instances of none of the classes', () => {
    const lookalike = Object.assign(new Error('too slow'), { name: 'TimeoutError', code: 'ETIMEOUT' });
    const values: unknown[] = [
      new Error('x'),
      new RangeError('x'),
      lookalike,
      { name: 'TimeoutError', code: 'ETIMEOUT', message: 'x' },
      Object.create(null) as object,
      [],
      ['zcached:TimeoutError'],
      'TimeoutError',
      0,
      null,
      undefined,
      errors.TimeoutError,
      errors.ZCachedError.prototype, // the brand's root: its own prototype carries no class
      otherErrors.ZCachedError.prototype,
      errors.PoolEmptyError.prototype,
    ];
    for (const copy of [self, other]) {
      for (const [name, constructor] of Object.entries(copy.classes)) {
        values.forEach((value, i) => expect(value instanceof constructor, `values[${i}] instanceof ${name}`).toBe(false));
      }
    }
  });

  it('subclasses of your own: ordinary instanceof, and instances of our classes of either copy', () => {
    class CacheTimeout extends errors.TimeoutError {}
    class MyError extends errors.ZCachedError {}
    const mine = new CacheTimeout('slow cache');
    expect(mine instanceof CacheTimeout).toBe(true);
    expect(mine instanceof errors.TimeoutError).toBe(true);
    expect(mine instanceof otherErrors.TimeoutError).toBe(true);
    expect(mine instanceof otherErrors.ZCachedError).toBe(true);
    expect(mine instanceof otherErrors.ServerError).toBe(false);
    expect(mine instanceof MyError).toBe(false);
    expect(mine.name).toBe('CacheTimeout');
    expect(mine.code).toBe('ETIMEOUT');
    // Our errors, of either copy, are not instances of your subclasses.
    for (const error of [new errors.TimeoutError('x'), new otherErrors.TimeoutError('x'), new otherErrors.ZCachedError('X', 'x')]) {
      expect(error instanceof CacheTimeout).toBe(false);
      expect(error instanceof MyError).toBe(false);
    }
    expect(new MyError('EMINE', 'mine') instanceof MyError).toBe(true);
    expect(new MyError('EMINE', 'mine') instanceof otherErrors.ZCachedError).toBe(true);
  });

  it('the brand is no own property: errors print, spread and compare as before', () => {
    const error = new errors.TimeoutError('too slow', { cause: new Error('root') });
    expect(Object.getOwnPropertySymbols(error)).toEqual([]);
    expect(Object.keys({ ...error }).sort()).toEqual(['code']);
    expect(error.name).toBe('TimeoutError');
    expect(error.code).toBe('ETIMEOUT');
    expect(new errors.PoolEmptyError().code).toBe('EPOOLEMPTY');
    expect(Object.getOwnPropertySymbols(new errors.PoolEmptyError())).toEqual([]);
  });
});
