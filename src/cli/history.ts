/**
 * The prompt's history file: one line per entry, oldest first, like other
 * REPLs keep theirs. `ZCACHED_HISTORY` names it (default
 * `~/.zcached_history`); set to the empty string, nothing is read or kept.
 *
 * @module
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';

/** Most entries kept, in memory and in the file. */
export const HISTORY_SIZE = 1000;

/** The history file for `env`: `ZCACHED_HISTORY`, else `~/.zcached_history`; undefined when `ZCACHED_HISTORY` is empty (no history kept). */
export function historyFile(env: NodeJS.ProcessEnv): string | undefined {
  const named = env['ZCACHED_HISTORY'];
  if (named === '') return undefined;
  return named ?? path.join(homedir(), '.zcached_history');
}

/**
 * The entries of `file`, newest first (as `readline`'s `history` option
 * takes them); none when it does not exist or cannot be read.
 */
export function loadHistory(file: string | undefined): string[] {
  if (file === undefined) return [];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((line) => line.trim() !== '').slice(-HISTORY_SIZE).reverse();
}

/**
 * Writes `history` (newest first, as `readline` keeps it) to `file`, oldest
 * first, readable by its owner only (values typed at the prompt may be
 * private).
 * @returns the error when the file could not be written (the REPL reports it once and goes on)
 */
export function saveHistory(file: string | undefined, history: readonly string[]): Error | undefined {
  if (file === undefined) return undefined;
  try {
    const lines = history.slice(0, HISTORY_SIZE).reverse();
    writeFileSync(file, lines.length === 0 ? '' : `${lines.join('\n')}\n`, { mode: 0o600 });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}
