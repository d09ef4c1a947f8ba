/**
 * The interactive prompt (`zcached` without a command), on `node:readline`:
 * a prompt with the server's address and generation, history kept in a file
 * (history.ts), Tab completion of command names, `help`, replies printed
 * with their types. A line is split as a shell would (tokenize.ts); `--json`
 * or `--raw` on a line are that line's options ({@link lineOptions}).
 *
 * Keys: Ctrl-C clears the line (or stops a command waiting for its reply);
 * on an empty line it says how to leave, and a second Ctrl-C leaves;
 * Ctrl-D on an empty line leaves; so do `exit` and `quit`.
 *
 * @module
 */

import * as readline from 'node:readline';
import { ServerError } from '../errors.js';
import type { CliSettings, OutputMode } from './args.js';
import { COMMAND_NAMES, commandHelp, prepareCommand } from './commands.js';
import { createCliClient, generationOf } from './connect.js';
import { CliUsageError, exitCodeOf, failureText } from './errors.js';
import { formatErrorReply, formatReply, paletteFor, type Palette } from './format.js';
import { HISTORY_SIZE, historyFile, loadHistory, saveHistory } from './history.js';
import type { CliIo } from './io.js';
import { splitLine, type Word } from './tokenize.js';

/** Words the prompt understands besides the commands. */
const PROMPT_WORDS = ['help', 'exit', 'quit'];

const KEYS_HELP = [
  'help <command> for one command; Tab completes; Ctrl-C clears the line; Ctrl-D, exit or quit leaves',
  "--json on a line reads its values as JSON and prints its reply as JSON (--raw: bare); -- before a value that starts with '-'",
  'words are split as a shell would: "a b", a\\ b, \'as written\', "\\n" "\\xff"; a line starting with # is a comment',
].join('\n');

/**
 * Completes the first word of `line` with the names of the commands (and
 * `help`, `exit`, `quit`); after `help `, the command names. Case is
 * ignored; names are offered in lower case.
 * @returns readline's completer result: the candidates and the part completed
 */
export function completeLine(line: string): [string[], string] {
  const words = line.trimStart().split(/\s+/);
  if (words.length === 1) {
    const part = words[0] ?? '';
    return [[...COMMAND_NAMES, ...PROMPT_WORDS].filter((name) => name.startsWith(part.toLowerCase())), part];
  }
  if (words.length === 2 && words[0]!.toLowerCase() === 'help') {
    const part = words[1]!;
    return [COMMAND_NAMES.filter((name) => name.startsWith(part.toLowerCase())), part];
  }
  return [[], line];
}

/**
 * A line's own options, as the one-shot command line takes them: `--json`
 * (values read as JSON, the reply printed as JSON) or `--raw`, anywhere on
 * the line before a `--`, which ends the options (`set k -- --json` stores
 * `--json`). Other words starting with `--` are refused, so that a mistyped
 * option is not stored as a value; a word with one `-` (`set n -1`) is a value.
 * @param session - the session's mode (`zcached --json`), for a line without options
 * @returns the line's words without its options, and how the line reads values and prints its reply
 * @throws CliUsageError for an unknown `--` option, or `--json` with `--raw`
 */
export function lineOptions(words: readonly Word[], session: OutputMode): { readonly words: Word[]; readonly output: OutputMode } {
  const rest: Word[] = [];
  let json = false;
  let raw = false;
  let ended = false;
  for (const word of words) {
    if (ended || typeof word !== 'string' || !word.startsWith('--')) rest.push(word);
    else if (word === '--') ended = true;
    else if (word === '--json') json = true;
    else if (word === '--raw') raw = true;
    else throw new CliUsageError(`unknown option ${word}; a line takes --json, --raw, and -- before a value that starts with '-' (set k -- ${word})`);
  }
  if (json && raw) throw new CliUsageError('--json and --raw exclude each other');
  return { words: rest, output: json ? 'json' : raw ? 'raw' : session };
}

/** A word as text, for a command name or a help topic (bytes as latin1: they name no command). */
const textOf = (word: Word): string => (typeof word === 'string' ? word : word.toString('latin1'));

/** The prompt: `127.0.0.1:7556 (etx)> `, the generation the connection found at its last connect. */
function promptText(address: string, generation: string | undefined, colours: Palette): string {
  return `${colours.bold(address)} ${colours.dim(`(${generation ?? 'not connected'})`)}> `;
}

/**
 * Runs the prompt until Ctrl-D, `exit`, or a second Ctrl-C on an empty line.
 * @returns the exit code: 2 when the server could not be reached at the start; with
 *   piped input the highest of its lines' (0, 1 an error reply, 2 a line that could not
 *   run); at a terminal 0
 */
export async function runRepl(settings: CliSettings, io: CliIo): Promise<number> {
  let cli;
  try {
    cli = createCliClient(settings, true);
    await cli.client.run();
  } catch (error) {
    io.stderr.write(`zcached: ${failureText(error, cli?.address)}\n`);
    await cli?.client.close({ force: true });
    return 2;
  }
  const { client, address } = cli;
  const colours = paletteFor(io.stdout, io.env);
  const file = historyFile(io.env);
  const terminal = io.stdin.isTTY === true && io.stdout.isTTY === true;
  const loaded = loadHistory(file);
  const rl = readline.createInterface({
    input: io.stdin,
    output: io.stdout,
    terminal,
    history: [...loaded],
    historySize: HISTORY_SIZE,
    removeHistoryDuplicates: true,
    completer: completeLine,
  });
  let history: readonly string[] = loaded;
  let historyError: Error | undefined;
  const keep = (): void => {
    const error = saveHistory(file, history);
    if (error !== undefined && historyError === undefined) io.stderr.write(`zcached: history not kept: ${error.message}\n`);
    historyError ??= error;
  };
  rl.on('history', (entries: string[]) => {
    history = entries;
    keep();
  });

  // Piped input (not a terminal) gets the replies only, no prompts.
  const prompt = (): void => {
    rl.setPrompt(promptText(address, generationOf(client), colours));
    if (terminal) rl.prompt();
  };
  const print = (text: string): void => void io.stdout.write(`${text}\n`);
  let inFlight: AbortController | undefined;
  /** Piped input: the highest exit code of its lines (1 an error reply, 2 a line that could not run), for scripts. */
  let worst = 0;
  let leaveArmed = false;
  let closed = false;

  const handle = async (line: string): Promise<void> => {
    let words: Word[];
    let output: OutputMode;
    try {
      ({ words, output } = lineOptions(splitLine(line), settings.output));
    } catch (error) {
      print(colours.red(`(error) ${failureText(error)}`));
      worst = 2;
      return;
    }
    if (words.length === 0) return;
    const [first, ...args] = words;
    const name = textOf(first!);
    const lower = name.toLowerCase();
    if (lower === 'exit' || lower === 'quit') {
      rl.close();
      return;
    }
    inFlight = new AbortController();
    try {
      if (lower === 'help') print(args.length === 0 ? `${commandHelp()}\n\n${KEYS_HELP}` : commandHelp(textOf(args[0]!)));
      else print(formatReply(await prepareCommand(name, args, output === 'json' ? 'json' : 'string')(client, { signal: inFlight.signal }), output, colours));
    } catch (error) {
      print(error instanceof ServerError ? formatErrorReply(error, output, colours) : colours.red(`(error) ${failureText(error)}`));
      worst = Math.max(worst, exitCodeOf(error));
    } finally {
      inFlight = undefined;
    }
  };

  let queue = Promise.resolve();
  rl.on('line', (line) => {
    leaveArmed = false;
    queue = queue.then(() => handle(line)).then(() => {
      if (!closed) prompt();
    });
  });
  rl.on('SIGINT', () => {
    if (inFlight !== undefined) {
      inFlight.abort();
      return;
    }
    if (rl.line !== '') {
      leaveArmed = false;
      rl.write(null, { ctrl: true, name: 'e' });
      rl.write(null, { ctrl: true, name: 'u' });
      return;
    }
    if (leaveArmed) {
      rl.close();
      return;
    }
    leaveArmed = true;
    io.stdout.write('\n(press Ctrl-C again or Ctrl-D to leave)\n');
    prompt();
  });
  const ended = new Promise<void>((resolve) =>
    rl.once('close', () => {
      closed = true;
      resolve();
    }),
  );

  if (terminal) print(colours.dim(`connected to ${address}; ${KEYS_HELP}`));
  prompt();
  await ended;
  if (terminal) io.stdout.write('\n');
  await queue;
  keep();
  await client.close({ force: true });
  return terminal ? 0 : worst;
}
