/**
 * `zcached <command>`, `zcached info` and `zcached latency` as child
 * processes against the embedded server (faithful, current generation
 * unless said): what they print, their exit codes (0 a reply, 1 an error
 * reply, 2 bad usage, a refused value or no connection), `--json` in and
 * out, `ZCACHED_URL`, TLS.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZCached } from '../../src/client/client.js';
import { float } from '../../src/protocol/values.js';
import { startServer, type ZCachedServer } from '../../src/testing/index.js';
import { removeBuild, transpileSources } from '../diagnostics/child.js';
import { refusedPort } from '../support.js';
import { selfSignedCertificate } from '../tls-credentials.js';
import { finished, runCli, runCliWithInput, shown, startCli, type CliRun } from './cli-support.js';

let build: string;
let server: ZCachedServer;
let url: string;

beforeAll(async () => {
  build = transpileSources();
  server = await startServer();
  url = `zcached://127.0.0.1:${server.port}`;
}, 60_000);

afterAll(async () => {
  await server?.close();
  if (build !== undefined) removeBuild(build);
});

const zcached = (...args: string[]): Promise<CliRun> => runCli(build, [url, ...args]);

/** A client of the test's own, to see what the CLI stored. */
async function withClient<T>(use: (client: ZCached) => Promise<T>): Promise<T> {
  const client = new ZCached({ port: server.port });
  try {
    await client.run();
    return await use(client);
  } finally {
    await client.close();
  }
}

describe('zcached <command>', { timeout: 120_000 }, () => {
  it('sets and gets a string: OK, the quoted value, (nil) for a missing key; exit code 0', async () => {
    const set = await zcached('set', 'cli:greeting', 'hello world');
    expect(set.code, shown(set)).toBe(0);
    expect(set.stdout).toBe('OK\n');
    const get = await zcached('get', 'cli:greeting');
    expect([get.code, get.stdout], shown(get)).toEqual([0, '"hello world"\n']);
    const missing = await zcached('get', 'cli:missing');
    expect([missing.code, missing.stdout], shown(missing)).toEqual([0, '(nil)\n']);
    expect(await withClient((client) => client.get('cli:greeting'))).toBe('hello world');
  });

  it('prints each reply with its type: integers, booleans, arrays numbered, maps with =>', async () => {
    await withClient((client) => client.mset({ 'cli:a': 'x', 'cli:n': 42, 'cli:f': 1.5, 'cli:b': true, 'cli:list': ['p', 7] }));
    expect((await zcached('get', 'cli:n')).stdout).toBe('(integer) 42\n');
    expect((await zcached('get', 'cli:f')).stdout).toBe('(float) 1.5\n');
    expect((await zcached('get', 'cli:b')).stdout).toBe('(boolean) true\n');
    expect((await zcached('get', 'cli:list')).stdout).toBe('1) "p"\n2) (integer) 7\n');
    expect((await zcached('mget', 'cli:a', 'cli:nothing')).stdout).toBe('1# "cli:a" => "x"\n2# "cli:nothing" => (nil)\n');
    expect((await zcached('exists', 'cli:a')).stdout).toBe('(boolean) true\n');
    expect((await zcached('ping')).stdout).toBe('PONG\n');
    expect((await zcached('echo', 'hi there')).stdout).toBe('"hi there"\n');
    expect((await zcached('sizeof', 'cli:a')).stdout).toMatch(/^\(integer\) \d+\n$/);
    expect((await zcached('lastsave')).stdout).toMatch(/^\(integer\) \d+\n$/);
    const dbsize = await zcached('dbsize');
    expect(dbsize.stdout).toBe(`(integer) ${await withClient((client) => client.dbsize())}\n`);
    const keys = await zcached('keys', '--raw');
    expect(keys.stdout.trim().split('\n').sort()).toEqual((await withClient((client) => client.keys())).sort());
  });

  it('renames, copies (replace), deletes; mset takes pairs', async () => {
    expect((await zcached('mset', 'cli:m1', 'one', 'cli:m2', 'two')).stdout).toBe('OK\n');
    expect((await zcached('rename', 'cli:m1', 'cli:m3')).stdout).toBe('OK\n');
    const busy = await zcached('copy', 'cli:m3', 'cli:m2');
    expect(busy.code, shown(busy)).toBe(1);
    expect(busy.stdout).toMatch(/^\(error\) BUSYKEY /);
    expect((await zcached('copy', 'cli:m3', 'cli:m2', 'REPLACE')).stdout).toBe('OK\n');
    expect(await withClient((client) => client.get('cli:m2'))).toBe('one');
    expect((await zcached('delete', 'cli:m2')).stdout).toBe('(boolean) true\n');
    expect((await zcached('delete', 'cli:m2')).stdout).toBe('(boolean) false\n');
  });

  it('an error reply: (error) and the whole reply on stdout, exit code 1; with --json an error object', async () => {
    const typed = await zcached('rename', 'cli:none', 'cli:other');
    expect(typed.code, shown(typed)).toBe(1);
    expect(typed.stdout).toMatch(/^\(error\) ERR .+\n$/);
    const json = await zcached('rename', 'cli:none', 'cli:other', '--json');
    expect(json.code, shown(json)).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({ error: { code: 'ERR', message: expect.any(String) } });
  });

  it('--json: values of every type in, the same JSON out; the server stores the types the README maps them to', async () => {
    const value = {
      s: 'text',
      i: 42,
      f: 2.5,
      t: true,
      n: null,
      list: [1, 'two', [3]],
      set: { $set: ['a', 'b'] },
      bytes: { $bytes: Buffer.from([0xff, 0x01]).toString('base64') },
      whole: { $float: 2 },
      big: { $bigint: '9007199254740993' },
      odd: { $map: { $set: 'not a set' } },
    };
    const set = await zcached('set', 'cli:json', JSON.stringify(value), '--json');
    expect([set.code, set.stdout], shown(set)).toEqual([0, '"OK"\n']);
    const stored = await withClient((client) => client.get('cli:json', {}));
    expect(stored).toEqual(
      new Map<string, unknown>([
        ['s', 'text'],
        ['i', 42],
        ['f', 2.5],
        ['t', true],
        ['n', null],
        ['list', [1, 'two', [3]]],
        ['set', new Set(['a', 'b'])],
        ['bytes', Buffer.from([0xff, 0x01]).toString('utf8')], // the test's client reads bulk strings as text
        ['whole', 2],
        ['big', 9007199254740993n],
        ['odd', new Map([['$set', 'not a set']])],
      ]),
    );
    const get = await zcached('get', 'cli:json', '--json');
    expect(get.code, shown(get)).toBe(0);
    // What --json prints reads back as the same value: only the float 2 comes back as the integer 2 (the reply is a plain number).
    expect(JSON.parse(get.stdout)).toEqual({ ...value, whole: 2 });
    expect((await zcached('get', 'cli:missing', '--json')).stdout).toBe('null\n');
    expect(await withClient((client) => client.set('cli:float', float(0.5)))).toBe('OK');
    expect((await zcached('get', 'cli:float', '--json')).stdout).toBe('0.5\n');
  });

  it('without --json a value is the string as typed, digits included', async () => {
    await zcached('set', 'cli:digits', '42');
    expect(await withClient((client) => client.get('cli:digits'))).toBe('42');
    expect((await zcached('get', 'cli:digits')).stdout).toBe('"42"\n');
  });

  it('refuses what the server would mangle with the DialectError, exit code 2, nothing stored', async () => {
    const lineFeed = await zcached('set', 'cli:lf', 'line one\nline two');
    expect(lineFeed.code, shown(lineFeed)).toBe(2);
    expect(lineFeed.stdout).toBe('');
    expect(lineFeed.stderr).toMatch(/^zcached: DialectError: .*line feed/);
    const empty = await zcached('set', 'cli:empty', '');
    expect(empty.code, shown(empty)).toBe(2);
    expect(empty.stderr).toMatch(/DialectError/);
    expect(await withClient((client) => client.exists('cli:lf'))).toBe(false);
  });

  it('bad usage: exit code 2 and a message naming the fault', async () => {
    const cases: [string[], RegExp][] = [
      [['--bogus'], /'--bogus'.*zcached --help/],
      [['bogus'], /unknown command "bogus"/],
      [['gett', 'k'], /did you mean get\?/],
      [['get'], /get takes 1 argument, got 0: get key/],
      [['mset', 'a', '1', 'b'], /at least 2|pairs/],
      [['set', 'k', '{oops', '--json'], /value is not JSON/],
      [['set', 'k', '12345678901234567890', '--json'], /\$bigint/],
      [['--dialect', 'etx2', 'ping'], /--dialect must be one of/],
      [['ping', '--samples', '3'], /--samples is an option of zcached latency/],
      [['--json', '--raw', 'ping'], /exclude each other/],
    ];
    for (const [args, message] of cases) {
      const run = await zcached(...args);
      expect(run.code, shown(run)).toBe(2);
      expect(run.stderr, shown(run)).toMatch(message);
    }
    const badUrl = await runCli(build, ['redis://127.0.0.1:1', 'ping']);
    expect(badUrl.code, shown(badUrl)).toBe(2);
    expect(badUrl.stderr).toMatch(/unknown scheme/);
  });

  it('--help prints the usage with exit code 0; help <command> one command', async () => {
    const help = await runCli(build, ['--help']);
    expect(help.code, shown(help)).toBe(0);
    expect(help.stdout).toMatch(/^usage: zcached /);
    expect(help.stdout).toMatch(/exit codes: 0 a reply, 1 an error reply/);
    const one = await runCli(build, ['help', 'copy']);
    expect(one.stdout).toMatch(/^copy source destination \[replace\]\n/);
  });

  it('no server: the connect error and exit code 2, at once (one attempt)', async () => {
    const port = await refusedPort();
    const run = await runCli(build, [`zcached://127.0.0.1:${port}`, 'dbsize']);
    expect(run.code, shown(run)).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`zcached: ConnectError: cannot connect to 127.0.0.1:${port} (connect ECONNREFUSED 127.0.0.1:${port})\n`); // no library advice (run() again)
  });

  it('takes the URL from ZCACHED_URL when the command line has none; an argument wins over it', async () => {
    const port = await refusedPort();
    const fromEnv = await runCli(build, ['ping'], { ZCACHED_URL: url });
    expect([fromEnv.code, fromEnv.stdout], shown(fromEnv)).toEqual([0, 'PONG\n']);
    const argumentWins = await runCli(build, [url, 'ping'], { ZCACHED_URL: `zcached://127.0.0.1:${port}` });
    expect([argumentWins.code, argumentWins.stdout], shown(argumentWins)).toEqual([0, 'PONG\n']);
    const refused = await runCli(build, ['ping'], { ZCACHED_URL: `zcached://127.0.0.1:${port}` });
    expect(refused.code, shown(refused)).toBe(2);
  });

  it('prints no colour codes when stdout is no terminal, nor with NO_COLOR', async () => {
    for (const env of [{}, { NO_COLOR: '1' }, { FORCE_COLOR: '1' }]) {
      const run = await runCli(build, [url, 'rename', 'cli:none', 'cli:x'], env);
      expect(run.stdout, shown(run)).toMatch(/^\(error\) ERR/);
      expect(run.stdout + run.stderr).not.toContain('\x1b[');
    }
  });

  it('--dialect checks the server: a named dialect of another generation is exit code 2 with the mismatch', async () => {
    const run = await zcached('--dialect', 'legacy', 'ping');
    expect(run.code, shown(run)).toBe(2);
    expect(run.stderr).toMatch(/current zcached server \('etx'\).*dialect 'legacy'/);
    expect((await zcached('--dialect', 'etx', 'ping')).stdout).toBe('PONG\n');
    // The URL's query counts too, and the flag wins over it.
    const fromUrl = await runCli(build, [`${url}?dialect=legacy`, 'ping']);
    expect(fromUrl.code, shown(fromUrl)).toBe(2);
    expect(fromUrl.stderr).toMatch(/dialect 'legacy'/);
    expect((await runCli(build, [`${url}?dialect=legacy`, '--dialect', 'auto', 'ping'])).stdout).toBe('PONG\n');
  });

  it('a command that gets no reply times out after --timeout (or the URL\'s timeout): exit code 2', async () => {
    await using quiet = await startServer();
    quiet.stopAnswering();
    const quietUrl = `zcached://127.0.0.1:${quiet.port}`;
    for (const args of [[quietUrl, '--timeout', '300', 'ping'], [`${quietUrl}?timeout=300`, 'ping']]) {
      const run = await runCli(build, args);
      expect(run.code, shown(run)).toBe(2);
      expect(run.stderr, shown(run)).toMatch(/^zcached: (TimeoutError|ConnectError): /);
    }
  });
});

describe('zcached with lines piped in (no terminal)', { timeout: 120_000 }, () => {
  it('runs them one after another and prints the replies only, no prompt; the exit code is the highest of its lines', async () => {
    const run = await runCliWithInput(build, [url], 'set cli:piped "two words"\nget cli:piped\nbogus\nmget cli:piped cli:nothing\n', { ZCACHED_HISTORY: '' });
    expect(run.code, shown(run)).toBe(2); // 'bogus' could not run
    expect(run.stdout).toBe(
      ['OK', '"two words"', `(error) unknown command "bogus"; the commands are ping, get, set, delete, exists, mget, mset, keys, dbsize, flush, save, lastsave, echo, sizeof, rename, copy`, '1# "cli:piped" => "two words"', '2# "cli:nothing" => (nil)', ''].join('\n'),
    );
  });
  it('exit code 0 when every line got a reply, 1 when one got an error reply', async () => {
    const fine = await runCliWithInput(build, [url], 'set cli:piped2 x\nget cli:piped2\n', { ZCACHED_HISTORY: '' });
    expect([fine.code, fine.stdout], shown(fine)).toEqual([0, 'OK\n"x"\n']);
    const failed = await runCliWithInput(build, [url], 'rename cli:no-such-key cli:other\nping\n', { ZCACHED_HISTORY: '' });
    expect(failed.code, shown(failed)).toBe(1);
    expect(failed.stdout).toMatch(/^\(error\) .*\nPONG\n$/);
  });
  it('a line takes --json (values as JSON, the reply as JSON) or --raw for itself; -- ends the options; the session keeps its mode', async () => {
    const input = [
      `set cli:jl '{"a":1}' --json`,
      'get cli:jl',
      'get cli:jl --json',
      `--json mset cli:jl2 '{"$set":[1]}' cli:jl3 '{"$bytes":"/0E="}'`,
      'mget cli:jl2 cli:jl3 --raw',
      'set cli:dash -- --json',
      'get cli:dash',
      'rename cli:no-such-key cli:other --json',
      '',
    ].join('\n');
    const run = await runCliWithInput(build, [url], input, { ZCACHED_HISTORY: '' });
    expect(run.code, shown(run)).toBe(1); // the rename's error reply
    expect(run.stdout, shown(run)).toMatch(
      /^"OK"\n1# "a" => \(integer\) 1\n\{"a":1\}\n"OK"\ncli:jl2\n1\ncli:jl3\nff41\nOK\n"--json"\n\{"error":\{"code":"ERR","message":".*"\}\}\n$/,
    );
    const session = await runCliWithInput(build, ['--json', url], 'get cli:jl\nget cli:jl --raw\nset cli:x --raw 5\nget cli:x\n', { ZCACHED_HISTORY: '' });
    expect([session.code, session.stdout], shown(session)).toEqual([0, '{"a":1}\na\n1\nOK\n"5"\n']); // --raw: values as typed, the map as key and value lines
    const bad = await runCliWithInput(build, [url], 'get k --json --raw\nget k --jsno\n', { ZCACHED_HISTORY: '' });
    expect(bad.code, shown(bad)).toBe(2);
    expect(bad.stdout, shown(bad)).toMatch(/^\(error\) --json and --raw exclude each other\n\(error\) unknown option --jsno.*--json, --raw.*\n$/);
  });

  it('splits lines as a shell would: a\\ b, {\\"a\\":1}, "a\\qb" keeps the backslash, "\\xff\\x41" is those two bytes, # lines are comments', async () => {
    const input = [
      '# a comment: not a command',
      String.raw`set cli:k3 a\ b`,
      'get cli:k3',
      String.raw`set cli:j {\"a\":1}`,
      'get cli:j',
      String.raw`set cli:k2 "a\qb"`,
      'get cli:k2',
      String.raw`set cli:hb "\xff\x41"`,
      'get cli:hb',
      'get cli:hb --json',
      String.raw`  # another "comment`,
      String.raw`set "cli:\xff" x`,
      '',
    ].join('\n');
    const run = await runCliWithInput(build, [url], input, { ZCACHED_HISTORY: '' });
    expect(run.code, shown(run)).toBe(2); // the key with a raw byte
    const lines = run.stdout.split('\n');
    expect(lines.slice(0, 9), shown(run)).toEqual(['OK', '"a b"', 'OK', String.raw`"{\"a\":1}"`, 'OK', String.raw`"a\\qb"`, 'OK', '(bytes) ff41', '{"$bytes":"/0E="}']);
    expect(lines.slice(9).join('\n'), shown(run)).toMatch(/^\(error\) set's key .*bytes.*\n$/);
  });
});

describe('zcached --version and a bad ZCACHED_URL', { timeout: 120_000 }, () => {
  it('--version and -v print the package version', async () => {
    const { version } = JSON.parse(readFileSync(path.join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      const run = await runCli(build, [flag]);
      expect([run.code, run.stdout], shown(run)).toEqual([0, `zcached ${version}\n`]);
    }
  });

  it('a ZCACHED_URL that is not a URL is named as the source: exit 2', async () => {
    const run = await runCli(build, ['ping'], { ZCACHED_URL: 'bogus' });
    expect(run.code, shown(run)).toBe(2);
    expect(run.stderr).toBe('zcached: ZCACHED_URL must be a URL such as zcached://127.0.0.1:7556, got "bogus"\n');
  });
});

describe('zcached info', { timeout: 120_000 }, () => {
  it('shows the generation, the round trip, dbsize, lastsave and TLS off; --json the same as an object', async () => {
    const typed = await runCli(build, ['info', url]);
    expect(typed.code, shown(typed)).toBe(0);
    expect(typed.stdout).toMatch(new RegExp(`^server +127\\.0\\.0\\.1:${server.port}$`, 'm'));
    expect(typed.stdout).toMatch(/^generation +a current zcached server \('etx'\)$/m);
    expect(typed.stdout).toMatch(/^tls +off$/m);
    expect(typed.stdout).toMatch(/^round trip +\d+\.\d{3} ms \(median of 5 PINGs\)$/m);
    expect(typed.stdout).toMatch(/^dbsize +\d+$/m);
    expect(typed.stdout).toMatch(/^lastsave +\d+ \(\d{4}-\d\d-\d\dT/m);
    const json = await runCli(build, ['--json', 'info'], { ZCACHED_URL: url });
    expect(json.code, shown(json)).toBe(0);
    const info = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(info).toEqual({
      address: `127.0.0.1:${server.port}`,
      generation: 'etx',
      tls: false,
      roundTripMs: expect.any(Number),
      dbsize: await withClient((client) => client.dbsize()),
      lastsave: await withClient((client) => client.lastsave()),
    });
    expect(String(info['roundTripMs'])).toMatch(/^\d+(\.\d{1,3})?$/); // in ms, to the µs
  });

  it('names an older generation', async () => {
    await using legacy = await startServer({ dialect: 'legacy' });
    const run = await runCli(build, ['info', `zcached://127.0.0.1:${legacy.port}`]);
    expect(run.stdout, shown(run)).toMatch(/^generation +a 2024 zcached server \('legacy'\)$/m);
  });

  const credentials = selfSignedCertificate();
  it.skipIf(credentials === undefined)('says TLS is on for zcacheds:// (and --tls), trusting --cacert', async () => {
    await using tlsServer = await startServer({ tls: { key: credentials!.key, cert: credentials!.cert } });
    const caFile = path.join(os.tmpdir(), `zcached-cli-ca-${process.pid}.pem`);
    writeFileSync(caFile, credentials!.cert);
    await using _removeCa = { [Symbol.asyncDispose]: async () => rmSync(caFile, { force: true }) };
    const secure = await runCli(build, ['info', `zcacheds://localhost:${tlsServer.port}`, '--cacert', caFile]);
    expect(secure.code, shown(secure)).toBe(0);
    expect(secure.stdout).toMatch(/^tls +on$/m);
    const flag = await runCli(build, [`zcached://localhost:${tlsServer.port}`, '--tls', '--cacert', caFile, 'ping']);
    expect([flag.code, flag.stdout], shown(flag)).toEqual([0, 'PONG\n']);
    const untrusted = await runCli(build, ['info', `zcacheds://localhost:${tlsServer.port}`]);
    expect(untrusted.code, shown(untrusted)).toBe(2);
    expect(untrusted.stderr).toMatch(/self-signed certificate/i);
    const plain = await runCli(build, [`zcached://localhost:${tlsServer.port}`, '--timeout', '3000', 'ping']);
    expect(plain.code, shown(plain)).toBe(2);
    expect(plain.stderr).toMatch(/if the server serves TLS, use zcacheds:\/\/ or --tls\n$/);
  });
});

describe('zcached latency', { timeout: 120_000 }, () => {
  it('--samples N: N round trips, min <= avg <= max, a histogram of N; exit code 0', async () => {
    const run = await runCli(build, ['latency', url, '--samples', '20', '--interval', '1', '--json']);
    expect(run.code, shown(run)).toBe(0);
    const summary = JSON.parse(run.stdout) as { samples: number; min: number; avg: number; max: number; p50: number; p99: number; histogram: { upToMs: number; count: number }[] };
    expect(summary.samples).toBe(20);
    expect(summary.min).toBeGreaterThan(0);
    expect(summary.min).toBeLessThanOrEqual(summary.avg);
    expect(summary.avg).toBeLessThanOrEqual(summary.max);
    expect(summary.histogram.reduce((sum, bucket) => sum + bucket.count, 0)).toBe(20);
    expect(summary.histogram.at(-1)!.upToMs).toBeGreaterThanOrEqual(summary.max * 0.99);
    const typed = await runCli(build, ['latency', url, '--samples', '3', '--interval', '1']);
    expect(typed.stdout, shown(typed)).toMatch(/^min \d+\.\d{3} ms, avg \d+\.\d{3} ms, max \d+\.\d{3} ms \(3 samples\)\np50 .*\n(<= [\d.]+ ms +\|#* \d+\n)+$/);
  });

  it('--seconds S stops by itself', async () => {
    const run = await runCli(build, ['latency', url, '--seconds', '0.3', '--json']);
    expect(run.code, shown(run)).toBe(0);
    expect((JSON.parse(run.stdout) as { samples: number }).samples).toBeGreaterThan(0);
  });

  it('runs until SIGINT, then prints the summary and exits with 0', async () => {
    const child = startCli(build, ['latency', url, '--interval', '1']);
    const outcome = finished(child);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('Ctrl-C stops')) child.kill('SIGINT');
    });
    const run = await outcome;
    expect(run.code, shown(run)).toBe(0);
    expect(run.stdout).toMatch(/^(no samples|min .* samples?\)\n)/);
  });

  it('no server: exit code 2', async () => {
    const run = await runCli(build, ['latency', `zcached://127.0.0.1:${await refusedPort()}`, '--samples', '1']);
    expect(run.code, shown(run)).toBe(2);
    expect(run.stderr).toMatch(/ECONNREFUSED/);
  });
});
