import { describe, expect, it } from 'vitest';
import type { FleetEvent } from '../../src/fleet/state.js';
import { runDemo } from '../../src/demo/main.js';
import { ReplicaTimeline, summariseEvents, type TimedEvent } from '../../src/demo/replica-timeline.js';
import { runReplicasDemo } from '../../src/demo/replicas.js';

// The replicas demo in-process, over embedded servers: short runs, one server stopped and started
// again empty. Only what the report says is asserted (counts that must be zero, events that must
// have come), never a time.
const ADDRESS = String.raw`127\.0\.0\.\d:\d+`;

describe('npm start -- --fleet 3 --replicas 2', () => {
  it('loses a server with no error, no miss and no stale value, and shows the fleet taking it out, back and warming it up', async () => {
    const lines: string[] = [];
    const errors: string[] = [];
    const code = await runDemo(['--fleet', '3', '--replicas', '2', '--duration', '1', '--workers', '8'], {}, { print: (line) => lines.push(line), printError: (line) => errors.push(line) });
    const report = lines.join('\n');
    expect(errors).toEqual([]);
    expect(code).toBe(0);
    expect(lines[0]).toMatch(
      new RegExp(`^fleet of 3 embedded zcached servers \\(faithful etx, in this process\\) on ${ADDRESS}, ${ADDRESS}, ${ADDRESS}; replicas: 2 \\(each key on 2 servers\\); detected: a current zcached server \\('etx'\\) on each; this run's keys: [0-9a-f]{6}:<n>$`),
    );
    expect(lines[1]).toMatch(new RegExp(`^wrote 2,000 keys, each to 2 servers; copies per server: ${ADDRESS} [\\d,]+, ${ADDRESS} [\\d,]+, ${ADDRESS} [\\d,]+$`));
    // The timeline: the stop, the fleet taking the server out, the restart, its return and warm-up.
    const victim = /stopping server (\S+)$/m.exec(report)?.[1];
    expect(victim).toMatch(/^127\.0\.0\.3:\d+$/);
    expect(report).toMatch(new RegExp(`^  \\[ *\\d+ ms\\] (serverEjected|serverFenced) ${victim}`, 'm'));
    expect(report).toContain(`starting ${victim} again, empty (same address, no data)`);
    expect(report).toMatch(new RegExp(`^  \\[ *\\d+ ms\\] serverReturned ${victim} \\(flushed; it was out for \\d+\\.\\d s\\)$`, 'm'));
    expect(report).toMatch(new RegExp(`^  \\[ *\\d+ ms\\] serverWarmed ${victim} \\([\\d,]+ keys copied to it from their other replica\\)$`, 'm'));
    // Reads' events come folded: never one line each.
    expect(report).not.toMatch(/^ {2}\[ *\d+ ms\] failover \S+:/m);
    // The counts: zero errors, zero misses, zero stale values, during the loss and after the return.
    expect(report).toMatch(/^reads: [\d,]+, misses: 0, stale values: 0, failed: 0; writes: [\d,]+, failed: 0$/m);
    expect(report).toMatch(/^errors: none$/m);
    // The others are warmed up too when the server goes out (they stand in for its keys): at least one warm-up.
    expect(report).toMatch(/^events: .*\b1 serverReturned\b.*\b[1-9]\d* serverWarmed\b/m);
    expect(report).toMatch(/^events: .*\b\d+ (serverEjected|serverFenced)\b/m);
    expect(report).toMatch(new RegExp(`^after ${victim} came back empty: every key read: 2,000 reads, misses: 0, stale values: 0, failed: 0$`, 'm'));
    expect(report).toMatch(/^each key on exactly its 2 servers: yes; copies per server: /m);
    expect(lines.at(-1)).toBe(`${victim} out: yes, returned: yes, warmed up: yes; no error, no miss, no stale value`);
  }, 60_000);

  it('with three replicas of each key over four servers, in the legacy dialect (the warm-up in batches of 1,400 bytes)', async () => {
    const lines: string[] = [];
    const result = await runReplicasDemo({ servers: 4, replicas: 3, durationMs: 900, workers: 8, keys: 500, dialect: 'legacy', runId: 'r3', print: (line) => lines.push(line) });
    expect(result.exitCode).toBe(0);
    expect(result.errors.size).toBe(0);
    expect(result.load).toMatchObject({ misses: 0, stale: 0, errors: 0, failedWrites: 0 });
    expect(result.load.reads).toBeGreaterThan(0);
    expect(result.final).toEqual({ reads: 500, misses: 0, stale: 0, errors: 0 });
    expect(result.placed).toBe(true);
    const victim = result.events.find((event) => event.type === 'serverReturned');
    expect(victim).toBeDefined();
    const warmed = result.events.find((event): event is Extract<TimedEvent, { type: 'serverWarmed' }> => event.type === 'serverWarmed');
    expect(warmed?.copied).toBeGreaterThan(0);
    expect(lines.join('\n')).toContain("this run's keys: r3:<n>");
    expect(lines.join('\n')).toContain('each key on exactly its 3 servers: yes');
  }, 60_000);

  it('refuses bad --replicas with the message and the usage, exit code 2', async () => {
    const refusal = async (argv: string[]) => {
      const errors: string[] = [];
      const code = await runDemo(argv, {}, { print: () => undefined, printError: (line) => errors.push(line) });
      expect(code).toBe(2);
      expect(errors.join('\n')).toContain('usage: npm start');
      return errors.join('\n').split('\n')[0];
    };
    expect(await refusal(['--replicas', '2'])).toBe('error: --replicas only applies with --fleet <n>');
    expect(await refusal(['--fleet', '3', '--replicas', '0'])).toBe('error: --replicas must be an integer >= 1, got "0"');
    expect(await refusal(['--fleet', '3', '--replicas', '4'])).toBe('error: --replicas 4 needs at least 4 servers, got --fleet 3');
    expect(await refusal(['--fleet', '3', '--replicas', '2', '--failover', 'rehash'])).toContain('error: --failover applies to --replicas 1');
  });
});

describe('the replicas demo timeline', () => {
  const failover = (atMs: number, from: string, reason: 'miss' | 'error'): TimedEvent => ({
    type: 'failover',
    key: `k${atMs}`,
    from,
    to: 'b:1',
    reason,
    ...(reason === 'error' ? { error: Object.assign(new Error('closed'), { name: 'ConnectionError' }) } : {}),
    atMs,
  });

  it('folds the reads’ failover and readRepaired events into one line per burst, printed before the next change', () => {
    const lines: string[] = [];
    const timeline = new ReplicaTimeline((line) => lines.push(line));
    timeline.line(100, 'stopping server c:3');
    for (let n = 0; n < 1_000; n++) timeline.event(failover(101 + n / 100, 'c:3', 'error'));
    timeline.event({ type: 'serverEjected', server: 'c:3', at: 0, failures: 2, retryAt: 500, atMs: 112 });
    timeline.event({ type: 'serverReturned', server: 'c:3', at: 0, ejectedFor: 1_700, atMs: 1_812 });
    for (let n = 0; n < 30; n++) timeline.event(failover(1_813 + n, 'c:3', 'miss'));
    timeline.event(failover(1_850, 'a:1', 'error'));
    for (let n = 0; n < 20; n++) timeline.event({ type: 'readRepaired', key: `k${n}`, from: 'a:1', to: ['c:3'], atMs: 1_830 + n });
    timeline.event({ type: 'serverWarmed', server: 'c:3', copied: 1_234, atMs: 1_900 });
    timeline.event(failover(1_901, 'c:3', 'miss'));
    timeline.flush();
    timeline.flush(); // nothing more
    expect(lines).toEqual([
      '  [  100 ms] stopping server c:3',
      '  [  101 ms] failover ×1,000 (after a ConnectionError on c:3: read from the next replica), until 111 ms',
      '  [  112 ms] serverEjected c:3 (2 failures)',
      '  [ 1812 ms] serverReturned c:3 (flushed; it was out for 1.7 s)',
      '  [ 1813 ms] failover ×31 (30 after a miss on c:3, 1 after a ConnectionError on a:1: read from the next replica); readRepaired ×20 (copied back to c:3), until 1850 ms',
      '  [ 1900 ms] serverWarmed c:3 (1,234 keys copied to it from their other replica)',
      '  [ 1901 ms] failover ×1 (after a miss on c:3: read from the next replica)',
    ]);
  });

  it('summarises the events by type, the server changes first', () => {
    const events: FleetEvent[] = [
      { type: 'failover', key: 'k', from: 'c:3', to: 'a:1', reason: 'miss' },
      { type: 'serverEjected', server: 'c:3', at: 0, failures: 2, retryAt: 1 },
      { type: 'readRepaired', key: 'k', from: 'a:1', to: ['c:3'] },
      { type: 'serverFenced', server: 'c:3', at: 0, retryAt: 1, key: 'k' },
      { type: 'failover', key: 'k', from: 'c:3', to: 'a:1', reason: 'miss' },
      { type: 'serverWarmed', server: 'c:3', copied: 3 },
    ];
    expect(summariseEvents(events)).toBe('1 serverFenced, 1 serverEjected, 1 serverWarmed, 2 failover, 1 readRepaired');
    expect(summariseEvents([])).toBe('none');
  });
});
