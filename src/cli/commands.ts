/**
 * The server commands the CLI runs: one entry per command of the `ZCached`
 * client (name, arguments, what it does), and {@link prepareCommand}, which
 * checks a command line against its entry and calls the client.
 *
 * @module
 */

import type { ZCached } from '../client/client.js';
import type { Value } from '../protocol/values.js';
import { closestName } from '../connection/option-keys.js';
import { CliUsageError } from './errors.js';
import type { CommandReply } from './format.js';
import type { Word } from './tokenize.js';
import { fromWire, parseJsonValue } from './values.js';

/** How value arguments are read: as typed (strings), or as JSON (`--json`). */
export type ValueMode = 'string' | 'json';

/** Per-call options passed to every command. */
export interface CallOptions {
  readonly signal?: AbortSignal;
}

/** A checked command line, ready to run on a client; resolves with the reply, rejects as the client does. */
export type PreparedCommand = (client: ZCached, options: CallOptions) => Promise<CommandReply>;

/** One command of the CLI. */
interface CommandSpec {
  /** Arguments after the name, as shown in help (`key value`). */
  readonly usage: string;
  readonly summary: string;
  /** Fewest and most arguments. */
  readonly min: number;
  readonly max: number;
  /**
   * Checks the arguments and reads the value arguments (`value(i, what)`
   * reads `args[i]` as the value mode says); returns the call to make.
   */
  readonly prepare: (args: readonly string[], value: (index: number, what: string) => Value) => PreparedCommand;
}

/** A status reply (`OK`, `PONG`), printed bare; some servers answer with a bulk string, which the client hands over as bytes. */
const status = (promise: Promise<string>): Promise<CommandReply> =>
  promise.then((raw) => {
    const reply = fromWire(raw);
    return { reply, status: typeof reply === 'string' };
  });
const plain = (promise: Promise<Parameters<typeof fromWire>[0] | undefined>): Promise<CommandReply> =>
  promise.then((reply) => ({ reply: reply === undefined ? undefined : fromWire(reply) }));

/** Every command, by its lower-case name, in the order help lists them. */
export const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  ping: { usage: '', summary: 'PONG when the server answers', min: 0, max: 0, prepare: () => (c, o) => status(c.ping(o)) },
  get: { usage: 'key', summary: "the key's value; (nil) when it does not exist", min: 1, max: 1, prepare: ([k]) => (c, o) => plain(c.get(k!, o)) },
  set: {
    usage: 'key value',
    summary: 'stores the value (a string; with --json, JSON for other types: set k \'{"a":1}\' --json)',
    min: 2,
    max: 2,
    prepare: ([k], value) => {
      const stored = value(1, 'value');
      return (c, o) => status(c.set(k!, stored, o));
    },
  },
  delete: { usage: 'key', summary: 'removes the key: true when it existed', min: 1, max: 1, prepare: ([k]) => (c, o) => plain(c.delete(k!, o)) },
  exists: { usage: 'key', summary: 'whether the key exists', min: 1, max: 1, prepare: ([k]) => (c, o) => plain(c.exists(k!, o)) },
  mget: { usage: 'key [key ...]', summary: 'the values of many keys, (nil) for a missing one', min: 1, max: Infinity, prepare: (keys) => (c, o) => plain(c.mget([...keys], o)) },
  mset: {
    usage: 'key value [key value ...]',
    summary: 'stores many values at once',
    min: 2,
    max: Infinity,
    prepare: (args, value) => {
      if (args.length % 2 !== 0) throw new CliUsageError('mset takes key value pairs: an even number of arguments');
      const entries: [string, Value][] = [];
      for (let i = 0; i < args.length; i += 2) entries.push([args[i]!, value(i + 1, `mset value ${i / 2 + 1}`)]);
      return (c, o) => status(c.mset(entries, o));
    },
  },
  keys: { usage: '', summary: 'every key', min: 0, max: 0, prepare: () => (c, o) => plain(c.keys(o)) },
  dbsize: { usage: '', summary: 'the number of keys', min: 0, max: 0, prepare: () => (c, o) => plain(c.dbsize(o)) },
  flush: { usage: '', summary: 'removes every key', min: 0, max: 0, prepare: () => (c, o) => status(c.flush(o)) },
  save: { usage: '', summary: 'saves the data to disk', min: 0, max: 0, prepare: () => (c, o) => status(c.save(o)) },
  lastsave: { usage: '', summary: 'Unix seconds of the last save', min: 0, max: 0, prepare: () => (c, o) => plain(c.lastsave(o)) },
  echo: { usage: 'message', summary: 'the message back (newer servers)', min: 1, max: 1, prepare: ([m]) => (c, o) => plain(c.echo(m!, o)) },
  sizeof: { usage: 'key', summary: 'length, element count or byte size of the value (newer servers)', min: 1, max: 1, prepare: ([k]) => (c, o) => plain(c.sizeof(k!, o)) },
  rename: { usage: 'key newkey', summary: 'renames the key (newer servers)', min: 2, max: 2, prepare: ([k, n]) => (c, o) => status(c.rename(k!, n!, o)) },
  copy: {
    usage: 'source destination [replace]',
    summary: 'copies a value; replace overwrites the destination (newer servers)',
    min: 2,
    max: 3,
    prepare: ([s, d, flag]) => {
      if (flag !== undefined && flag.toLowerCase() !== 'replace') throw new CliUsageError(`copy's third argument can only be replace, got ${JSON.stringify(flag)}`);
      return (c, o) => status(c.copy(s!, d!, { ...o, replace: flag !== undefined }));
    },
  },
};

/** The command names, in help order. */
export const COMMAND_NAMES: readonly string[] = Object.keys(COMMANDS);

/** `get key`: a command's name and arguments, as help shows them. */
export function commandUsage(name: string): string {
  const spec = COMMANDS[name];
  return spec === undefined ? name : `${name}${spec.usage === '' ? '' : ` ${spec.usage}`}`;
}

/** The help text: every command, or one (`help get`). */
export function commandHelp(topic?: string): string {
  if (topic !== undefined) {
    const name = topic.toLowerCase();
    if (!Object.hasOwn(COMMANDS, name)) throw unknownCommand(topic);
    return `${commandUsage(name)}\n  ${COMMANDS[name]!.summary}`;
  }
  const width = Math.max(...COMMAND_NAMES.map((name) => commandUsage(name).length));
  return COMMAND_NAMES.map((name) => `${commandUsage(name).padEnd(width)}  ${COMMANDS[name]!.summary}`).join('\n');
}

function unknownCommand(name: string): CliUsageError {
  const close = closestName(name, COMMAND_NAMES);
  const hint = close === undefined ? `the commands are ${COMMAND_NAMES.join(', ')}` : `did you mean ${close}?`;
  return new CliUsageError(`unknown command ${JSON.stringify(name)}; ${hint}`);
}

/**
 * Checks one command line (`name` in any case) and reads its value
 * arguments, before anything connects.
 * @returns the call to make on a client: it resolves with the reply, and
 *   rejects with what the client rejects with (a `ServerError` for an error
 *   reply); the client's synchronous errors (`DialectError`, `TypeError`)
 *   are thrown when it is called
 * A word that is bytes (the prompt's `"\xff"`, see tokenize.ts) can only be
 * a value without `--json`: it is stored as bytes.
 * @throws CliUsageError for an unknown command, a wrong number of arguments,
 *   a `--json` value that is not JSON, or bytes where text is needed (a key,
 *   a message, a `--json` value)
 */
export function prepareCommand(name: string, args: readonly Word[], mode: ValueMode): PreparedCommand {
  const lower = name.toLowerCase();
  if (!Object.hasOwn(COMMANDS, lower)) throw unknownCommand(name);
  const spec = COMMANDS[lower]!;
  if (args.length < spec.min || args.length > spec.max) {
    const count = spec.min === spec.max ? `${spec.min}` : spec.max === Infinity ? `at least ${spec.min}` : `${spec.min} to ${spec.max}`;
    throw new CliUsageError(`${lower} takes ${count} argument${count === '1' ? '' : 's'}, got ${args.length}: ${commandUsage(lower)}`);
  }
  const valueIndexes = new Set<number>();
  const value = (index: number, what: string): Value => {
    valueIndexes.add(index);
    const word = args[index]!;
    if (typeof word === 'string') return mode === 'json' ? parseJsonValue(word, what) : word;
    if (mode === 'json') throw new CliUsageError(`${what} is bytes that are not UTF-8 (a \\x escape), not JSON text; with --json write bytes as {"$bytes": "<base64>"}`);
    return word;
  };
  // Bytes words stand in as latin1 text for the spec's checks; each must be read by `value`, or it is refused below, before anything is sent.
  const call = spec.prepare(
    args.map((word) => (typeof word === 'string' ? word : word.toString('latin1'))),
    value,
  );
  const misplaced = args.findIndex((word, i) => typeof word !== 'string' && !valueIndexes.has(i));
  if (misplaced !== -1) {
    throw new CliUsageError(
      `${lower}'s ${argumentName(lower, misplaced)} is bytes that are not UTF-8 (a \\x escape past \\x7f); only a value can be bytes (set k "\\xff", or --json {"$bytes": "<base64>"})`,
    );
  }
  return call;
}

/** The name of argument `index` of a command, from its usage (`key`, `newkey`), for messages. */
function argumentName(name: string, index: number): string {
  const words = COMMANDS[name]!.usage.replace(/[[\]]|\.\.\./g, '').split(/\s+/).filter((word) => word !== '');
  return words[Math.min(index, words.length - 1)] ?? `argument ${index + 1}`;
}
