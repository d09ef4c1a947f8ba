/**
 * Where the CLI writes: its output and error streams, and the environment,
 * passed in so that every mode can be run on other streams.
 *
 * @module
 */

/** A stream the CLI writes text to. */
export interface TextOutput {
  write(text: string): unknown;
  /** Whether it is a terminal (colours, live lines). */
  readonly isTTY?: boolean;
}

/** The CLI's streams and environment. */
export interface CliIo {
  /** What the prompt reads (the REPL only). */
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  /** Replies; the REPL's prompt and echo. */
  readonly stdout: NodeJS.WritableStream & TextOutput;
  readonly stderr: TextOutput;
  readonly env: NodeJS.ProcessEnv;
}

/** The process's own streams and environment. */
export function processIo(): CliIo {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
}
