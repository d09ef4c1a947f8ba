/**
 * What the embedded test server does with one parsed request: the command
 * table, the error strings, and the facts that differ between the three
 * server generations once a request is parsed (which values count as keys and
 * command names, the SAVE error, how a stored simple string comes back).
 *
 * Everything here works on {@link WireValue}s and is independent of sockets,
 * framing and parsing (see `generations/`), so it can be unit-tested directly.
 * Sources: the protocol reference (`protocol.md`, "Commands" and "What real
 * servers answer to odd requests").
 *
 * @module
 */

import type { DialectName } from '../protocol/dialect.js';
import type { WireValue } from '../protocol/values.js';
import { SERVER_ERRORS } from './server-errors.js';
import { encodeReply } from './server-reply.js';
import type { ZCachedStore } from './server-store.js';

export { encodeReply, formatPlainFloat } from './server-reply.js';
export { SERVER_ERRORS } from './server-errors.js';

/** Builds the `ERR unknown command 'NAME'` text, the name echoed as sent. */
export function unknownCommandError(name: string): string {
  return `ERR unknown command '${oneLine(name)}'`;
}

/** Builds the `ERR 'KEY' not found` text, the key echoed as sent. */
export function notFoundError(key: string): string {
  return `ERR '${oneLine(key)}' not found`;
}

/** CR and LF would end the error line early and put the reply stream out of step: show them as spaces. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]/g, ' ');
}

/** True for the two newer dialects, whose servers have ECHO, SIZEOF, RENAME, COPY and sets. */
export function isNewerDialect(dialect: DialectName): boolean {
  return dialect !== 'legacy';
}

/**
 * True for the two older generations (2024, 2025), whose parsers read a simple
 * string as a plain string: it works as a command name or a key, and a stored
 * one comes back as a bulk string.
 */
export function isOlderGeneration(dialect: DialectName): boolean {
  return dialect !== 'etx';
}

/** What a command handler needs: the data and the generation of server to mimic. */
export interface CommandContext {
  /** The database. */
  readonly store: ZCachedStore;
  /** The server generation whose replies to mimic. */
  readonly dialect: DialectName;
}

const err = (text: string): WireValue => ({ type: 'error', value: text });
const simple = (text: string): WireValue => ({ type: 'simple', value: text });
const OK = simple('OK');

/**
 * A value as a string argument (command name, key): a bulk string always; a
 * simple string too on the older generations. `undefined` for anything else.
 */
export function stringArg(value: WireValue | undefined, dialect: DialectName): Buffer | undefined {
  if (value?.type === 'bulk') return value.value;
  if (value?.type === 'simple' && isOlderGeneration(dialect)) return Buffer.from(value.value, 'utf8');
  return undefined;
}

/** The reply to a key argument that is not a string: `TYPERR key not string` (older), `ERR unexpected` (current). */
function keyTypeError(dialect: DialectName): WireValue {
  return err(isOlderGeneration(dialect) ? SERVER_ERRORS.keyNotString : SERVER_ERRORS.unexpected);
}

/** Whether a value holds an error anywhere (the server refuses to store errors). */
function containsError(value: WireValue): boolean {
  switch (value.type) {
    case 'error':
      return true;
    case 'array':
    case 'set':
      return value.value.some(containsError);
    case 'map':
      return value.value.some(([key, item]) => containsError(key) || containsError(item));
    default:
      return false;
  }
}

/**
 * The stored form of a value: map keys become bulk strings, duplicate map
 * keys and duplicate set elements collapse (last map value wins). Simple
 * strings become bulk strings, except on the current generation (`'etx'`),
 * which keeps them simple. Without a dialect, as on the older generations.
 */
export function normalizeValue(value: WireValue, dialect?: DialectName): WireValue {
  const keepSimple = dialect === 'etx';
  const walk = (item: WireValue): WireValue => {
    switch (item.type) {
      case 'simple':
        return keepSimple ? item : { type: 'bulk', value: Buffer.from(item.value, 'utf8') };
      case 'array':
        return { type: 'array', value: item.value.map(walk) };
      case 'set': {
        const seen = new Map<string, WireValue>();
        for (const element of item.value) {
          const normal = walk(element);
          const id = encodeReply(normal).toString('latin1');
          if (!seen.has(id)) seen.set(id, normal);
        }
        return { type: 'set', value: [...seen.values()] };
      }
      case 'map': {
        const entries = new Map<string, readonly [WireValue, WireValue]>();
        for (const [key, entry] of item.value) {
          const bytes = key.type === 'bulk' ? key.value : Buffer.from(key.type === 'simple' ? key.value : '', 'utf8');
          entries.set(bytes.toString('latin1'), [{ type: 'bulk', value: bytes }, walk(entry)]);
        }
        return { type: 'map', value: [...entries.values()] };
      }
      default:
        return item;
    }
  };
  return walk(value);
}

/** Stores a value, or explains why it cannot be stored. */
function put(ctx: CommandContext, key: Buffer, value: WireValue): WireValue | undefined {
  if (containsError(value)) return err(SERVER_ERRORS.unexpected);
  ctx.store.setRaw(key, normalizeValue(value, ctx.dialect));
  return undefined;
}

/** SIZEOF: string byte length, element or pair count, 8 for numbers, 1 for booleans, 0 for null. */
function sizeOf(value: WireValue): number {
  switch (value.type) {
    case 'bulk':
      return value.value.length;
    case 'simple':
    case 'error':
      return Buffer.byteLength(value.value);
    case 'array':
    case 'set':
    case 'map':
      return value.value.length;
    case 'integer':
    case 'float':
      return 8;
    case 'boolean':
      return 1;
    case 'null':
      return 0;
  }
}

type Handler = (args: readonly WireValue[], ctx: CommandContext) => WireValue;

/** One entry of the command table. */
interface CommandSpec {
  /** Fewest arguments (after the name); fewer → `ERR unexpected`. Extra arguments are ignored, as on the real server. */
  readonly minArgs: number;
  /** Only the two newer dialects know this command. */
  readonly newerOnly: boolean;
  readonly run: Handler;
}

/** The key argument, or the generation's key-type error. */
function withKey(arg: WireValue | undefined, ctx: CommandContext, then: (key: Buffer) => WireValue): WireValue {
  const key = stringArg(arg, ctx.dialect);
  return key === undefined ? keyTypeError(ctx.dialect) : then(key);
}

/**
 * RENAME and COPY: both keys must be strings and the source must exist; then
 * `then` gets the keys and the source's value.
 */
function withSourceAndTarget(
  args: readonly WireValue[],
  ctx: CommandContext,
  then: (from: Buffer, to: Buffer, value: WireValue) => WireValue,
): WireValue {
  const from = stringArg(args[0], ctx.dialect);
  const to = stringArg(args[1], ctx.dialect);
  if (from === undefined || to === undefined) return keyTypeError(ctx.dialect);
  const value = ctx.store.getRaw(from);
  if (value === undefined) return err(notFoundError(from.toString('utf8')));
  return then(from, to, value);
}

const command = (minArgs: number, run: Handler, newerOnly = false): CommandSpec => ({ minArgs, newerOnly, run });

const COMMANDS: ReadonlyMap<string, CommandSpec> = new Map<string, CommandSpec>([
  ['PING', command(0, () => simple('PONG'))],
  [
    'GET',
    command(1, (args, ctx) => withKey(args[0], ctx, (key) => ctx.store.getRaw(key) ?? err(notFoundError(key.toString('utf8'))))),
  ],
  ['SET', command(2, (args, ctx) => withKey(args[0], ctx, (key) => put(ctx, key, args[1] as WireValue) ?? OK))],
  [
    'DELETE',
    command(1, (args, ctx) =>
      withKey(args[0], ctx, (key) => (ctx.store.deleteRaw(key) ? OK : err(notFoundError(key.toString('utf8'))))),
    ),
  ],
  [
    'FLUSH',
    command(0, (_args, ctx) => {
      ctx.store.clear();
      return OK;
    }),
  ],
  ['DBSIZE', command(0, (_args, ctx) => ({ type: 'integer', value: BigInt(ctx.store.size) }))],
  [
    'SAVE',
    command(0, (_args, ctx) => {
      if (ctx.store.save()) return OK;
      return err(isOlderGeneration(ctx.dialect) ? SERVER_ERRORS.noDataToSave : SERVER_ERRORS.saveFailure);
    }),
  ],
  ['LASTSAVE', command(0, (_args, ctx) => ({ type: 'integer', value: BigInt(ctx.store.lastSave) }))],
  [
    'KEYS',
    command(0, (_args, ctx) => ({ type: 'array', value: ctx.store.rawKeys().map((key) => ({ type: 'bulk', value: key })) })),
  ],
  [
    'MGET',
    command(0, (args, ctx) => {
      const result = new Map<string, readonly [WireValue, WireValue]>();
      for (const arg of args) {
        const key = stringArg(arg, ctx.dialect);
        if (key === undefined) return keyTypeError(ctx.dialect);
        result.set(key.toString('latin1'), [{ type: 'bulk', value: key }, ctx.store.getRaw(key) ?? { type: 'null' }]);
      }
      return { type: 'map', value: [...result.values()] };
    }),
  ],
  [
    'MSET',
    command(0, (args, ctx) => {
      if (args.length === 0 || args.length % 2 === 1) return err(SERVER_ERRORS.unexpected);
      // Like the real server, pairs before a bad one stay stored.
      for (let i = 0; i < args.length; i += 2) {
        const key = stringArg(args[i], ctx.dialect);
        if (key === undefined) return keyTypeError(ctx.dialect);
        const failure = put(ctx, key, args[i + 1] as WireValue);
        if (failure !== undefined) return failure;
      }
      return OK;
    }),
  ],
  [
    'ECHO',
    command(
      1,
      (args, ctx) => {
        const message = args[0] as WireValue;
        if (message.type === 'simple' && isOlderGeneration(ctx.dialect)) return normalizeValue(message);
        return message.type === 'bulk' || message.type === 'simple' ? message : keyTypeError(ctx.dialect);
      },
      true,
    ),
  ],
  [
    'SIZEOF',
    command(
      1,
      (args, ctx) =>
        withKey(args[0], ctx, (key) => {
          const value = ctx.store.getRaw(key);
          if (value === undefined) return err(notFoundError(key.toString('utf8')));
          return { type: 'integer', value: BigInt(sizeOf(value)) };
        }),
      true,
    ),
  ],
  [
    'RENAME',
    command(
      2,
      (args, ctx) =>
        withSourceAndTarget(args, ctx, (from, to, value) => {
          ctx.store.deleteRaw(from);
          ctx.store.setRaw(to, value); // an existing destination is overwritten
          return OK;
        }),
      true,
    ),
  ],
  [
    'COPY',
    command(
      2,
      (args, ctx) => {
        const option = args[2];
        if (option !== undefined) {
          const text = stringArg(option, ctx.dialect);
          if (text === undefined) return keyTypeError(ctx.dialect);
          if (text.toString('latin1').toUpperCase() !== 'REPLACE') return err(SERVER_ERRORS.unexpected);
        }
        const replace = option !== undefined;
        return withSourceAndTarget(args, ctx, (_from, to, value) => {
          if (ctx.store.hasRaw(to) && !replace) return err(SERVER_ERRORS.busyKey);
          ctx.store.setRaw(to, value); // stored values are immutable: sharing is a copy
          // The real server answers COPY with a bulk "OK", unlike every other command.
          return { type: 'bulk', value: Buffer.from('OK') };
        });
      },
      true,
    ),
  ],
]);

/** The names of every command the test server knows in a dialect, upper case. */
export function commandNames(dialect: DialectName): string[] {
  const newer = isNewerDialect(dialect);
  return [...COMMANDS].filter(([, spec]) => newer || !spec.newerOnly).map(([name]) => name);
}

/**
 * Runs one parsed request against the store and returns the reply (an
 * `error`-typed {@link WireValue} for an error reply). Never throws.
 *
 * The request must already be checked by the generation's parser: this only
 * looks at the command. A request that is not an array, an empty array, or
 * one whose first element is not a string gets `ERR unknown command` (the
 * current generation's framer crashes on the last two before they get here,
 * unless faithfulness is off).
 */
export function executeRequest(request: WireValue, ctx: CommandContext): WireValue {
  if (request.type !== 'array') return err(SERVER_ERRORS.unknownCommand);
  const [head, ...args] = request.value;
  const name = stringArg(head, ctx.dialect);
  if (name === undefined) return err(SERVER_ERRORS.unknownCommand);
  const spec = COMMANDS.get(name.toString('latin1').toUpperCase());
  if (spec === undefined || (spec.newerOnly && !isNewerDialect(ctx.dialect))) {
    return err(unknownCommandError(name.toString('utf8')));
  }
  if (args.length < spec.minArgs) return err(SERVER_ERRORS.unexpected);
  try {
    return spec.run(args, ctx);
  } catch {
    return err(SERVER_ERRORS.unexpected);
  }
}
