/**
 * `keyPrefix` (as ioredis): a prefix on every key a client sends, kept out
 * of values, and taken off the keys it answers with. Pure functions: the
 * check made at construction, the command as sent, the reply as answered.
 *
 * Only the key arguments of the server's commands carry it (GET, SET,
 * DELETE, SIZEOF: the key; RENAME, COPY: both keys; MGET: every key; MSET:
 * every key, not the values), whether the command comes from a method or
 * from `sendCommand`; other commands are sent as they are. KEYS answers
 * the keys under the prefix only, without it (the server's KEYS takes no
 * pattern and answers every key); MGET's `Map` is keyed without it.
 *
 * @module
 */

import { describeArgument } from '../connection/request-options.js';
import { DialectError } from '../errors.js';
import { DIALECTS, type Dialect } from '../protocol/dialect.js';
import type { Command } from '../protocol/encoder.js';
import { dialectMessage, stringFault } from '../protocol/value-rules.js';
import type { Reply, Value } from '../protocol/values.js';

/**
 * Checks the `keyPrefix` option against the dialect the client speaks.
 * @returns the prefix, or undefined for none (not given, or `''`)
 * @throws TypeError when it is not a string
 * @throws DialectError (path `'keyPrefix'`) when it holds what the dialect
 *   cannot carry in a key (on `'etx'`: a line feed or the byte 0x03); with
 *   `'auto'`, what any server generation refuses (its `dialect` names it)
 */
export function checkKeyPrefix(prefix: unknown, dialect: Dialect): string | undefined {
  if (prefix === undefined) return undefined;
  if (typeof prefix !== 'string') throw new TypeError(`ZCached: keyPrefix must be a string, got ${describeArgument(prefix)}`);
  if (prefix === '') return undefined;
  // 'auto' speaks whichever generation it finds: the prefix must suit each.
  for (const rules of dialect.name === 'auto' ? [dialect, ...Object.values(DIALECTS)] : [dialect]) {
    const reason = stringFault(rules, prefix);
    if (reason === undefined) continue;
    const details = { reason, dialect: rules.name, path: 'keyPrefix' };
    throw new DialectError(`ZCached: ${dialectMessage(details)}`, details);
  }
  return prefix;
}

/** Where the keys of a server command are (1-based positions): `'all'` after the name, `'odd'` (MSET's keys), or the positions. */
const KEY_POSITIONS: Readonly<Record<string, 'all' | 'odd' | readonly number[]>> = {
  GET: [1],
  SET: [1],
  DELETE: [1],
  SIZEOF: [1],
  RENAME: [1, 2],
  COPY: [1, 2],
  MGET: 'all',
  MSET: 'odd',
};

/** The command's name in upper case, or `''`. */
export function commandName(command: readonly unknown[]): string {
  return typeof command[0] === 'string' ? command[0].toUpperCase() : '';
}

/** `key` with the prefix; a key of another type is left for the encoder to refuse or send. */
function prefixed(prefix: string, key: Value | undefined): Value | undefined {
  if (typeof key === 'string') return prefix + key;
  if (key instanceof Uint8Array) return Buffer.concat([Buffer.from(prefix), key]);
  return key;
}

/**
 * The command as sent: each key argument with the prefix (a copy; the caller's array is not changed).
 * @param name - the command's name as {@link commandName} gives it
 */
export function prefixCommand(prefix: string, command: Command, name: string): Command {
  const positions = Object.hasOwn(KEY_POSITIONS, name) ? KEY_POSITIONS[name] : undefined;
  if (positions === undefined) return command;
  const sent = [...command] as [string, ...Value[]];
  for (let index = 1; index < sent.length; index++) {
    const key = positions === 'all' || (positions === 'odd' ? index % 2 === 1 : positions.includes(index));
    if (key) sent[index] = prefixed(prefix, sent[index]) as Value;
  }
  return sent;
}

/** Whether the reply to the command `name` ({@link commandName}) holds keys to take the prefix off (KEYS, MGET). */
export function answersWithKeys(name: string): boolean {
  return name === 'KEYS' || name === 'MGET';
}

/**
 * The reply as answered: KEYS's keys under the prefix, without it (the
 * others are left out); MGET's `Map` keyed without it. Any other reply, or
 * one of an unexpected shape (the client's reply checks report it), as is.
 */
export function unprefixReply(prefix: string, name: string, reply: Reply): Reply {
  if (name === 'KEYS') {
    if (!Array.isArray(reply)) return reply;
    const keys: string[] = [];
    for (const key of reply) {
      const text = Buffer.isBuffer(key) ? key.toString('utf8') : typeof key === 'string' ? key : undefined;
      if (text !== undefined && text.startsWith(prefix)) keys.push(text.slice(prefix.length));
    }
    return keys;
  }
  if (!(reply instanceof Map)) return reply;
  const values = new Map<string, Reply>();
  for (const [key, value] of reply) values.set(key.startsWith(prefix) ? key.slice(prefix.length) : key, value);
  return values;
}
