/**
 * One connection: the public class, its lifecycle machine, back-off and transport.
 *
 * @module
 */
export { Connection, type ConnectionOptions } from './connection.js';
export {
  ExponentialBackoff,
  DEFAULT_BACKOFF_INITIAL,
  DEFAULT_BACKOFF_JITTER,
  DEFAULT_BACKOFF_MAX,
  DEFAULT_BACKOFF_MULTIPLIER,
  type ExponentialBackoffOptions,
} from './backoff.js';
export {
  connectionMachine,
  lifecycleState,
  isOutOfAttempts,
  brokenPhase,
  hasGivenUp,
  validateConnectionMachineInput,
  MAX_TIMER_DELAY,
  DEFAULT_STABLE_AFTER,
  type ConnectionMachineContext,
  type ConnectionMachineEvent,
  type ConnectionMachineInput,
  type ConnectionMachineSnapshot,
  type ConnectionMachineStateValue,
  type OpenSocketInput,
} from './machine.js';
export type { RequestOptions } from './requests.js';
export { describeConnectionState, type CloseOptions, type ConnectionState, type ConnectionStateChange, type ConnectionStateFacts } from './state.js';
export { openTransport, type OpenTransport, type TlsSetting, type Transport, type TransportEvents, type TransportOptions } from './transport.js';
export { COMMAND_CHANNEL, CONNECTION_STATE_CHANNEL, type CommandTraceContext, type ConnectionStateMessage } from './diagnostics.js';
export { NOT_FOUND_RESULT } from './diagnostics.js';
export { GenerationProbe, PROBE_TOKEN, type ProbeStep } from './generation-probe.js';
