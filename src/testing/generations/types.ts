/**
 * The contract between the socket shell of the embedded server (`server.ts`)
 * and the per-generation request framers (`legacy.ts`, `etx-request.ts`,
 * `etx.ts`): a framer turns the bytes of one connection into events, in
 * order; the shell runs the requests, sends the replies, counts, and handles
 * crashes.
 *
 * @module
 */

import type { DialectName } from '../../protocol/dialect.js';
import type { WireValue } from '../../protocol/values.js';

/** The most bytes the real servers take in one `read()`: their read buffer is 4096 bytes. */
export const READ_BYTES = 4096;

/**
 * Why a faithful current-generation (`'etx'`) server process died (protocol
 * reference, "Framing", generation 3; the server's main branch as of August
 * 2026):
 * - `'split-request'`: a read left an incomplete request in the buffer after
 *   one or more complete ones were answered in the same pass (the server moves
 *   the buffer's start without fixing its size: heap corruption);
 * - `'simple-string-command'`: the command name was a simple string
 *   (`*1\r\n+PING\r\n`), a panic;
 * - `'malformed-command'`: the request was an empty array (`*0`) or its first
 *   element was neither a bulk nor a simple string; the same code path panics
 *   (read from the server's source, not listed in the protocol reference).
 */
export type CrashReason = 'split-request' | 'simple-string-command' | 'malformed-command';

/** One thing a framer found in the bytes, in stream order. */
export type FrameEvent =
  /** A parsed request: run it and reply. */
  | { readonly kind: 'request'; readonly value: WireValue }
  /** A request answered with an error without running anything (unparseable, too large...). */
  | { readonly kind: 'error'; readonly text: string }
  /** A non-pipelining server dropped bytes that followed the first request of a read. */
  | { readonly kind: 'violation' }
  /** The server process dies here: nothing after this event is read or answered. */
  | { readonly kind: 'crash'; readonly reason: CrashReason; readonly bytes: Buffer };

/** Splits one connection's byte stream into requests the way one server generation does. */
export interface RequestFramer {
  /**
   * Takes one socket chunk (what the kernel had when Node read: the real
   * server would read it 4096 bytes at a time) and returns the events it
   * completes, in order. After a `crash` event the framer is dead.
   */
  push(chunk: Buffer): FrameEvent[];
}

/** What a framer needs to know. */
export interface FramerSettings {
  /** The server generation. */
  readonly dialect: DialectName;
  /** Reproduce the real generation's parser and faults (the default), or be binary-safe and never crash. */
  readonly faithful: boolean;
  /** Largest request in the newer dialects, 0x03 excluded. */
  readonly maxRequestBytes: number;
}
