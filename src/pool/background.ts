/**
 * `runInBackground`: the body of `ConnectionPool.runInBackground` (and of
 * its alias `runInThread`, the Python client's name), which runs a function
 * on a later turn of the event loop.
 *
 * @module
 */

/**
 * Runs `fn(...args)` on a later turn of the event loop (`setImmediate`),
 * without blocking the caller. The returned promise settles with its
 * result, or rejects with what it threw or rejected with; left unobserved,
 * that rejection is not reported as an unhandled rejection.
 */
export function runInBackground<A extends readonly unknown[], R>(fn: (...args: A) => R | PromiseLike<R>, ...args: A): Promise<R> {
  const result = new Promise<R>((resolve, reject) => {
    setImmediate(() => {
      try {
        resolve(fn(...args));
      } catch (error) {
        reject(error);
      }
    });
  });
  // Marks the promise as handled; whoever awaits it still gets the rejection.
  result.catch(() => {});
  return result;
}
