/**
 * Child processes for the packaging test: each runs with a bound (a hang
 * becomes a failure, not a stuck suite) and reports how it ended instead of
 * throwing, so that a test can show everything a failing tool printed.
 */
import { execFile } from 'node:child_process';

/** How a child process ended. */
export interface RunResult {
  /** The command line, for messages. */
  readonly command: string;
  /** The exit code, or `null` when a signal ended it (e.g. the bound). */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** What a failed {@link RunResult} printed, for an assertion message. */
export function describeRun(result: RunResult): string {
  const ending = result.code === null ? `killed by ${result.signal ?? 'a signal'}` : `exit code ${result.code}`;
  return `${result.command} (${ending})\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
}

/** The environment of every child: no inherited loaders or colours. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', npm_config_update_notifier: 'false' };
  delete env['NODE_OPTIONS'];
  delete env['FORCE_COLOR'];
  return env;
}

/**
 * Runs `file args` in `cwd`, killed (SIGKILL) after `timeoutMs`. Resolves
 * with how it ended, whatever the exit code; rejects only when it could not
 * start.
 */
export function run(file: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<RunResult> {
  const command = [file, ...args].join(' ');
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { cwd, env: childEnv(), timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code === 'string') {
          reject(new Error(`could not start ${command}: ${error.message}`, { cause: error }));
          return;
        }
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        const signal = error === null ? null : (error.signal ?? null);
        resolve({ command, code, signal, stdout, stderr });
      },
    );
  });
}
