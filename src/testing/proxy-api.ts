/**
 * The public shapes of the fault proxy: its options, the options of each
 * fault, its counters and its handle. The implementation is `proxy.ts`.
 *
 * @module
 */

/** One direction of traffic: `upstream` (client → server) or `downstream` (server → client). */
export type ProxyDirection = 'upstream' | 'downstream';

/** A direction, or both at once. */
export type ProxyDirections = ProxyDirection | 'both';

/**
 * How a connection is cut:
 * - `rst`: a TCP reset (`socket.resetAndDestroy()`); the peer sees `ECONNRESET`.
 * - `fin`: an orderly end (`socket.end()`); the peer reads end-of-stream.
 */
export type CutMode = 'rst' | 'fin';

/** Options of {@link startProxy}. */
export interface StartProxyOptions {
  /** Where to forward connections: the real (or embedded) server. */
  readonly target: { readonly host: string; readonly port: number };
  /**
   * Address to listen on; must be a loopback address: any of 127.0.0.0/8
   * (`'127.0.0.2'` beside a server there), `'::1'` or `'localhost'`; another
   * host is a RangeError. Default `'127.0.0.1'`.
   */
  readonly host?: string;
  /** Port to listen on; 0 (the default) picks a free one. */
  readonly port?: number;
}

/** Options of {@link FaultProxy.cutConnections}. */
export interface CutOptions {
  /** Reset (`'rst'`, the default) or end (`'fin'`) both sockets of every connection. */
  readonly mode?: CutMode;
}

/** Options of {@link FaultProxy.halfOpen}. */
export interface HalfOpenOptions {
  /** Which direction stops flowing. Default `'both'`. */
  readonly direction?: ProxyDirections;
}

/** Options of {@link FaultProxy.refuseConnections}. */
export interface RefuseOptions {
  /**
   * How new connections are refused:
   * - `refuse` (default): the proxy stops listening, so connecting fails with
   *   `ECONNREFUSED`, as when nothing listens on the port;
   * - `reset`: connections are accepted and reset at once, as a server past
   *   its client limit, or a load balancer with no backend, does.
   */
  readonly mode?: 'refuse' | 'reset';
}

/**
 * What happens to a connection after {@link FaultProxy.truncateNextReply}
 * delivered the first bytes of the reply:
 * - `fin`: the client reads end-of-stream (the server died mid-reply);
 * - `rst`: the client's socket is reset;
 * - `stall`: nothing more is forwarded to the client, and the sockets stay
 *   open (a reply that never ends).
 */
export type TruncateThen = CutMode | 'stall';

/** Options of {@link FaultProxy.truncateNextReply}. */
export interface TruncateOptions {
  /** What follows the truncated reply. Default `'fin'`. */
  readonly then?: TruncateThen;
}

/** Counters of a {@link FaultProxy}, as a snapshot. */
export interface ProxyStats {
  /** Client connections accepted and forwarded since the start. */
  readonly connectionsAccepted: number;
  /** Client connections refused by {@link FaultProxy.refuseConnections} in `reset` mode. */
  readonly connectionsRefused: number;
  /** Proxied connections open right now. */
  readonly openConnections: number;
  /** Bytes forwarded from clients to the server. */
  readonly bytesUpstream: number;
  /** Bytes forwarded from the server to clients. */
  readonly bytesDownstream: number;
  /** Connections ended by {@link FaultProxy.cutConnections} or a truncation. */
  readonly connectionsCut: number;
}

/** A running fault proxy. Dispose it (`await using`) or {@link FaultProxy.close | close} it. */
export interface FaultProxy extends AsyncDisposable {
  /** The address it listens on. */
  readonly host: string;
  /** The port it listens on (the one picked, when started with port 0). */
  readonly port: number;
  /** Where it forwards connections. */
  readonly target: { readonly host: string; readonly port: number };
  /** A snapshot of its counters. */
  readonly stats: ProxyStats;
  /**
   * Delays every chunk by `ms` milliseconds in the given direction (each
   * direction, with `'both'`: a round trip then takes `2 * ms` more). Applies
   * to bytes read from now on; order is always kept. 0 removes the delay.
   * Fractions of a millisecond are kept (0.25 delays 0.25 ms, not a whole
   * timer tick): the part under 1 ms is waited out turn by turn, which keeps
   * the process busy meanwhile.
   * @throws RangeError unless `ms` is a finite number >= 0
   */
  setLatency(ms: number, direction?: ProxyDirections): void;
  /**
   * Limits each connection, in the given direction, to `bytesPerSecond`;
   * `undefined` removes the limit.
   * @throws RangeError unless `bytesPerSecond` is a positive finite number or undefined
   */
  setBandwidth(bytesPerSecond: number | undefined, direction?: ProxyDirections): void;
  /**
   * Cuts what passes in the given direction as a network may: a chunk of at
   * most `maxBytes` (one socket read on loopback: normally one write of the
   * peer, or writes it coalesced) passes whole, as one segment would; a
   * longer one leaves in pieces of random length from 1 to `maxBytes`, one
   * piece per event-loop turn, so the receiver's reads can end between any
   * two of them. `undefined` stops it. Models a path whose MSS is
   * `maxBytes` (1,448 on Ethernet with TCP timestamps).
   * @param random - random numbers in [0, 1) for the cut points; default `Math.random`
   * @throws RangeError unless `maxBytes` is a positive integer or undefined
   */
  resegment(maxBytes: number | undefined, direction?: ProxyDirections, random?: () => number): void;
  /** Ends every open connection now, both sockets, with a reset (default) or an orderly end. */
  cutConnections(options?: CutOptions): void;
  /**
   * Stops forwarding in one or both directions without closing anything, on
   * open connections and on those accepted until {@link heal}. Bytes and
   * ends read meanwhile are held back (the senders are paused once a link
   * holds 1 MiB, as a full TCP window would), and flow again, in order, on
   * {@link heal}.
   */
  halfOpen(options?: HalfOpenOptions): void;
  /** Ends {@link halfOpen} in both directions: held bytes flow again, in order. */
  heal(): void;
  /**
   * While `on`, new connections are refused (see {@link RefuseOptions});
   * open ones are left alone. Resolves once the change is in effect.
   * @throws (rejects) the listen error when listening again fails
   */
  refuseConnections(on: boolean, options?: RefuseOptions): Promise<void>;
  /**
   * Replaces the next chunk the server sends (on any connection; a chunk is
   * one socket read, which on loopback is normally whole replies) with
   * `replacement(chunk)`, or with the given bytes.
   */
  corruptNextReply(replacement: ((chunk: Buffer) => Uint8Array) | Uint8Array | string): void;
  /**
   * Forwards only the first `keepBytes` of the next chunk the server sends,
   * then ends that connection as `options.then` says (default `'fin'`).
   * @throws RangeError unless `keepBytes` is an integer >= 0
   */
  truncateNextReply(keepBytes: number, options?: TruncateOptions): void;
  /** Stops listening and destroys every proxied socket; resolves once closed. Idempotent. */
  close(): Promise<void>;
}
