/**
 * Small pieces shared by the socket-level test files: deferred cleanup,
 * polling for a condition, a watch on unhandled rejections, and a port
 * nothing listens on.
 */
import * as net from 'node:net';
import { afterAll, afterEach, beforeAll } from 'vitest';

/**
 * The real clock and timer, taken when this module loads (before any test
 * installs fake timers): {@link sleep} and {@link until} wait for sockets and
 * other processes, in real time, whatever clock the code under test runs on.
 */
const realSetTimeout = globalThis.setTimeout;
const realNow = performance.now.bind(performance);

/**
 * Waits `ms` milliseconds of real time. Never use it to wait for something
 * to have happened (a load-dependent race): poll for it with {@link until}.
 */
export const sleep = (ms: number): Promise<void> => new Promise<void>((resolve) => realSetTimeout(resolve, ms));

/**
 * Polls `condition` every `intervalMs` until it holds; throws after
 * `timeoutMs` of real time. The default limit is generous on purpose: it
 * only bounds how long a broken test hangs, and a loaded CI machine may take
 * seconds for what takes milliseconds on an idle one.
 */
export async function until(condition: () => boolean, timeoutMs = 10_000, intervalMs = 5): Promise<void> {
  const deadline = realNow() + timeoutMs;
  while (!condition()) {
    if (realNow() > deadline) throw new Error(`condition not reached in ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

/**
 * Registers an `afterEach` that runs the deferred cleanups of each test,
 * last first. Returns the list to push cleanups onto.
 */
export function deferredCleanup(): (() => Promise<unknown>)[] {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });
  return cleanup;
}

/** Collects every unhandled rejection while the file's tests run. */
export function watchUnhandledRejections(): unknown[] {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
  });
  return unhandled;
}

/** A port that was just bound and closed on 127.0.0.1: nothing listens there (a connection to it is refused). */
export async function refusedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
