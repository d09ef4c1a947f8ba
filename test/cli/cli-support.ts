/**
 * Runs the `zcached` command line as a user does: a child Node process on
 * the CLI's entry point (`cli/main.js`), from the sources transpiled once
 * per test file (test/diagnostics/child.ts). Each run has a bound that only
 * turns a hang into a failure; nothing here measures time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

/** How a run of the CLI ended. */
export interface CliRun {
  /** Exit code; null when a signal ended it (the bound included). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment of the CLI's children: this process's, without colour or URL settings unless given. */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ['NO_COLOR', 'FORCE_COLOR', 'ZCACHED_URL', 'ZCACHED_HISTORY', 'NODE_OPTIONS']) delete env[key];
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** Starts the CLI of `build` with `args`; stdin is empty (closed at once). */
export function startCli(build: string, args: readonly string[], env: Record<string, string | undefined> = {}): ChildProcess {
  return spawn(process.execPath, [path.join(build, 'cli/main.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: cliEnv(env) });
}

/** Collects a started CLI's output until it exits; SIGKILL after `boundMs`. */
export function finished(child: ChildProcess, boundMs = 60_000): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise<CliRun>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), boundMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs the CLI of `build` once and resolves with how it ended. */
export function runCli(build: string, args: readonly string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  return finished(startCli(build, args, env));
}

/** Runs the CLI of `build` with `input` piped to its stdin (then closed). */
export function runCliWithInput(build: string, args: readonly string[], input: string, env: Record<string, string | undefined> = {}): Promise<CliRun> {
  const child = spawn(process.execPath, [path.join(build, 'cli/main.js'), ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: cliEnv(env) });
  const outcome = finished(child);
  child.stdin!.end(input);
  return outcome;
}

/** Everything a run printed, for an assertion message. */
export function shown(run: CliRun): string {
  return `exit code ${run.code}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
}
