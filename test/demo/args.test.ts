import { describe, expect, it } from 'vitest';
import { DEMO_USAGE, DemoUsageError, parseDemoArgs, parseFleetDemoArgs, parseServerAddress } from '../../src/demo/args.js';

const run = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  const command = parseDemoArgs(argv, env);
  if (command.kind !== 'run') throw new Error(`expected settings, got ${command.kind}`);
  return command.settings;
};

const usageError = (parse: () => unknown): DemoUsageError => {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(DemoUsageError);
    return error as DemoUsageError;
  }
  throw new Error('expected a DemoUsageError');
};

describe('parseDemoArgs (npm start)', () => {
  it('has the documented defaults', () => {
    expect(run([])).toEqual({ url: undefined, dialect: 'auto', durationMs: 4000, poolSize: 4, workers: 64, fleet: undefined, failover: 'fail-fast', replicas: 1 });
  });

  it('parses every flag', () => {
    expect(run(['--dialect', 'legacy', '--duration', '1.5', '--pool', '2', '--workers', '8'])).toMatchObject({
      dialect: 'legacy',
      durationMs: 1500,
      poolSize: 2,
      workers: 8,
    });
    expect(run(['--dialect=etx-request']).dialect).toBe('etx-request');
    expect(run(['--dialect', 'auto']).dialect).toBe('auto');
    expect(run(['--dialect', 'etx']).dialect).toBe('etx');
    expect(run(['--fleet', '3', '--failover', 'rehash'])).toMatchObject({ fleet: 3, failover: 'rehash', workers: 32, durationMs: 4000 });
    expect(run(['--fleet', '5', '--workers', '7']).workers).toBe(7);
    expect(run(['--fleet', '3', '--replicas', '2'])).toMatchObject({ fleet: 3, replicas: 2, failover: 'fail-fast' });
    expect(run(['--fleet', '3', '--replicas=3']).replicas).toBe(3);
    expect(run(['--fleet', '3', '--replicas', '1', '--failover', 'rehash'])).toMatchObject({ replicas: 1, failover: 'rehash' });
    expect(run(['--fleet', '3']).replicas).toBe(1);
    expect(run(['--fleet', '20', '--replicas', '16']).replicas).toBe(16);
  });

  it('takes the server from ZCACHED_URL (an empty one means the embedded server)', () => {
    expect(run([], { ZCACHED_URL: 'cache:7556' }).url).toBe('cache:7556');
    expect(run([], { ZCACHED_URL: '' }).url).toBeUndefined();
    expect(usageError(() => run([], { ZCACHED_URL: 'nonsense' })).message).toBe('ZCACHED_URL must look like host:port, got "nonsense"');
    expect(usageError(() => run([], { ZCACHED_URL: 'cache:70000' })).message).toContain('ZCACHED_URL');
  });

  it('reads host and port from ZCACHED_URL', () => {
    expect(parseServerAddress('cache.local:7556')).toEqual({ host: 'cache.local', port: 7556 });
    expect(parseServerAddress('zcached://10.0.0.2:7000')).toEqual({ host: '10.0.0.2', port: 7000 });
    expect(parseServerAddress('[::1]:7556')).toEqual({ host: '::1', port: 7556 });
  });

  it('returns the usage for --help and -h', () => {
    expect(parseDemoArgs(['--help'], {})).toEqual({ kind: 'help', usage: DEMO_USAGE });
    expect(parseDemoArgs(['-h'], {}).kind).toBe('help');
    expect(() => parseDemoArgs(['--help', '--bogus'], {})).toThrow(DemoUsageError); // a typo is reported even with --help
    for (const flag of ['--dialect', '--duration', '--pool', '--workers', '--fleet', '--failover', '--replicas']) expect(DEMO_USAGE).toContain(flag);
  });

  it('rejects an unknown flag, naming it', () => {
    const error = usageError(() => parseDemoArgs(['--bogus'], {}));
    expect(error.message).toContain('--bogus');
    expect(error.code).toBe('ERR_DEMO_USAGE');
    expect(usageError(() => parseDemoArgs(['--duraton', '3'], {})).message).toContain('--duraton');
  });

  it('rejects a stray positional argument and a flag without its value', () => {
    expect(usageError(() => parseDemoArgs(['4'], {})).message).toMatch(/positional/);
    expect(usageError(() => parseDemoArgs(['--pool'], {})).message).toContain('--pool');
  });

  it('rejects bad values with the flag and the value in the message', () => {
    expect(usageError(() => run(['--dialect', 'resp3'])).message).toBe('--dialect must be one of auto, legacy, etx-request, etx, got "resp3"');
    expect(usageError(() => run(['--duration', '0.1'])).message).toContain('--duration');
    expect(usageError(() => run(['--duration', 'abc'])).message).toContain('"abc"');
    expect(usageError(() => run(['--pool', '0'])).message).toContain('--pool must be an integer >= 1');
    expect(usageError(() => run(['--pool', '2.5'])).message).toContain('--pool');
    expect(usageError(() => run(['--workers', ''])).message).toContain('--workers');
    expect(usageError(() => run(['--fleet', '1'])).message).toContain('--fleet must be an integer >= 2');
    expect(usageError(() => run(['--fleet', '3', '--failover', 'retry'])).message).toContain('--failover must be fail-fast or rehash');
    expect(usageError(() => run(['--failover', 'rehash'])).message).toBe('--failover only applies with --fleet <n>');
  });

  it('rejects --replicas without --fleet, out of range, beyond the fleet, or with --failover', () => {
    expect(usageError(() => run(['--replicas', '2'])).message).toBe('--replicas only applies with --fleet <n>');
    expect(usageError(() => run(['--replicas', '1'])).message).toBe('--replicas only applies with --fleet <n>');
    expect(usageError(() => run(['--fleet', '3', '--replicas', '0'])).message).toBe('--replicas must be an integer >= 1, got "0"');
    expect(usageError(() => run(['--fleet', '3', '--replicas', '1.5'])).message).toBe('--replicas must be an integer >= 1, got "1.5"');
    expect(usageError(() => run(['--fleet', '3', '--replicas', 'two'])).message).toBe('--replicas must be an integer >= 1, got "two"');
    expect(usageError(() => run(['--fleet', '3', '--replicas', ''])).message).toContain('--replicas');
    expect(usageError(() => parseDemoArgs(['--fleet', '3', '--replicas'], {})).message).toContain('--replicas');
    expect(usageError(() => run(['--fleet', '3', '--replicas', '4'])).message).toBe('--replicas 4 needs at least 4 servers, got --fleet 3');
    expect(usageError(() => run(['--fleet', '20', '--replicas', '17'])).message).toBe('--replicas must be at most 16, got "17"');
    expect(usageError(() => run(['--fleet', '3', '--replicas', '2', '--failover', 'fail-fast'])).message).toBe(
      "--failover applies to --replicas 1; with --replicas 2 a stopped server's keys are read from their other replicas (leave --failover out)",
    );
  });
});

describe('parseFleetDemoArgs (node dist/demo/fleet.js)', () => {
  it('has defaults and parses every flag', () => {
    expect(parseFleetDemoArgs([])).toEqual({ kind: 'run', settings: { servers: 3, durationMs: 6000, workers: 32, failover: 'fail-fast', replicas: 1 } });
    expect(parseFleetDemoArgs(['--servers', '4', '--duration', '2', '--workers', '9', '--failover', 'rehash'])).toEqual({
      kind: 'run',
      settings: { servers: 4, durationMs: 2000, workers: 9, failover: 'rehash', replicas: 1 },
    });
    expect(parseFleetDemoArgs(['--replicas', '2'])).toMatchObject({ settings: { servers: 3, replicas: 2 } });
    expect(parseFleetDemoArgs(['--help']).kind).toBe('help');
  });

  it('rejects unknown flags and bad values', () => {
    expect(usageError(() => parseFleetDemoArgs(['--fleet', '3'])).message).toContain('--fleet');
    expect(usageError(() => parseFleetDemoArgs(['--servers', '1'])).message).toContain('--servers must be an integer >= 2');
    expect(usageError(() => parseFleetDemoArgs(['--replicas', '4'])).message).toBe('--replicas 4 needs at least 4 servers, got --servers 3');
    expect(usageError(() => parseFleetDemoArgs(['--replicas', '2', '--failover', 'rehash'])).message).toContain('--failover applies to --replicas 1');
  });
});
