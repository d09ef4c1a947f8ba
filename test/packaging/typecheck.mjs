/**
 * Type-checks and compiles consumer projects of the packaging test with
 * TypeScript 5.9 (the `typescript` package; TypeScript 7, the `typescript7`
 * package, has no such API: package.test.ts runs its `tsc` instead), as
 * `tsc -p <dir>` with `skipLibCheck: false`
 * would for the files that matter here: the project's own sources and every
 * `.d.ts` of the installed 'zcached' package, under the project's
 * tsconfig.json. The `.d.ts` of other packages (@types/node, xstate, fp-ts,
 * keyv) are not checked: they are not ours, and checking them took most of
 * the time (a full emit also checks every file of the program, so only the
 * project's own files are emitted, one by one).
 *
 * Usage: node typecheck.mjs <project dir>...
 * Prints one JSON object: `{ typescript: <its version>, projects }`, where
 * `projects` has, for each dir, `{ diagnostics: string, checked: string[] }`
 * (the formatted errors, empty when none; the 'zcached' files checked,
 * relative to the package). Exits with 1 when any project has an error.
 */
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ts = createRequire(import.meta.url)(path.join(ROOT, 'node_modules/typescript'));

const PACKAGE_DIR = `${path.sep}node_modules${path.sep}zcached${path.sep}`;

/** Checks and compiles one project; returns its formatted diagnostics and the package files checked. */
function check(dir) {
  const configErrors = [];
  const config = ts.getParsedCommandLineOfConfigFile(
    path.join(dir, 'tsconfig.json'),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (diagnostic) => configErrors.push(diagnostic) },
  );
  const host = {
    getCanonicalFileName: (fileName) => fileName,
    getCurrentDirectory: () => dir,
    getNewLine: () => '\n',
  };
  if (config === undefined) return { diagnostics: ts.formatDiagnostics(configErrors, host), checked: [] };
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
  const roots = new Set(program.getRootFileNames().map((fileName) => path.resolve(fileName)));
  const ours = program.getSourceFiles().filter((file) => roots.has(path.resolve(file.fileName)));
  const packaged = program.getSourceFiles().filter((file) => path.resolve(file.fileName).includes(PACKAGE_DIR));
  const diagnostics = [
    ...config.errors,
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...[...ours, ...packaged].flatMap((file) => [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)]),
    ...ours.flatMap((file) => program.emit(file).diagnostics),
  ];
  const checked = packaged.map((file) => path.resolve(file.fileName).split(PACKAGE_DIR)[1].split(path.sep).join('/'));
  return { diagnostics: ts.formatDiagnostics(diagnostics, host), checked };
}

const results = {};
for (const dir of process.argv.slice(2)) results[dir] = check(path.resolve(dir));
console.log(JSON.stringify({ typescript: ts.version, projects: results }));
if (Object.values(results).some((result) => result.diagnostics !== '')) process.exitCode = 1;
