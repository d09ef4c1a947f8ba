/**
 * A fault-injection TCP proxy for tests, in the spirit of Toxiproxy but
 * in-process and loopback only. Put it between a client and a server, then
 * make the network misbehave on demand:
 *
 * ```ts
 * await using server = await startServer();
 * await using proxy = await startProxy({ target: { host: server.host, port: server.port } });
 * const client = new ZCached({ host: proxy.host, port: proxy.port });
 * proxy.setLatency(50);                          // 50 ms each way
 * proxy.halfOpen({ direction: 'downstream' });   // replies stop, sockets stay open
 * proxy.heal();                                  // held bytes flow again, in order
 * proxy.cutConnections({ mode: 'rst' });         // every connection reset
 * ```
 *
 * Words used throughout: **upstream** is client → server (requests),
 * **downstream** is server → client (replies). A *link* is one direction of
 * one proxied connection; every fault is applied per link, so bytes are never
 * reordered, duplicated or silently dropped in the middle of a stream (that
 * would be a fault TCP itself never produces). Bytes are only lost when a
 * connection ends, as on a real network.
 *
 * @module
 */

import * as net from 'node:net';
import type {
  ProxyDirections,
  CutMode,
  StartProxyOptions,
  CutOptions,
  HalfOpenOptions,
  RefuseOptions,
  TruncateThen,
  TruncateOptions,
  ProxyStats,
  FaultProxy,
} from './proxy-api.js';
import { Link, resetSocket, type DirectionSettings } from './proxy-link.js';

/** The public shapes (options, stats, the handle) live in proxy-api.ts. */
export type * from './proxy-api.js';

/** After an orderly end, a socket whose peer never ends its side is destroyed after this long. */
const FIN_GRACE_MS = 2_000;

/** What a proxied connection needs from the proxy. */
interface ProxyShared {
  readonly upstream: DirectionSettings;
  readonly downstream: DirectionSettings;
  readonly counters: { bytesUpstream: number; bytesDownstream: number; connectionsCut: number };
  /** The one-shot fault for the next downstream chunk, if any; taking it clears it. */
  takeReplyFault(): ReplyFault | undefined;
}

/** A one-shot fault applied to the next chunk the server sends. */
type ReplyFault =
  | { readonly kind: 'corrupt'; readonly replace: (chunk: Buffer) => Uint8Array }
  | { readonly kind: 'truncate'; readonly keepBytes: number; readonly then: TruncateThen };

/** One client connection and its upstream socket to the target, with a link each way. */
class ProxiedConnection {
  readonly #client: net.Socket;
  readonly #server: net.Socket;
  readonly #toServer: Link;
  readonly #toClient: Link;
  readonly #shared: ProxyShared;
  /** Set once a truncation stalled the downstream: server bytes are discarded from then on. */
  #stalled = false;
  #finTimer: NodeJS.Timeout | undefined;
  /** Resolves once both sockets are closed. */
  readonly closed: Promise<void>;

  constructor(client: net.Socket, target: { host: string; port: number }, shared: ProxyShared) {
    this.#client = client;
    this.#shared = shared;
    this.#server = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
    this.#server.setNoDelay(true);
    client.setNoDelay(true);
    const { counters } = shared;
    this.#toServer = new Link(client, this.#server, shared.upstream, (n) => (counters.bytesUpstream += n));
    this.#toClient = new Link(this.#server, client, shared.downstream, (n) => (counters.bytesDownstream += n));

    client.on('data', (chunk: Buffer) => this.#toServer.push(chunk));
    this.#server.on('data', (chunk: Buffer) => this.#fromServer(chunk));
    // An orderly end travels through the link, after the bytes before it.
    client.on('end', () => this.#toServer.end('fin'));
    this.#server.on('end', () => this.#toClient.end('fin'));
    // Errors (ECONNRESET, ECONNREFUSED...) end in 'close'; they must not crash the test process.
    client.on('error', () => {});
    this.#server.on('error', () => {});
    // A socket that closed abruptly takes its peer down the same way, through the link (after a half-open heals).
    client.on('close', (hadError) => {
      if (!client.readableEnded) this.#toServer.end(hadError ? 'rst' : 'fin');
    });
    this.#server.on('close', (hadError) => {
      if (!this.#server.readableEnded) this.#toClient.end(hadError ? 'rst' : 'fin');
    });
    const closedOne = (socket: net.Socket) => new Promise<void>((resolve) => socket.once('close', () => resolve()));
    this.closed = Promise.all([closedOne(client), closedOne(this.#server)]).then(() => {
      if (this.#finTimer !== undefined) clearTimeout(this.#finTimer);
      this.#toClient.kill();
      this.#toServer.kill();
    });
  }

  /** Re-reads the direction settings (latency, bandwidth, half-open) and delivers what they now allow. */
  pump(): void {
    this.#toServer.pump();
    this.#toClient.pump();
  }

  /** Ends both sockets now, dropping whatever the links still hold. */
  cut(mode: CutMode): void {
    this.#shared.counters.connectionsCut++;
    this.#toServer.kill();
    this.#toClient.kill();
    if (mode === 'rst') {
      resetSocket(this.#client);
      resetSocket(this.#server);
      return;
    }
    this.#client.end();
    this.#server.end();
    this.#finTimer = setTimeout(() => this.destroy(), FIN_GRACE_MS);
    this.#finTimer.unref();
  }

  /** Destroys both sockets at once. */
  destroy(): void {
    this.#toServer.kill();
    this.#toClient.kill();
    this.#client.destroy();
    this.#server.destroy();
  }

  #fromServer(chunk: Buffer): void {
    if (this.#stalled) return;
    const fault = this.#shared.takeReplyFault();
    if (fault === undefined) {
      this.#toClient.push(chunk);
      return;
    }
    if (fault.kind === 'corrupt') {
      this.#toClient.push(Buffer.from(fault.replace(chunk)));
      return;
    }
    this.#toClient.push(chunk.subarray(0, fault.keepBytes));
    this.#shared.counters.connectionsCut++;
    if (fault.then === 'stall') {
      this.#stalled = true;
      return;
    }
    // The server side goes at once; the client gets the kept bytes, then the end.
    this.#toServer.kill();
    this.#server.destroy();
    this.#toClient.end(fault.then);
  }
}

/**
 * True for a loopback address: the whole of 127.0.0.0/8 (as the kernel
 * routes it: every address of it is this machine), `::1` in any spelling,
 * an IPv4-mapped `::ffff:127.x.x.x` (or `::ffff:7f00:1`), and `localhost`.
 */
function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  const family = net.isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 6 ? 'ipv6' : 'ipv4');
}

/** 127.0.0.0/8 and ::1 (a BlockList also matches their IPv4-mapped and long IPv6 spellings). */
const LOOPBACK = new net.BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

function checkDirection(direction: unknown, name: string): ProxyDirections {
  if (direction !== 'upstream' && direction !== 'downstream' && direction !== 'both') {
    throw new TypeError(`${name}: direction must be 'upstream', 'downstream' or 'both', got ${String(direction)}`);
  }
  return direction;
}

function validateOptions(options: StartProxyOptions): void {
  if (typeof options !== 'object' || options === null) throw new TypeError('startProxy: options must be an object');
  const { target, host, port } = options;
  if (typeof target !== 'object' || target === null || typeof target.host !== 'string') {
    throw new TypeError('startProxy: target must be { host, port }');
  }
  if (!Number.isInteger(target.port) || target.port <= 0 || target.port > 65535) {
    throw new RangeError(`startProxy: target.port must be an integer from 1 to 65535, got ${String(target.port)}`);
  }
  if (host !== undefined && (typeof host !== 'string' || !isLoopbackHost(host))) {
    throw new RangeError(`startProxy: the proxy listens on loopback only (127.0.0.0/8, ::1, localhost), got ${JSON.stringify(host) ?? String(host)}`);
  }
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new RangeError(`startProxy: port must be an integer from 0 to 65535, got ${String(port)}`);
  }
}

/** Listens with `server` on `host:port`; resolves with the port bound. */
function listen(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      server.on('error', () => {
        // Errors after listening (e.g. EMFILE on accept) must not crash the test process.
      });
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/**
 * Starts a fault proxy in front of `options.target` and resolves once it
 * listens. Until a fault is set it forwards bytes unchanged, both ways.
 *
 * @throws TypeError / RangeError for invalid options (including a host that is not loopback)
 * @throws (rejects) the listen error, such as `EADDRINUSE`
 */
export async function startProxy(options: StartProxyOptions): Promise<FaultProxy> {
  validateOptions(options);
  const target = Object.freeze({ host: options.target.host, port: options.target.port });
  const host = options.host ?? '127.0.0.1';
  const upstream: DirectionSettings = { latencyMs: 0, bytesPerSecond: undefined, held: false, segmentBytes: undefined, random: Math.random };
  const downstream: DirectionSettings = { latencyMs: 0, bytesPerSecond: undefined, held: false, segmentBytes: undefined, random: Math.random };
  const counters = { bytesUpstream: 0, bytesDownstream: 0, connectionsCut: 0 };
  let replyFault: ReplyFault | undefined;
  const shared: ProxyShared = {
    upstream,
    downstream,
    counters,
    takeReplyFault: () => {
      const fault = replyFault;
      replyFault = undefined;
      return fault;
    },
  };
  const connections = new Set<ProxiedConnection>();
  let connectionsAccepted = 0;
  let connectionsRefused = 0;
  let resetting = false;
  let closing: Promise<void> | undefined;

  const accept = (client: net.Socket): void => {
    client.on('error', () => {});
    if (closing !== undefined || resetting) {
      connectionsRefused++;
      resetSocket(client);
      return;
    }
    connectionsAccepted++;
    const connection = new ProxiedConnection(client, target, shared);
    connections.add(connection);
    void connection.closed.then(() => connections.delete(connection));
  };
  const createListener = (): net.Server => net.createServer({ allowHalfOpen: true, pauseOnConnect: false }, accept);

  /** The listening server; `undefined` while refusing in `refuse` mode. */
  let listener: net.Server | undefined = createListener();
  /** Every listener ever created and not yet closed (a closed one lingers until its connections end). */
  const listeners = new Set<net.Server>([listener]);
  const port = await listen(listener, host, options.port ?? 0);

  const stopListening = (server: net.Server): Promise<void> =>
    new Promise((resolve) => {
      server.close(() => {
        listeners.delete(server);
        resolve();
      });
    });
  const settingsOf = (direction: ProxyDirections): DirectionSettings[] =>
    direction === 'both' ? [upstream, downstream] : [direction === 'upstream' ? upstream : downstream];
  const pumpAll = (): void => {
    for (const connection of connections) connection.pump();
  };

  const proxy: FaultProxy = {
    host,
    port,
    target,
    get stats(): ProxyStats {
      return Object.freeze({
        connectionsAccepted,
        connectionsRefused,
        openConnections: connections.size,
        bytesUpstream: counters.bytesUpstream,
        bytesDownstream: counters.bytesDownstream,
        connectionsCut: counters.connectionsCut,
      });
    },
    setLatency(ms: number, direction: ProxyDirections = 'both'): void {
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
        throw new RangeError(`setLatency: ms must be a finite number >= 0, got ${String(ms)}`);
      }
      for (const settings of settingsOf(checkDirection(direction, 'setLatency'))) settings.latencyMs = ms;
    },
    setBandwidth(bytesPerSecond: number | undefined, direction: ProxyDirections = 'both'): void {
      if (bytesPerSecond !== undefined && (typeof bytesPerSecond !== 'number' || !Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0)) {
        throw new RangeError(`setBandwidth: bytesPerSecond must be a positive finite number or undefined, got ${String(bytesPerSecond)}`);
      }
      for (const settings of settingsOf(checkDirection(direction, 'setBandwidth'))) settings.bytesPerSecond = bytesPerSecond;
      pumpAll();
    },
    resegment(maxBytes: number | undefined, direction: ProxyDirections = 'both', random: () => number = Math.random): void {
      if (maxBytes !== undefined && !(Number.isSafeInteger(maxBytes) && maxBytes > 0)) {
        throw new RangeError(`resegment: maxBytes must be a positive integer or undefined, got ${String(maxBytes)}`);
      }
      if (typeof random !== 'function') throw new TypeError('resegment: random must be a function');
      for (const settings of settingsOf(checkDirection(direction, 'resegment'))) {
        settings.segmentBytes = maxBytes;
        settings.random = random;
      }
    },
    cutConnections(cutOptions: CutOptions = {}): void {
      const mode = cutOptions.mode ?? 'rst';
      if (mode !== 'rst' && mode !== 'fin') throw new TypeError(`cutConnections: mode must be 'rst' or 'fin', got ${String(mode)}`);
      for (const connection of connections) connection.cut(mode);
    },
    halfOpen(halfOpenOptions: HalfOpenOptions = {}): void {
      for (const settings of settingsOf(checkDirection(halfOpenOptions.direction ?? 'both', 'halfOpen'))) settings.held = true;
    },
    heal(): void {
      upstream.held = false;
      downstream.held = false;
      pumpAll();
    },
    async refuseConnections(on: boolean, refuseOptions: RefuseOptions = {}): Promise<void> {
      if (typeof on !== 'boolean') throw new TypeError('refuseConnections: on must be a boolean');
      const mode = refuseOptions.mode ?? 'refuse';
      if (mode !== 'refuse' && mode !== 'reset') throw new TypeError(`refuseConnections: mode must be 'refuse' or 'reset', got ${String(mode)}`);
      if (closing !== undefined) return;
      resetting = on && mode === 'reset';
      if (on && mode === 'refuse' && listener !== undefined) {
        const stopped = listener;
        listener = undefined;
        // The listening socket closes at once; `close` resolves later, when its connections are gone.
        void stopListening(stopped);
      } else if ((!on || mode === 'reset') && listener === undefined) {
        const next = createListener();
        listeners.add(next);
        listener = next;
        try {
          await listen(next, host, port);
        } catch (error) {
          listeners.delete(next);
          listener = undefined;
          throw error;
        }
      }
    },
    corruptNextReply(replacement: ((chunk: Buffer) => Uint8Array) | Uint8Array | string): void {
      if (typeof replacement === 'function') {
        replyFault = { kind: 'corrupt', replace: replacement };
      } else if (typeof replacement === 'string' || replacement instanceof Uint8Array) {
        const bytes = Buffer.from(replacement);
        replyFault = { kind: 'corrupt', replace: () => bytes };
      } else {
        throw new TypeError('corruptNextReply: expected a function, bytes or a string');
      }
    },
    truncateNextReply(keepBytes: number, truncateOptions: TruncateOptions = {}): void {
      if (!Number.isInteger(keepBytes) || keepBytes < 0) {
        throw new RangeError(`truncateNextReply: keepBytes must be an integer >= 0, got ${String(keepBytes)}`);
      }
      const then = truncateOptions.then ?? 'fin';
      if (then !== 'fin' && then !== 'rst' && then !== 'stall') {
        throw new TypeError(`truncateNextReply: then must be 'fin', 'rst' or 'stall', got ${String(then)}`);
      }
      replyFault = { kind: 'truncate', keepBytes, then };
    },
    close(): Promise<void> {
      closing ??= (async () => {
        listener = undefined;
        const stopped = Promise.all([...listeners].map(stopListening));
        for (const connection of connections) connection.destroy();
        await Promise.all([stopped, ...[...connections].map((connection) => connection.closed)]);
      })();
      return closing;
    },
    [Symbol.asyncDispose](): Promise<void> {
      return this.close();
    },
  };
  return proxy;
}
