/**
 * Runs a script in a child Node process against the library's sources,
 * transpiled (types stripped, nothing checked) to a directory of their own:
 * for what only a fresh process shows (`NODE_DEBUG`, which `util.debuglog`
 * reads once; a crash on an `error` event nobody listens to; a script that
 * must exit by itself).
 */
import { spawn } from 'node:child_process';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Transpiles src/ to a new directory under node_modules/.cache; returns it (remove it when done). */
export function transpileSources(): string {
  const out = path.join(ROOT, 'node_modules', '.cache', `zcached-diagnostics-test-${process.pid}-${Date.now().toString(36)}`);
  const src = path.join(ROOT, 'src');
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(full);
    }
  };
  walk(src);
  const program = ts.createProgram(files, {
    noCheck: true,
    noLib: true,
    noResolve: true,
    types: [],
    isolatedModules: true,
    module: ts.ModuleKind.ESNext,
    target: ts.ScriptTarget.ES2022,
    rootDir: src,
    outDir: out,
  });
  const { emitSkipped } = program.emit();
  if (emitSkipped) throw new Error('transpiling src/ failed');
  writeFileSync(path.join(out, 'package.json'), '{ "type": "module" }\n');
  return out;
}

/** Removes a directory made by {@link transpileSources}. */
export function removeBuild(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** The `import` specifier of a file of the build. */
export function moduleUrl(build: string, file: string): string {
  return JSON.stringify(new URL(`file://${path.join(build, file)}`).href);
}

/** What a child process did. */
export interface ChildOutcome {
  /** Its exit code; null when killed, or 'still running' when it passed the bound and was killed. */
  readonly code: number | null | 'still running';
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs an ES module `script` with `node -e`, with `env` added to (or, for an
 * `undefined` value, removed from) this process's environment. Resolves when
 * it exits; kills it after `boundMs` (a bound that only turns a hang into a
 * failure).
 */
export function runScript(script: string, env: Record<string, string | undefined> = {}, boundMs = 40_000): Promise<ChildOutcome> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[key];
    else childEnv[key] = value;
  }
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise<ChildOutcome>((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, boundMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: timedOut ? 'still running' : code, stdout, stderr });
    });
  });
}
