/**
 * A prompt line split into words, as a shell would: whitespace separates
 * words; outside quotes a backslash takes the next character as written
 * (`a\ b` is `a b`, `\"` a quote); `"double quotes"` keep spaces and read the
 * escapes `\n`, `\r`, `\t`, `\b`, `\a`, `\\`, `\"` and `\xHH`, and keep any
 * other backslash (`"a\qb"` is `a\qb`, as a POSIX shell keeps it);
 * `'single quotes'` keep everything as written (`\'` is a quote). Quoted and
 * bare parts next to each other make one word (`a"b c"` is `ab c`); `""` is
 * an empty word. A line whose first non-blank character is `#` is a comment:
 * no words (`#` elsewhere is text: `set c #fff`).
 *
 * `\x80` to `\xff` are bytes, as redis-cli sends them: a word with such bytes
 * is that text's UTF-8 with the bytes in place; when the whole is valid UTF-8
 * it is that string (`"\xc3\xa9"` is `é`), otherwise a `Buffer`, never the
 * characters U+0080 to U+00FF.
 *
 * @module
 */

import { isUtf8 } from 'node:buffer';
import { CliUsageError } from './errors.js';

/** One word of a line: text, or bytes that are not UTF-8 (from `\xHH` escapes). */
export type Word = string | Buffer;

const ESCAPES: Readonly<Record<string, string>> = { n: '\n', r: '\r', t: '\t', b: '\b', a: '\x07', '\\': '\\', '"': '"' };

/** A word being built: text, with the bytes of `\x80`..`\xff` escapes among it. */
class WordBuilder {
  private readonly parts: (string | number)[] = [];
  private bytes = false;

  text(text: string): void {
    this.parts.push(text);
  }

  byte(value: number): void {
    if (value < 0x80) {
      this.parts.push(String.fromCharCode(value));
    } else {
      this.parts.push(value);
      this.bytes = true;
    }
  }

  done(): Word {
    if (!this.bytes) return this.parts.join('');
    const buffer = Buffer.concat(this.parts.map((part) => (typeof part === 'number' ? Buffer.from([part]) : Buffer.from(part, 'utf8'))));
    return isUtf8(buffer) ? buffer.toString('utf8') : buffer;
  }
}

/**
 * Splits `line` into words.
 * @throws CliUsageError for a quote that is never closed, or a bad `\x` escape
 */
export function splitLine(line: string): Word[] {
  if (line.trimStart().startsWith('#')) return [];
  const words: Word[] = [];
  let word: WordBuilder | undefined;
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (/\s/.test(c)) {
      if (word !== undefined) words.push(word.done());
      word = undefined;
      i++;
      continue;
    }
    word ??= new WordBuilder();
    if (c === '"') {
      i = doubleQuoted(line, i + 1, word) + 1;
    } else if (c === "'") {
      i = singleQuoted(line, i + 1, word) + 1;
    } else if (c === '\\' && i + 1 < line.length) {
      // Outside quotes a backslash takes the next character as it is; one at the end of the line is kept.
      word.text(line[i + 1]!);
      i += 2;
    } else {
      word.text(c);
      i++;
    }
  }
  if (word !== undefined) words.push(word.done());
  return words;
}

/** Reads a double-quoted part starting at `start` (after the quote) into `word`; returns the index of the closing quote. */
function doubleQuoted(line: string, start: number, word: WordBuilder): number {
  for (let i = start; i < line.length; i++) {
    const c = line[i]!;
    if (c === '"') return i;
    if (c !== '\\' || i + 1 >= line.length) {
      word.text(c);
      continue;
    }
    const next = line[++i]!;
    if (next === 'x') {
      const hex = line.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new CliUsageError(`\\x must be followed by two hex digits, got ${JSON.stringify(hex)}`);
      word.byte(parseInt(hex, 16));
      i += 2;
    } else {
      word.text(ESCAPES[next] ?? `\\${next}`);
    }
  }
  throw new CliUsageError('a double quote is never closed');
}

/** Reads a single-quoted part starting at `start` into `word`; returns the index of the closing quote. */
function singleQuoted(line: string, start: number, word: WordBuilder): number {
  for (let i = start; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") return i;
    if (c === '\\' && line[i + 1] === "'") {
      word.text("'");
      i++;
    } else {
      word.text(c);
    }
  }
  throw new CliUsageError('a single quote is never closed');
}
