#!/usr/bin/env node
/**
 * `npm run build`: compiles src/ twice, into a fresh output directory.
 *
 * - `<out>/`     ES modules and their `.d.ts` (tsconfig.build.json), with the
 *   demo (`<out>/demo/`, run by `npm start`; not published, see `files`).
 * - `<out>/cjs/` CommonJS and its `.d.ts` (tsconfig.cjs.json, without the
 *   demo), plus a `package.json` saying `"type": "commonjs"`, so that Node
 *   and TypeScript read those `.js` / `.d.ts` files as CommonJS although the
 *   package itself is `"type": "module"`.
 *
 * The output directory is emptied first, so nothing stale (a moved module, an
 * old source map) is ever packed.
 *
 * The compiler is TypeScript 7 (the `typescript7` devDependency, the native
 * `tsc`: about 1 s for both compilations where TypeScript 5.9 took 15-20 s
 * of CPU). TypeScript 5.9 (`typescript`) stays for what needs its API:
 * TypeDoc, the packaging test's TypeScript 5.9 consumers, the runtime
 * matrix's `transpileModule` (see README, "TypeScript versions").
 *
 * Usage: node scripts/build.mjs [--out-dir <dir>]   (default: dist)
 * The packaging test builds into a temporary directory this way, leaving
 * dist/ alone.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TSC = path.join(ROOT, 'node_modules/typescript7/bin/tsc');

const { values } = parseArgs({ options: { 'out-dir': { type: 'string', default: 'dist' } } });
const outDir = path.resolve(ROOT, values['out-dir']);
const cjsDir = path.join(outDir, 'cjs');

/** Runs TypeScript 7's tsc on one config; resolves on exit code 0, rejects otherwise. */
function tsc(config, out) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TSC, '-p', path.join(ROOT, config), '--outDir', out], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`tsc -p ${config} failed (${signal ?? `exit code ${code}`})`));
    });
  });
}

rmSync(outDir, { recursive: true, force: true });
// Both compilations at once: they write to disjoint directories.
const results = await Promise.allSettled([tsc('tsconfig.build.json', outDir), tsc('tsconfig.cjs.json', cjsDir)]);
const failed = results.filter((result) => result.status === 'rejected');
if (failed.length > 0) {
  for (const failure of failed) console.error(failure.reason.message);
  process.exit(1);
}
mkdirSync(cjsDir, { recursive: true });
writeFileSync(path.join(cjsDir, 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
