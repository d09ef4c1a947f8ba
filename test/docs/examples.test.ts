/**
 * Every complete code example in README.md and docs/*.md runs here, so a doc
 * cannot drift from the code.
 *
 * Which blocks: fenced blocks tagged `ts`, `typescript`, `js` or `javascript`
 * in README.md and docs/*.md (not docs/api/, which TypeDoc generates).
 *
 * Complete or fragment: every such block is a complete program (it imports
 * what it uses) and runs, unless it is marked as a fragment, by either
 * - `<!-- fragment -->` (or `<!-- fragment: why -->`) on the last non-blank
 *   line before the opening fence, or
 * - `// fragment` (or `// fragment: why`) as the block's first line.
 * A fragment is only shown. A block that is neither marked nor complete fails.
 *
 * How a block runs (one test per block, named `<file>:<line of the fence>`):
 * - It is written to `test/docs/.generated/<run>/` (git-ignored) with its
 *   imports of `'zcached'` and `'zcached/testing'` pointing to `src/`, then
 *   imported. A block that imports from `'vitest'` is a test file: its
 *   `it()` / hooks are collected by `vitest-shim.ts` and run inside this test.
 * - A block that names port 7556 (the server's default) gets an embedded
 *   `startServer()` on a free port, and every `7556` in it is replaced by
 *   that port: files run in parallel, so nothing binds 7556 itself.
 * - Each program, each collected test and each hook has {@link BLOCK_MS}.
 * - Afterwards no socket, server or timer of the block may be left: the
 *   count of each kind must come back to what it was before the block.
 *
 * Stated output: a line that calls `console.log(...)` once and ends with a
 * `// expected` comment states what it prints. The test records every call
 * of that line; each must print `expected`, either as `util.inspect` shows
 * the single argument (`// 'hello'`, `// undefined`, `// 42`) or as the
 * printed text (`// ETIMEOUT`), and the line must run at least once.
 *
 * A block that fails on a library bug (not a doc mistake) is listed in
 * {@link KNOWN_LIBRARY_BUGS} with the precise cause and the error it shows:
 * its test then passes only while that error shows, and fails on any other
 * failure or once the bug is fixed.
 *
 * Nothing here measures time: the bounds are only there to turn a hang into
 * a failure.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/testing/index.js';
import { docFiles, extractBlocks, LOG_GLOBAL, prepareExample, type CodeBlock, type ImportTargets } from './extract.js';
import { collectedTestCount, resetCollected, runCollected } from './vitest-shim.js';

/** The bound of one program, one collected test or one hook. */
const BLOCK_MS = 20_000;
/** How long sockets may take to finish closing after the block, before they count as left open. */
const SETTLE_MS = 10_000;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const HERE = path.join(ROOT, 'test/docs');
/** One directory per run, so that two runs in the same tree do not meet; kept when a block failed. */
const GENERATED = path.join(HERE, '.generated');
const OUT = path.join(GENERATED, `${process.pid}-${Date.now().toString(36)}`);

/** Removes what earlier runs kept, once the process that made it is gone. */
function removeStaleRuns(): void {
  let entries: string[];
  try {
    entries = readdirSync(GENERATED);
  } catch {
    return;
  }
  for (const entry of entries) {
    const pid = Number.parseInt(entry, 10);
    let alive = false;
    try {
      alive = Number.isSafeInteger(pid) && pid > 0 && process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) rmSync(path.join(GENERATED, entry), { recursive: true, force: true });
  }
}
removeStaleRuns();

/**
 * Blocks that fail because of a library bug, not a doc mistake. The named
 * collected test (or the program, for a block that is not a test file) must
 * fail, with an error that `matches`; any other failure still fails, and so
 * does the block once the bug no longer shows, so that the entry goes with
 * the fix. Found by file and a text that only that block holds, so that
 * edits elsewhere in the doc do not lose it.
 */
interface KnownLibraryBug {
  readonly file: string;
  readonly contains: string;
  /** The collected test that fails (its `it()` name); absent for a plain program. */
  readonly test?: string;
  /** What the bug is, precisely. */
  readonly cause: string;
  /** Runs of the test, at most, to see a bug that shows only in some runs (default 1). */
  readonly attempts?: number;
  readonly matches: (error: unknown) => boolean;
}

/**
 * None today. The resting-connection PoolEmptyError that made the Level-3
 * example of docs/model-based-testing.md fail is fixed: requests wait for a
 * resting connection within their own time limit.
 */
const KNOWN_LIBRARY_BUGS: readonly KnownLibraryBug[] = [];


const blocks: CodeBlock[] = docFiles(ROOT).flatMap((file) => extractBlocks(readFileSync(path.join(ROOT, file), 'utf8'), file));

function importPath(target: string): string {
  const relative = path.relative(OUT, target).split(path.sep).join('/');
  return relative.startsWith('.') ? relative : `./${relative}`;
}
const TARGETS: ImportTargets = {
  zcached: importPath(path.join(ROOT, 'src/index.js')),
  zcachedTesting: importPath(path.join(ROOT, 'src/testing/index.js')),
  vitest: importPath(path.join(HERE, 'vitest-shim.js')),
};

/** Kinds of resources that a finished example must not leave behind. */
const WATCHED = new Set(['TCPSocketWrap', 'TCPServerWrap', 'TLSWrap', 'PipeWrap', 'Timeout', 'Immediate']);
function resources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) if (WATCHED.has(kind)) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}
function beyond(baseline: Map<string, number>): string[] {
  return [...resources()]
    .filter(([kind, count]) => count > (baseline.get(kind) ?? 0))
    .map(([kind, count]) => `${kind}: ${count} (${baseline.get(kind) ?? 0} before the block)`);
}
/** Waits (at most {@link SETTLE_MS}) for the resources to come back to `baseline`; returns what is still beyond it. */
async function settled(baseline: Map<string, number>): Promise<string[]> {
  const deadline = Date.now() + SETTLE_MS;
  while (beyond(baseline).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  return beyond(baseline);
}

async function bounded<T>(what: string, ms: number, run: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      run(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether one recorded `console.log` call printed `expected` (see the rule at the top). */
function printed(args: readonly unknown[], expected: string): boolean {
  return format(...args) === expected || (args.length === 1 && inspect(args[0]) === expected);
}

let failedAny = false;
afterAll(() => {
  if (!failedAny) rmSync(OUT, { recursive: true, force: true });
});

describe('finding and preparing examples', () => {
  const targets: ImportTargets = { zcached: '../src/index.js', zcachedTesting: '../src/testing/index.js', vitest: './shim.js' };

  it('takes ts, typescript, js and javascript blocks, and tells fragments by their mark', () => {
    const markdown = [
      '# Doc', //                                      1
      '```ts', //                                       2
      "import { ZCached } from 'zcached';", //          3
      '```', //                                         4
      '<!-- fragment: a signature -->', //              5
      '', //                                            6
      '```typescript', //                               7
      'poolReducer(state, action)', //                  8
      '```', //                                         9
      '```sh', //                                       10
      '```ts inside a shell block is not a fence', //   11
      '```', //                                         12
      '- item', //                                      13
      '  ```js', //                                     14
      '  // fragment', //                               15
      '  client.ping();', //                            16
      '  ```', //                                       17
      '````javascript', //                              18
      '```', //                                         19
      '````', //                                        20
      '```mermaid', //                                  21
      '```', //                                         22
    ].join('\n');
    expect(extractBlocks(markdown, 'x.md').map(({ line, lang, fragment, code }) => ({ line, lang, fragment, code }))).toEqual([
      { line: 2, lang: 'ts', fragment: false, code: "import { ZCached } from 'zcached';" },
      { line: 7, lang: 'typescript', fragment: true, code: 'poolReducer(state, action)' },
      { line: 14, lang: 'js', fragment: true, code: '// fragment\nclient.ping();' },
      { line: 18, lang: 'javascript', fragment: false, code: '```' },
    ]);
    // A fragment's reason goes into its skipped test's title.
    expect(extractBlocks(markdown, 'x.md').map((block) => block.why)).toEqual([undefined, 'a signature', undefined, undefined]);
    expect(extractBlocks('```ts\n// fragment: handling a failure\nx();\n```', 'y.md')[0]?.why).toBe('handling a failure');
  });

  it('points the package imports at the sources, gives 7556 a free port and watches stated output', () => {
    const block: CodeBlock = {
      file: 'x.md',
      line: 10,
      lang: 'ts',
      fragment: false,
      code: [
        "import { ZCached } from 'zcached';",
        "import { startServer } from 'zcached/testing';",
        "import { it } from 'vitest';",
        'const client = new ZCached({ port: 7556 });',
        "console.log(await client.get('a')); // 'x'",
        "console.log('no comment');",
        "it('works', () => {});",
      ].join('\n'),
    };
    const example = prepareExample(block, targets, 40_000);
    expect(example.source.split('\n').slice(0, 5)).toEqual([
      "import { ZCached } from '../src/index.js';",
      "import { startServer } from '../src/testing/index.js';",
      "import { it } from './shim.js';",
      'const client = new ZCached({ port: 40000 });',
      `(globalThis as any).${LOG_GLOBAL}(15, await client.get('a')); // 'x'`,
    ]);
    expect(example).toMatchObject({ needsServer: true, isTestFile: true, testCount: 1 });
    expect(example.expectations).toEqual([{ line: 15, expected: "'x'", text: "console.log(await client.get('a')); // 'x'" }]);
  });

  it('compares stated output with the printed text or with util.inspect of the value', () => {
    expect(printed(['hello'], "'hello'")).toBe(true);
    expect(printed(['hello'], 'hello')).toBe(true);
    expect(printed([undefined], 'undefined')).toBe(true);
    expect(printed([42], '42')).toBe(true);
    expect(printed(['42'], "'42'")).toBe(true);
    expect(printed([42], "'42'")).toBe(false);
    expect(printed([new Map([['a', 1]])], "Map(1) { 'a' => 1 }")).toBe(true);
  });
});

describe('code examples of README.md and docs/*.md', () => {
  it('finds the examples', () => {
    expect(blocks.filter((block) => !block.fragment).length).toBeGreaterThan(0);
  });

  for (const block of blocks) {
    const name = `${block.file}:${block.line}`;
    if (block.fragment) {
      // Skipped with its reason in the title; the skipped-tests reporter prints it (test/skipped-reporter.ts).
      it.skip(`${name}: a fragment${block.why === undefined ? '' : ` (${block.why})`}, shown in the docs and not run`, () => {});
      continue;
    }
    const known = KNOWN_LIBRARY_BUGS.find((bug) => bug.file === block.file && block.code.includes(bug.contains));
    const { testCount } = prepareExample(block, TARGETS);
    // Only a bound on a hang: each program, test and hook has BLOCK_MS of its own.
    const timeout = BLOCK_MS * (Math.max(1, testCount) + (known?.attempts ?? 1) + 1) + SETTLE_MS;

    it(known === undefined ? name : `${name} (shows a known library bug)`, async () => {
      try {
        await runExample(block, name, known);
      } catch (error) {
        failedAny = true;
        throw error;
      }
    }, timeout);
  }
});

async function runExample(block: CodeBlock, name: string, known: KnownLibraryBug | undefined): Promise<void> {
  const server = prepareExample(block, TARGETS).needsServer ? await startServer() : undefined;
  const example = prepareExample(block, TARGETS, server?.port);
  mkdirSync(OUT, { recursive: true });
  const file = path.join(OUT, `${block.file.replace(/\.md$/, '').replace(/[^\w-]+/g, '-')}-${block.line}.ts`);
  writeFileSync(file, `// Generated from ${name} by test/docs/examples.test.ts; do not edit.\n${example.source}`);
  const logs: { line: number; args: unknown[] }[] = [];
  (globalThis as Record<string, unknown>)[LOG_GLOBAL] = (line: number, ...args: unknown[]): void => {
    logs.push({ line, args });
  };
  const baseline = resources();
  let leftOpen: string[] = [];
  // What the example prints without stating it (console.log lines with no `// expected`) is kept out
  // of the test output, where it would be bare figures; it is shown if the block fails.
  const unstated: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]): void => {
    unstated.push(format(...args));
  };
  try {
    let failures: Failure[];
    try {
      failures = await runBlock(name, file, example.isTestFile, known);
    } finally {
      console.log = log;
    }
    leftOpen = await settled(baseline);
    checkFailures(name, path.relative(ROOT, file), failures, known);
    for (const expectation of example.expectations) {
      const calls = logs.filter((log) => log.line === expectation.line);
      expect(calls.length, `${block.file}:${expectation.line} \`${expectation.text}\` never ran`).toBeGreaterThan(0);
      for (const call of calls) {
        expect(
          printed(call.args, expectation.expected),
          `${block.file}:${expectation.line} \`${expectation.text}\` printed ${format(...call.args)} ` +
            `(inspect: ${call.args.map((arg) => inspect(arg)).join(', ')}), not ${expectation.expected}`,
        ).toBe(true);
      }
    }
    if (leftOpen.length > 0) {
      throw new Error(`${name} left open handles: ${leftOpen.join(', ')} (close every client and server it opens)`);
    }
  } catch (error) {
    if (unstated.length > 0) console.log(`${name} failed; what it printed:\n${unstated.join('\n')}`);
    throw error;
  } finally {
    delete (globalThis as Record<string, unknown>)[LOG_GLOBAL];
    // With clients left open, closing their server would set them reconnecting, with timers that
    // come and go under the blocks after this one: leave them connected and idle instead.
    if (leftOpen.length === 0) await server?.close();
  }
}

interface Failure {
  readonly name: string;
  readonly error: unknown;
}

/** Imports the program (and runs the tests it registers); returns what failed. */
async function runBlock(name: string, file: string, isTestFile: boolean, known: KnownLibraryBug | undefined): Promise<Failure[]> {
  resetCollected();
  try {
    await bounded(`${name}`, BLOCK_MS, () => import(file));
  } catch (error) {
    return [{ name: 'the program', error }];
  }
  if (!isTestFile) return [];
  if (collectedTestCount() === 0) return [{ name: 'the program', error: new Error('it imports vitest but registers no test') }];
  const repeat = known?.test === undefined ? undefined : { test: known.test, times: known.attempts ?? 1 };
  const results = await runCollected(BLOCK_MS, repeat);
  return results.filter((result) => result.status === 'failed').map((result) => ({ name: result.name, error: result.error }));
}

/** Throws for the failures, less the one a known library bug explains (which must be there). */
function checkFailures(name: string, generated: string, failures: readonly Failure[], known: KnownLibraryBug | undefined): void {
  let unexplained = failures;
  if (known !== undefined) {
    const explained = failures.filter((failure) => (known.test === undefined || failure.name === known.test) && known.matches(failure.error));
    if (explained.length === 0) {
      throw new Error(
        `${name}: the known library bug no longer shows (${known.cause}); remove its KNOWN_LIBRARY_BUGS entry` +
          (failures.length > 0 ? `; it failed otherwise: ${failures.map((failure) => failure.name).join(', ')}` : ''),
        failures.length > 0 ? { cause: failures[0]!.error } : undefined,
      );
    }
    unexplained = failures.filter((failure) => !explained.includes(failure));
  }
  if (unexplained.length === 0) return;
  const summary = unexplained.map((failure) => `  - ${failure.name}: ${firstLine(failure.error)}`).join('\n');
  const first = unexplained[0]!.error;
  const error = first instanceof Error ? first : new Error(String(first));
  error.message = `${name} (generated as ${generated}) failed:\n${summary}\n\n${error.message}`;
  throw error;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
