#!/usr/bin/env node
/**
 * `zcached`, the package's command-line tool (its `bin`): reads the command
 * line and runs one mode; the exit code is the mode's (0 a reply, 1 an
 * error reply, 2 bad usage or no connection). See args.ts for the grammar.
 *
 * This folder is the top layer: it imports from client/, connection/ and
 * protocol/; nothing imports from it.
 *
 * @module
 */

import { readFileSync } from 'node:fs';
import { CLI_USAGE, parseCliArgs } from './args.js';
import { commandHelp } from './commands.js';
import { exitCodeOf, failureText } from './errors.js';
import { runInfo } from './info.js';
import { processIo, type CliIo } from './io.js';
import { runLatency } from './latency.js';
import { runOneShot } from './one-shot.js';
import { runRepl } from './repl.js';

/** The version of the zcached package this file belongs to: the first package.json named `zcached` above it. */
function packageVersion(): string {
  for (let dir = new URL('.', import.meta.url); ; dir = new URL('..', dir)) {
    try {
      const manifest = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'zcached' && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // no package.json here: look higher
    }
    if (new URL('..', dir).href === dir.href) return 'unknown';
  }
}

/**
 * Runs the CLI on `argv` (without the node and script paths).
 * @returns the exit code; never rejects
 */
async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let invocation;
  try {
    invocation = parseCliArgs(argv, io.env);
    if (invocation.mode === 'version') {
      io.stdout.write(`zcached ${packageVersion()}\n`);
      return 0;
    }
    if (invocation.mode === 'help') {
      io.stdout.write(`${invocation.topic === undefined ? CLI_USAGE : commandHelp(invocation.topic)}\n`);
      return 0;
    }
  } catch (error) {
    io.stderr.write(`zcached: ${failureText(error)}\n`);
    return exitCodeOf(error);
  }
  switch (invocation.mode) {
    case 'command':
      return runOneShot(invocation.settings, invocation.command, invocation.args, io);
    case 'info':
      return runInfo(invocation.settings, io);
    case 'latency':
      return runLatency(invocation.settings, invocation.latency, io);
    case 'repl':
      return runRepl(invocation.settings, io);
  }
}

process.exitCode = await main(process.argv.slice(2));
