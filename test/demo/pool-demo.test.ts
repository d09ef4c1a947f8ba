import { describe, expect, it } from 'vitest';
import { runPoolDemo } from '../../src/demo/pool-demo.js';

// The demo in-process with the embedded server: about two seconds of load, the proxy cutting
// connection #1 half-way. No timing is asserted, only what the report says.
describe('the npm start demo', () => {
  it('names where the server and the proxy run, and labels the ConnectionErrors of the deliberate cut as expected', async () => {
    const lines: string[] = [];
    const errors: string[] = [];
    const result = await runPoolDemo(
      { url: undefined, dialect: 'auto', durationMs: 2_000, poolSize: 4, workers: 64, fleet: undefined, failover: 'fail-fast', replicas: 1 },
      { print: (line) => lines.push(line), printError: (line) => errors.push(line), progress: false },
    );
    const report = lines.join('\n');
    expect(lines[0]).toMatch(/^embedded zcached server \(faithful etx, in this process\) on 127\.0\.0\.1:\d+; detected: a current zcached server \('etx'\); fault proxy on 127\.0\.0\.1:\d+ in front of connection #1$/);
    expect(result.cutAtMs).toBeDefined();
    const workload = result.workload!;
    expect(workload.wrongReplies).toBe(0);
    // 64 requests in flight over 4 connections: the cut socket had some of them, and they failed with ConnectionError.
    const cut = workload.expectedErrors.get('ConnectionError') ?? 0;
    expect(cut).toBeGreaterThan(0);
    expect(workload.errors.get('ConnectionError')).toBe(cut);
    expect(report).toMatch(new RegExp(`errors {10}expected: ${cut.toLocaleString('en-US')} ConnectionError from the deliberate cut at \\d+\\.\\d s`));
    const unexpected = [...workload.errors].filter(([name]) => name !== 'ConnectionError');
    expect(report).toContain(`unexpected: ${unexpected.length === 0 ? 'none' : ''}`);
    expect(report).toMatch(/what bounds it {2}client and embedded server share this process's one JavaScript thread/);
    expect(report).toContain("the 'etx' send policy: at most 1,400 bytes (one TCP segment) unanswered per connection");
    expect(report).toMatch(/latency {9}p50 \d[\d,]*\.\d{3} ms {3}p99 \d[\d,]*\.\d{3} ms/);
    expect(workload.latency.count).toBe(workload.requests);
    expect(workload.latency.p50Ms).toBeLessThanOrEqual(workload.latency.p99Ms);
    if (result.exitCode !== 0) expect(errors.join('\n')).toMatch(/did not heal/);
  }, 60_000);
});
