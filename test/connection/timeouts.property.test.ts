/**
 * Whatever per-call timeouts, aborts, reply delays and stream resets
 * interleave, no reply ever reaches the wrong caller and every request
 * settles exactly once — with pipelining (where a timeout abandons only its
 * own request) and without (where it resets the stream).
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RequestQueue, type RequestSink } from '../../src/connection/requests.js';
import { WireDecoder } from '../../src/protocol/decoder.js';
import { DIALECTS, type Dialect } from '../../src/protocol/dialect.js';
import { wireText } from './fake-transport.js';

afterEach(() => {
  vi.useRealTimers();
});

type Step =
  | { kind: 'send'; timeout: number | undefined; withSignal: boolean }
  | { kind: 'abort'; pick: number }
  | { kind: 'flush' }
  | { kind: 'reply'; count: number }
  | { kind: 'wait'; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('send' as const), timeout: fc.option(fc.integer({ min: 1, max: 300 }), { nil: undefined }), withSignal: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'flush' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('reply' as const), count: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 120 }) }) },
);

interface Tracked {
  readonly id: string;
  readonly controller: AbortController;
  settled: number;
  value?: unknown;
  error?: unknown;
}

async function run(dialect: Dialect, steps: readonly Step[]): Promise<{ tracked: Tracked[]; resets: number }> {
  vi.useFakeTimers();
  /** Ids of the requests the server has read on the current stream, in order; it answers them in order. */
  let serverInbox: string[] = [];
  let resets = 0;
  const sink: RequestSink = {
    write(bytes) {
      new WireDecoder().push(bytes, (value) => {
        if (value.type === 'array') serverInbox.push(wireText(value.value[1] as never));
      });
    },
    cork() {},
    uncork() {},
  };
  const queue: RequestQueue = new RequestQueue({
    dialect,
    maxPending: 1e6,
    timeoutLimit: 100,
    onStreamTimeout: (error) => {
      // What the connection does: a new socket; the old stream's replies are gone.
      resets++;
      serverInbox = [];
      queue.failWritten(error);
    },
    onDrained: () => {},
  });
  const tracked: Tracked[] = [];
  let next = 0;
  for (const s of steps) {
    switch (s.kind) {
      case 'send': {
        const t: Tracked = { id: `r${next++}`, controller: new AbortController(), settled: 0 };
        queue
          .enqueue(['ECHO', t.id], { timeout: s.timeout, signal: s.withSignal ? t.controller.signal : undefined })
          .then(
            (value) => Object.assign(t, { settled: t.settled + 1, value }),
            (error: unknown) => Object.assign(t, { settled: t.settled + 1, error }),
          );
        tracked.push(t);
        break;
      }
      case 'abort': {
        const live = tracked.filter((t) => t.settled === 0);
        if (live.length > 0) (live[s.pick % live.length] as Tracked).controller.abort();
        break;
      }
      case 'flush':
        queue.flush(sink);
        break;
      case 'reply':
        for (const id of serverInbox.splice(0, s.count)) expect(queue.deliver(id)).toBe(true);
        if (queue.held) queue.flush(sink);
        break;
      case 'wait':
        await vi.advanceTimersByTimeAsync(s.ms);
        break;
    }
    await Promise.resolve();
  }
  // Drain: answer everything, then let every deadline pass.
  for (let i = 0; i < 1000 && queue.pending > 0; i++) {
    queue.flush(sink);
    for (const id of serverInbox.splice(0)) queue.deliver(id);
    await vi.advanceTimersByTimeAsync(50);
  }
  await vi.advanceTimersByTimeAsync(1000);
  queue.dispose();
  return { tracked, resets };
}

describe.each([
  ['pipelining (etx)', DIALECTS.etx],
  ['one at a time (etx-request)', DIALECTS['etx-request']],
])('%s: timeouts, aborts, delays and resets', (_, dialect) => {
  it('no reply reaches the wrong caller; every request settles exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 80 }), async (steps) => {
        const { tracked } = await run(dialect, steps);
        for (const t of tracked) {
          expect(t.settled, `${t.id} settled ${t.settled} times`).toBe(1);
          if (t.error === undefined) expect(t.value, `${t.id} got another's reply`).toBe(t.id);
        }
      }),
      { numRuns: 200 },
    );
  });
});

it('with pipelining, per-call timeouts alone never reset the stream while replies keep coming', async () => {
  // Requests with short timeouts, answered slowly but steadily: each short one is abandoned alone.
  const steps: Step[] = [];
  for (let i = 0; i < 20; i++) {
    steps.push({ kind: 'send', timeout: 10, withSignal: false }, { kind: 'send', timeout: undefined, withSignal: false });
    steps.push({ kind: 'flush' }, { kind: 'wait', ms: 20 }, { kind: 'reply', count: 2 });
  }
  const { tracked, resets } = await run(DIALECTS.etx, steps);
  expect(resets).toBe(0);
  expect(tracked.filter((t, i) => i % 2 === 1).every((t) => t.value === t.id)).toBe(true);
});
