/**
 * Replies as text: typed (`(integer) 3`, `(nil)`, numbered array items, as
 * redis-cli shows them), raw (strings bare, for shell pipelines) or JSON;
 * and the colours, which are used only on a terminal and never with
 * `NO_COLOR`.
 *
 * @module
 */

import type { Reply } from '../protocol/values.js';
import type { OutputMode } from './args.js';
import { replyToJson } from './values.js';

/** What a command answered: a reply, or `undefined` for a key that does not exist (`(nil)`). */
export interface CommandReply {
  readonly reply: Reply | undefined;
  /** A status reply (`OK`, `PONG`): printed bare, without quotes. */
  readonly status?: boolean;
}

/** Wraps text in an SGR colour, or leaves it alone. */
export interface Palette {
  /** Type tags such as `(integer)`, item numbers. */
  readonly dim: (text: string) => string;
  /** Error replies. */
  readonly red: (text: string) => string;
  /** The prompt's address. */
  readonly bold: (text: string) => string;
}

const PLAIN: Palette = { dim: (text) => text, red: (text) => text, bold: (text) => text };
const SGR = (code: number) => (text: string) => `\x1b[${code}m${text}\x1b[0m`;
const COLOURED: Palette = { dim: SGR(2), red: SGR(31), bold: SGR(1) };

/**
 * Whether to colour what goes to `stream`: only when it is a terminal, and
 * never when `NO_COLOR` is set to anything but the empty string (no-color.org)
 * or `TERM` is `dumb`.
 */
export function useColour(stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && (env['NO_COLOR'] ?? '') === '' && env['TERM'] !== 'dumb';
}

/** The colours for `stream` (see {@link useColour}), or none. */
export function paletteFor(stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Palette {
  return useColour(stream, env) ? COLOURED : PLAIN;
}

/** A string as shown in typed output: in double quotes, with control characters and quotes escaped. */
function quote(text: string): string {
  return JSON.stringify(text);
}

function scalar(reply: Exclude<Reply, Reply[] | Map<string, Reply> | Set<Reply>>, colours: Palette): string {
  if (reply === null) return colours.dim('(nil)');
  if (typeof reply === 'string') return quote(reply);
  if (typeof reply === 'boolean') return `${colours.dim('(boolean)')} ${reply}`;
  if (typeof reply === 'bigint') return `${colours.dim('(integer)')} ${reply}`;
  if (typeof reply === 'number') {
    // Integer replies past 2^53 decode as bigint: a number past the safe integers came as a float.
    if (Number.isSafeInteger(reply) && !Object.is(reply, -0)) return `${colours.dim('(integer)')} ${reply}`;
    const text = Number.isNaN(reply) ? 'nan' : reply === Infinity ? 'inf' : reply === -Infinity ? '-inf' : Object.is(reply, -0) ? '-0' : String(reply);
    return `${colours.dim('(float)')} ${text}`;
  }
  return `${colours.dim('(bytes)')} ${reply.toString('hex')}`;
}

/** The lines of one (possibly nested) reply, typed; `indent` is the width of the item numbers around it. */
function typedLines(reply: Reply, colours: Palette): string[] {
  if (Array.isArray(reply) || reply instanceof Set) {
    const items = [...reply];
    const [mark, empty] = Array.isArray(reply) ? [')', '(empty array)'] : ['~', '(empty set)'];
    if (items.length === 0) return [colours.dim(empty)];
    return numbered(items.length, mark, colours, (i) => typedLines(items[i]!, colours));
  }
  if (reply instanceof Map) {
    const entries = [...reply];
    if (entries.length === 0) return [colours.dim('(empty map)')];
    return numbered(entries.length, '#', colours, (i) => {
      const [key, value] = entries[i]!;
      const [first = '', ...more] = typedLines(value, colours);
      const head = `${quote(key)} => `;
      return [head + first, ...more.map((line) => ' '.repeat(head.length) + line)];
    });
  }
  return [scalar(reply, colours)];
}

/** Numbers `count` items (`1) `, ` 2) `...): continuation lines are indented under their item. */
function numbered(count: number, mark: string, colours: Palette, item: (i: number) => string[]): string[] {
  const width = String(count).length;
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const label = `${String(i + 1).padStart(width)}${mark} `;
    const [first = '', ...more] = item(i);
    lines.push(colours.dim(label) + first, ...more.map((line) => ' '.repeat(label.length) + line));
  }
  return lines;
}

/** Raw output: strings bare, each element of an array or set on its own line, a map as key and value lines. */
function rawLines(reply: Reply | undefined): string[] {
  if (reply === undefined || reply === null) return [''];
  if (typeof reply === 'string') return [reply];
  if (Buffer.isBuffer(reply)) return [reply.toString('hex')];
  if (Array.isArray(reply) || reply instanceof Set) return [...reply].flatMap(rawLines);
  if (reply instanceof Map) return [...reply].flatMap(([key, value]) => [key, ...rawLines(value)]);
  return [scalar(reply, PLAIN).replace(/^\(\w+\) /, '')];
}

/**
 * A command's reply as the text to print (no final newline).
 * @param mode - `'typed'` (default output), `'raw'` (`--raw`) or `'json'` (`--json`: one line of JSON)
 */
export function formatReply(answer: CommandReply, mode: OutputMode, colours: Palette = PLAIN): string {
  if (mode === 'json') return JSON.stringify(replyToJson(answer.reply));
  if (mode === 'raw') return rawLines(answer.reply).join('\n');
  if (answer.reply === undefined) return colours.dim('(nil)');
  if (answer.status === true && typeof answer.reply === 'string') return answer.reply;
  return typedLines(answer.reply, colours).join('\n');
}

/**
 * An error reply (`ServerError.reply`, e.g. `ERR key not found`): `(error) ERR …`,
 * or with `--json` `{"error":{"code":…,"message":…}}`.
 */
export function formatErrorReply(error: { readonly code: string; readonly message: string; readonly reply: string }, mode: OutputMode, colours: Palette = PLAIN): string {
  if (mode === 'json') return JSON.stringify({ error: { code: error.code, message: error.message } });
  return colours.red(`(error) ${error.reply}`);
}
