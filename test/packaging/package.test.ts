/**
 * The package as users get it: built with `npm run build`'s script, packed
 * with `npm pack`, unpacked once into a temporary `node_modules/zcached`
 * (its runtime dependencies and the optional `keyv` peer linked from this
 * project's node_modules: no registry install), then used from six consumer
 * projects in sub-folders (see consumers.ts): ES modules, CommonJS, and
 * TypeScript on `module nodenext` (ESM and CJS), `moduleResolution bundler`
 * and `node10` without esModuleInterop. The TypeScript consumers are checked
 * by typecheck.mjs with the project's TypeScript, the shipped `.d.ts`
 * included (as with `skipLibCheck: false`). publint and `attw` (Are the Types
 * Wrong) lint the same tarball.
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
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumers, type Consumer } from './consumers.js';
import { buildAndPack, installPacked, ROOT, WITH_KEYV } from './pack.js';
import { describeRun, run, type RunResult } from './run.js';

const BIN = path.join(ROOT, 'node_modules/.bin');
const TYPECHECK = path.join(ROOT, 'test/packaging/typecheck.mjs');
const NODE = process.execPath;

/** The bound of the whole preparation, and of each child process in it. */
const SETUP_MS = 300_000;
const CHILD_MS = 180_000;

const CONSUMERS = consumers(WITH_KEYV);
const ENTRY_POINTS = WITH_KEYV ? ['.', './testing', './keyv'] : ['.', './testing'];

/** What typecheck.mjs reports for one project. */
interface TypeCheck {
  readonly diagnostics: string;
  readonly checked: readonly string[];
}

interface Prepared {
  /** package.json and LICENSE as installed from the tarball. */
  readonly manifest: Record<string, unknown>;
  readonly licence: string;
  /** Paths inside the tarball. */
  readonly packed: readonly string[];
  readonly attw: RunResult;
  readonly publint: RunResult;
  /** The run of typecheck.mjs over every TypeScript consumer. */
  readonly typecheck: RunResult;
  /** Per TypeScript consumer: what typecheck.mjs found (errors, and the package's files it checked). */
  readonly checks: Readonly<Record<string, TypeCheck>>;
  /** Per consumer: its program's run (none for a TypeScript consumer that did not compile). */
  readonly programs: ReadonlyMap<string, RunResult | undefined>;
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

  // 3. The linters, while the consumers are compiled (all at once, by one process) and run.
  const lint = Promise.all([
    run(NODE, [path.join(BIN, 'attw'), tarball, '--format', 'json', '--no-definitely-typed'], root, CHILD_MS),
    run(NODE, [path.join(BIN, 'publint'), 'run', tarball, '--strict'], root, CHILD_MS),
  ]);
  try {
    const installedManifest = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as Record<string, unknown>;
    const licence = readFileSync(path.join(installed, 'LICENSE'), 'utf8');
    return { manifest: installedManifest, licence, packed: packed.files, ...(await useConsumers(consumerRoot, lint)) };
  } finally {
    await lint.catch(() => undefined); // no child left running, whatever failed
  }
}

/** Writes, type-checks and runs the consumers; then waits for the linters. */
async function useConsumers(
  consumerRoot: string,
  lint: Promise<[RunResult, RunResult]>,
): Promise<Omit<Prepared, 'manifest' | 'licence' | 'packed'>> {
  for (const consumer of CONSUMERS) writeConsumer(consumerRoot, consumer);
  const typed = CONSUMERS.filter((consumer) => consumer.typescript).map((consumer) => consumer.name);
  const typecheck = await run(NODE, [TYPECHECK, ...typed], consumerRoot, CHILD_MS);
  let checks: Record<string, TypeCheck>;
  try {
    checks = JSON.parse(typecheck.stdout) as Record<string, TypeCheck>;
  } catch (error) {
    throw new Error(`typecheck.mjs printed no report: ${describeRun(typecheck)}`, { cause: error });
  }
  const programs = await Promise.all(
    CONSUMERS.map((consumer) =>
      consumer.typescript && checks[consumer.name]?.diagnostics !== ''
        ? undefined
        : run(NODE, [consumer.main], path.join(consumerRoot, consumer.name), CHILD_MS),
    ),
  );
  const [attw, publint] = await lint;
  return {
    attw,
    publint,
    typecheck,
    checks,
    programs: new Map(CONSUMERS.map((consumer, i) => [consumer.name, programs[i]])),
  };
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

  it.each(CONSUMERS.filter((consumer) => consumer.typescript).map((consumer) => [consumer.name, consumer] as const))(
    '%s: type-checks, the shipped .d.ts included, against the types of its own format',
    (name, consumer) => {
      const { checks, typecheck } = ready();
      const check = checks[name];
      expect(check, describeRun(typecheck)).toBeDefined();
      expect(check!.diagnostics).toBe('');
      const build = consumer.format === 'cjs' ? 'dist/cjs/' : 'dist/';
      const entries = ENTRY_POINTS.map((entry) => `${build}${entry === '.' ? '' : `${entry.slice(2)}/`}index.d.ts`);
      expect(check!.checked).toEqual(expect.arrayContaining(entries));
      expect(check!.checked.filter((file) => !file.startsWith(build) || (build === 'dist/' && file.startsWith('dist/cjs/')))).toEqual([]);
    },
  );

  it.each(CONSUMERS.map((consumer) => [consumer.name, consumer] as const))(
    '%s: runs a SET and a GET (ZCached, then KeyvZCached) against the embedded server, from its own build, and exits',
    (name, consumer) => {
      const program = ready().programs.get(name);
      expect(program, 'not run: it did not compile').toBeDefined();
      expect(program!.code, describeRun(program!)).toBe(0);
      const lines = program!.stdout.trim().split('\n');
      expect(lines, describeRun(program!)).toHaveLength(1);
      const printed = JSON.parse(lines[0]!) as { value: unknown; keyv: unknown; resolved: string };
      expect(printed.value).toBe(name);
      expect(printed.keyv).toBe(WITH_KEYV ? `${name}:keyv` : null);
      const main = consumer.format === 'cjs' ? 'dist/cjs/index.js' : 'dist/index.js';
      expect(printed.resolved.replaceAll('\\', '/')).toMatch(new RegExp(`/node_modules/zcached/${main.replaceAll('.', '\\.')}$`));
    },
  );

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
