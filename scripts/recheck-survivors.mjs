#!/usr/bin/env node
/**
 * Re-checks the survivors of a Stryker report by hand: each surviving mutant
 * is applied to a copy of the project, and plain vitest runs the tests that
 * cover it (the files of its `coveredBy` tests, or its layer's tests). A
 * mutant that fails them is a runner artefact, not a hole in the tests.
 *
 *   node scripts/recheck-survivors.mjs reports/mutation/protocol-decoder.json
 *
 * Why: @stryker-mutator/vitest-runner 9.6 with vitest 4.1 sometimes records
 * a mutant as survived when its tests fail with the mutant applied (a run
 * that executed no test, a test file that failed to load; stryker-js issues
 * #6073, #6192, #6217). `npm run mutate` runs this after every Stryker run
 * (`--no-recheck` skips it). Writes NAME.recheck.json beside the report and
 * prints the score with the artefacts counted as killed.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const usage = 'usage: node scripts/recheck-survivors.mjs reports/mutation/NAME.json';
let parsed;
try {
  parsed = parseArgs({ options: { help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
} catch (error) {
  console.error(`recheck-survivors: ${error.message}\n${usage}`);
  process.exit(2);
}
if (parsed.values.help) {
  console.log(usage);
  process.exit(0);
}
if (parsed.positionals.length !== 1) {
  console.error(`recheck-survivors: expected one Stryker JSON report, got ${parsed.positionals.length} arguments\n${usage}`);
  process.exit(2);
}
const [reportPath] = parsed.positionals;
const root = process.cwd();
const report = JSON.parse(readFileSync(reportPath, 'utf8'));
const testFileOf = new Map();
for (const [file, data] of Object.entries(report.testFiles ?? {})) for (const test of data.tests ?? []) testFileOf.set(test.id, file);

// A scratch copy of the project: sources, tests and configs; node_modules linked.
const scratch = mkdtempSync(path.join(os.tmpdir(), 'zcached-recheck-'));
for (const entry of ['src', 'test', 'package.json', 'tsconfig.json', 'vitest.config.ts', 'stryker.vitest.config.mjs']) {
  cpSync(path.join(root, entry), path.join(scratch, entry), { recursive: true });
}
symlinkSync(path.join(root, 'node_modules'), path.join(scratch, 'node_modules'), 'dir');

/** Offset of a 1-based line and column in `text`. */
function offset(text, { line, column }) {
  let at = 0;
  for (let l = 1; l < line; l++) at = text.indexOf('\n', at) + 1;
  return at + column - 1;
}

const results = [];
let total = 0;
let killed = 0;
try {
  for (const [file, data] of Object.entries(report.files)) {
    const original = readFileSync(path.join(root, file), 'utf8');
    const layer = /^src\/(protocol|connection|pool)\//.exec(file)?.[1];
    for (const mutant of data.mutants) {
      if (mutant.status === 'Ignored' || mutant.status === 'CompileError' || mutant.status === 'RuntimeError') continue;
      total++;
      if (mutant.status === 'Killed' || mutant.status === 'Timeout') {
        killed++;
        continue;
      }
      if (mutant.status !== 'Survived') continue;
      const start = offset(original, mutant.location.start);
      const end = offset(original, mutant.location.end);
      const mutated = original.slice(0, start) + mutant.replacement + original.slice(end);
      writeFileSync(path.join(scratch, file), mutated);
      const covering = [...new Set((mutant.coveredBy ?? []).map((id) => testFileOf.get(id)).filter(Boolean))];
      const files = covering.length > 0 ? covering.map((f) => path.relative(root, path.resolve(root, f))) : [];
      const env = { ...process.env, ZCACHED_MUTATE_TESTS: layer ? `test/${layer}/**/*.test.ts` : '' };
      if (!layer) delete env.ZCACHED_MUTATE_TESTS;
      const run = spawnSync(process.execPath, [path.join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'stryker.vitest.config.mjs', '--bail', '1', ...files], {
        cwd: scratch,
        env,
        encoding: 'utf8',
        timeout: 120_000,
      });
      const outcome = run.error !== undefined || run.signal !== null ? 'timeout' : run.status === 0 ? 'survived' : 'killed';
      const where = `${file}:${mutant.location.start.line}:${mutant.location.start.column}`;
      results.push({ id: mutant.id, where, mutator: mutant.mutatorName, replacement: mutant.replacement, recheck: outcome });
      if (outcome !== 'survived') killed++;
      console.log(`${outcome === 'survived' ? 'SURVIVED' : 'killed  '} ${where} ${mutant.mutatorName} -> ${String(mutant.replacement).replace(/\s+/g, ' ').slice(0, 80)}`);
      writeFileSync(path.join(scratch, file), original);
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
const score = total === 0 ? 100 : (100 * killed) / total;
const out = reportPath.replace(/\.json$/, '.recheck.json');
writeFileSync(out, JSON.stringify({ report: reportPath, total, killed, score, survivors: results }, null, 2));
console.log(`recheck: ${killed} / ${total} killed or timed out = ${score.toFixed(2)} % (survivors that fail the tests when applied by hand counted as killed); ${out}`);
