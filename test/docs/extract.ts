/**
 * Finds the code examples of the docs and turns each runnable one into a
 * module that `examples.test.ts` can import. The rules are described at the
 * top of `examples.test.ts` and in docs/architecture.md ("Code examples in
 * the docs").
 */

import { readdirSync } from 'node:fs';
import * as path from 'node:path';

/** Info-string languages whose blocks are examples. */
export const EXAMPLE_LANGUAGES: ReadonlySet<string> = new Set(['ts', 'typescript', 'js', 'javascript']);

/** `<!-- fragment -->` or `<!-- fragment: why -->` on the last non-blank line before the fence. */
const FRAGMENT_COMMENT = /^\s*<!--\s*fragment\b.*-->\s*$/i;
/** `// fragment` or `// fragment: why` as the first line of the block. */
const FRAGMENT_FIRST_LINE = /^\s*\/\/\s*fragment\b/i;
const FENCE_OPEN = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)/;

/** One fenced code block of an example language. */
export interface CodeBlock {
  /** The Markdown file, relative to the repository root, with `/` separators. */
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly lang: string;
  /** The block's lines, without the fences and without the fence's indentation. */
  readonly code: string;
  /** Marked as a fragment: shown, not run. */
  readonly fragment: boolean;
  /** A fragment's stated reason (`<!-- fragment: why -->`, `// fragment: why`); `undefined` when none is given. */
  readonly why?: string | undefined;
}

/** The reason after `fragment:` in a fragment mark, if any. */
function fragmentReason(mark: string): string | undefined {
  const why = /\bfragment\s*:\s*(.*?)\s*(?:-->)?\s*$/i.exec(mark)?.[1];
  return why === undefined || why === '' ? undefined : why;
}

/** Every fenced block tagged with an {@link EXAMPLE_LANGUAGES} language, in order. */
export function extractBlocks(markdown: string, file: string): CodeBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE_OPEN.exec(lines[i]!);
    if (!open) continue;
    const [, indent = '', fence = '', info = ''] = open;
    const closing = new RegExp(`^\\s*${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
    let end = i + 1;
    while (end < lines.length && !closing.test(lines[end]!)) end++;
    const lang = info.toLowerCase();
    if (EXAMPLE_LANGUAGES.has(lang)) {
      const body = lines.slice(i + 1, end).map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line.trimStart()));
      let before = i - 1;
      while (before >= 0 && lines[before]!.trim() === '') before--;
      const comment = before >= 0 && FRAGMENT_COMMENT.test(lines[before]!);
      const fragment = comment || FRAGMENT_FIRST_LINE.test(body[0] ?? '');
      const why = !fragment ? undefined : fragmentReason(comment ? lines[before]! : body[0]!);
      blocks.push({ file, line: i + 1, lang, code: body.join('\n'), fragment, ...(why === undefined ? {} : { why }) });
    }
    i = end; // skip the block's body, whatever its language
  }
  return blocks;
}

/** A `console.log(...)` line whose trailing comment states what it prints. */
export interface OutputExpectation {
  /** 1-based line in the Markdown file. */
  readonly line: number;
  readonly expected: string;
  readonly text: string;
}

/** Where the imports of the example go instead of the package names. */
export interface ImportTargets {
  readonly zcached: string;
  readonly zcachedTesting: string;
  readonly vitest: string;
  /** Where `'zcached/keyv'` goes; default: `keyv/index.js` next to {@link ImportTargets.zcached}. */
  readonly zcachedKeyv?: string;
}

/** An example ready to be written to a `.ts` file and imported. */
export interface PreparedExample {
  readonly source: string;
  readonly expectations: readonly OutputExpectation[];
  /** It names port 7556: the test gives it an embedded server on a free port instead. */
  readonly needsServer: boolean;
  /** It is a vitest test file: its `it()` calls are collected and run by the shim. */
  readonly isTestFile: boolean;
  /** How many `it(` / `test(` calls start a line (a bound on the time it may take). */
  readonly testCount: number;
}

/** The global through which a rewritten `console.log` reports what it printed, with its doc line. */
export const LOG_GLOBAL = '__zcachedDocsLog';

const OUTPUT_LINE = /^(.*\bconsole\.log\(.*\)[;,]?)\s*\/\/\s?(.*\S)\s*$/;
const PORT = /\b7556\b/g;
const NAMES_PORT = /\b7556\b/;

/**
 * Rewrites an example into a module that runs on this repository:
 * `'zcached'`, `'zcached/testing'`, `'zcached/keyv'` and `'vitest'` imports point to the
 * targets, `7556` becomes `port` (when given), and each `console.log(...)`
 * line with a trailing `// expected` comment reports to {@link LOG_GLOBAL}.
 */
export function prepareExample(block: CodeBlock, targets: ImportTargets, port?: number): PreparedExample {
  const spec = (name: string): string => {
    if (name === 'zcached') return targets.zcached;
    if (name === 'zcached/testing') return targets.zcachedTesting;
    if (name === 'zcached/keyv') return targets.zcachedKeyv ?? targets.zcached.replace(/index\.js$/, 'keyv/index.js');
    if (name === 'vitest') return targets.vitest;
    return name;
  };
  const expectations: OutputExpectation[] = [];
  const lines = block.code.split('\n').map((text, index) => {
    const line = block.line + 1 + index;
    let out = text.replace(
      /(\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(['"])(zcached(?:\/testing|\/keyv)?|vitest)\2/g,
      (_, lead: string, quote: string, name: string) => `${lead}${quote}${spec(name)}${quote}`,
    );
    const output = OUTPUT_LINE.exec(out);
    if (output && out.split('console.log(').length === 2) {
      expectations.push({ line, expected: output[2]!, text: text.trim() });
      out = out.replace('console.log(', `(globalThis as any).${LOG_GLOBAL}(${line}, `);
    }
    return out;
  });
  const needsServer = NAMES_PORT.test(block.code);
  let source = lines.join('\n');
  if (needsServer && port !== undefined) source = source.replace(PORT, String(port));
  const isTestFile = /\bfrom\s*['"]vitest['"]/.test(block.code);
  const testCount = block.code.split('\n').filter((line) => /^\s*(it|test)(\.\w+)?\(/.test(line)).length;
  return { source: `${source}\n`, expectations, needsServer, isTestFile, testCount };
}

/** The Markdown files whose examples run: README.md, then docs/*.md in name order (paths relative to `root`). */
export function docFiles(root: string): string[] {
  const docs = readdirSync(path.join(root, 'docs'), { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.md'))
    .map((entry) => `docs/${entry.name}`)
    .sort();
  return ['README.md', ...docs];
}
