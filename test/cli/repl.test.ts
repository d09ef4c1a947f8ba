/**
 * The interactive prompt in a real pseudo-terminal: tmux runs `zcached` in
 * a detached session (on a socket of its own), the test types with
 * `send-keys` and reads the screen with `capture-pane`. Every wait polls the
 * screen until what it waits for shows, within a generous deadline (the
 * machine may be loaded); no fixed sleep decides anything.
 *
 * tmux is required in CI (`.ci/run` installs it): there a missing tmux
 * fails the test; elsewhere the tests are skipped and say why.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ZCachedServer } from '../../src/testing/index.js';
import { removeBuild, transpileSources } from '../diagnostics/child.js';

const TMUX_FOUND = spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status === 0;
const IN_CI = process.env['CI'] !== undefined && process.env['CI'] !== '' && process.env['CI'] !== 'false';
if (!TMUX_FOUND && !IN_CI) console.warn('test/cli/repl.test.ts: skipped: tmux is not installed (apt-get install tmux); CI installs it and runs these tests');

/** How long any one thing may take to show on the screen: only turns a hang into a failure. */
const DEADLINE_MS = 60_000;
/** The tmux server's socket, of this test file's own (`-S`): removed at the end with its folder. */
const SOCKET_DIR = mkdtempSync(path.join(os.tmpdir(), 'zcached-cli-tmux-'));
const SOCKET = path.join(SOCKET_DIR, 'socket');

/** Runs `tmux -L <socket> ...args`; rejects when it fails. */
function tmux(...args: string[]): Promise<string> {
  const env = { ...process.env };
  delete env['TMUX'];
  return new Promise((resolve, reject) => {
    execFile('tmux', ['-S', SOCKET, ...args], { env, timeout: DEADLINE_MS }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`tmux ${args.join(' ')} failed: ${stderr || error.message}`, { cause: error }));
      else resolve(stdout);
    });
  });
}

/** A word for `sh -c`, quoted. */
const shellWord = (word: string): string => `'${word.replaceAll("'", `'\\''`)}'`;

/** One tmux session running the CLI. */
class Session {
  private constructor(readonly name: string) {}

  /** Starts `zcached <url>` in a 120x50 session whose pane stays after the CLI exits, its exit status printed below. */
  static async start(name: string, build: string, url: string, env: Record<string, string>): Promise<Session> {
    const assignments = Object.entries(env).map(([key, value]) => `${key}=${value}`);
    const words = ['env', '-u', 'NO_COLOR', '-u', 'FORCE_COLOR', '-u', 'ZCACHED_URL', ...assignments, process.execPath, path.join(build, 'cli/main.js'), url];
    // The shell prints the CLI's exit status on the screen when it ends (tmux's own pane_dead_status is not always filled in).
    const command = `${words.map(shellWord).join(' ')}; echo "[exit status $?]"`;
    await tmux('new-session', '-d', '-s', name, '-x', '120', '-y', '50', command, ';', 'set-option', '-t', name, 'remain-on-exit', 'on');
    return new Session(name);
  }

  /** The screen's text (`escapes`: with its colour codes), wrapped lines joined. */
  screen(escapes = false): Promise<string> {
    return tmux('capture-pane', '-p', '-J', ...(escapes ? ['-e'] : []), '-t', this.name);
  }

  /** The screen's last line that is not blank. */
  async lastLine(): Promise<string> {
    const lines = (await this.screen()).split('\n').filter((line) => line.trim() !== '');
    return lines.at(-1) ?? '';
  }

  /** Types text as it is (`-l`: no key names). */
  type(text: string): Promise<string> {
    return tmux('send-keys', '-t', this.name, '-l', text);
  }

  /** Presses keys by name: `Enter`, `Tab`, `C-c`, `C-d`, `Up`. */
  press(...keys: string[]): Promise<string> {
    return tmux('send-keys', '-t', this.name, ...keys);
  }

  /** Waits until `check` holds for the screen; fails with the screen after the deadline. */
  async waitFor(what: string, check: (screen: string) => boolean, escapes = false): Promise<string> {
    const deadline = Date.now() + DEADLINE_MS;
    let screen = '';
    while (Date.now() < deadline) {
      screen = await this.screen(escapes);
      if (check(screen)) return screen;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`waited ${DEADLINE_MS} ms for ${what}; the screen:\n${screen}`);
  }

  /** Waits for the last non-blank line to be `line` (trailing spaces ignored). */
  async waitForLastLine(line: string): Promise<void> {
    const deadline = Date.now() + DEADLINE_MS;
    let last = '';
    while (Date.now() < deadline) {
      last = await this.lastLine();
      if (last.trimEnd() === line.trimEnd()) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`waited ${DEADLINE_MS} ms for the last line ${JSON.stringify(line)}; it is ${JSON.stringify(last)}; the screen:\n${await this.screen()}`);
  }

  /** Waits for the CLI to exit; resolves with its exit status (as the shell printed it). */
  async exitStatus(): Promise<number> {
    let screen: string;
    try {
      screen = await this.waitFor('the CLI to exit', (text) => /\[exit status \d+\]/.test(text));
    } catch (error) {
      // Say what the CLI's process is doing, if it still runs.
      const shell = (await tmux('display-message', '-p', '-t', this.name, '#{pane_pid}')).trim();
      const ps = spawnSync('ps', ['-o', 'pid,stat,etime,wchan:20,args', '--ppid', shell], { encoding: 'utf8' });
      throw new Error(`${(error as Error).message}\nprocesses under the pane's shell ${shell}:\n${ps.stdout}`, { cause: error });
    }
    return Number(/\[exit status (\d+)\]/.exec(screen)![1]);
  }
}

afterAll(() => rmSync(SOCKET_DIR, { recursive: true, force: true }));

if (IN_CI && !TMUX_FOUND) {
  describe('the interactive prompt (tmux missing)', () => {
    it('needs tmux in CI', () => {
      throw new Error('tmux is not installed: CI must run the prompt tests in a pseudo-terminal; .ci/run installs tmux (apt-get install tmux)');
    });
  });
}

describe.runIf(TMUX_FOUND)('the interactive prompt, in a pseudo-terminal (tmux)', { timeout: 240_000 }, () => {
  let build: string;
  let server: ZCachedServer;
  let url: string;
  let dir: string;
  let prompt: string;

  beforeAll(async () => {
    build = transpileSources();
    server = await startServer();
    url = `zcached://127.0.0.1:${server.port}`;
    prompt = `127.0.0.1:${server.port} (etx)> `;
    dir = mkdtempSync(path.join(os.tmpdir(), 'zcached-repl-'));
  }, 60_000);

  afterAll(async () => {
    await tmux('kill-server').catch(() => undefined); // none left when every session ended
    await server?.close();
    if (build !== undefined) removeBuild(build);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('shows address and generation, prints typed replies, completes with Tab, stops a waiting command or clears the line with Ctrl-C, leaves with Ctrl-D; history kept', async () => {
    const history = path.join(dir, 'history-1');
    const session = await Session.start('one', build, url, { NO_COLOR: '1', ZCACHED_HISTORY: history });
    await session.waitForLastLine(prompt);

    await session.type('set repl:k "hello world"');
    await session.press('Enter');
    await session.waitFor('OK', (screen) => screen.includes(`${prompt}set repl:k "hello world"\nOK\n`));
    await session.type('get repl:k');
    await session.press('Enter');
    await session.waitFor('the quoted value', (screen) => screen.includes(`${prompt}get repl:k\n"hello world"\n`));

    await session.type('dbs');
    await session.waitForLastLine(`${prompt}dbs`);
    await session.press('Tab');
    await session.waitForLastLine(`${prompt}dbsize`);
    await session.press('Enter');
    await session.waitFor('(integer)', (screen) => /dbsize\n\(integer\) 1\n/.test(screen));

    await session.type('mget repl:k repl:none');
    await session.press('Enter');
    await session.waitFor('a numbered map', (screen) => screen.includes('1# "repl:k" => "hello world"\n2# "repl:none" => (nil)\n'));
    await session.type('rename repl:none repl:x');
    await session.press('Enter');
    await session.waitFor('(error)', (screen) => /rename repl:none repl:x\n\(error\) ERR .+\n/.test(screen));
    await session.type('bogus');
    await session.press('Enter');
    await session.waitFor('an unknown command', (screen) => screen.includes('(error) unknown command "bogus"'));

    server.stopAnswering();
    await session.type('ping');
    await session.press('Enter');
    await session.waitFor('the command sent', (screen) => screen.includes(`${prompt}ping\n`));
    await session.press('C-c');
    await session.waitFor('the command stopped', (screen) => screen.includes(`${prompt}ping\n(error) AbortError: `));
    server.resumeAnswering();
    await session.waitForLastLine(prompt);

    await session.type('garbage');
    await session.waitForLastLine(`${prompt}garbage`);
    await session.press('C-c');
    await session.waitForLastLine(prompt);
    await session.press('C-c');
    await session.waitFor('how to leave', (screen) => screen.includes('(press Ctrl-C again or Ctrl-D to leave)'));
    await session.waitForLastLine(prompt);
    await session.press('C-d');
    expect(await session.exitStatus()).toBe(0);

    expect(readFileSync(history, 'utf8')).toBe(['set repl:k "hello world"', 'get repl:k', 'dbsize', 'mget repl:k repl:none', 'rename repl:none repl:x', 'bogus', 'ping', ''].join('\n'));
  });

  it('reads the history of the previous session (Up), and a second Ctrl-C on an empty line leaves', async () => {
    const history = path.join(dir, 'history-2');
    const first = await Session.start('two-a', build, url, { NO_COLOR: '1', ZCACHED_HISTORY: history });
    await first.waitForLastLine(prompt);
    await first.type('get repl:k');
    await first.press('Enter');
    await first.waitFor('the reply', (screen) => screen.includes('"hello world"'));
    await first.type('exit');
    await first.press('Enter');
    expect(await first.exitStatus()).toBe(0);

    const second = await Session.start('two-b', build, url, { NO_COLOR: '1', ZCACHED_HISTORY: history });
    await second.waitForLastLine(prompt);
    await second.press('Up');
    await second.waitForLastLine(`${prompt}exit`);
    await second.press('Up');
    await second.waitForLastLine(`${prompt}get repl:k`);
    await second.press('Enter');
    await second.waitFor('the reply', (screen) => screen.includes(`${prompt}get repl:k\n"hello world"\n`));
    await second.waitForLastLine(prompt);
    await second.press('C-c');
    await second.waitFor('how to leave', (screen) => screen.includes('(press Ctrl-C again or Ctrl-D to leave)'));
    await second.press('C-c');
    expect(await second.exitStatus()).toBe(0);
    // readline drops the older copy of a repeated line.
    expect(readFileSync(history, 'utf8')).toBe('exit\nget repl:k\n');
  });

  it('colours the prompt on a terminal, and not with NO_COLOR', async () => {
    const coloured = await Session.start('three-a', build, url, { ZCACHED_HISTORY: '' });
    const withColours = await coloured.waitFor('the prompt', (screen) => screen.includes('(etx)'), true);
    expect(withColours).toMatch(/\x1b\[[0-9;]*m127\.0\.0\.1:/);
    await coloured.press('C-d');
    expect(await coloured.exitStatus()).toBe(0);

    const plain = await Session.start('three-b', build, url, { NO_COLOR: '1', ZCACHED_HISTORY: '' });
    const withoutColours = await plain.waitFor('the prompt', (screen) => screen.includes('(etx)'), true);
    expect(withoutColours).not.toContain('\x1b[');
    await plain.press('C-d');
    expect(await plain.exitStatus()).toBe(0);
  });
});
