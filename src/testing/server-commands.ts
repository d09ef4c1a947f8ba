/**
 * What the embedded test server does with one decoded request: validation as
 * the real server's parser does it, the command table, the error strings, and
 * the reply encoding (floats printed in plain decimal, as the real server's
 * `{d}` formatting does).
 *
 * Everything here works on {@link WireValue}s and is independent of sockets
 * and framing, so it can be unit-tested directly.
 *
 * @module
 */

import type { ProtocolError } from '../errors.js';
import type { DialectName } from '../protocol/dialect.js';
import { RequestWriter } from '../protocol/encoder.js';
import type { WireValue } from '../protocol/values.js';
import type { ZCachedStore } from './server-store.js';

const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;

/** Every error reply the test server can send, by cause (text without the leading `-`). */
export const SERVER_ERRORS = Object.freeze({
  /** Unparseable request (plain 2024 servers), a set or a value with LF sent to them, or an oversized request. */
  badRequest: 'ERR bad request',
  /** Wrong arity, bad length or float, odd MSET, a value that cannot be stored... */
  unexpected: 'ERR unexpected',
  /** The request is not an array, or its first element is not a bulk string. */
  unknownCommand: 'ERR unknown command',
  /** A key argument that is not a bulk string. */
  keyNotString: 'TYPERR key not string',
  /** An integer that is malformed or outside signed 64-bit. */
  notInteger: 'TYPERR not integer',
  /** A boolean other than `t`, `f`, `T`, `F`. */
  notBoolean: 'TYPERR not boolean',
  /** SAVE of an empty database on the plain 2024 servers. */
  noDataToSave: 'ERR there is no data to save',
  /** SAVE of an empty database on newer servers. */
  saveFailure: 'NOSAVE error while saving data',
  /** COPY onto an existing key without REPLACE. */
  busyKey: 'BUSYKEY key already exists',
  /** Newer servers: a request over the size limit. */
  payloadExceeded: 'ERR maximum payload size exceeded',
  /** Newer servers: structurally unparseable input (unknown type byte, missing CRLF). */
  unprocessable: 'ERR unprocessable',
  /** Newer servers: a malformed aggregate length. */
  invalidLength: 'INVAL invalid length',
  /** Newer servers: a map key that is not a string. */
  keyMustBeString: 'ERR key must be a string',
});

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

/** A command argument that is a key: a bulk string (the server rejects any other type). */
function keyOf(value: WireValue | undefined): Buffer | undefined {
  return value?.type === 'bulk' ? value.value : undefined;
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
 * The stored form of a value: simple strings become bulk strings (also map
 * keys), duplicate map keys and duplicate set elements collapse (last map
 * value wins), everything else is kept as sent.
 */
export function normalizeValue(value: WireValue): WireValue {
  switch (value.type) {
    case 'simple':
      return { type: 'bulk', value: Buffer.from(value.value, 'utf8') };
    case 'array':
      return { type: 'array', value: value.value.map(normalizeValue) };
    case 'set': {
      const seen = new Map<string, WireValue>();
      for (const item of value.value) {
        const normal = normalizeValue(item);
        const id = encodeReply(normal).toString('latin1');
        if (!seen.has(id)) seen.set(id, normal);
      }
      return { type: 'set', value: [...seen.values()] };
    }
    case 'map': {
      const entries = new Map<string, readonly [WireValue, WireValue]>();
      for (const [key, item] of value.value) {
        const bytes = key.type === 'bulk' ? key.value : Buffer.from(key.type === 'simple' ? key.value : '', 'utf8');
        const id = bytes.toString('latin1');
        entries.set(id, [{ type: 'bulk', value: bytes }, normalizeValue(item)]);
      }
      return { type: 'map', value: [...entries.values()] };
    }
    default:
      return value;
  }
}

/** Stores a value, or explains why it cannot be stored. */
function put(ctx: CommandContext, key: Buffer, value: WireValue): WireValue | undefined {
  if (containsError(value)) return err(SERVER_ERRORS.unexpected);
  ctx.store.setRaw(key, normalizeValue(value));
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

/** The key argument, or the `TYPERR key not string` reply. */
function withKey(arg: WireValue | undefined, then: (key: Buffer) => WireValue): WireValue {
  const key = keyOf(arg);
  return key === undefined ? err(SERVER_ERRORS.keyNotString) : then(key);
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
  const from = keyOf(args[0]);
  const to = keyOf(args[1]);
  if (from === undefined || to === undefined) return err(SERVER_ERRORS.keyNotString);
  const value = ctx.store.getRaw(from);
  if (value === undefined) return err(notFoundError(from.toString('utf8')));
  return then(from, to, value);
}

const COMMANDS: ReadonlyMap<string, CommandSpec> = new Map<string, CommandSpec>([
  ['PING', { minArgs: 0, newerOnly: false, run: () => simple('PONG') }],
  [
    'GET',
    {
      minArgs: 1,
      newerOnly: false,
      run: (args, ctx) =>
        withKey(args[0], (key) => ctx.store.getRaw(key) ?? err(notFoundError(key.toString('utf8')))),
    },
  ],
  [
    'SET',
    {
      minArgs: 2,
      newerOnly: false,
      run: (args, ctx) => withKey(args[0], (key) => put(ctx, key, args[1] as WireValue) ?? OK),
    },
  ],
  [
    'DELETE',
    {
      minArgs: 1,
      newerOnly: false,
      run: (args, ctx) =>
        withKey(args[0], (key) => (ctx.store.deleteRaw(key) ? OK : err(notFoundError(key.toString('utf8'))))),
    },
  ],
  [
    'FLUSH',
    {
      minArgs: 0,
      newerOnly: false,
      run: (_args, ctx) => {
        ctx.store.clear();
        return OK;
      },
    },
  ],
  ['DBSIZE', { minArgs: 0, newerOnly: false, run: (_args, ctx) => ({ type: 'integer', value: BigInt(ctx.store.size) }) }],
  [
    'SAVE',
    {
      minArgs: 0,
      newerOnly: false,
      run: (_args, ctx) => {
        if (ctx.store.save()) return OK;
        return err(isNewerDialect(ctx.dialect) ? SERVER_ERRORS.saveFailure : SERVER_ERRORS.noDataToSave);
      },
    },
  ],
  [
    'LASTSAVE',
    { minArgs: 0, newerOnly: false, run: (_args, ctx) => ({ type: 'integer', value: BigInt(ctx.store.lastSave) }) },
  ],
  [
    'KEYS',
    {
      minArgs: 0,
      newerOnly: false,
      run: (_args, ctx) => ({ type: 'array', value: ctx.store.rawKeys().map((key) => ({ type: 'bulk', value: key })) }),
    },
  ],
  [
    'MGET',
    {
      minArgs: 0,
      newerOnly: false,
      run: (args, ctx) => {
        const result = new Map<string, readonly [WireValue, WireValue]>();
        for (const arg of args) {
          const key = keyOf(arg);
          if (key === undefined) return err(SERVER_ERRORS.keyNotString);
          result.set(key.toString('latin1'), [{ type: 'bulk', value: key }, ctx.store.getRaw(key) ?? { type: 'null' }]);
        }
        return { type: 'map', value: [...result.values()] };
      },
    },
  ],
  [
    'MSET',
    {
      minArgs: 0,
      newerOnly: false,
      run: (args, ctx) => {
        if (args.length === 0 || args.length % 2 === 1) return err(SERVER_ERRORS.unexpected);
        // Like the real server, pairs before a bad one stay stored.
        for (let i = 0; i < args.length; i += 2) {
          const key = keyOf(args[i]);
          if (key === undefined) return err(SERVER_ERRORS.keyNotString);
          const failure = put(ctx, key, args[i + 1] as WireValue);
          if (failure !== undefined) return failure;
        }
        return OK;
      },
    },
  ],
  [
    'ECHO',
    {
      minArgs: 1,
      newerOnly: true,
      run: (args) => {
        const message = args[0] as WireValue;
        return message.type === 'bulk' || message.type === 'simple' ? message : err(SERVER_ERRORS.keyNotString);
      },
    },
  ],
  [
    'SIZEOF',
    {
      minArgs: 1,
      newerOnly: true,
      run: (args, ctx) =>
        withKey(args[0], (key) => {
          const value = ctx.store.getRaw(key);
          if (value === undefined) return err(notFoundError(key.toString('utf8')));
          return { type: 'integer', value: BigInt(sizeOf(value)) };
        }),
    },
  ],
  [
    'RENAME',
    {
      minArgs: 2,
      newerOnly: true,
      run: (args, ctx) =>
        withSourceAndTarget(args, ctx, (from, to, value) => {
          ctx.store.deleteRaw(from);
          ctx.store.setRaw(to, value); // an existing destination is overwritten
          return OK;
        }),
    },
  ],
  [
    'COPY',
    {
      minArgs: 2,
      newerOnly: true,
      run: (args, ctx) => {
        const option = args[2];
        if (option !== undefined) {
          if (option.type !== 'bulk') return err(SERVER_ERRORS.keyNotString);
          if (option.value.toString('latin1').toUpperCase() !== 'REPLACE') return err(SERVER_ERRORS.unexpected);
        }
        const replace = option !== undefined;
        return withSourceAndTarget(args, ctx, (_from, to, value) => {
          if (ctx.store.hasRaw(to) && !replace) return err(SERVER_ERRORS.busyKey);
          ctx.store.setRaw(to, value); // stored values are immutable: sharing is a copy
          // The real server answers COPY with a bulk "OK", unlike every other command.
          return { type: 'bulk', value: Buffer.from('OK') };
        });
      },
    },
  ],
]);

/** The names of every command the test server knows in a dialect, upper case. */
export function commandNames(dialect: DialectName): string[] {
  const newer = isNewerDialect(dialect);
  return [...COMMANDS].filter(([, spec]) => newer || !spec.newerOnly).map(([name]) => name);
}

/**
 * The parse-time checks of the real server, run on the whole request before
 * any command: types the dialect does not have, line feeds in bulk strings
 * (plain servers), non-string map keys, integers outside signed 64-bit.
 * @returns the error reply, or `undefined` when the request is acceptable
 */
export function validateRequest(request: WireValue, dialect: DialectName): WireValue | undefined {
  const newer = isNewerDialect(dialect);
  let failure: string | undefined;
  const visit = (value: WireValue): void => {
    if (failure !== undefined) return;
    switch (value.type) {
      case 'bulk':
        if (!newer && value.value.includes(0x0a)) failure = SERVER_ERRORS.badRequest;
        return;
      case 'integer':
        if (value.value < MIN_INT64 || value.value > MAX_INT64) failure = SERVER_ERRORS.notInteger;
        return;
      case 'set':
        if (!newer) {
          failure = SERVER_ERRORS.badRequest;
          return;
        }
        value.value.forEach(visit);
        return;
      case 'array':
        value.value.forEach(visit);
        return;
      case 'map':
        for (const [key, item] of value.value) {
          if (key.type !== 'bulk' && key.type !== 'simple') {
            failure = newer ? SERVER_ERRORS.keyMustBeString : SERVER_ERRORS.unexpected;
            return;
          }
          visit(key);
          visit(item);
        }
        return;
      default:
        return;
    }
  };
  visit(request);
  return failure === undefined ? undefined : err(failure);
}

/**
 * Runs one decoded request against the store and returns the reply (an
 * `error`-typed {@link WireValue} for an error reply). Never throws.
 */
export function executeRequest(request: WireValue, ctx: CommandContext): WireValue {
  const invalid = validateRequest(request, ctx.dialect);
  if (invalid !== undefined) return invalid;
  if (request.type !== 'array') return err(SERVER_ERRORS.unknownCommand);
  const [head, ...args] = request.value;
  if (head?.type !== 'bulk') return err(SERVER_ERRORS.unknownCommand);
  const sent = head.value.toString('utf8');
  const spec = COMMANDS.get(head.value.toString('latin1').toUpperCase());
  if (spec === undefined || (spec.newerOnly && !isNewerDialect(ctx.dialect))) {
    return err(unknownCommandError(sent));
  }
  if (args.length < spec.minArgs) return err(SERVER_ERRORS.unexpected);
  return spec.run(args, ctx);
}

/**
 * The error reply for bytes the decoder rejected, as the dialect's server
 * generation words it. Integer, boolean and float problems use the messages
 * of the protocol reference in every dialect.
 */
export function protocolErrorReply(error: ProtocolError, dialect: DialectName): WireValue {
  const newer = isNewerDialect(dialect);
  switch (error.reason) {
    case 'integer':
      return err(SERVER_ERRORS.notInteger);
    case 'boolean':
      return err(SERVER_ERRORS.notBoolean);
    case 'float':
      return err(SERVER_ERRORS.unexpected);
    case 'length':
      return err(newer ? SERVER_ERRORS.invalidLength : SERVER_ERRORS.unexpected);
    case 'limit':
      return err(newer ? SERVER_ERRORS.payloadExceeded : SERVER_ERRORS.badRequest);
    case 'type':
    case 'framing':
      return err(newer ? SERVER_ERRORS.unprocessable : SERVER_ERRORS.badRequest);
  }
}

/**
 * Prints a float in plain decimal, the way the real server does: shortest
 * round-trip digits, never an exponent (`1e-7` → `0.0000001`, `1e300` → `1`
 * and 300 zeros), `inf`, `-inf`, `nan`, `-0`.
 */
export function formatPlainFloat(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  if (Object.is(value, -0)) return '-0';
  const text = String(value);
  const e = text.indexOf('e');
  if (e === -1) return text;
  const negative = text.startsWith('-');
  const mantissa = text.slice(negative ? 1 : 0, e);
  const exponent = Number(text.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = dot === -1 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  // Position of the decimal point counted from the start of `digits`.
  const point = (dot === -1 ? mantissa.length : dot) + exponent;
  let plain: string;
  if (point <= 0) {
    plain = `0.${'0'.repeat(-point)}${digits}`;
  } else if (point >= digits.length) {
    plain = digits + '0'.repeat(point - digits.length);
  } else {
    plain = `${digits.slice(0, point)}.${digits.slice(point)}`;
  }
  return negative ? `-${plain}` : plain;
}

const CRLF = Buffer.from('\r\n');

function appendReply(writer: RequestWriter, value: WireValue): void {
  switch (value.type) {
    case 'float':
      writer.appendBytes(Buffer.from(`,${formatPlainFloat(value.value)}\r\n`, 'latin1'));
      return;
    case 'array':
    case 'set':
      writer.appendBytes(Buffer.from(`${value.type === 'array' ? '*' : '~'}${value.value.length}`, 'latin1'));
      writer.appendBytes(CRLF);
      for (const item of value.value) appendReply(writer, item);
      return;
    case 'map':
      writer.appendBytes(Buffer.from(`%${value.value.length}`, 'latin1'));
      writer.appendBytes(CRLF);
      for (const [key, item] of value.value) {
        appendReply(writer, key);
        appendReply(writer, item);
      }
      return;
    default:
      writer.appendWire(value);
  }
}

/** Encodes a reply as the server sends it (no terminator): like `encodeWire`, but floats in plain decimal. */
export function encodeReply(value: WireValue): Buffer {
  const writer = new RequestWriter(undefined, 256);
  appendReply(writer, value);
  return writer.take();
}
