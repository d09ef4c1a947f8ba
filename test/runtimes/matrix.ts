/**
 * The runtime matrix (`npm run test:runtimes`; not part of `npm test`): the
 * packed package, installed in a consumer folder, used from every runtime
 * that scripts/install-runtimes.mjs installed and listed in
 * `.runtimes/runtimes.json` (Node.js 20, Node.js 24, Bun, Deno).
 *
 * Once, in `beforeAll`: the package is built and packed (test/packaging/pack.ts,
 * as the packaging test does), unpacked into a temporary consumer folder
 * (`"type": "module"`) with its dependencies and the packages the examples
 * import linked from this project's node_modules; smoke.mjs and example.mjs
 * are copied next to it; and every runnable code example of README.md and
 * docs/*.md (the blocks test/docs/examples.test.ts runs; not the vitest test
 * files of docs/model-based-testing.md, which need vitest) is rewritten by
 * test/docs/extract.ts, its imports left on the installed 'zcached', and
 * turned into JavaScript by TypeScript's `transpileModule` (types stripped,
 * `await using` lowered: Node 20 cannot parse it).
 *
 * Then, for each runtime, one test per program, each a child process of that
 * runtime in the consumer folder:
 * - smoke.mjs: the end-to-end smoke test (its embedded servers run in that
 *   runtime too);
 * - each example, through example.mjs, which checks its stated output. An
 *   example that names port 7556 gets an embedded server started here, in
 *   Node.js, on a free port (the client side is what runs on the runtime;
 *   smoke.mjs covers the server on each runtime).
 * A program passes when it exits with 0 on its own within its bound (a
 * socket or timer left open keeps it alive until the bound kills it). On a
 * failure the test shows everything it printed.
 *
 * Nothing here measures time: the bounds only turn a hang into a failure.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/testing/index.js';
import { docFiles, extractBlocks, prepareExample, type CodeBlock, type ImportTargets } from '../docs/extract.js';
import { buildAndPack, installPacked, ROOT } from '../packaging/pack.js';
import { describeRun, run, type RunResult } from '../packaging/run.js';

/** What scripts/install-runtimes.mjs wrote for one runtime. */
interface Runtime {
  readonly id: string;
  readonly label: string;
  readonly version: string;
  /** The runtime and its arguments; the script and its arguments follow. */
  readonly command: readonly string[];
}

const RUNTIMES_FILE = path.join(ROOT, '.runtimes/runtimes.json');
if (!existsSync(RUNTIMES_FILE)) {
  throw new Error(`${path.relative(ROOT, RUNTIMES_FILE)} is missing: run \`npm run test:runtimes\` (it installs the runtimes first)`);
}
const RUNTIMES = JSON.parse(readFileSync(RUNTIMES_FILE, 'utf8')) as readonly Runtime[];

const CHILD_MS = 180_000;
const SMOKE_MS = 60_000;
const EXAMPLE_MS = 30_000;

/** Packages the examples import besides 'zcached' (linked into the consumer folder). */
const EXAMPLE_PACKAGES = ['cache-manager', 'fp-ts', '@opentelemetry/api', '@opentelemetry/sdk-trace-base'];

const TARGETS: ImportTargets = {
  zcached: 'zcached',
  zcachedTesting: 'zcached/testing',
  zcachedKeyv: 'zcached/keyv',
  vitest: 'vitest',
};

/** One doc example, as the matrix runs it. */
interface Example {
  /** `<file>:<line of the fence>`, as test/docs/examples.test.ts names it. */
  readonly name: string;
  readonly block: CodeBlock;
  readonly needsServer: boolean;
  /** The JavaScript file and its expectations, once written (beforeAll). */
  readonly file: string;
  readonly expectations: string;
}


const tmp = mkdtempSync(path.join(os.tmpdir(), 'zcached-runtimes-'));
const CONSUMER = path.join(tmp, 'consumer');

const EXAMPLES: readonly Example[] = docFiles(ROOT)
  .flatMap((file) => extractBlocks(readFileSync(path.join(ROOT, file), 'utf8'), file))
  .filter((block) => !block.fragment && !prepareExample(block, TARGETS).isTestFile)
  .map((block) => {
    const base = `${block.file.replace(/\.md$/, '').replace(/[^\w-]+/g, '-')}-${block.line}`;
    return {
      name: `${block.file}:${block.line}`,
      block,
      needsServer: prepareExample(block, TARGETS).needsServer,
      file: path.join(CONSUMER, 'examples', `${base}.mjs`),
      expectations: path.join(CONSUMER, 'examples', `${base}.json`),
    };
  });

/** The JavaScript of an example, its port 7556 replaced by `port`. */
function transpile(example: Example, port: number | undefined): { source: string; expectations: string } {
  const prepared = prepareExample(example.block, TARGETS, port);
  const { outputText, diagnostics } = ts.transpileModule(prepared.source, {
    fileName: `${path.basename(example.file, '.mjs')}.ts`,
    reportDiagnostics: true,
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, sourceMap: false },
  });
  if (diagnostics !== undefined && diagnostics.length > 0) {
    throw new Error(`${example.name}: ${ts.flattenDiagnosticMessageText(diagnostics[0]!.messageText, '\n')}`);
  }
  const header = `// Generated from ${example.name} by test/runtimes/matrix.ts; do not edit.\n`;
  return { source: header + outputText, expectations: JSON.stringify(prepared.expectations) };
}

let ready = false;

beforeAll(async () => {
  const packed = await buildAndPack(tmp, CHILD_MS);
  mkdirSync(path.join(CONSUMER, 'examples'), { recursive: true });
  await installPacked(packed, CONSUMER, EXAMPLE_PACKAGES, CHILD_MS);
  writeFileSync(path.join(CONSUMER, 'package.json'), `${JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2)}\n`);
  for (const file of ['smoke.mjs', 'example.mjs']) copyFileSync(path.join(ROOT, 'test/runtimes', file), path.join(CONSUMER, file));
  ready = true;
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** Runs `script args` with `runtime` in the consumer folder; fails with everything it printed unless it exited with 0. */
async function runOn(runtime: Runtime, script: readonly string[], timeoutMs: number): Promise<RunResult> {
  if (!ready) throw new Error('the matrix set-up did not finish (see the beforeAll error)');
  const [file, ...args] = runtime.command;
  const result = await run(file!, [...args, ...script], CONSUMER, timeoutMs);
  const ending = result.code === null ? ` (no exit within ${timeoutMs} ms: something was left open, or it hung)` : '';
  expect(result.code, `${runtime.label} ${runtime.version}${ending}: ${describeRun(result)}`).toBe(0);
  return result;
}

describe.each(RUNTIMES.map((runtime) => [`${runtime.label} (${runtime.version})`, runtime] as const))('%s', (_, runtime) => {
  it.concurrent('smoke.mjs: connect, every command, reconnects, a fleet, Keyv', async () => {
    const result = await runOn(runtime, ['smoke.mjs'], SMOKE_MS);
    const summary = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { runtime: string; steps: number };
    expect(summary.runtime).toMatch(runtime.id.startsWith('node') ? /^node / : new RegExp(`^${runtime.id} `));
    expect(summary.steps).toBeGreaterThanOrEqual(14);
  }, SMOKE_MS + 10_000);

  it.concurrent.each(EXAMPLES.map((example) => [example.name, example] as const))('%s', async (_name, example) => {
    const server = example.needsServer ? await startServer() : undefined;
    try {
      // One file per runtime: the port differs.
      const file = example.file.replace(/\.mjs$/, `.${runtime.id}.mjs`);
      const expectations = example.expectations.replace(/\.json$/, `.${runtime.id}.json`);
      const { source, expectations: stated } = transpile(example, server?.port);
      writeFileSync(file, source);
      writeFileSync(expectations, stated);
      await runOn(runtime, ['example.mjs', path.relative(CONSUMER, file), path.relative(CONSUMER, expectations)], EXAMPLE_MS);
    } finally {
      await server?.close();
    }
  }, EXAMPLE_MS + 10_000);
});
