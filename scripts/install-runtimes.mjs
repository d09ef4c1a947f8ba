#!/usr/bin/env node
/**
 * First half of `npm run test:runtimes`: installs the runtimes of the matrix
 * into `.runtimes/` (git-ignored, outside node_modules) from the npm
 * registry, where each one ships its binary:
 *
 * - Node.js 20: the Node.js running this script when it is a 20.x (CI's),
 *   else `node-<os>-<arch>@20.20.2`;
 * - Node.js 24, the current LTS ("Krypton"): `node-<os>-<arch>@24.22.3`
 *   (the `node` package itself stops at 24.9.0 and installs its binary from
 *   these packages through an install script);
 * - Bun: `bun@1.4.5`; Deno: `deno@2.9.6` (each picks its platform's binary
 *   through optionalDependencies).
 *
 * Versions are exact, so `npm install` always gets the same bytes. A second
 * run with the same pins installs nothing (`.runtimes/installed.json`
 * records what is there). It then writes `.runtimes/runtimes.json`: for each
 * runtime its id, its label, the version it reports and the command that
 * runs a script with it, which test/runtimes/matrix.ts reads.
 *
 * A fresh clone's `npm ci` never downloads these (about 400 MB unpacked):
 * only this script does, for the matrix (see README, "Runtimes").
 *
 * Usage: node scripts/install-runtimes.mjs [--only node20,bun,...]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIR = path.join(ROOT, '.runtimes');
const NODE_MODULES = path.join(DIR, 'node_modules');

/** `node-<os>-<arch>`: the registry packages that hold the Node.js binaries. */
const NODE_PACKAGE = `node-${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`;
const NODE_BIN = process.platform === 'win32' ? 'node.exe' : path.join('bin', 'node');
const BIN = (name) => path.join(NODE_MODULES, '.bin', process.platform === 'win32' ? `${name}.cmd` : name);

/**
 * The matrix. `dependency`: the name and spec in `.runtimes/package.json`
 * (none: nothing to install); `command`: how to run a script with it.
 */
const RUNTIMES = [
  process.versions.node.split('.')[0] === '20'
    ? { id: 'node20', label: 'Node.js 20', command: [process.execPath] }
    : {
        id: 'node20',
        label: 'Node.js 20',
        dependency: ['node20', `npm:${NODE_PACKAGE}@20.20.2`],
        command: [path.join(NODE_MODULES, 'node20', NODE_BIN)],
      },
  {
    id: 'node24',
    label: 'Node.js 24 (LTS)',
    dependency: ['node24', `npm:${NODE_PACKAGE}@24.22.3`],
    command: [path.join(NODE_MODULES, 'node24', NODE_BIN)],
  },
  { id: 'bun', label: 'Bun', dependency: ['bun', '1.4.5'], allowScripts: 'bun@1.4.5', command: [BIN('bun')] },
  {
    id: 'deno',
    label: 'Deno',
    dependency: ['deno', '2.9.6'],
    allowScripts: 'deno@2.9.6',
    // Deno's permissions: sockets, reading files (the package, the examples), the environment, os.* (os.cpus(), hostname)
    command: [BIN('deno'), 'run', '--allow-net', '--allow-read', '--allow-env', '--allow-sys'],
  },
];

const { values } = parseArgs({ options: { only: { type: 'string' } } });
const only = values.only === undefined ? undefined : new Set(values.only.split(','));
const wanted = RUNTIMES.filter((runtime) => only === undefined || only.has(runtime.id));
if (only !== undefined) {
  const unknown = [...only].filter((id) => !RUNTIMES.some((runtime) => runtime.id === id));
  if (unknown.length > 0) {
    console.error(`unknown runtime ${unknown.join(', ')}; the matrix has ${RUNTIMES.map((runtime) => runtime.id).join(', ')}`);
    process.exit(2);
  }
}

// Every pinned runtime is installed, whatever --only says: one package.json, one install, one cache.
const manifest = {
  name: 'zcached-runtimes',
  private: true,
  description: 'The runtimes of `npm run test:runtimes`, written by scripts/install-runtimes.mjs; do not edit',
  dependencies: Object.fromEntries(RUNTIMES.flatMap((runtime) => (runtime.dependency === undefined ? [] : [runtime.dependency]))),
  // bun and deno move their platform's binary into place with a postinstall script (without it, a JS launcher does).
  allowScripts: Object.fromEntries(RUNTIMES.flatMap((runtime) => (runtime.allowScripts === undefined ? [] : [[runtime.allowScripts, true]]))),
};
const manifestText = `${JSON.stringify(manifest, null, 2)}\n`;
const installedFile = path.join(DIR, 'installed.json');
const installed = existsSync(installedFile) ? readFileSync(installedFile, 'utf8') : undefined;
const binariesThere = RUNTIMES.every((runtime) => existsSync(runtime.command[0]));

if (installed === manifestText && binariesThere) {
  console.log(`runtimes: already installed in ${path.relative(ROOT, DIR)}/`);
} else {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  writeFileSync(path.join(DIR, 'package.json'), manifestText);
  console.log(`runtimes: installing ${Object.entries(manifest.dependencies).map(([name, spec]) => `${name}@${spec}`).join(', ')} into ${path.relative(ROOT, DIR)}/`);
  const started = performance.now();
  execFileSync('npm', ['install', '--prefix', DIR, '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error'], {
    stdio: 'inherit',
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  writeFileSync(installedFile, manifestText);
  console.log(`runtimes: installed in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** What `<runtime> --version` prints, first line. */
function version(runtime) {
  return execFileSync(runtime.command[0], ['--version'], { encoding: 'utf8' }).split('\n')[0].trim();
}

const report = wanted.map((runtime) => ({ id: runtime.id, label: runtime.label, version: version(runtime), command: runtime.command }));
writeFileSync(path.join(DIR, 'runtimes.json'), `${JSON.stringify(report, null, 2)}\n`);
for (const runtime of report) console.log(`runtimes: ${runtime.id.padEnd(7)} ${runtime.version}`);
