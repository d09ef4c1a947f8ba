/**
 * The package as users get it: built with `npm run build`'s script, packed
 * with `npm pack`, unpacked once into a temporary `node_modules/zcached`
 * (its runtime dependencies and the optional `keyv` peer linked from this
 * project's node_modules: no registry install), then used from seven consumer
 * projects in sub-folders (see consumers.ts): ES modules, CommonJS, and
 * TypeScript on `module nodenext` (ESM and CJS), `moduleResolution bundler`,
 * `node10` without esModuleInterop, and `module commonjs` with `bundler`.
 * Each TypeScript consumer is checked and compiled by every TypeScript that
 * supports its config, the shipped `.d.ts` included (as with `skipLibCheck:
 * false`): TypeScript 5.9 through typecheck.mjs (all but the last), and
 * TypeScript 7 with its own `tsc` (all but node10); each build then runs.
 * publint and `attw` (Are the Types Wrong) lint the same tarball. The
 * package's `bin` is linked into `node_modules/.bin` as npm links it on
 * install, and run as a user runs it: `npm exec zcached -- --help` (what
 * `npx zcached` does) and a one-shot `dbsize` against an embedded server.
 *
 * The build goes to a temporary directory, never to dist/ (other work may be
 * running from there). Everything heavy happens once, in `beforeAll`; the
 * tests then read what it recorded. The bounds are generous on purpose
 * (2 shared cores, other test files in parallel): they only turn a hang into
 * a failure, nothing here measures time.
 *
 * While src/keyv/index.ts does not exist, the packed package.json leaves out
 * the 'zcached/keyv' entry and the consumers do not import it.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/testing/index.js';
import { consumers, mainOf, outDirOf, type Compiler, type Consumer } from './consumers.js';
import { buildAndPack, installPacked, ROOT, WITH_KEYV } from './pack.js';
import { describeRun, run, type RunResult } from './run.js';

const BIN = path.join(ROOT, 'node_modules/.bin');
const TYPECHECK = path.join(ROOT, 'test/packaging/typecheck.mjs');
/** TypeScript 7's command line (the `typescript7` alias of typescript@7). */
const TSC7 = path.join(ROOT, 'node_modules/typescript7/bin/tsc');
const NODE = process.execPath;

/** The bound of the whole preparation, and of each child process in it. */
const SETUP_MS = 300_000;
const CHILD_MS = 180_000;

const CONSUMERS = consumers(WITH_KEYV);

/** One program to run: a plain JavaScript consumer, or a TypeScript consumer as one compiler built it. */
interface Build {
  /** The test's name: the consumer's, with `(TypeScript 7 build)` after a TypeScript 7 build. */
  readonly key: string;
  readonly consumer: Consumer;
  readonly compiler: Compiler | undefined;
}
const BUILDS: readonly Build[] = CONSUMERS.flatMap((consumer): Build[] =>
  consumer.compilers.length === 0
    ? [{ key: consumer.name, consumer, compiler: undefined }]
    : consumer.compilers.map((compiler) => ({
        key: compiler === '5.9' ? consumer.name : `${consumer.name} (TypeScript ${compiler} build)`,
        consumer,
        compiler,
      })),
);
const ENTRY_POINTS = WITH_KEYV ? ['.', './testing', './keyv'] : ['.', './testing'];

/** What typecheck.mjs (TypeScript 5.9), or TypeScript 7's `tsc --listFiles`, reports for one project. */
interface TypeCheck {
  readonly diagnostics: string;
  readonly checked: readonly string[];
}

const PACKAGE_DIR = `${path.sep}node_modules${path.sep}zcached${path.sep}`;

/** TypeScript 7's `tsc -p <dir> --listFiles` run as a {@link TypeCheck}: its errors, and the 'zcached' files in the program. */
function typeCheck7(result: RunResult): TypeCheck {
  const lines = result.stdout.split('\n').map((line) => line.trim());
  const errors = lines.filter((line) => /\berror TS\d+:/.test(line));
  const diagnostics = result.code === 0 && errors.length === 0 ? '' : [...errors, describeRun(result)].join('\n');
  const checked = lines
    .filter((line) => path.resolve(line).includes(PACKAGE_DIR))
    .map((line) => path.resolve(line).split(PACKAGE_DIR)[1]!.split(path.sep).join('/'));
  return { diagnostics, checked };
}

interface Prepared {
  /** package.json and LICENSE as installed from the tarball. */
  readonly manifest: Record<string, unknown>;
  readonly licence: string;
  /** Paths inside the tarball. */
  readonly packed: readonly string[];
  readonly attw: RunResult;
  readonly publint: RunResult;
  /** The run of typecheck.mjs (TypeScript 5.9) over every TypeScript consumer. */
  readonly typecheck: RunResult;
  /** The version typecheck.mjs reported, and TypeScript 7's `tsc -v`. */
  readonly versions: { readonly typescript: string; readonly typescript7: RunResult };
  /** Per compiler, per TypeScript consumer it compiles: what it found (errors, and the package's files it checked). */
  readonly checks: Readonly<Record<Compiler, Readonly<Record<string, TypeCheck>>>>;
  /** Per build (see {@link BUILDS}): its program's run (none for a TypeScript consumer that did not compile). */
  readonly programs: ReadonlyMap<string, RunResult | undefined>;
  /** The `zcached` command, linked into node_modules/.bin as npm links a package's `bin`, and run with `npm exec`. */
  readonly cli: { readonly shebang: string; readonly help: RunResult; readonly dbsize: RunResult };
}

let tmp: string | undefined;
let prepared: Prepared | undefined;

/** Writes one consumer's files into `root/<name>/`. */
function writeConsumer(root: string, consumer: Consumer): void {
  for (const [file, text] of Object.entries(consumer.files)) {
    const target = path.join(root, consumer.name, file);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, text);
  }
}

async function prepare(root: string): Promise<Prepared> {
  // 1. The build and one tarball (pack.ts).
  const packed = await buildAndPack(root, CHILD_MS);
  const tarball = packed.tarball;

  // 2. Unpacked once, where every consumer folder resolves it.
  const consumerRoot = path.join(root, 'consumers');
  mkdirSync(consumerRoot);
  const installed = await installPacked(packed, consumerRoot, ['@types/node'], CHILD_MS);

  // 2b. The package's bin, linked as npm does on install (node_modules/.bin/<name>, the target made executable).
  const nodeModules = path.join(consumerRoot, 'node_modules');
  const bins = (JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as { bin?: Record<string, string> }).bin ?? {};
  for (const [name, file] of Object.entries(bins)) {
    mkdirSync(path.join(nodeModules, '.bin'), { recursive: true });
    symlinkSync(path.join('..', 'zcached', file), path.join(nodeModules, '.bin', name));
    chmodSync(path.join(installed, file), 0o755);
  }

  // 3. The linters, while the consumers are compiled (all at once, by one process) and run.
  const lint = Promise.all([
    run(NODE, [path.join(BIN, 'attw'), tarball, '--format', 'json', '--no-definitely-typed'], root, CHILD_MS),
    run(NODE, [path.join(BIN, 'publint'), 'run', tarball, '--strict'], root, CHILD_MS),
  ]);
  try {
    const installedManifest = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as Record<string, unknown>;
    const licence = readFileSync(path.join(installed, 'LICENSE'), 'utf8');
    const [consumed, cli] = await Promise.all([useConsumers(consumerRoot, lint), useCli(consumerRoot, path.join(installed, bins['zcached'] ?? 'missing'))]);
    return { manifest: installedManifest, licence, packed: packed.files, ...consumed, cli };
  } finally {
    await lint.catch(() => undefined); // no child left running, whatever failed
  }
}

/** Writes, type-checks and runs the consumers; then waits for the linters. */
async function useConsumers(
  consumerRoot: string,
  lint: Promise<[RunResult, RunResult]>,
): Promise<Omit<Prepared, 'manifest' | 'licence' | 'packed' | 'cli'>> {
  for (const consumer of CONSUMERS) writeConsumer(consumerRoot, consumer);
  const typed = CONSUMERS.filter((consumer) => consumer.compilers.includes('5.9')).map((consumer) => consumer.name);
  const typed7 = CONSUMERS.filter((consumer) => consumer.compilers.includes('7'));
  // TypeScript 5.9 (one process for all) and TypeScript 7 (one tsc per project) at once.
  const [typecheck, typescript7, ...runs7] = await Promise.all([
    run(NODE, [TYPECHECK, ...typed], consumerRoot, CHILD_MS),
    run(NODE, [TSC7, '-v'], consumerRoot, CHILD_MS),
    ...typed7.map((consumer) =>
      run(
        NODE,
        [TSC7, '-p', consumer.name, '--outDir', path.join(consumer.name, outDirOf('7')), '--listFiles', '--pretty', 'false'],
        consumerRoot,
        CHILD_MS,
      ),
    ),
  ]);
  let report: { typescript: string; projects: Record<string, TypeCheck> };
  try {
    report = JSON.parse(typecheck.stdout) as typeof report;
  } catch (error) {
    throw new Error(`typecheck.mjs printed no report: ${describeRun(typecheck)}`, { cause: error });
  }
  const checks: Record<Compiler, Record<string, TypeCheck>> = {
    '5.9': report.projects,
    '7': Object.fromEntries(typed7.map((consumer, i) => [consumer.name, typeCheck7(runs7[i]!)])),
  };
  const programs = await Promise.all(
    BUILDS.map(({ consumer, compiler }) =>
      compiler !== undefined && checks[compiler][consumer.name]?.diagnostics !== ''
        ? undefined
        : run(NODE, [mainOf(consumer, compiler)], path.join(consumerRoot, consumer.name), CHILD_MS),
    ),
  );
  const [attw, publint] = await lint;
  return {
    attw,
    publint,
    typecheck,
    versions: { typescript: report.typescript, typescript7 },
    checks,
    programs: new Map(BUILDS.map((build, i) => [build.key, programs[i]])),
  };
}

/** `npx zcached --help`, and a one-shot `dbsize` against an embedded server, from the consumers' folder (npm exec finds node_modules/.bin). */
async function useCli(consumerRoot: string, bin: string): Promise<Prepared['cli']> {
  const shebang = existsSync(bin) ? (readFileSync(bin, 'utf8').split('\n')[0] ?? '') : '';
  const npx = (...args: string[]): Promise<RunResult> => run('npm', ['exec', '--offline', '--', 'zcached', ...args], consumerRoot, CHILD_MS);
  const help = await npx('--help');
  const server = await startServer();
  try {
    return { shebang, help, dbsize: await npx(`zcached://127.0.0.1:${server.port}`, 'dbsize') };
  } finally {
    await server.close();
  }
}

function ready(): Prepared {
  if (prepared === undefined) throw new Error('the packaging set-up did not finish (see the beforeAll error)');
  return prepared;
}

describe('the published package', { timeout: 30_000 }, () => {
  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'zcached-pack-'));
    prepared = await prepare(tmp);
  }, SETUP_MS);

  afterAll(() => {
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  it('packs the ES and CommonJS builds, their types, README and LICENSE; no demo, no source maps, no sources', () => {
    const packed = ready().packed;
    for (const entry of ENTRY_POINTS) {
      const sub = entry === '.' ? '' : `${entry.slice(2)}/`;
      for (const file of [`dist/${sub}index.js`, `dist/${sub}index.d.ts`, `dist/cjs/${sub}index.js`, `dist/cjs/${sub}index.d.ts`]) {
        expect(packed, file).toContain(file);
      }
    }
    expect(packed).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/cjs/package.json']));
    const unwanted = (file: string): boolean =>
      /(^|\/)demo(\/|\.)/.test(file) || file.endsWith('.map') || (file.endsWith('.ts') && !file.endsWith('.d.ts'));
    expect(packed.filter(unwanted)).toEqual([]);
  });

  it('says where it comes from and under which licence', () => {
    const { manifest: pkg, licence } = ready();
    expect(pkg).toMatchObject({
      license: 'MIT',
      repository: { type: 'git', url: expect.stringMatching(/^git\+https:\/\/github\.com\//) },
      homepage: expect.stringMatching(/^https:\/\//),
      bugs: { url: expect.stringMatching(/^https:\/\//) },
      peerDependenciesMeta: { keyv: { optional: true } },
    });
    expect(licence).toMatch(/^MIT License/);
    expect(licence).toContain('Copyright (c) 2026 the zcached TypeScript client authors');
  });

  it('type-checks with TypeScript 5.9 (typecheck.mjs) and TypeScript 7 (tsc)', () => {
    const { versions } = ready();
    expect(versions.typescript).toMatch(/^5\.9\./);
    expect(versions.typescript7.stdout.trim(), describeRun(versions.typescript7)).toMatch(/^Version 7\./);
  });

  const checked = (['5.9', '7'] as const).flatMap((compiler) =>
    CONSUMERS.filter((consumer) => consumer.compilers.includes(compiler)).map((consumer) => [consumer.name, compiler, consumer] as const),
  );
  it.each(checked)(
    '%s: type-checks with TypeScript %s, the shipped .d.ts included, against the types of its own format',
    (name, compiler, consumer) => {
      const { checks, typecheck } = ready();
      const check = checks[compiler][name];
      expect(check, compiler === '5.9' ? describeRun(typecheck) : `no TypeScript ${compiler} check of ${name}`).toBeDefined();
      expect(check!.diagnostics).toBe('');
      const build = consumer.format === 'cjs' ? 'dist/cjs/' : 'dist/';
      const entries = ENTRY_POINTS.map((entry) => `${build}${entry === '.' ? '' : `${entry.slice(2)}/`}index.d.ts`);
      expect(check!.checked).toEqual(expect.arrayContaining(entries));
      expect(check!.checked.filter((file) => !file.startsWith(build) || (build === 'dist/' && file.startsWith('dist/cjs/')))).toEqual([]);
    },
  );

  it.each(BUILDS.map((build) => [build.key, build.consumer] as const))(
    '%s: runs a SET and a GET (ZCached, then KeyvZCached) against the embedded server, from its own build, and exits',
    (key, consumer) => {
      const program = ready().programs.get(key);
      expect(program, 'not run: it did not compile').toBeDefined();
      expect(program!.code, describeRun(program!)).toBe(0);
      const lines = program!.stdout.trim().split('\n');
      expect(lines, describeRun(program!)).toHaveLength(1);
      const printed = JSON.parse(lines[0]!) as { value: unknown; keyv: unknown; resolved: string };
      expect(printed.value).toBe(consumer.name);
      expect(printed.keyv).toBe(WITH_KEYV ? `${consumer.name}:keyv` : null);
      const main = consumer.format === 'cjs' ? 'dist/cjs/index.js' : 'dist/index.js';
      expect(printed.resolved.replaceAll('\\', '/')).toMatch(new RegExp(`/node_modules/zcached/${main.replaceAll('.', '\\.')}$`));
    },
  );

  it('ships the zcached command: npx zcached --help, and a one-shot dbsize against the embedded server', () => {
    const { manifest: pkg, packed, cli } = ready();
    expect(pkg['bin']).toEqual({ zcached: './dist/cli/main.js' });
    expect(packed).toContain('dist/cli/main.js');
    expect(cli.shebang).toBe('#!/usr/bin/env node');
    expect(cli.help.code, describeRun(cli.help)).toBe(0);
    expect(cli.help.stdout).toMatch(/^usage: zcached /);
    expect(cli.dbsize.code, describeRun(cli.dbsize)).toBe(0);
    expect(cli.dbsize.stdout).toBe('(integer) 0\n');
  });

  it('attw finds no problem under node10, node16 (CJS and ESM) and bundler', () => {
    const { attw } = ready();
    let report: { analysis: { entrypoints: Record<string, { resolutions: Record<string, unknown> }> }; problems: unknown };
    try {
      report = JSON.parse(attw.stdout) as typeof report;
    } catch {
      throw new Error(`attw printed no JSON report: ${describeRun(attw)}`);
    }
    expect(Object.keys(report.analysis.entrypoints).filter((entry) => entry !== './package.json').sort()).toEqual(
      [...ENTRY_POINTS].sort(),
    );
    for (const [entry, { resolutions }] of Object.entries(report.analysis.entrypoints)) {
      expect(Object.keys(resolutions).sort(), entry).toEqual(['bundler', 'node10', 'node16-cjs', 'node16-esm']);
    }
    // `problems` groups the problems by kind (an object of arrays); an empty group counts as none.
    const problems = Array.isArray(report.problems) ? report.problems : Object.values(report.problems as object).flat();
    expect(problems).toEqual([]);
    expect(attw.code, attw.stderr).toBe(0);
  });

  it('publint (strict) reports nothing, not even a suggestion', () => {
    const { publint } = ready();
    expect(publint.code, describeRun(publint)).toBe(0);
    expect(publint.stdout, describeRun(publint)).not.toMatch(/Errors:|Warnings:|Suggestions:/);
    expect(publint.stdout).toMatch(/All good/);
  });
});
