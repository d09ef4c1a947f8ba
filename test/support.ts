/**
 * Small pieces shared by the socket-level test files: deferred cleanup,
 * polling for a condition, and a watch on unhandled rejections.
 */
import { afterAll, afterEach, beforeAll } from 'vitest';

/** Waits `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every `intervalMs` until it holds; throws after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 3_000, intervalMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
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
