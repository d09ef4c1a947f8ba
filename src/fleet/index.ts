/**
 * A fleet of servers: one client over many zcached servers, with weighted
 * rendezvous hashing, hash tags, ejection of failing servers and fan-out of
 * multi-key and server-wide commands. See docs/fleet.md.
 *
 * - {@link ZCachedFleet}: the client (the shell, one `ConnectionPool` per server).
 * - {@link placement}, {@link Placement}, {@link rankServers}: where a key lives (pure).
 * - {@link fleetReducer}, {@link initialFleetState}: membership and ejection as a pure reducer.
 * - {@link xxhash64}: the key hash (XXH64).
 *
 * @module
 */
export { ZCachedFleet, FLEET_CHANNEL, type FleetCommandOptions, type FleetServerInfo } from './fleet.js';
export {
  type FailoverPolicy,
  type FleetServerOptions,
  type FleetServerSpec,
  type ZCachedFleetOptions,
} from './options.js';
export { placement, rankServers, Placement, keyHash, hashTagOf, hashedRange, type PlacementServer, type PlacementOptions } from './placement.js';
export { xxhash64 } from './xxhash64.js';
export { fleetReducer } from './reducer.js';
export {
  initialFleetState,
  DEFAULT_EJECTION,
  type EjectionConfig,
  type FleetAction,
  type FleetEffect,
  type FleetEvent,
  type FleetServerState,
  type FleetState,
  type FleetTransition,
  type ServerHealth,
} from './state.js';
export {
  ServerEjectedError,
  type ServerEjectedErrorOptions,
  NoServerError,
  CrossServerError,
  PartialFailureError,
  FanOutError,
  type ServerFailure,
  type ServerOutcome,
} from './errors.js';
export type { PerServerCommands, ServerOutcomes } from './fan-out.js';
export { fleetFpView, type ZCachedFleetFp } from './fp.js';
export type { FleetConnectEvent, FleetEventOf, FleetReadyEvent, FleetReconnectingEvent, ZCachedFleetEvents } from './fleet-events.js';
