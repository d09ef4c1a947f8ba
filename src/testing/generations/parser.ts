/**
 * The request parsers of the real zcached servers, reproduced: line-based
 * (they read up to each `\n`), not binary-safe, with each generation's own
 * answers to odd input. Used by the faithful framers (the default); the
 * binary-safe path is `binary-safe.ts`.
 *
 * Two line rules (protocol reference, "Framing" and "What real servers answer
 * to odd requests"; the servers' source):
 * - **older** (2024 `'legacy'`, 2025 `'etx-request'`): a line is the bytes up
 *   to `\n`; its last byte (the `\r`) is dropped. A bulk string `$<n>` must
 *   be exactly one line of `n` bytes, so a bulk string holding `\n` (or
 *   `\r\n`) or a wrong length is refused with `-ERR bad request`. A simple
 *   string is read as a plain string.
 * - **current** (`'etx'`): a line is the bytes up to `\n`, one `\r` before it
 *   dropped; the next element starts two bytes after the line's content
 *   (right after `\r\n`, or one byte past a bare `\n`). The `<n>` of `$<n>` is
 *   ignored: the bulk string is the next line, so a value holding LF is cut at
 *   the first LF (a lone CR stays). Empty strings, empty simple strings and
 *   empty maps are refused.
 *
 * @module
 */

import type { DialectName } from '../../protocol/dialect.js';
import type { WireValue } from '../../protocol/values.js';
import { SERVER_ERRORS as E } from '../server-errors.js';

/** The outcome of parsing one request: its value and where it ended, or the error reply text. */
export type ParseOutcome =
  | { readonly ok: true; readonly value: WireValue; readonly end: number }
  | { readonly ok: false; readonly error: string };

/** Each generation's answer to each kind of odd input. */
interface Syntax {
  readonly current: boolean;
  /** The bytes end where a type byte should be (an array declaring more elements than sent). */
  readonly endOfInput: string;
  /** No `\n` before the end of the request. */
  readonly noLineEnd: string;
  /** A type byte the generation does not know (`(`, `\x03`, garbage; `~` on the 2024 servers). */
  readonly unknownType: string;
  /** A line with nothing in it where something is needed. */
  readonly emptyLine: string;
  /** `$x`: the length is not a number. */
  readonly bulkLength: string;
  /** `$-1`. */
  readonly bulkNull: string;
  readonly integer: string;
  readonly float: string;
  /** `#true`: not one letter. */
  readonly booleanShape: string;
  /** `#x`: one letter, not t/f. */
  readonly booleanValue: string;
  /** `*x`, `*-1`, `%x`, `~x`. */
  readonly aggregateLength: string;
  /** A count no request can hold (the real server fails to allocate it). */
  readonly hugeAggregate: string;
  /** A map key that is not a string. */
  readonly mapKey: string;
  readonly sets: boolean;
}

const OLDER = {
  current: false,
  endOfInput: E.badRequest,
  noLineEnd: E.badRequest,
  unknownType: E.badRequest,
  emptyLine: E.badRequest,
  bulkLength: E.badRequest,
  bulkNull: E.badRequest,
  integer: E.notInteger,
  float: E.unexpected,
  booleanShape: E.badRequest,
  booleanValue: E.notBoolean,
  aggregateLength: E.unexpected,
  hugeAggregate: E.unexpected,
  mapKey: E.unexpected,
  sets: false,
} as const satisfies Syntax;

const SYNTAX: Readonly<Record<DialectName, Syntax>> = {
  legacy: OLDER,
  'etx-request': { ...OLDER, aggregateLength: E.errInvalidLength, sets: true },
  etx: {
    current: true,
    endOfInput: E.unexpected,
    noLineEnd: E.unprocessable,
    unknownType: E.unprocessable,
    emptyLine: E.unprocessable,
    bulkLength: E.invalidLength,
    bulkNull: E.unprocessable,
    integer: E.invalidType,
    float: E.invalidType,
    booleanShape: E.unprocessable,
    booleanValue: E.invalidType,
    aggregateLength: E.invalidLength,
    hugeAggregate: E.payloadExceeded,
    mapKey: E.keyMustBeString,
    sets: true,
  },
};

const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;
const INTEGER = /^[+-]?\d+$/;
const COUNT = /^\d+$/;
const FLOAT = /^[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)$/i;
/** Our own bound on nesting (the real server would recurse until its stack runs out). */
const MAX_DEPTH = 512;

/** Thrown inside the parser with the reply text. */
class Refusal {
  constructor(readonly text: string) {}
}

class LineParser {
  pos = 0;

  constructor(
    readonly buf: Buffer,
    readonly syntax: Syntax,
    readonly maxElements: number,
  ) {}

  refuse(text: string): never {
    throw new Refusal(text);
  }

  /** The next line's content; `empty` when the generation considers the line empty. */
  line(): { content: Buffer; empty: boolean } {
    const { buf, pos } = this;
    const lf = buf.indexOf(0x0a, pos);
    if (lf === -1) this.refuse(this.syntax.noLineEnd);
    if (!this.syntax.current) {
      // Older servers: the bytes before `\n`, less the last one (taken to be the `\r`).
      this.pos = lf + 1;
      return { content: buf.subarray(pos, Math.max(pos, lf - 1)), empty: lf === pos };
    }
    // Current servers: one `\r` before the `\n` dropped; the next element starts two bytes after the content.
    const end = lf > pos && buf[lf - 1] === 0x0d ? lf - 1 : lf;
    this.pos = end + 2;
    return { content: buf.subarray(pos, end), empty: end === pos };
  }

  /** A line that must not be empty. */
  text(): Buffer {
    const { content, empty } = this.line();
    if (empty) this.refuse(this.syntax.emptyLine);
    return content;
  }

  /** An aggregate's element count. */
  count(): number {
    const text = this.text().toString('latin1');
    if (!COUNT.test(text)) this.refuse(this.syntax.aggregateLength);
    const count = Number(text);
    if (count > this.maxElements) this.refuse(this.syntax.hugeAggregate);
    return count;
  }

  element(depth: number): WireValue {
    const { buf, syntax } = this;
    if (this.pos >= buf.length) this.refuse(syntax.endOfInput);
    if (depth > MAX_DEPTH) this.refuse(E.unexpected);
    const prefix = buf[this.pos++];
    switch (prefix) {
      case 0x2b /* + */:
        return { type: 'simple', value: this.text().toString('utf8') };
      case 0x24 /* $ */:
        return this.bulk();
      case 0x3a /* : */: {
        const text = this.text().toString('latin1');
        const value = INTEGER.test(text) ? BigInt(text) : undefined;
        if (value === undefined || value < MIN_INT64 || value > MAX_INT64) this.refuse(syntax.integer);
        return { type: 'integer', value };
      }
      case 0x2c /* , */: {
        const text = this.text().toString('latin1');
        if (!FLOAT.test(text)) this.refuse(syntax.float);
        const body = text.toLowerCase().replace(/^[+-]/, '');
        const sign = text.startsWith('-') ? -1 : 1;
        if (body === 'nan') return { type: 'float', value: Number.NaN };
        if (body === 'inf' || body === 'infinity') return { type: 'float', value: sign * Infinity };
        return { type: 'float', value: Number(text) };
      }
      case 0x23 /* # */: {
        const { content } = this.line();
        if (content.length !== 1) this.refuse(syntax.booleanShape);
        const c = content[0];
        if (c === 0x74 || c === 0x54) return { type: 'boolean', value: true };
        if (c === 0x66 || c === 0x46) return { type: 'boolean', value: false };
        return this.refuse(syntax.booleanValue);
      }
      case 0x5f /* _ */:
        // Current servers skip two bytes whatever they are; older ones read the line.
        if (syntax.current) this.pos += 2;
        else this.line();
        return { type: 'null' };
      case 0x2d /* - */:
        return { type: 'error', value: this.text().toString('utf8') };
      case 0x2a /* * */: {
        const count = this.count();
        const items: WireValue[] = [];
        for (let i = 0; i < count; i++) items.push(this.element(depth + 1));
        return { type: 'array', value: items };
      }
      case 0x7e /* ~ */: {
        if (!syntax.sets) return this.refuse(syntax.unknownType);
        const count = this.count();
        const items: WireValue[] = [];
        for (let i = 0; i < count; i++) items.push(this.element(depth + 1));
        return { type: 'set', value: items };
      }
      case 0x25 /* % */: {
        const count = this.count();
        if (count === 0 && syntax.current) this.refuse(E.unprocessable);
        const pairs: (readonly [WireValue, WireValue])[] = [];
        for (let i = 0; i < count; i++) {
          const key = this.element(depth + 1);
          const value = this.element(depth + 1); // the key is checked once its value is read, as the servers do
          if (key.type !== 'bulk' && key.type !== 'simple') this.refuse(syntax.mapKey);
          pairs.push([key, value]);
        }
        return { type: 'map', value: pairs };
      }
      default:
        return this.refuse(syntax.unknownType);
    }
  }

  bulk(): WireValue {
    const { syntax } = this;
    const header = this.line().content.toString('latin1');
    if (header === '-1') this.refuse(syntax.bulkNull);
    if (!COUNT.test(header)) this.refuse(syntax.bulkLength);
    const { content, empty } = this.line();
    if (empty) this.refuse(syntax.emptyLine);
    // Older servers check the declared length against the line; current ones ignore it.
    if (!syntax.current && content.length !== Number(header)) this.refuse(E.badRequest);
    return { type: 'bulk', value: Buffer.from(content) };
  }
}

/**
 * Parses one request the way the real server of `dialect` does.
 * @param bytes - the request (for the ETX generations, without its 0x03)
 * @param maxElements - counts above this fail as the real server's allocation would
 */
export function parseRequest(bytes: Buffer, dialect: DialectName, maxElements: number): ParseOutcome {
  const parser = new LineParser(bytes, SYNTAX[dialect], maxElements);
  try {
    const value = parser.element(0);
    return { ok: true, value, end: Math.min(parser.pos, bytes.length) };
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, error: error.text };
    throw error;
  }
}
