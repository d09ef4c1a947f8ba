/**
 * Run-time checks of the arguments of every public call of `ZCached` and
 * `ZCachedFleet` (and so of their `fp` views), for plain-JavaScript callers
 * whom TypeScript never checks: how many arguments, the type of each key,
 * and the per-call options. A refused call throws a `TypeError` (or a
 * `RangeError` for an out-of-range `timeout`) naming the method and what
 * it takes; nothing is sent.
 *
 * The habits of other clients are refused with a message showing the call
 * to make, except one that cannot be misread: `mget(['a', 'b'])`, an array
 * of keys (see {@link mgetArguments}).
 *
 * The normal path costs a comparison of `arguments.length` with the
 * method's maximum, a `typeof` per key and `options === undefined`; no
 * allocation unless something is refused.
 *
 * @module
 */

import { assertRequestOptions, describeArgument, isAbortSignal, isExpiryName, noExpiryMessage } from '../connection/request-options.js';
import type { RequestOptions } from '../connection/requests.js';

/** What a method takes: its parameters, their most, the names of its string parameters and of its options. */
export interface CallShape {
  /** The parameters as written in a message: `'(key, options?)'`. */
  readonly takes: string;
  /** The most arguments it takes. */
  readonly max: number;
  /** The fewest arguments it takes (a value that is not given is refused, not sent as nothing). Default 0. */
  readonly min?: number;
  /** The names of its string parameters, in order (`['key', 'newKey']`). */
  readonly names?: readonly string[];
  /** The keys of its options object; default `signal` and `timeout`. */
  readonly options?: readonly string[];
  /** Appended to the message when too many arguments are given, or a string where the options go. */
  readonly hint?: string;
  /** SET: a string or number where the options go is taken for an expiry (`'EX'`, a TTL) and refused as such. */
  readonly expiry?: boolean;
}

/** A method's shape with its full name (`'ZCached.get'`), as the checks below take it. */
export interface CallSpec extends Required<Omit<CallShape, 'hint' | 'expiry'>> {
  readonly owner: string;
  readonly hint: string | undefined;
  readonly expiry: boolean;
}

const REQUEST = ['signal', 'timeout'] as const;
const KEY = ['key'] as const;
const NONE = [] as const;

/** The commands' shapes, shared by the client, the fleet and the fleet's `byServer`. */
export const COMMAND_SHAPES = {
  ping: { takes: '(options?)', max: 1, hint: 'PING takes no message: use echo(message)' },
  get: { takes: '(key, options?)', max: 2, names: KEY, hint: 'get takes one key: for several, use mget(...keys)' },
  getBuffer: { takes: '(key, options?)', max: 2, names: KEY, hint: 'getBuffer takes one key: for several, use mgetBuffer(...keys)' },
  set: { takes: '(key, value, options?)', max: 3, min: 2, names: KEY, expiry: true, hint: "zcached's SET takes no flags (no NX, XX, GET or expiry)" },
  delete: {
    takes: '(key, options?)',
    max: 2,
    names: KEY,
    hint: "zcached's DELETE deletes one key: to delete several, await Promise.all(keys.map((key) => client.delete(key)))",
  },
  exists: { takes: '(key, options?)', max: 2, names: KEY, hint: 'exists takes one key: for several, use mget(...keys) (a missing key maps to null)' },
  flush: { takes: '(options?)', max: 1 },
  dbsize: { takes: '(options?)', max: 1 },
  save: { takes: '(options?)', max: 1 },
  lastsave: { takes: '(options?)', max: 1 },
  keys: { takes: '(options?)', max: 1, hint: "zcached's KEYS takes no pattern: keys() returns every key" },
  mget: { takes: "(...keys, options?) or (keys[], options?)", max: Number.POSITIVE_INFINITY },
  mgetBuffer: { takes: "(...keys, options?) or (keys[], options?)", max: Number.POSITIVE_INFINITY },
  mset: { takes: '(entries, options?)', max: 2, hint: "pass every entry in one Map, object or [key, value] pairs: mset({ a: 1, b: 2 })" },
  echo: { takes: '(message, options?)', max: 2, names: ['message'], hint: 'ECHO takes one message' },
  sizeof: { takes: '(key, options?)', max: 2, names: KEY, hint: 'sizeof takes one key' },
  rename: { takes: '(key, newKey, options?)', max: 3, names: ['key', 'newKey'] },
  copy: { takes: '(source, destination, options?)', max: 3, names: ['source', 'destination'], options: ['replace', ...REQUEST] },
  isAlive: { takes: '(options?)', max: 1 },
  sendCommand: { takes: '(command, options?)', max: 2, hint: "the command is one array: sendCommand(['GET', 'key'])" },
} satisfies Record<string, CallShape>;

/** Builds the specs of `owner`'s methods (`'ZCached'`: `ZCached.get`, ...) from their shapes. */
export function callSpecs<K extends string>(owner: string, shapes: Record<K, CallShape>): Readonly<Record<K, CallSpec>> {
  const specs = {} as Record<K, CallSpec>;
  for (const name of Object.keys(shapes) as K[]) {
    const shape = shapes[name];
    specs[name] = Object.freeze({
      owner: `${owner}.${name}`,
      takes: shape.takes,
      max: shape.max,
      min: shape.min ?? 0,
      names: shape.names ?? NONE,
      options: shape.options ?? REQUEST,
      hint: shape.hint,
      expiry: shape.expiry === true,
    });
  }
  return Object.freeze(specs);
}

/** The specs of `ZCached`'s methods. */
export const CLIENT_CALLS = callSpecs('ZCached', {
  ...COMMAND_SHAPES,
  run: { takes: '()', max: 0 },
  close: { takes: '(options?)', max: 1 },
});

/**
 * Checks a call with no string parameter (`ping(options?)`, `run()`).
 * @param count - `arguments.length`
 * @throws TypeError / RangeError as {@link checkOptions}, or for too many arguments
 */
export function checkCall(spec: CallSpec, count: number, options: unknown): void {
  if (count > spec.max || options !== undefined) checkRest(spec, count, options);
}

/** Checks a call whose first parameter is a string (`get(key, options?)`). @throws as {@link checkCall}, and TypeError for a key that is no string */
export function checkKeyCall(spec: CallSpec, count: number, key: unknown, options: unknown): void {
  if (typeof key !== 'string') throw notAString(spec, spec.names[0] ?? 'key', key);
  if (count < spec.min) throw new TypeError(`${spec.owner} takes ${spec.takes}: at least ${spec.min} arguments, got ${count} (nothing is sent for a value not given)`);
  if (count > spec.max || options !== undefined) checkRest(spec, count, options);
}

/** Checks a call whose first two parameters are strings (`rename(key, newKey, options?)`). @throws as {@link checkKeyCall} */
export function checkTwoKeyCall(spec: CallSpec, count: number, first: unknown, second: unknown, options: unknown): void {
  if (typeof first !== 'string') throw notAString(spec, spec.names[0] ?? 'key', first);
  if (typeof second !== 'string') throw notAString(spec, spec.names[1] ?? 'key', second);
  if (count > spec.max || options !== undefined) checkRest(spec, count, options);
}

/** Checks `sendCommand(command, options?)`: the command is an array. @throws as {@link checkCall} */
export function checkCommandCall(spec: CallSpec, count: number, command: unknown, options: unknown): void {
  if (!Array.isArray(command)) {
    throw new TypeError(`${spec.owner}: command must be an array [name, ...arguments], got ${describeArgument(command)}; ${spec.hint ?? ''}`);
  }
  if (count > spec.max || options !== undefined) checkRest(spec, count, options);
}

/** The slow path: too many arguments, or options to look at. */
function checkRest(spec: CallSpec, count: number, options: unknown): void {
  // A string or a number where SET's options go is an expiry in other clients' habits ('EX', 10; a TTL).
  if (spec.expiry && (typeof options === 'number' || (typeof options === 'string' && isExpiryName(options)))) {
    throw new TypeError(noExpiryMessage(spec.owner, typeof options === 'number' ? `the number ${options} after the value, as a TTL?` : JSON.stringify(options)));
  }
  if (count > spec.max) throw tooMany(spec, count);
  checkOptions(spec, options);
}

/**
 * Checks the options object of a call: `undefined`, or a plain object with
 * only the method's keys, each of the right type.
 * @throws TypeError for something else than a plain object (with a hint:
 *   `get('k', 200)` → pass `{ timeout: 200 }`), an unknown key (naming the
 *   closest valid one; an expiry such as `ttl` says zcached has none), a
 *   value of the wrong type
 * @throws RangeError for a `timeout` out of range
 */
export function checkOptions(spec: CallSpec, options: unknown): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options) || isAbortSignal(options)) throw notAnObject(spec, options);
  assertRequestOptions(options, spec.owner, spec.options);
  const { replace, key } = options as { replace?: unknown; key?: unknown };
  if (replace !== undefined && typeof replace !== 'boolean') throw new TypeError(`${spec.owner}: replace must be a boolean, got ${describeArgument(replace)}`);
  if (key !== undefined && typeof key !== 'string') throw new TypeError(`${spec.owner}: key must be a string, got ${describeArgument(key)}`);
}

function tooMany(spec: CallSpec, count: number): TypeError {
  const most = spec.max === 0 ? 'no arguments' : `at most ${spec.max} argument${spec.max === 1 ? '' : 's'}`;
  return new TypeError(`${spec.owner} takes ${spec.takes}: ${most}, got ${count}${spec.hint === undefined ? '' : `; ${spec.hint}`}`);
}

function notAString(spec: CallSpec, name: string, value: unknown): TypeError {
  return new TypeError(`${spec.owner}: ${name} must be a string, got ${describeArgument(value)}`);
}

function notAnObject(spec: CallSpec, options: unknown): TypeError {
  let hint = '';
  if (typeof options === 'string' && spec.hint !== undefined) hint = `; ${spec.hint}`;
  else if (typeof options === 'number') hint = `; for a time limit, pass { timeout: ${options} }`;
  else if (typeof options === 'boolean' && spec.options.includes('replace')) hint = `; pass { replace: ${options} }`;
  else if (isAbortSignal(options)) hint = '; pass it as { signal }';
  const keys = spec.options.map((name) => `${name}?`).join(', ');
  return new TypeError(`${spec.owner} takes ${spec.takes}: options must be an object { ${keys} }, got ${describeArgument(options)}${hint}`);
}

/**
 * The keys and options of an `mget` call, checked: spread keys with the
 * options maybe last (`mget('a', 'b', { timeout })`, a trailing `undefined`
 * standing for no options), or one array of keys, as ioredis takes it
 * (`mget(['a', 'b'], { timeout })`). Keys are strings, so neither form can
 * be read as the other; an array among other keys is refused.
 * @param args - the call's arguments (mget's rest parameter)
 * @throws TypeError for a key that is no string (`mget key #2`), an array
 *   among other keys, or options as {@link checkOptions}
 */
export function mgetArguments(spec: CallSpec, args: readonly unknown[]): { keys: string[]; options: RequestOptions | undefined } {
  let keys = args;
  let options: unknown;
  if (Array.isArray(args[0])) {
    if (args.length > 2 || Array.isArray(args[1])) throw mixedArray(spec);
    keys = args[0] as unknown[];
    options = args[1];
  } else if (args.length > 0) {
    const last = args[args.length - 1];
    // Keys are strings: a trailing object (or undefined) can only be the options.
    if (last === undefined || (typeof last === 'object' && last !== null)) {
      if (Array.isArray(last)) throw mixedArray(spec);
      options = last;
      keys = args.slice(0, -1);
    }
  }
  for (let index = 0; index < keys.length; index++) {
    if (typeof keys[index] !== 'string') throw notAString(spec, `${spec.owner.slice(spec.owner.indexOf('.') + 1)} key #${index + 1}`, keys[index]);
  }
  if (options !== undefined) checkOptions(spec, options);
  return { keys: keys as string[], options: options as RequestOptions | undefined };
}

function mixedArray(spec: CallSpec): TypeError {
  return new TypeError(`${spec.owner} takes ${spec.takes}: keys spread (mget('a', 'b')) or one array of keys (mget(['a', 'b'])), not an array among other arguments`);
}

/**
 * The options to pass on to a connection: `options` itself, or, when it
 * holds a key of the method's own (`replace`, the fleet's `key`), a copy
 * with only `signal` and `timeout`.
 */
export function requestOptions(options: (RequestOptions & { readonly replace?: unknown; readonly key?: unknown }) | undefined): RequestOptions | undefined {
  if (options === undefined || (!Object.hasOwn(options, 'replace') && !Object.hasOwn(options, 'key'))) return options;
  const { signal, timeout } = options;
  return { signal, timeout };
}
