import { afterEach, describe, expect, it } from 'vitest';
import type { DemoSettings } from '../../src/demo/args.js';
import { runFleetDemo } from '../../src/demo/fleet.js';
import { runPoolDemo, type PoolDemoResult } from '../../src/demo/pool-demo.js';
import { GENERATION_LABELS, type DialectName } from '../../src/protocol/dialect.js';
import { startServer, type ZCachedServer } from '../../src/testing/index.js';

// The demo in-process, pointed (as ZCACHED_URL would) at an embedded faithful server of this
// process: short runs, the proxy cutting connection #1 half-way. No timing is asserted.
const settings = (server: ZCachedServer, dialect: DemoSettings['dialect']): DemoSettings => ({
  url: `${server.host}:${server.port}`,
  dialect,
  durationMs: 600,
  poolSize: 4,
  workers: 32,
  fleet: undefined,
  failover: 'fail-fast',
  replicas: 1,
});

const demo = async (server: ZCachedServer, dialect: DemoSettings['dialect']) => {
  const lines: string[] = [];
  const errors: string[] = [];
  let result: PoolDemoResult | undefined;
  let thrown: unknown;
  try {
    result = await runPoolDemo(settings(server, dialect), { print: (line) => lines.push(line), printError: (line) => errors.push(line), progress: false });
  } catch (error) {
    thrown = error;
  }
  return { result, thrown, lines, errors };
};

let server: ZCachedServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('the npm start demo and the server generation (issue 18, item 5)', () => {
  it('keys each run by its own id: a second run against the same server reports zero wrong replies', async () => {
    server = await startServer({ dialect: 'etx' });
    const first = await demo(server, 'auto');
    const second = await demo(server, 'auto');
    for (const run of [first, second]) {
      expect(run.thrown).toBeUndefined();
      expect(run.result!.workload!.wrongReplies).toBe(0);
      expect(run.lines.join('\n')).toMatch(/wrong replies {3}0$/m);
    }
    // The first run's keys are still on the server; the second wrote its own.
    expect(second.result!.runId).not.toBe(first.result!.runId);
    expect(first.lines[1]).toContain(`this run's keys: demo:${first.result!.runId}:*`);
    expect(second.lines[1]).toContain(`this run's keys: demo:${second.result!.runId}:*`);
    expect(server.store.size).toBeGreaterThan(0);
  }, 60_000);

  for (const generation of ['legacy', 'etx-request', 'etx'] as const satisfies readonly DialectName[]) {
    it(`names the generation it detected in its first line: a faithful '${generation}' server, default dialect 'auto'`, async () => {
      server = await startServer({ dialect: generation });
      const run = await demo(server, 'auto');
      expect(run.thrown).toBeUndefined();
      const label = GENERATION_LABELS[generation].replace(/[()]/g, '\\$&');
      expect(run.lines[0]).toMatch(
        new RegExp(`^zcached server at 127\\.0\\.0\\.1:${server.port} \\(from ZCACHED_URL, 'auto' dialect\\); detected: ${label}; fault proxy on 127\\.0\\.0\\.1:\\d+ in front of connection #1$`),
      );
      expect(run.result!.generations).toEqual([generation]);
      expect(run.result!.workload!.wrongReplies).toBe(0);
      // The send-policy line is the detected generation's, not 'auto''s.
      expect(run.lines.join('\n')).toContain(`the '${generation}' `);
    }, 60_000);
  }

  it('an explicit --dialect of another generation: one clear message naming the generation found and the option to use, exit code 2, no stack trace', async () => {
    server = await startServer({ dialect: 'legacy' });
    const run = await demo(server, 'etx');
    expect(run.thrown).toBeUndefined();
    expect(run.result!.exitCode).toBe(2);
    expect(run.result!.workload).toBeUndefined();
    expect(run.result!.generations).toEqual(['legacy']);
    expect(run.lines).toEqual([`zcached server at 127.0.0.1:${server.port} (from ZCACHED_URL, 'etx' dialect); detected: ${GENERATION_LABELS.legacy}`]);
    expect(run.errors[0]).toBe(
      `error: 127.0.0.1:${server.port} is ${GENERATION_LABELS.legacy}, but this client was given dialect 'etx': use dialect 'legacy' or 'auto'`,
    );
    expect(run.errors[1]).toContain('npm start -- --dialect legacy, or --dialect auto');
    expect(run.errors.join('\n')).not.toMatch(/^\s+at /m);
  }, 60_000);

  it('the fleet demo keys by run and names each server generation', async () => {
    const lines: string[] = [];
    const result = await runFleetDemo({ servers: 2, durationMs: 900, workers: 8, dialect: 'etx-request', runId: 'r1', print: (line) => lines.push(line) });
    expect(lines[0]).toMatch(
      /^fleet of 2 embedded zcached servers \(faithful etx-request, in this process\) on 127\.0\.0\.1:\d+, 127\.0\.0\.2:\d+; failover 'fail-fast'; detected: a 2025 zcached server \('etx-request'\) on each; this run's keys: \{r1:w<worker>\}:<n>$/,
    );
    expect([...result.generations.values()]).toEqual([GENERATION_LABELS['etx-request'], GENERATION_LABELS['etx-request']]);
    expect(result.wrongReplies).toBe(0);
    expect(lines.join('\n')).toMatch(/^keys per server: 127\.0\.0\.1:\d+ \d+ \('etx-request'\), 127\.0\.0\.2:\d+ \S+ \('etx-request'\)$/m);
  }, 60_000);
});
