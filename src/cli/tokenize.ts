/**
 * A prompt line split into words, as a shell would for simple cases:
 * whitespace separates words; `"double quotes"` keep spaces and read the
 * escapes `\n`, `\r`, `\t`, `\\`, `\"` and `\xHH`; `'single quotes'` keep
 * everything as written (`\'` is a quote). Quoted and bare parts next to
 * each other make one word (`a"b c"` is `ab c`); `""` is an empty word.
 *
 * @module
 */

import { CliUsageError } from './errors.js';

const ESCAPES: Readonly<Record<string, string>> = { n: '\n', r: '\r', t: '\t' };

/**
 * Splits `line` into words.
 * @throws CliUsageError for a quote that is never closed, or a bad `\x` escape
 */
export function splitLine(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
      i++;
    } else if (c === '"' || c === "'") {
      const [text, end] = c === '"' ? doubleQuoted(line, i + 1) : singleQuoted(line, i + 1);
      word = (word ?? '') + text;
      i = end + 1;
    } else {
      word = (word ?? '') + c;
      i++;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** The text of a double-quoted part starting at `start` (after the quote), and the index of the closing quote. */
function doubleQuoted(line: string, start: number): [string, number] {
  let text = '';
  for (let i = start; i < line.length; i++) {
    const c = line[i]!;
    if (c === '"') return [text, i];
    if (c !== '\\' || i + 1 >= line.length) {
      text += c;
      continue;
    }
    const next = line[++i]!;
    if (next === 'x') {
      const hex = line.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new CliUsageError(`\\x must be followed by two hex digits, got ${JSON.stringify(hex)}`);
      text += String.fromCharCode(parseInt(hex, 16));
      i += 2;
    } else {
      text += ESCAPES[next] ?? next;
    }
  }
  throw new CliUsageError('a double quote is never closed');
}

/** The text of a single-quoted part starting at `start`, and the index of the closing quote. */
function singleQuoted(line: string, start: number): [string, number] {
  let text = '';
  for (let i = start; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") return [text, i];
    if (c === '\\' && line[i + 1] === "'") {
      text += "'";
      i++;
    } else {
      text += c;
    }
  }
  throw new CliUsageError('a single quote is never closed');
}
