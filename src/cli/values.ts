/**
 * Values on the command line, and replies as JSON.
 *
 * Without `--json` every argument is a string, exactly as typed. With
 * `--json`, a value argument (SET's value, MSET's values) is JSON text,
 * mapped as the README's Values section says: a safe integer is an integer,
 * any other number a float, `true`/`false` booleans, `null` null, arrays
 * arrays, objects maps. What JSON has no form for is a one-key object whose
 * key starts with `$` (the "tags"):
 *
 * | tag | value | sent as |
 * |---|---|---|
 * | `{"$set": [...]}` | an array | a set |
 * | `{"$bytes": "aGk="}` | base64 text | bytes |
 * | `{"$float": 2}` | a number, or `"nan"`, `"inf"`, `"-inf"`, `"-0"` | a float |
 * | `{"$bigint": "9007199254740993"}` | decimal digits | an integer (64-bit) |
 * | `{"$map": {...}}` | an object | a map whose keys are taken as written (`{"$map": {"$set": 1}}`) |
 *
 * Replies printed with `--json` use the same forms ({@link replyToJson}),
 * so what one command prints another takes back.
 *
 * @module
 */

import { isUtf8 } from 'node:buffer';
import { float, type Reply, type Value } from '../protocol/values.js';
import { CliUsageError } from './errors.js';

/** The JSON text a JavaScript value is written as. */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const FLOAT_WORDS: Readonly<Record<string, number>> = { nan: Number.NaN, inf: Number.POSITIVE_INFINITY, '-inf': Number.NEGATIVE_INFINITY, '-0': -0 };

/**
 * Reads one `--json` value argument.
 * @param what - the argument, for messages (`'value'`, `'mset value 2'`)
 * @throws CliUsageError for text that is not JSON, an unsafe integer
 *   (use `$bigint`), or a malformed tag
 */
export function parseJsonValue(text: string, what: string): Value {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliUsageError(`${what} is not JSON (--json): ${error instanceof Error ? error.message : String(error)}; a string is written "in quotes"`, {
      cause: error,
    });
  }
  return fromJson(json, what, unsafeIntegerLiterals(text));
}

/**
 * The values of the number tokens of `text` written as integers (no `.`, no
 * exponent) past the safe integers: JSON.parse rounds those, so they are
 * refused. A number written with a fraction or an exponent (`1e20`) is a float.
 */
function unsafeIntegerLiterals(text: string): ReadonlySet<number> {
  const found = new Set<number>();
  const outsideStrings = text.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  for (const match of outsideStrings.matchAll(/-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g)) {
    if (/^-?\d+$/.test(match[0]) && !Number.isSafeInteger(Number(match[0]))) found.add(Number(match[0]));
  }
  return found;
}

function fromJson(json: unknown, where: string, unsafeLiterals: ReadonlySet<number>): Value {
  if (typeof json === 'number') {
    if (Number.isInteger(json) && !Number.isSafeInteger(json)) {
      if (!unsafeLiterals.has(json)) return float(json);
      throw new CliUsageError(`${where}: ${json} is past the safe integers and JSON would round it; write {"$bigint": "<digits>"}`);
    }
    return json;
  }
  if (json === null || typeof json === 'string' || typeof json === 'boolean') return json;
  if (Array.isArray(json)) return json.map((item, i) => fromJson(item, `${where}[${i}]`, unsafeLiterals));
  const object = json as Record<string, unknown>;
  const keys = Object.keys(object);
  const tag = keys.length === 1 && keys[0]!.startsWith('$') ? keys[0]! : undefined;
  if (tag === undefined) return new Map(keys.map((key) => [key, fromJson(object[key], `${where}.${key}`, unsafeLiterals)]));
  return fromTag(tag, object[tag], `${where}.${tag}`, unsafeLiterals);
}

function fromTag(tag: string, inner: unknown, where: string, unsafeLiterals: ReadonlySet<number>): Value {
  switch (tag) {
    case '$set':
      if (!Array.isArray(inner)) throw new CliUsageError(`${where} must be an array`);
      return new Set(inner.map((item, i) => fromJson(item, `${where}[${i}]`, unsafeLiterals)));
    case '$bytes':
      if (typeof inner !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(inner)) throw new CliUsageError(`${where} must be base64 text`);
      return Buffer.from(inner, 'base64');
    case '$float': {
      const n = typeof inner === 'number' ? inner : typeof inner === 'string' ? FLOAT_WORDS[inner] : undefined;
      if (n === undefined) throw new CliUsageError(`${where} must be a number or one of "nan", "inf", "-inf", "-0"`);
      return float(n);
    }
    case '$bigint':
      if (typeof inner !== 'string' || !/^-?\d+$/.test(inner)) throw new CliUsageError(`${where} must be a string of decimal digits`);
      return BigInt(inner);
    case '$map':
      if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) throw new CliUsageError(`${where} must be an object`);
      return new Map(Object.entries(inner).map(([key, value]) => [key, fromJson(value, `${where}.${key}`, unsafeLiterals)]));
    default:
      throw new CliUsageError(`${where}: unknown tag; the tags are $set, $bytes, $float, $bigint and $map (a map with one "$" key: {"$map": {...}})`);
  }
}

/**
 * A reply as the CLI shows it: bulk strings arrive as bytes (the client runs
 * with `bulkAsBuffer`) and become strings when they are valid UTF-8; other
 * bytes stay bytes, so a binary value is never shown lossily.
 */
export function fromWire(reply: Reply): Reply {
  if (Buffer.isBuffer(reply)) return isUtf8(reply) ? reply.toString('utf8') : reply;
  if (Array.isArray(reply)) return reply.map(fromWire);
  if (reply instanceof Set) return new Set([...reply].map(fromWire));
  if (reply instanceof Map) return new Map([...reply].map(([key, value]) => [key, fromWire(value)]));
  return reply;
}

/** A reply (or `undefined`: no such key, printed as `null`) as JSON, in the forms `--json` input takes back. */
export function replyToJson(reply: Reply | undefined): Json {
  if (reply === undefined || reply === null) return null;
  if (typeof reply === 'string' || typeof reply === 'boolean') return reply;
  if (typeof reply === 'number') {
    if (Number.isNaN(reply)) return { $float: 'nan' };
    if (!Number.isFinite(reply)) return { $float: reply > 0 ? 'inf' : '-inf' };
    if (Object.is(reply, -0)) return { $float: '-0' };
    // A number past the safe integers came as a float (integers there decode as bigint); plain, --json would refuse it.
    return Number.isInteger(reply) && !Number.isSafeInteger(reply) ? { $float: reply } : reply;
  }
  if (typeof reply === 'bigint') return { $bigint: reply.toString() };
  if (Buffer.isBuffer(reply)) return { $bytes: reply.toString('base64') };
  if (Array.isArray(reply)) return reply.map(replyToJson);
  if (reply instanceof Set) return { $set: [...reply].map(replyToJson) };
  const entries = [...reply].map(([key, value]): [string, Json] => [key, replyToJson(value)]);
  const object = Object.fromEntries(entries) as { [key: string]: Json };
  // A map whose one key looks like a tag is written as {"$map": ...}, so reading it back gives a map again.
  return entries.length === 1 && entries[0]![0].startsWith('$') ? { $map: object } : object;
}
