/**
 * How a promise settled, recorded without awaiting it: the request-queue
 * tests check that a request settles exactly once, and with what, at a
 * precise moment of a simulated clock.
 */
import type { Reply } from '../../src/protocol/values.js';

/** What a watched promise did so far: how many times it settled (must end at 1), and with what. */
export interface Outcome {
  settled: number;
  value?: Reply;
  error?: unknown;
}

/** Starts recording how `promise` settles; the returned record fills in as it does. */
export function watch(promise: Promise<Reply>): Outcome {
  const outcome: Outcome = { settled: 0 };
  promise.then(
    (value) => {
      outcome.settled++;
      outcome.value = value;
    },
    (error: unknown) => {
      outcome.settled++;
      outcome.error = error;
    },
  );
  return outcome;
}
