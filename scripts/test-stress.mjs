#!/usr/bin/env node
/**
 * `npm run test:stress`: the whole suite, several times in a row, while
 * busy-loop processes hog the CPU beside it. A suite that passes here does
 * not depend on the machine being idle.
 *
 *   npm run test:stress                          # 5 runs, one hog per core
 *   npm run test:stress -- --runs 3 --hogs 4
 *   npm run test:stress -- --runs 10 test/reliability   # extra arguments go to vitest
 *   npm run test:stress -- --runs 3 -- --exclude 'test/docs/**'   # vitest options after a second --
 *
 * Options:
 *   --runs N       suite runs in a row (default 5); stops at the first failing run
 *   --hogs N       busy-loop child processes (default: one per core)
 *   --timeout S    seconds one run may take before it counts as failed (default 900)
 *   --logs DIR     where each run's full vitest output goes (default: a fresh temp dir)
 *   --verbose      stream vitest's output as well
 *   -h, --help
 *
 * Every run is `npx vitest run` (what `npm test` runs), with a JSON report
 * on the side for the counts and the names of failed tests. The hogs are
 * killed whatever happens: at the end, on a failure, on Ctrl-C, on an error;
 * a hog also ends by itself when this script is gone (killed with -9).
 * Exits 0 only when every run passed.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, createWriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const usage = `usage: npm run test:stress -- [--runs N] [--hogs N] [--timeout SECONDS] [--logs DIR] [--verbose] [vitest files...] [-- vitest options...]`;

let parsed;
try {
  parsed = parseArgs({
    strict: true, // an unknown flag is an error (exit 2); vitest options go after a second --
    allowPositionals: true,
    options: {
      runs: { type: 'string', default: '5' },
      hogs: { type: 'string', default: String(os.availableParallelism()) },
      timeout: { type: 'string', default: '900' },
      logs: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
} catch (error) {
  console.error(`${error.message}\n${usage}`);
  process.exit(2);
}
const { values, positionals: vitestArgs } = parsed;
if (values.help) {
  console.log(usage);
  process.exit(0);
}

function count(name, text, min) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer of at least ${min}, got ${JSON.stringify(text)}\n${usage}`);
    process.exit(2);
  }
  return n;
}
const runs = count('runs', values.runs, 1);
const hogCount = count('hogs', values.hogs, 0);
const timeoutMs = count('timeout', values.timeout, 1) * 1000;
const logDir = values.logs ?? mkdtempSync(path.join(os.tmpdir(), 'zcached-stress-'));
mkdirSync(logDir, { recursive: true });

// ---- the hogs ---------------------------------------------------------------

/**
 * A hog spins for ever; every ~50 ms of spinning it checks that its parent
 * (this script) is still alive and ends when it is not, so a hard kill of
 * this script leaves no hog behind.
 */
const HOG_SOURCE = `
const parent = ${process.pid};
for (;;) {
  const until = Date.now() + 50;
  while (Date.now() < until);
  try { process.kill(parent, 0); } catch { process.exit(0); }
  if (process.ppid !== parent) process.exit(0);
}`;

/** @type {import('node:child_process').ChildProcess[]} */
const hogs = [];
/** @type {import('node:child_process').ChildProcess | undefined} */
let vitest;

function startHogs() {
  for (let i = 0; i < hogCount; i++) {
    const hog = spawn(process.execPath, ['-e', HOG_SOURCE], { stdio: 'ignore' });
    hog.on('error', (error) => console.error(`hog ${i + 1}: ${error.message}`));
    hogs.push(hog);
  }
}

/** Synchronous, so it also works from an 'exit' handler. */
function stopEverything() {
  for (const hog of hogs.splice(0)) {
    if (hog.exitCode === null && hog.signalCode === null) hog.kill('SIGKILL');
  }
  if (vitest !== undefined && vitest.exitCode === null && vitest.signalCode === null) {
    try {
      process.kill(-vitest.pid, 'SIGKILL'); // vitest and its forks: a process group of their own
    } catch {
      vitest.kill('SIGKILL');
    }
  }
  vitest = undefined;
}

process.on('exit', stopEverything);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping the hogs and vitest`);
    stopEverything();
    process.exit(130);
  });
}
process.on('uncaughtException', (error) => {
  console.error(error);
  stopEverything();
  process.exit(1);
});
process.on('unhandledRejection', (error) => {
  console.error(error);
  stopEverything();
  process.exit(1);
});

// ---- one run ----------------------------------------------------------------

/**
 * Runs the suite once.
 * @returns {Promise<{ code: number | null, signal: string | null, timedOut: boolean, ms: number, log: string, report: any }>}
 */
function runSuite(index) {
  const log = path.join(logDir, `run-${index}.log`);
  const json = path.join(logDir, `run-${index}.json`);
  rmSync(json, { force: true });
  const out = createWriteStream(log);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(
      'npx',
      ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${json}`, ...vitestArgs],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, FORCE_COLOR: '0' } },
    );
    vitest = child;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    for (const stream of [child.stdout, child.stderr]) {
      stream.on('data', (chunk) => {
        out.write(chunk);
        if (values.verbose) process.stdout.write(chunk);
      });
    }
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      vitest = undefined;
      out.end(() => {
        let report;
        try {
          report = JSON.parse(readFileSync(json, 'utf8'));
        } catch {
          report = undefined;
        }
        resolve({ code, signal, timedOut, ms: performance.now() - started, log, report });
      });
    });
  });
}

/** Failed tests (and files that failed outside any test) of a JSON report. */
function failures(report) {
  const found = [];
  for (const file of report?.testResults ?? []) {
    const name = path.relative(process.cwd(), file.name);
    const failedTests = (file.assertionResults ?? []).filter((t) => t.status === 'failed');
    for (const test of failedTests) {
      const message = (test.failureMessages?.[0] ?? '').split('\n').find((line) => line.trim() !== '') ?? '';
      found.push(`${[name, ...(test.ancestorTitles ?? []), test.title].join(' > ')}\n      ${message.trim()}`);
    }
    if (failedTests.length === 0 && file.status === 'failed') {
      found.push(`${name} (outside any test)\n      ${(file.message ?? '').split('\n')[0]}`);
    }
  }
  return found;
}

function tail(file, lines) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

// ---- main -------------------------------------------------------------------

console.log(
  `test:stress: ${runs} run(s) of \`npx vitest run${vitestArgs.length > 0 ? ` ${vitestArgs.join(' ')}` : ''}\` ` +
    `beside ${hogCount} busy-loop process(es) on ${os.availableParallelism()} core(s); logs in ${logDir}`,
);
startHogs();
const durations = [];
let failed = false;
for (let i = 1; i <= runs; i++) {
  const result = await runSuite(i);
  durations.push(result.ms);
  const r = result.report;
  const load = os.loadavg()[0].toFixed(1);
  const counts =
    r === undefined
      ? 'no report'
      : `tests ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + (r.numTodoTests ?? 0)} skipped (${r.numTotalTests}); ` +
        `files ${r.testResults.filter((f) => f.status === 'passed').length}/${r.testResults.length} passed`;
  const ok = result.code === 0 && !result.timedOut && r !== undefined && r.numFailedTests === 0;
  const how = result.timedOut ? `TIMEOUT after ${seconds(timeoutMs)}` : ok ? 'PASS' : `FAIL (exit ${result.code ?? result.signal})`;
  console.log(`run ${i}/${runs}  ${how.padEnd(4)}  ${seconds(result.ms).padStart(8)}  ${counts}; load ${load}`);
  if (!ok) {
    failed = true;
    const list = failures(r);
    if (list.length > 0) console.log(`failed:\n${list.map((f) => `  - ${f}`).join('\n')}`);
    else console.log(`no failed test in the report; the end of the output:\n${tail(result.log, 30)}`);
    console.log(`full output: ${result.log}`);
    break;
  }
}
stopEverything();
const passed = durations.length - (failed ? 1 : 0);
const total = durations.reduce((a, b) => a + b, 0);
console.log(
  `${failed ? 'FAILED' : 'OK'}: ${passed}/${runs} run(s) passed in a row beside ${hogCount} hog(s); ` +
    `durations ${durations.map(seconds).join(', ')} (total ${seconds(total)})`,
);
process.exitCode = failed ? 1 : 0;
