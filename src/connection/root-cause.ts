/**
 * The root cause of a failure, as a short text for the end of a message:
 * `cannot reach ... (connect ECONNREFUSED 127.0.0.1:1)`. The
 * whole chain stays in `cause`; this only brings its last link to the top,
 * where people read.
 *
 * @module
 */

import { ProtocolError, ZCachedError } from '../errors.js';

/** How deep a `cause` chain is followed (a cycle or a very long chain stops there). */
const MAX_DEPTH = 16;

/** The last `Error` of `error`'s `cause` chain (`error` itself when it has no `Error` cause). */
export function rootCause(error: Error): Error {
  let current = error;
  const seen = new Set<Error>([current]);
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const next: unknown = current.cause;
    if (!(next instanceof Error) || seen.has(next)) break;
    seen.add(next);
    current = next;
  }
  return current;
}

/**
 * What went wrong at the bottom, for a message: the root cause's message,
 * led by its `code` when the message does not hold it
 * (`DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate`; not for this
 * library's own errors, whose class says it). An
 * `AggregateError` with no message of its own (Node's `net.connect` when
 * every address of a host name failed) gives the messages of its errors. A
 * reply that does not start with a type prefix of the protocol
 * (`unknown type prefix 0x48`, the `H` of `HTTP/1.1`) means the peer is
 * not a zcached server at all, and the text says so.
 */
export function rootCauseText(error: Error): string {
  const root = rootCause(error);
  let text = root.message;
  if (text === '' && root instanceof AggregateError) {
    text = (root.errors as unknown[])
      .map((inner) => (inner instanceof Error ? rootCauseText(inner) : String(inner)))
      .filter((inner) => inner !== '')
      .join(', ');
  }
  // Node's codes (`DEPTH_ZERO_SELF_SIGNED_CERT`) say what its messages may not; ours are in the error's class already.
  const code = root instanceof ZCachedError ? undefined : (root as { code?: unknown }).code;
  if (typeof code === 'string' && code !== '' && !text.includes(code)) text = text === '' ? code : `${code}: ${text}`;
  if (root instanceof ProtocolError && root.reason === 'type' && text.startsWith('unknown type prefix')) text += ': is this a zcached server?';
  return text === '' ? root.name : text;
}

/** What {@link whyWaiting} reads of a connection. */
export interface WaitingConnection {
  readonly id: string;
  readonly state: string;
  readonly requestsOnTheWire: number;
  readonly lastError: Error | undefined;
  describeState(): string;
}

/**
 * Why a connection's requests still wait to be written, for the message of
 * one that timed out unsent: its state, ending with the root cause of its
 * last failure (which is also the `cause`).
 */
export function whyWaiting(connection: WaitingConnection): { readonly reason: string; readonly cause?: Error } {
  if (connection.state === 'connected') {
    const onTheWire = connection.requestsOnTheWire;
    return {
      reason:
        onTheWire > 0
          ? `connection ${connection.id} is connected, but ${onTheWire} request${onTheWire === 1 ? '' : 's'} written before it got no reply yet`
          : `connection ${connection.id} is connected, but the request was not written in time (a busy event loop?)`,
    };
  }
  const described = connection.describeState();
  const lastError = connection.lastError;
  if (lastError === undefined) return { reason: described };
  const root = rootCause(lastError);
  return { reason: described.includes(root.message) ? described : `${described} (${rootCauseText(lastError)})`, cause: lastError };
}
