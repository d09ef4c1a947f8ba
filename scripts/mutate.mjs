#!/usr/bin/env node
/**
 * `npm run mutate`: StrykerJS on the client's core (stryker.config.mjs).
 *
 *   npm run mutate                                   # every core module (the full run)
 *   npm run mutate -- src/protocol/decoder.ts        # the modules a change touches
 *   npm run mutate -- src/protocol/encoder.ts src/protocol/wire-encoder.ts
 *   npm run mutate -- src/connection/requests.ts:120-180    # a line range
 *   npm run mutate -- src/pool/reducer.ts --concurrency 2 --incremental
 *
 * Arguments that do not start with `-` are files (or globs, or `file:lines`)
 * to mutate; they become Stryker's `--mutate`. The options of `stryker run`
 * go to it as they are (`--concurrency N`, `--incremental`, `--testFiles`,
 * `--logLevel debug`, ...); an unknown flag is refused (exit 2). The reports land in reports/mutation/NAME.html
 * and NAME.json, NAME taken from the files (`core` for the full run), so the
 * report of one module's run is kept when another module is run.
 *
 * The tests a mutant may run are the unit tests of its own layer: a module
 * of src/protocol/ is tested by test/protocol/, src/connection/ by
 * test/connection/, src/pool/ by test/pool/ (each layer's tests must kill
 * its mutants; a connection test that happens to decode a reply does not
 * count for the decoder). Without files, every core unit test may run. The
 * choice reaches stryker.vitest.config.mjs as ZCACHED_MUTATE_TESTS (Stryker's
 * own `--testFiles` still works, but then reports static mutants, such as
 * module-level constants, survived: stryker-js issue #6144).
 *
 * After Stryker, every survivor is checked again by hand
 * (scripts/recheck-survivors.mjs: the mutant applied to a copy of the
 * project, its covering tests run by plain vitest), because the vitest
 * runner sometimes records a killed mutant as survived; `--no-recheck`
 * skips that. Exits with Stryker's exit code, then the recheck's.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';

/**
 * The options of `stryker run` (StrykerJS 9.6) this script passes on, for
 * node:util parseArgs in strict mode: any other flag is refused (exit 2),
 * so that a typo does not silently reach Stryker or become a file to mutate.
 */
const STRYKER_SHORT = { files: 'f', mutate: 'm', testFiles: 't', buildCommand: 'b', concurrency: 'c' };
const STRYKER_OPTIONS = Object.fromEntries([
  ...Object.entries(STRYKER_SHORT).map(([name, short]) => [name, { type: 'string', short }]),
  ...[
    'ignorePatterns', 'incrementalFile', 'checkers', 'checkerNodeArgs', 'coverageAnalysis', 'testRunner', 'testRunnerNodeArgs',
    'reporters', 'plugins', 'appendPlugins', 'timeoutMS', 'timeoutFactor', 'dryRunTimeoutMinutes', 'maxConcurrentTestRunners',
    'maxTestRunnerReuse', 'logLevel', 'fileLogLevel', 'allowConsoleColors', 'dashboard.project', 'dashboard.version',
    'dashboard.module', 'dashboard.baseUrl', 'dashboard.reportType', 'tempDirName', 'cleanTempDir',
  ].map((name) => [name, { type: 'string' }]),
  ...['ignoreStatic', 'incremental', 'allowEmpty', 'force', 'dryRunOnly', 'disableBail', 'inPlace'].map((name) => [name, { type: 'boolean' }]),
]);

const usage =
  'usage: npm run mutate -- [FILE[:LINES]...] [--no-recheck] [stryker run options]\n' +
  '  no FILE: every core module listed in stryker.config.mjs\n' +
  '  --no-recheck: skip checking the survivors again by hand\n' +
  '  stryker run options passed on: ' + Object.keys(STRYKER_OPTIONS).map((name) => `--${name}`).join(' ') + '\n' +
  '  reports: reports/mutation/<name>.html and .json';

const options = {
  ...STRYKER_OPTIONS,
  'no-recheck': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};
let tokens;
try {
  ({ tokens } = parseArgs({ args: process.argv.slice(2), options, strict: true, allowPositionals: true, tokens: true }));
} catch (error) {
  console.error(`mutate: ${error.message}\n${usage}`);
  process.exit(2);
}

const files = [];
const passThrough = [];
let recheck = true;
for (const token of tokens) {
  if (token.kind === 'positional') files.push(token.value);
  else if (token.kind === 'option' && token.name === 'help') {
    console.log(usage);
    process.exit(0);
  } else if (token.kind === 'option' && token.name === 'no-recheck') recheck = false;
  else if (token.kind === 'option') {
    // Passed on to `stryker run` in the order given, each value as its own argument.
    passThrough.push(token.rawName);
    if (token.value !== undefined) passThrough.push(token.value);
  }
}

// The unit tests of the layers the mutated files belong to.
const layers = new Set();
for (const file of files) {
  const layer = /^(?:\.\/)?src\/(protocol|connection|pool)\//.exec(file)?.[1];
  if (layer === undefined) {
    layers.clear();
    break;
  }
  layers.add(layer);
}
const tests = files.length > 0 && layers.size > 0 ? [...layers].map((layer) => `test/${layer}/**/*.test.ts`).join(',') : undefined;

const slug = (file) =>
  file
    .replace(/^\.?\//, '')
    .replace(/^src\//, '')
    .replace(/\.[cm]?[jt]s(?=$|:)/, '')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
const name = files.length === 0 ? 'core' : files.map(slug).join('+').slice(0, 120);

const require = createRequire(import.meta.url);
const strykerBin = path.join(path.dirname(require.resolve('@stryker-mutator/core/package.json')), 'bin', 'stryker.js');
const strykerArgs = ['run', 'stryker.config.mjs', ...(files.length > 0 ? ['--mutate', files.join(',')] : []), ...passThrough];

console.log(`stryker ${strykerArgs.join(' ')}\ntests: ${tests ?? 'every core unit test'}\nreport: reports/mutation/${name}.html`);
const env = { ...process.env, ZCACHED_MUTATE_REPORT: name };
if (tests !== undefined) env.ZCACHED_MUTATE_TESTS = tests;
else delete env.ZCACHED_MUTATE_TESTS;
const child = spawn(process.execPath, [strykerBin, ...strykerArgs], { stdio: 'inherit', env });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => {
  if (code !== 0 || signal !== null || !recheck || passThrough.includes('--dryRunOnly')) process.exit(code ?? 1);
  // Survivors by hand: the vitest runner sometimes records a killed mutant as survived.
  const again = spawn(process.execPath, [path.join(path.dirname(new URL(import.meta.url).pathname), 'recheck-survivors.mjs'), `reports/mutation/${name}.json`], {
    stdio: 'inherit',
  });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => again.kill(signal));
  again.on('exit', (recheckCode) => process.exit(recheckCode ?? 1));
});
