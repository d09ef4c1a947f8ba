/**
 * The value rules of a dialect, on the slow path: which part of a refused
 * request is at fault, and a {@link DialectError} that says so.
 *
 * The encoder ({@link RequestWriter.append}) checks the rules as it writes,
 * tracking no path; only when it meets a fault does it hand the command to
 * {@link commandFaultError}, which walks it again, in the same order, to find
 * the first part at fault and name it.
 *
 * What each generation of servers does with such values (protocol reference,
 * "Framing" and "What real servers answer to odd requests"; the current
 * server's main branch, August 2026):
 * - a string holding LF: `-ERR bad request` (2024, 2025); the current server
 *   stores it cut at its first LF and answers `+OK`;
 * - a string holding CR: the 2024 servers read requests as lines;
 * - a string holding 0x03: ends the request in the ETX framings;
 * - an empty string (key, value or map key) or an empty map: the current
 *   server answers `-ERR unprocessable`. An empty array (`*0`) and an empty
 *   set (`~0`) are stored: its parser refuses `%0` but has no such check for
 *   sets, so they are not refused.
 *
 * @module
 */

import { DialectError, type DialectErrorDetails, type DialectErrorReason, type ValuePathStep } from '../errors.js';
import { ETX, type Dialect } from './dialect.js';
import { Float } from './values.js';

/** The deepest nesting the encoder writes. */
export const MAX_DEPTH = 512;

/** True for an object written as a map: its prototype is `Object.prototype` or `null`. */
export function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * The code units a dialect refuses inside strings, as a bit mask: bit `c` is
 * set when the unit `c` (0x03, 0x0a or 0x0d) is refused. 0 without a dialect.
 */
export function forbiddenUnits(dialect: Dialect | undefined): number {
  if (dialect === undefined) return 0;
  return (dialect.forbidEtx ? 1 << ETX : 0) | (dialect.forbidLineFeed ? 1 << 0x0a : 0) | (dialect.forbidCarriageReturn ? 1 << 0x0d : 0);
}

/** True when a string holds a code unit of the `forbidden` mask ({@link forbiddenUnits}). */
export function stringHoldsForbidden(value: string, forbidden: number): boolean {
  return (
    (((forbidden >> ETX) & 1) !== 0 && value.includes('\x03')) ||
    (((forbidden >> 0x0a) & 1) !== 0 && value.includes('\n')) ||
    (((forbidden >> 0x0d) & 1) !== 0 && value.includes('\r'))
  );
}

/** True when a byte array holds a byte of the `forbidden` mask ({@link forbiddenUnits}). */
export function bytesHoldForbidden(value: Uint8Array, forbidden: number): boolean {
  return (
    (((forbidden >> ETX) & 1) !== 0 && value.includes(ETX)) ||
    (((forbidden >> 0x0a) & 1) !== 0 && value.includes(0x0a)) ||
    (((forbidden >> 0x0d) & 1) !== 0 && value.includes(0x0d))
  );
}

const UNIT_REASONS: Readonly<Record<number, DialectErrorReason>> = { [ETX]: 'etx', 0x0a: 'line-feed', 0x0d: 'carriage-return' };

/** What the dialect refuses in one string or byte array (its first refused unit), if anything. */
export function stringFault(dialect: Dialect, value: string | Uint8Array): DialectErrorReason | undefined {
  if (value.length === 0) return dialect.forbidEmpty ? 'empty-string' : undefined;
  const mask = forbiddenUnits(dialect);
  if (mask === 0) return undefined;
  const text = typeof value === 'string';
  for (let i = 0; i < value.length; i++) {
    const c = text ? value.charCodeAt(i) : (value[i] as number);
    if (c < 0x0e && ((mask >> c) & 1) !== 0) return UNIT_REASONS[c];
  }
  return undefined;
}

/** Where a walk found the first fault. */
interface Fault {
  readonly reason: DialectErrorReason;
  readonly location: ValuePathStep[];
}

/**
 * Walks a value in the encoder's order and returns the first fault, leaving
 * its steps in `steps`. Values with no wire form are skipped (the encoder
 * throws on them before it could reach a fault after them).
 */
function walk(dialect: Dialect, value: unknown, steps: ValuePathStep[], depth: number, ancestors: Set<object>): DialectErrorReason | undefined {
  if (typeof value === 'string' || value instanceof Uint8Array) return stringFault(dialect, value);
  if (typeof value !== 'object' || value === null || value instanceof Float) return undefined;
  if (depth >= MAX_DEPTH || ancestors.has(value)) return undefined;
  ancestors.add(value);
  let reason: DialectErrorReason | undefined;
  const step = (next: ValuePathStep, item: unknown): boolean => {
    steps.push(next);
    reason = walk(dialect, item, steps, depth + 1, ancestors);
    if (reason === undefined) steps.pop();
    return reason !== undefined;
  };
  const entries = (pairs: Iterable<readonly [unknown, unknown]>, size: number, container: 'map' | 'object'): void => {
    if (size === 0 && dialect.forbidEmpty) {
      reason = 'empty-map';
      return;
    }
    for (const [key, item] of pairs) {
      if (typeof key !== 'string') continue;
      if (step({ kind: 'map-key', key, container }, key) || step({ kind: 'entry', key, container }, item)) return;
    }
  };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (step({ kind: 'index', index: i }, value[i])) break;
  } else if (value instanceof Map) {
    entries(value as Map<unknown, unknown>, value.size, 'map');
  } else if (value instanceof Set) {
    let i = 0;
    for (const item of value as Set<unknown>) if (step({ kind: 'set-element', index: i++ }, item)) break;
  } else if (isPlainObject(value)) {
    const keys = Object.keys(value);
    entries(
      keys.map((key) => [key, value[key]] as const),
      keys.length,
      'object',
    );
  }
  ancestors.delete(value);
  return reason;
}

function findFault(dialect: Dialect, value: unknown): Fault | undefined {
  const location: ValuePathStep[] = [];
  const reason = walk(dialect, value, location, 0, new Set());
  return reason === undefined ? undefined : { reason, location };
}

const MAX_SHOWN = 40;

/** A key or command name as shown in a message: JSON-quoted, cut after 40 characters. */
function quote(text: string): string {
  return text.length > MAX_SHOWN ? `${JSON.stringify(text.slice(0, MAX_SHOWN)).slice(0, -1)}…"` : JSON.stringify(text);
}

/**
 * The path of a part of an argument, in JavaScript terms: `value[1]`,
 * `value.get("k")`, `value["k"]`, `[...value][2]` (a set's third element),
 * `map key "k" in value`.
 */
export function formatPath(root: string, location: readonly ValuePathStep[]): string {
  let text = root;
  for (const step of location) {
    switch (step.kind) {
      case 'index':
        text += `[${step.index}]`;
        break;
      case 'set-element':
        text = `[...${text}][${step.index}]`;
        break;
      case 'entry':
        text += step.container === 'map' ? `.get(${quote(step.key)})` : `[${quote(step.key)}]`;
        break;
      case 'map-key':
        return `map key ${quote(step.key)} in ${text}`;
    }
  }
  return text;
}

const WHAT: Readonly<Record<DialectErrorReason, string>> = {
  'line-feed': 'holds a line feed (0x0a)',
  'carriage-return': 'holds a carriage return (0x0d)',
  etx: 'holds the byte 0x03 (ETX)',
  'empty-string': 'is an empty string',
  'empty-map': 'is an empty map',
  'too-large': 'is too large',
};

/** Why the named dialect refuses it: the server generation's behaviour, or the custom rule. */
function rootCause(dialect: string, reason: DialectErrorReason): string {
  switch (reason) {
    case 'line-feed':
      if (dialect === 'etx') return 'current zcached servers store the string cut at its first line feed';
      if (dialect === 'etx-request') return '2025 zcached servers answer -ERR bad request to a string holding one';
      if (dialect === 'legacy') return '2024 zcached servers answer -ERR bad request to a string holding one';
      return 'its forbidLineFeed rule is on';
    case 'carriage-return':
      if (dialect === 'legacy') return '2024 zcached servers read each request as lines, and a line break inside a string puts it out of step';
      return 'its forbidCarriageReturn rule is on';
    case 'etx':
      return 'the byte 0x03 ends a request in this framing, so the server would cut the request there';
    case 'empty-string':
      if (dialect === 'etx') return 'current zcached servers answer -ERR unprocessable to an empty string, as a key or a value';
      return 'its forbidEmpty rule is on';
    case 'empty-map':
      if (dialect === 'etx') return 'current zcached servers answer -ERR unprocessable to an empty map';
      return 'its forbidEmpty rule is on';
    case 'too-large':
      if (dialect === 'legacy') return '2024 zcached servers take each read as one whole request, and answer a request that arrives in two pieces with two -ERR bad request';
      if (dialect === 'custom') return 'its maxRequestBytes limit';
      return 'newer zcached servers refuse requests over their max_request_size (10 MB by default)';
  }
}

const HINTS: Readonly<Record<DialectErrorReason, string>> = {
  'line-feed': 'Store such values with a codec that escapes them (e.g. JSON).',
  'carriage-return': 'Store such values with a codec that escapes them (e.g. JSON).',
  etx: 'Store such values with a codec that escapes them (e.g. JSON), bytes as base64.',
  'empty-string': 'Leave it out, or store null or a non-empty placeholder.',
  'empty-map': 'Leave it out, or store null or a map with at least one entry.',
  'too-large': 'Split the data over several keys.',
};

/**
 * The hints for a key at fault: codecs encode values only, so the advice
 * for values (escape them with a codec) does not apply to keys.
 */
const KEY_HINTS: Readonly<Partial<Record<DialectErrorReason, string>>> = {
  'line-feed': 'Keys cannot hold a line feed on this dialect (codecs encode values, never keys): choose another key, or encode it yourself (e.g. encodeURIComponent).',
  'carriage-return': 'Keys cannot hold a carriage return on this dialect (codecs encode values, never keys): choose another key, or encode it yourself (e.g. encodeURIComponent).',
  etx: 'Keys cannot hold the byte 0x03 on this dialect (codecs encode values, never keys): choose another key, or encode it yourself (e.g. encodeURIComponent).',
  'empty-string': 'Use a non-empty key.',
};

/**
 * Whether a path names a key as a whole, as the client names arguments
 * (`key`, `newKey`, `source`, `destination`, `mget key #2`, `mset entry 3
 * key`). A map key inside a value is a value (`map key "a" in value`).
 */
function isKeyPath(path: string | undefined): boolean {
  return path !== undefined && /^(?:key|newKey|source|destination|mget key #\d+|mset entry \d+ key)$/.test(path);
}

function hintFor(reason: DialectErrorReason, path: string | undefined): string {
  return (isKeyPath(path) ? KEY_HINTS[reason] : undefined) ?? HINTS[reason];
}

/** The message of a {@link DialectError}, built from its fields. */
export function dialectMessage(details: DialectErrorDetails): string {
  const { reason, dialect, command, path, size, limit } = details;
  const prefix = command === undefined ? '' : `${/^[\w.:-]{1,40}$/.test(command) ? command : quote(command)}: `;
  const label = dialect === 'custom' ? 'this custom dialect' : `the '${dialect}' dialect`;
  const cause = rootCause(dialect, reason);
  const fault =
    reason === 'too-large'
      ? `the request is ${size ?? '?'} bytes, more than ${label} carries (at most ${limit ?? '?'})`
      : `${path} ${WHAT[reason]}, which ${label} cannot carry`;
  return `${prefix}${fault}: ${cause}; nothing was sent. ${hintFor(reason, path)}`;
}

function makeError(details: DialectErrorDetails, cause?: DialectError): DialectError {
  return new DialectError(dialectMessage(details), cause === undefined ? details : { ...details, cause });
}

/**
 * The error for a command the encoder refused on its value rules: walks the
 * command to find the first part at fault. Paths start at the argument's
 * position (`argument 2`, `command name`); {@link withArgumentName} renames them.
 */
export function commandFaultError(dialect: Dialect, command: readonly unknown[]): DialectError {
  for (let argument = 0; argument < command.length; argument++) {
    const fault = findFault(dialect, command[argument]);
    if (fault === undefined) continue;
    const root = argument === 0 ? 'command name' : `argument ${argument}`;
    const name = typeof command[0] === 'string' ? command[0] : undefined;
    return makeError({ ...fault, dialect: dialect.name, command: name, argument, path: formatPath(root, fault.location) });
  }
  // Unreachable while the encoder and the walk share the rules; still an honest error.
  return new DialectError(`the request holds a value the '${dialect.name}' dialect cannot carry; nothing was sent`, { dialect: dialect.name });
}

/** The error for a bare value ({@link RequestWriter.appendValue}) refused on the value rules; paths start at `value`. */
export function valueFaultError(dialect: Dialect, value: unknown): DialectError {
  const fault = findFault(dialect, value) ?? { reason: 'too-large' as const, location: [] };
  return makeError({ ...fault, dialect: dialect.name, path: formatPath('value', fault.location) });
}

/** The error for a request whose encoded size passes the dialect's `maxRequestBytes`. */
export function tooLargeError(dialect: Dialect, command: string, size: number): DialectError {
  return makeError({ reason: 'too-large', dialect: dialect.name, command, path: 'request', size, limit: dialect.maxRequestBytes });
}

/**
 * The same error with the argument at fault called by its name (`value`,
 * `newKey`, `mset entry 3 value`) instead of its position; the original is
 * its `cause`. An error about no single argument is returned as is.
 */
export function withArgumentName(error: DialectError, name: string): DialectError {
  if (error.argument === undefined || error.argument === 0) return error;
  const { reason, dialect, command, argument, location, size, limit } = error;
  return makeError({ reason, dialect, command, argument, location, size, limit, path: formatPath(name, location) }, error);
}
