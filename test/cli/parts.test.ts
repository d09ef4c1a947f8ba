/**
 * The CLI's pure parts, in process: the command line, `--json` values and
 * their JSON replies, typed reply formatting, the prompt's word splitting,
 * completion and history file.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCliArgs } from '../../src/cli/args.js';
import { CliUsageError } from '../../src/cli/errors.js';
import { formatReply, useColour } from '../../src/cli/format.js';
import { historyFile, loadHistory, saveHistory } from '../../src/cli/history.js';
import { completeLine } from '../../src/cli/repl.js';
import { splitLine } from '../../src/cli/tokenize.js';
import { parseJsonValue, replyToJson } from '../../src/cli/values.js';
import { ZCachedError } from '../../src/errors.js';
import { Float } from '../../src/protocol/values.js';

describe('the command line', () => {
  it('reads [url] command args, info [url], latency [url]; the URL falls back to ZCACHED_URL', () => {
    expect(parseCliArgs(['zcached://h:1', 'GET', 'k'], {})).toMatchObject({ mode: 'command', command: 'get', args: ['k'], settings: { url: 'zcached://h:1' } });
    expect(parseCliArgs(['get', 'k'], { ZCACHED_URL: 'zcached://e:2' })).toMatchObject({ settings: { url: 'zcached://e:2', output: 'typed', timeoutMs: undefined, dialect: undefined } });
    expect(parseCliArgs(['--timeout', '100', '--dialect', 'etx'], {})).toMatchObject({ mode: 'repl', settings: { url: undefined, dialect: 'etx', timeoutMs: 100 } });
    expect(parseCliArgs(['info', 'zcacheds://h'], {})).toMatchObject({ mode: 'info', settings: { url: 'zcacheds://h' } });
    expect(parseCliArgs(['latency', '--samples', '5'], {})).toMatchObject({ mode: 'latency', latency: { samples: 5, seconds: undefined, intervalMs: 10 } });
    expect(parseCliArgs(['set', 'k', '--', '-1'], {})).toMatchObject({ args: ['k', '-1'] });
    expect(parseCliArgs(['help', 'get'], {})).toEqual({ mode: 'help', topic: 'get' });
  });

  it('refuses what it cannot run with a CliUsageError (code EUSAGE, a ZCachedError)', () => {
    for (const argv of [['--nope'], ['info', 'zcached://a', 'zcached://b'], ['latency', '--samples', '0'], ['--timeout', 'soon', 'ping']]) {
      let caught: unknown;
      try {
        parseCliArgs(argv, {});
      } catch (error) {
        caught = error;
      }
      expect(caught, argv.join(' ')).toBeInstanceOf(CliUsageError);
      expect(caught).toBeInstanceOf(ZCachedError);
      expect((caught as CliUsageError).code).toBe('EUSAGE');
      expect((caught as CliUsageError).name).toBe('CliUsageError');
    }
  });
});

describe('--json values', () => {
  it('maps JSON onto the protocol types, with tags for sets, bytes, floats, bigints and literal maps', () => {
    expect(parseJsonValue('42', 'value')).toBe(42);
    expect(parseJsonValue('"42"', 'value')).toBe('42');
    expect(parseJsonValue('{"a":[1,null,false]}', 'value')).toEqual(new Map([['a', [1, null, false]]]));
    expect(parseJsonValue('{"$set":[1,"x"]}', 'value')).toEqual(new Set([1, 'x']));
    expect(parseJsonValue('{"$bytes":"/wA="}', 'value')).toEqual(Buffer.from([0xff, 0]));
    expect(parseJsonValue('{"$float":2}', 'value')).toEqual(new Float(2));
    expect(Object.is((parseJsonValue('{"$float":"-0"}', 'value') as Float).value, -0)).toBe(true);
    expect(parseJsonValue('{"$bigint":"-9223372036854775808"}', 'value')).toBe(-9223372036854775808n);
    expect(parseJsonValue('{"$map":{"$set":1}}', 'value')).toEqual(new Map([['$set', 1]]));
  });

  it('refuses malformed JSON and tags, naming where', () => {
    expect(() => parseJsonValue('{', 'value')).toThrow(/value is not JSON/);
    expect(() => parseJsonValue('{"$sett":[]}', 'value')).toThrow(/value\.\$sett: unknown tag/);
    expect(() => parseJsonValue('[{"$bytes":"!"}]', 'value')).toThrow(/value\[0\]\.\$bytes must be base64/);
    expect(() => parseJsonValue('[10000000000000000000000]', 'value')).toThrow(/\$bigint/); // [1e300] is a float (written with an exponent)
  });

  it('prints replies in the forms it reads back', () => {
    const reply = new Map<string, never>([
      ['n', NaN as never],
      ['s', new Set(['a']) as never],
      ['b', Buffer.from([0xff]) as never],
      ['big', 2n ** 60n as never],
      ['z', -0 as never],
    ]);
    const json = replyToJson(reply);
    expect(json).toEqual({ n: { $float: 'nan' }, s: { $set: ['a'] }, b: { $bytes: '/w==' }, big: { $bigint: String(2n ** 60n) }, z: { $float: '-0' } });
    const back = parseJsonValue(JSON.stringify(json), 'value') as Map<string, unknown>;
    expect(back.get('s')).toEqual(new Set(['a']));
    expect(back.get('big')).toBe(2n ** 60n);
    expect(replyToJson(new Map([['$set', 'x']]))).toEqual({ $map: { $set: 'x' } });
  });

  it('a number written with a fraction or an exponent is a float even past 2^53; an integer literal there is refused', () => {
    expect(parseJsonValue('1e20', 'value')).toMatchObject({ value: 1e20 });
    expect(parseJsonValue('[1.5e300, {"a": -2E17}]', 'value')).toMatchObject([{ value: 1.5e300 }, new Map([['a', { value: -2e17 }]])]);
    expect(parseJsonValue('"9007199254740993"', 'value')).toBe('9007199254740993');
    expect(() => parseJsonValue('9007199254740993', 'value')).toThrow(/past the safe integers/);
    expect(() => parseJsonValue('[1e20, 100000000000000000000]', 'value')).toThrow(/past the safe integers/);
    expect(parseJsonValue('42', 'value')).toBe(42);
  });

  it('a number past the safe integers is a float reply (integers there are bigints): tagged so --json takes it back', () => {
    expect(replyToJson(1e20)).toEqual({ $float: 1e20 });
    expect(parseJsonValue(JSON.stringify(replyToJson(1e20)), 'value')).toMatchObject({ value: 1e20 }); // float(1e20)
    expect(replyToJson(2 ** 53 - 1)).toBe(2 ** 53 - 1);
    expect(formatReply({ reply: 1e20 }, 'typed')).toBe('(float) 100000000000000000000');
    expect(formatReply({ reply: 2 ** 53 - 1 }, 'typed')).toBe('(integer) 9007199254740991');
  });
});

describe('typed replies', () => {
  it('prints types as redis-cli does, nested items numbered and indented', () => {
    expect(formatReply({ reply: undefined }, 'typed')).toBe('(nil)');
    expect(formatReply({ reply: 'OK', status: true }, 'typed')).toBe('OK');
    expect(formatReply({ reply: 'OK' }, 'typed')).toBe('"OK"');
    expect(formatReply({ reply: 3 }, 'typed')).toBe('(integer) 3');
    expect(formatReply({ reply: Infinity }, 'typed')).toBe('(float) inf');
    expect(formatReply({ reply: [] }, 'typed')).toBe('(empty array)');
    const items = Array.from({ length: 10 }, (_, i) => i);
    expect(formatReply({ reply: [['a', 'b'], ...items] }, 'typed').split('\n').slice(0, 3)).toEqual([' 1) 1) "a"', '    2) "b"', ' 2) (integer) 0']);
    expect(formatReply({ reply: new Map([['k', new Set([true])]]) }, 'typed')).toBe('1# "k" => 1~ (boolean) true');
    expect(formatReply({ reply: ['a', 'b\nc'] }, 'raw')).toBe('a\nb\nc');
  });

  it('colours only a terminal, never with NO_COLOR or TERM=dumb', () => {
    expect(useColour({ isTTY: true }, {})).toBe(true);
    expect(useColour({ isTTY: false }, {})).toBe(false);
    expect(useColour({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(useColour({ isTTY: true }, { NO_COLOR: '' })).toBe(true);
    expect(useColour({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
  });
});

describe('the prompt', () => {
  it('splits a line into words, with quotes and escapes', () => {
    expect(splitLine('  set  k  "a b\\x41\\n" ')).toEqual(['set', 'k', 'a bA\n']);
    expect(splitLine(`set k 'it\\'s "x"' ""`)).toEqual(['set', 'k', `it's "x"`, '']);
    expect(splitLine('a"b c"d')).toEqual(['ab cd']);
    expect(() => splitLine('get "k')).toThrow(CliUsageError);
    expect(() => splitLine('get "\\xZZ"')).toThrow(/two hex digits/);
  });

  it('splits as a shell would: backslash outside quotes, unknown escapes kept in "", \\xHH past 7f as bytes, # comment lines', () => {
    expect(splitLine('set k3 a\\ b')).toEqual(['set', 'k3', 'a b']);
    expect(splitLine('set j {\\"a\\":1}')).toEqual(['set', 'j', '{"a":1}']);
    expect(splitLine('set k2 "a\\qb"')).toEqual(['set', 'k2', 'a\\qb']);
    expect(splitLine('"\\b\\a\\\\\\""')).toEqual(['\b\x07\\"']);
    expect(splitLine('set hb "\\xff\\x41"')).toEqual(['set', 'hb', Buffer.from([0xff, 0x41])]);
    expect(splitLine('"\\xc3\\xa9"')).toEqual(['é']); // bytes that are UTF-8 are that text
    expect(splitLine('  # a comment with "one quote')).toEqual([]);
    expect(splitLine('set c #fff')).toEqual(['set', 'c', '#fff']); // # only starts a comment at the start of a line
  });

  it('completes command names (any case), and after help', () => {
    expect(completeLine('db')).toEqual([['dbsize'], 'db']);
    expect(completeLine('E')[0]).toEqual(['exists', 'echo', 'exit']);
    expect(completeLine('help re')).toEqual([['rename'], 're']);
    expect(completeLine('get ke')).toEqual([[], 'get ke']);
  });

  it('keeps history in a file, oldest first, its owner only; ZCACHED_HISTORY names it, empty turns it off', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'zcached-history-'));
    try {
      const file = path.join(dir, 'history');
      expect(historyFile({ ZCACHED_HISTORY: file })).toBe(file);
      expect(historyFile({ ZCACHED_HISTORY: '' })).toBeUndefined();
      expect(historyFile({})).toBe(path.join(os.homedir(), '.zcached_history'));
      expect(loadHistory(file)).toEqual([]);
      expect(saveHistory(file, ['newest', 'older'])).toBeUndefined();
      expect(readFileSync(file, 'utf8')).toBe('older\nnewest\n');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      writeFileSync(file, 'a\n\nb\n');
      expect(loadHistory(file)).toEqual(['b', 'a']);
      expect(saveHistory(path.join(dir, 'missing', 'history'), ['x'])).toBeInstanceOf(Error);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
