/**
 * The fp-ts view of a fleet: the same commands as `ZCachedFleet`, returning
 * lazy `TaskEither<ZCachedError, T>` values, built as the client's view is
 * (same command list, same error conversion) on the fleet's promise API.
 *
 * @module
 */

import * as TE from 'fp-ts/lib/TaskEither.js';
import { FP_COMMANDS, toZCachedError, type FpCommand } from '../client/fp.js';
import type { ZCachedError } from '../errors.js';
import type { ZCachedFleet } from './fleet.js';

/**
 * Each fleet command as a function returning a lazy
 * `TaskEither<ZCachedError, T>`: nothing runs until the task is called;
 * argument errors arrive as `InvalidArgumentError` (the original as `cause`),
 * a partial failure as the `PartialFailureError` / `FanOutError` itself.
 */
export type ZCachedFleetFp = {
  readonly [K in FpCommand]: (...args: Parameters<ZCachedFleet[K]>) => TE.TaskEither<ZCachedError, Awaited<ReturnType<ZCachedFleet[K]>>>;
};

/** Builds the fp view of a fleet. */
export function fleetFpView(fleet: ZCachedFleet): ZCachedFleetFp {
  const view: Record<string, unknown> = {};
  for (const name of FP_COMMANDS) {
    const method = fleet[name] as (...args: unknown[]) => Promise<unknown>;
    view[name] = (...args: unknown[]) => TE.tryCatch(() => method.apply(fleet, args), toZCachedError);
  }
  return Object.freeze(view) as ZCachedFleetFp;
}
