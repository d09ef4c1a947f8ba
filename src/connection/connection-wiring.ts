/**
 * How a `Connection` (connection.ts) is put together, once, by its
 * constructor: its reply decoder, its lifecycle (connection-lifecycle.ts),
 * its request queue (requests.ts), its wire pump (wire-pump.ts), and the
 * {@link LifecycleHost} through which the lifecycle sees and changes it.
 * Nothing here runs per request: the hooks the connection hands in are the
 * very functions the queue, the pump and the lifecycle call.
 *
 * @module
 */

import { ReplyDecoder } from '../protocol/decoder.js';
import type { ServerGeneration } from '../protocol/dialect.js';
import { ConnectionLifecycle, lifecycleSettings, type LifecycleHost } from './connection-lifecycle.js';
import type { ObservedConnection } from './diagnostics.js';
import type { ConnectionOptions, resolveConnectionOptions } from './options.js';
import { RequestQueue } from './requests.js';
import { whyWaiting, type WaitingConnection } from './root-cause.js';
import type { ConnectionState } from './state.js';
import { WirePump } from './wire-pump.js';

/** What only the connection can give its parts: its private state, through these functions. */
export interface ConnectionCore {
  state(): ConnectionState;
  setState(state: ConnectionState): void;
  closing(): Promise<void> | undefined;
  setClosing(closing: Promise<void>): void;
  /** The wire pump's: true while the connection is `connected`. */
  connected(): boolean;
  /** The wire pump's: true when the dialect in use pipelines. */
  pipelining(): boolean;
  /** Frames the connection for what the handshake found (its dialect, its queue, its decoder). */
  adopt(generation: ServerGeneration | undefined): void;
  /** The reply stream can no longer be trusted: break the connection (or, while closing, finish the close). */
  break(error: Error): void;
}

/** The connection itself, as its parts see it. */
type WiredConnection = ObservedConnection & WaitingConnection & { generation: ServerGeneration | undefined };

/** The parts of one connection; the lifecycle is started with `host` once the connection holds them. */
export interface ConnectionParts {
  readonly decoder: ReplyDecoder;
  readonly lifecycle: ConnectionLifecycle;
  readonly requests: RequestQueue;
  readonly pump: WirePump;
  readonly host: LifecycleHost;
}

/** Builds the parts of `connection`: `settings` is what `resolveConnectionOptions(options)` gave. */
export function connectionParts(
  connection: WiredConnection,
  options: ConnectionOptions,
  settings: ReturnType<typeof resolveConnectionOptions>,
  core: ConnectionCore,
): ConnectionParts {
  const decoder = new ReplyDecoder({
    ...(options.decoderLimits === undefined ? {} : { limits: options.decoderLimits }),
    bulkAsBuffer: options.bulkAsBuffer === true,
  });
  const lifecycle = new ConnectionLifecycle(lifecycleSettings(options, settings));
  const requests = new RequestQueue({
    dialect: settings.dialect,
    maxPending: settings.maxPending,
    timeoutLimit: settings.timeoutLimit,
    onStreamTimeout: core.break,
    onDrained: lifecycle.onDrained,
    whyWaiting: () => whyWaiting(connection),
    replyBytes: (bytes) => {
      decoder.bytes = bytes;
    },
  });
  const pump = new WirePump(requests, decoder, { connected: core.connected, pipelining: core.pipelining, broken: core.break });
  return { decoder, lifecycle, requests, pump, host: lifecycleHost(connection, requests, pump, core) };
}

/** What the lifecycle may see and do of the connection (built once). */
function lifecycleHost(connection: WiredConnection, requests: RequestQueue, pump: WirePump, core: ConnectionCore): LifecycleHost {
  return {
    connection,
    requests,
    state: core.state,
    setState: core.setState,
    closing: core.closing,
    setClosing: core.setClosing,
    transport: () => pump.transport,
    attach: (transport, generation) => {
      pump.attach(transport);
      connection.generation = generation;
      core.adopt(generation);
    },
    // The machine's `closeSocket` action: runs whenever `connected` is left.
    detach: () => pump.detach(),
    noteGeneration: (generation) => {
      connection.generation = generation;
    },
    data: pump.onData,
    break: core.break,
    flushSoon: () => pump.flushSoon(),
    cancelFlush: () => pump.cancelFlush(),
    lastActivity: () => pump.lastActivity,
    touch: () => {
      pump.lastActivity = performance.now();
    },
  };
}
