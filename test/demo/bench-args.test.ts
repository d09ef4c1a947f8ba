import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  HELP,
  UsageError,
  parseCompareArgs,
  parseConnectionArgs,
  parseFleetArgs,
  parseMixedArgs,
  parseNoArgs,
  parseSoakArgs,
} from '../../bench/args.mjs';
import { LatencyHistogram } from '../../bench/stats.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));

const usageError = (parse: () => unknown): UsageError => {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error('expected a UsageError');
};

describe('bench/args.mjs', () => {
  it('parses every flag of bench/compare.mjs', () => {
    expect(parseCompareArgs([])).toEqual({
      only: undefined,
      op: undefined,
      size: undefined,
      inFlight: undefined,
      seconds: undefined,
      rounds: undefined,
      embedded: false,
      serveEmbedded: undefined,
    });
    expect(
      parseCompareArgs(['--only', 'zc1,ioredis', '--op', 'get', '--size', '10240', '--in-flight', '256', '--seconds', '5', '--rounds', '1', '--embedded']),
    ).toEqual({ only: ['zc1', 'ioredis'], op: 'GET', size: 10240, inFlight: 256, seconds: 5, rounds: 1, embedded: true, serveEmbedded: undefined });
    expect(parseCompareArgs(['--serve-embedded', 'etx'])).toMatchObject({ serveEmbedded: 'etx' });
    expect(usageError(() => parseCompareArgs(['--op', 'DEL'])).message).toBe('--op must be one of GET, SET, got "DEL"');
    expect(usageError(() => parseCompareArgs(['--size', '1000'])).message).toContain('--size');
    expect(usageError(() => parseCompareArgs(['--rounds', '0'])).message).toContain('--rounds must be an integer >= 1');
    expect(usageError(() => parseCompareArgs(['--seconds', '-1'])).message).toContain('--seconds');
  });

  it('parses bench/connection.mjs and bench/fleet.mjs, with their defaults and BENCH_QUICK', () => {
    expect(parseConnectionArgs([])).toEqual({ seconds: 2.5, warmup: 0.5 });
    expect(parseConnectionArgs(['--seconds', '1', '--warmup', '0'])).toEqual({ seconds: 1, warmup: 0 });
    expect(parseFleetArgs([], {})).toEqual({ only: undefined, quick: false, servers: 4, inFlight: 256, rounds: 7, seconds: 1 });
    expect(parseFleetArgs(['--only', 'placement'], { BENCH_QUICK: '1' })).toEqual({ only: 'placement', quick: true, servers: 4, inFlight: 256, rounds: 3, seconds: 0.4 });
    expect(parseFleetArgs(['--only', 'replicas', '--servers', '5', '--in-flight', '64', '--rounds', '9', '--seconds', '0.5'], { BENCH_QUICK: '1' })).toEqual({
      only: 'replicas',
      quick: true,
      servers: 5,
      inFlight: 64,
      rounds: 9,
      seconds: 0.5,
    });
    expect(usageError(() => parseFleetArgs(['--only', 'speed'], {})).message).toContain('placement, throughput, replicas');
    expect(usageError(() => parseFleetArgs(['--servers', '2'], {})).message).toContain('--servers must be an integer >= 3');
    expect(usageError(() => parseFleetArgs(['--in-flight', '0'], {})).message).toContain('--in-flight');
  });

  it('parses bench/mixed.mjs, with its defaults and BENCH_QUICK', () => {
    expect(parseMixedArgs([], {})).toEqual({ pools: [1, 4, 8], shares: [0, 1, 10, 30], rounds: 5, seconds: 1, inFlight: 128, latency: 0.25, mix: 'loops', largeConnections: undefined, quick: false, serve: false });
    expect(parseMixedArgs(['--large-connections', '4'], {})).toMatchObject({ largeConnections: 4 });
    expect(parseMixedArgs(['--mix', 'issued'], {})).toMatchObject({ mix: 'issued' });
    expect(usageError(() => parseMixedArgs(['--mix', 'share'], {})).message).toContain('--mix must be one of loops, issued');
    expect(parseMixedArgs(['--pools', '4', '--shares', '10', '--rounds', '2'], { BENCH_QUICK: '1' })).toMatchObject({ pools: [4], shares: [0, 10], rounds: 2, seconds: 0.3, quick: true });
    expect(usageError(() => parseMixedArgs(['--shares', '100'], {})).message).toContain('--shares must be a list of percentages in [0, 100)');
    expect(usageError(() => parseMixedArgs(['--pools', '0'], {})).message).toContain('--pools');
  });

  it('parses bench/soak.mjs: flags, SOAK_MINUTES, and the outage bound', () => {
    expect(parseSoakArgs([], {}, 1234)).toEqual({ minutes: 10, workers: 16, seed: 1234, outage: 10, flood: 2000 });
    expect(parseSoakArgs([], { SOAK_MINUTES: '1' }, 0)).toMatchObject({ minutes: 1 });
    expect(parseSoakArgs(['--minutes', '5', '--workers', '4', '--seed=-7', '--outage', '0', '--flood', '0'], { SOAK_MINUTES: '1' })).toEqual({
      minutes: 5,
      workers: 4,
      seed: -7,
      outage: 0,
      flood: 0,
    });
    expect(usageError(() => parseSoakArgs(['--minutes', '1', '--outage', '30'], {})).message).toContain('--outage 30 s is too long for a 1 min run');
    expect(usageError(() => parseSoakArgs(['--workers', '1.5'], {})).message).toContain('--workers must be a positive integer');
    expect(usageError(() => parseSoakArgs([], { SOAK_MINUTES: 'ten' })).message).toContain('SOAK_MINUTES');
  });

  it('refuses unknown flags and stray arguments everywhere, and answers --help / -h', () => {
    for (const parse of [parseCompareArgs, parseConnectionArgs, parseFleetArgs, parseNoArgs, parseSoakArgs]) {
      expect(usageError(() => parse(['--bogus'])).message).toContain('--bogus');
      expect(usageError(() => parse(['extra'])).message).toMatch(/positional/);
      expect(parse(['--help'])).toBe(HELP);
      expect(parse(['-h'])).toBe(HELP);
    }
  });

  it('cli() exits 2 with the message and the usage on a bad flag, 0 with the usage on --help', () => {
    const script = (argv: string[]) =>
      `import('./bench/args.mjs').then((m) => { m.cli('demo-script', 'usage: demo-script [--seconds s]', m.parseConnectionArgs, ${JSON.stringify(argv)}); console.log('ran'); })`;
    const bad = spawnSync(process.execPath, ['--input-type=module', '-e', script(['--bogus'])], { cwd: root, encoding: 'utf8', timeout: 30_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("demo-script: Unknown option '--bogus'");
    expect(bad.stderr).toContain('usage: demo-script [--seconds s]');
    expect(bad.stdout).not.toContain('ran');
    const help = spawnSync(process.execPath, ['--input-type=module', '-e', script(['--help'])], { cwd: root, encoding: 'utf8', timeout: 30_000 });
    expect(help.status).toBe(0);
    expect(help.stdout).toBe('usage: demo-script [--seconds s]\n');
    const ok = spawnSync(process.execPath, ['--input-type=module', '-e', script(['--seconds', '1'])], { cwd: root, encoding: 'utf8', timeout: 30_000 });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toBe('ran\n');
  });
});

describe('scripts/*.mjs refuse unknown flags (exit 2, before doing anything)', () => {
  for (const script of ['scripts/test-stress.mjs', 'scripts/mutate.mjs', 'scripts/recheck-survivors.mjs']) {
    it(script, () => {
      const run = spawnSync(process.execPath, [script, '--bogus'], { cwd: root, encoding: 'utf8', timeout: 30_000 });
      expect(run.status).toBe(2);
      expect(run.stderr).toContain("Unknown option '--bogus'");
      expect(run.stderr).toContain('usage:');
      const help = spawnSync(process.execPath, [script, '--help'], { cwd: root, encoding: 'utf8', timeout: 30_000 });
      expect(help.status).toBe(0);
      expect(help.stdout).toContain('usage:');
    });
  }
});

describe('LatencyHistogram (bench/stats.mjs)', () => {
  it('gives percentiles in ms from nanosecond records, within the histogram precision', () => {
    const histogram = new LatencyHistogram();
    expect(histogram.percentilesMs([50])).toEqual([Number.NaN]);
    const samples = Float64Array.from({ length: 1000 }, (_, i) => (i + 1) / 100); // 0.01 ms .. 10 ms
    histogram.recordAll(samples, 900); // only the first 900: 0.01 .. 9 ms
    expect(histogram.count).toBe(900);
    const [p50, p99] = histogram.percentilesMs([50, 99]);
    expect(p50).toBeCloseTo(4.5, 2);
    expect(p99).toBeCloseTo(8.91, 1);
    histogram.reset();
    expect(histogram.count).toBe(0);
  });
});
