/**
 * The server's commands as pure functions: argument checks, the command
 * array sent on the wire, and the shape of each reply. No I/O.
 *
 * @module
 */

import { DialectError, ProtocolError } from '../errors.js';
import type { Dialect } from '../protocol/dialect.js';
import { encodeRequest, type Command } from '../protocol/encoder.js';
import { withArgumentName } from '../protocol/value-rules.js';
import type { Reply, Value } from '../protocol/values.js';

/** Entries for MSET: a `Map`, a plain object, or `[key, value]` pairs. */
export type MsetEntries = ReadonlyMap<string, Value> | Readonly<Record<string, Value>> | Iterable<readonly [string, Value]>;

/** Options of COPY. */
export interface CopyOptions {
  /** Overwrite an existing destination key. Default false. */
  readonly replace?: boolean;
}

/** Throws a TypeError unless `key` is a string. */
export function assertKey(key: unknown, name = 'key'): asserts key is string {
  if (typeof key !== 'string') {
    throw new TypeError(`${name} must be a string, got ${key === null ? 'null' : typeof key}`);
  }
}

// The not-found check lives in the connection layer, which traces GET and DELETE misses as results with it.
import { isNotFound } from '../connection/not-found.js';

export { isNotFound };

/** Builds `MSET k1 v1 k2 v2 ...`, checking every key. */
export function msetCommand(entries: MsetEntries): Command {
  if (typeof entries !== 'object' || entries === null) {
    throw new TypeError('mset entries must be a Map, an object or [key, value] pairs');
  }
  const command: [string, ...Value[]] = ['MSET'];
  const pairs: Iterable<readonly [unknown, unknown]> =
    entries instanceof Map || Symbol.iterator in entries
      ? (entries as Iterable<readonly [unknown, unknown]>)
      : Object.entries(entries as Record<string, Value>);
  for (const pair of pairs) {
    if (!Array.isArray(pair) || pair.length !== 2) throw new TypeError('mset entries must be [key, value] pairs');
    const [key, value] = pair as [unknown, Value];
    assertKey(key, 'mset key');
    command.push(key, value);
  }
  if (command.length === 1) throw new RangeError('mset needs at least one entry');
  return command;
}

/** Builds `COPY src dst [REPLACE]`. */
export function copyCommand(source: string, destination: string, options: CopyOptions = {}): Command {
  assertKey(source, 'source');
  assertKey(destination, 'destination');
  return options.replace === true ? ['COPY', source, destination, 'REPLACE'] : ['COPY', source, destination];
}

/** The names of the arguments of the server's commands, after the command name (MGET and MSET are numbered). */
const ARGUMENT_NAMES: Readonly<Record<string, readonly string[]>> = {
  GET: ['key'],
  SET: ['key', 'value'],
  DELETE: ['key'],
  ECHO: ['message'],
  SIZEOF: ['key'],
  RENAME: ['key', 'newKey'],
  COPY: ['source', 'destination', 'option'],
};

/**
 * The name of a command's argument as the client's methods call it: `key`,
 * `value`, `newKey`, `mget key #2`, `mset entry 3 value`; undefined for an
 * unknown command or position. Command names are case-insensitive.
 */
export function argumentName(command: readonly unknown[], index: number): string | undefined {
  const name = typeof command[0] === 'string' ? command[0].toUpperCase() : '';
  if (index < 1) return undefined;
  if (name === 'MGET') return `mget key #${index}`;
  if (name === 'MSET') return `mset entry ${(index + 1) >> 1} ${index % 2 === 1 ? 'key' : 'value'}`;
  return Object.hasOwn(ARGUMENT_NAMES, name) ? ARGUMENT_NAMES[name]?.[index - 1] : undefined;
}

/**
 * A {@link DialectError} from the encoder, which knows argument positions
 * only (`argument 2[1]`), renamed after the argument (`value[1]`), with the
 * original as its `cause`; anything else is returned as is.
 */
export function nameArguments(error: unknown, command: readonly unknown[]): unknown {
  if (!(error instanceof DialectError) || error.argument === undefined) return error;
  const name = argumentName(command, error.argument);
  return name === undefined ? error : withArgumentName(error, name);
}

/**
 * Throws what a client of `dialect` would throw for these arguments, named
 * as the methods name them (`value[1]`): for a command that goes to no
 * connection (none is up), so that a bad argument fails the same way.
 */
export function checkEncodable(command: Command, dialect: Dialect): void {
  try {
    encodeRequest(dialect, command);
  } catch (error) {
    throw nameArguments(error, command);
  }
}

/** Checks that a reply is what the command promises, or throws a ProtocolError naming the command. */
function expectReply<T extends Reply>(command: string, reply: Reply, check: (reply: Reply) => reply is T, what: string): T {
  if (!check(reply)) throw new ProtocolError(`${command} answered ${describeReply(reply)}, expected ${what}`, { reason: 'type' });
  return reply;
}

function describeReply(reply: Reply): string {
  if (reply === null) return 'null';
  if (reply instanceof Map) return 'a map';
  if (reply instanceof Set) return 'a set';
  if (Array.isArray(reply)) return 'an array';
  if (Buffer.isBuffer(reply)) return 'bytes';
  return typeof reply;
}

const isNumber = (reply: Reply): reply is number => typeof reply === 'number';
const isMap = (reply: Reply): reply is Map<string, Reply> => reply instanceof Map;
const isArray = (reply: Reply): reply is Reply[] => Array.isArray(reply);

/** Reply shapes, one per command that needs more than the raw reply. */
export const replies = {
  /** `:<n>` as a number. */
  integer: (command: string, reply: Reply): number => expectReply(command, reply, isNumber, 'an integer'),
  /** KEYS: an array of key strings. */
  keys: (reply: Reply): string[] =>
    expectReply('KEYS', reply, isArray, 'an array').map((key) => (Buffer.isBuffer(key) ? key.toString('utf8') : String(key))),
  /** MGET: a map from each key to its value (`null` for a missing key). */
  mget: (reply: Reply): Map<string, Reply> => expectReply('MGET', reply, isMap, 'a map'),
};

/** GET's answer to a missing key: `undefined` (the connection layer's, shared). */
export { undefinedWhenNotFound } from '../connection/not-found.js';

/** DELETE's and EXISTS' answer to a missing key: `false`. */
export function falseWhenNotFound(error: unknown): false {
  if (isNotFound(error)) return false;
  throw error;
}

/** PING's answer, for `isAlive`: whether it is `'PONG'`. */
export function isPong(reply: Reply): boolean {
  return reply === 'PONG';
}

/** Any error, for `isAlive`: `false`. */
export function returnFalse(): false {
  return false;
}

/** Any answer but an error: `true`. */
export function returnTrue(): true {
  return true;
}
