/**
 * The public shapes of the embedded test server: its options, its handle,
 * its counters and its crash records. The implementation is `server.ts`.
 *
 * @module
 */

import type * as tls from 'node:tls';
import type { DialectName } from '../protocol/dialect.js';
import type { CrashReason } from './generations/index.js';
import type { ZCachedStore } from './server-store.js';

/** Options of `startServer`. */
export interface StartServerOptions {
  /** Address to listen on. Default `'127.0.0.1'`. */
  readonly host?: string;
  /** Port to listen on; 0 (the default) picks a free one. Pass a previous server's port to simulate its return. */
  readonly port?: number;
  /** The server generation to behave like (framing, commands, error strings). Default `'etx'`. */
  readonly dialect?: DialectName;
  /** Serve TLS with these options (at least `key` and `cert`) instead of plain TCP. */
  readonly tls?: tls.TlsOptions;
  /** Most clients connected at once; connections past it are closed without a word. Default: no limit. */
  readonly maxClients?: number;
  /** The data to serve, e.g. a previous server's `store` to keep it across a restart. Default: a fresh store. */
  readonly store?: ZCachedStore;
  /**
   * Largest request in the newer dialects, in bytes, 0x03 excluded; past it the
   * server replies `-ERR maximum payload size exceeded`. Default 10 MB. The
   * 'legacy' dialect always uses `LEGACY_MAX_REQUEST_BYTES` (4096).
   */
  readonly maxRequestBytes?: number;
  /**
   * Behave like the real servers of the chosen generation, faults included.
   * Default `true`. Sources: the protocol reference (`protocol.md`: "Framing:
   * three generations of servers" and "What real servers answer to odd
   * requests") and the server's source (main branch as of August 2026).
   *
   * `true` (faithful):
   * - requests are parsed the generation's way: line by line, not
   *   binary-safe. `'etx'` (current) takes a bulk string as the line after
   *   `$<n>` whatever `<n>` says, so a value holding LF is stored cut at the
   *   first LF (`SET k "line1\nline2"` → `+OK`, stores `"line1"`), and it
   *   refuses empty strings, empty simple strings and empty maps with
   *   `-ERR unprocessable`; `'legacy'` and `'etx-request'` refuse a bulk
   *   string holding LF or a wrong declared length with `-ERR bad request`.
   *   Every odd request gets the generation's answer from the reference's
   *   table;
   * - the server reads at most 4096 bytes per `read()` (each socket chunk is
   *   cut so): `'legacy'` takes each read holding `\n` as one whole request
   *   (a request split after a line feed is refused), `'etx-request'` answers
   *   the first request of a read and drops the rest;
   * - `'etx'` crashes as the real current server does: when a read leaves an
   *   incomplete request after complete ones in its buffer
   *   (`'split-request'`; any write of over 4096 bytes of pipelined requests
   *   whose 4096-byte cut falls inside a request does it), or when a
   *   request's command name is a simple string (`'simple-string-command'`),
   *   or the request is `*0` or its command name another non-string
   *   (`'malformed-command'`). A crash counts in {@link ServerStats.crashes},
   *   is logged in {@link ZCachedServer.crashLog}, and drops EVERY connection;
   *   the server keeps listening (as if restarted at once, its store kept).
   *   Replies not yet written when it dies are lost: those of the socket
   *   chunk being read (the real server writes only after draining its
   *   socket) and delayed ones; the requests that chunk completed before the
   *   fatal point did run.
   *
   * `false` (kind): requests are decoded binary-safely (declared lengths
   * honoured, any byte in a bulk string, empty values accepted, `$-1` and
   * `*-1` read as null), requests split anywhere are reassembled, nothing
   * crashes (a simple-string command name gets `-ERR unknown command`), and a
   * stray 0x03 is ignored on `'etx'` (on `'etx-request'` it gets
   * `-ERR bad request`, as from the real server: the client's generation
   * handshake tells a 2025 server by it). Every other generation fact stays: framing,
   * pipelining rules, the 4096-byte 'legacy' limit, commands, error texts,
   * refusing LF in 'legacy' and 'etx-request' values, how stored simple
   * strings come back.
   */
  readonly faithful?: boolean;
}

/**
 * One death of a faithful `'etx'` server process (see
 * {@link StartServerOptions.faithful}).
 */
export interface CrashRecord {
  /** What killed it. */
  readonly reason: CrashReason;
  /** When, in milliseconds since the epoch (`Date.now()`). */
  readonly at: number;
  /**
   * The bytes that did it (at most 256): for `'split-request'` the incomplete
   * request left at the end of the buffer; otherwise the fatal request.
   */
  readonly bytes: Buffer;
  /** Connections open when it died (all of them were dropped). */
  readonly connectionsDropped: number;
}

/** Counters of a {@link ZCachedServer}, as a snapshot. */
export interface ServerStats {
  /** Connections accepted and served since the start (refused ones excluded). */
  readonly connectionsAccepted: number;
  /** Connections closed at once because of {@link ZCachedServer.refuseConnections | refuseConnections} or `maxClients`. */
  readonly connectionsRefused: number;
  /** Served connections open right now. */
  readonly openConnections: number;
  /** Requests framed and handled (answered, failed, or swallowed while not answering); dropped pipelined requests excluded. */
  readonly requests: number;
  /**
   * Socket reads, in the non-pipelining dialects, that held bytes past the
   * first complete request (the extra requests were dropped unanswered).
   */
  readonly pipeliningViolations: number;
  /**
   * Times the faithful `'etx'` server process died (each dropped every
   * connection); always 0 for the other generations and with
   * `faithful: false`. Details in {@link ZCachedServer.crashLog}.
   */
  readonly crashes: number;
  /**
   * Bytes read from client sockets (decrypted, for TLS) since the start. A
   * test can wait for it to grow before writing the next piece of a request,
   * to be sure the pieces arrive in separate reads.
   */
  readonly bytesReceived: number;
}

/** Options of {@link ZCachedServer.waitForConnections}. */
export interface WaitForConnectionsOptions {
  /** Count every connection accepted since the start rather than those open now. Default false. */
  readonly total?: boolean;
  /** Give up (reject) after this many milliseconds. Default 5000. */
  readonly timeoutMs?: number;
}

/** A running embedded server. Dispose it (`await using`) or {@link ZCachedServer.close | close} it. */
export interface ZCachedServer extends AsyncDisposable {
  /** The host it listens on, as given. */
  readonly host: string;
  /** The port it listens on (the one picked, when started with port 0). */
  readonly port: number;
  /** The server generation it behaves like. */
  readonly dialect: DialectName;
  /** Whether it reproduces the real generation's parser and faults ({@link StartServerOptions.faithful}). */
  readonly faithful: boolean;
  /** Whether it serves TLS. */
  readonly tls: boolean;
  /** Its data; pass it to the next `startServer` to keep the data across a restart. */
  readonly store: ZCachedStore;
  /** A snapshot of its counters. */
  readonly stats: ServerStats;
  /** Whether {@link ZCachedServer.close | close} was called. */
  readonly closed: boolean;
  /** Every crash so far, oldest first (a copy). Empty unless a faithful `'etx'` server died. */
  readonly crashLog: readonly CrashRecord[];
  /**
   * Stops listening and destroys every client socket (clients see the server
   * go away), then resolves once the listening socket is closed. Idempotent.
   */
  close(): Promise<void>;
  /** Delays every reply sent from now on by `ms` milliseconds (order is kept); 0 stops delaying. */
  delayReplies(ms: number): void;
  /** Half-open mode: keep reading requests but never answer or run them; sockets stay open. */
  stopAnswering(): void;
  /** Ends {@link ZCachedServer.stopAnswering | stopAnswering}: requests read from now on are answered again. */
  resumeAnswering(): void;
  /** Destroys every client socket and keeps listening. */
  dropConnections(): void;
  /** While on, accepts new connections and destroys them at once. */
  refuseConnections(on: boolean): void;
  /**
   * Resolves once `count` connections are open (or, with `total`, have been
   * accepted since the start).
   * @throws Error after the timeout, or when the server closes first
   */
  waitForConnections(count: number, options?: WaitForConnectionsOptions): Promise<void>;
}
