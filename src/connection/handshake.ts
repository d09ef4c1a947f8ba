/**
 * Runs the generation handshake ({@link GenerationProbe}) on a socket that
 * has just opened, before the connection uses it, and words what a
 * mismatch with the dialect the client was given means.
 *
 * @module
 */

import { ConnectionError, DialectMismatchError, ServerGenerationError, TimeoutError } from '../errors.js';
import { GENERATION_LABELS, type Dialect, type ServerGeneration } from '../protocol/dialect.js';
import { formatAddress } from './address.js';
import { debug } from './diagnostics.js';
import { GenerationProbe } from './generation-probe.js';
import { rootCauseText } from './root-cause.js';
import type { Transport, TransportEvents } from './transport.js';

/**
 * Finds the generation of the server behind `transport`.
 *
 * @param address - the server's address, for messages
 * @param signal - aborted when the connect attempt is cancelled or times out
 * @param route - takes the events the socket's bytes and end must go to while the handshake runs,
 *   and what to say should the attempt time out now
 * @param late - takes bytes that arrive after the verdict, before the connection reads the socket
 * @returns the generation, confirmed (nothing of the handshake left unanswered)
 * @throws ServerGenerationError (rejection) for answers no generation gives, or when `signal` aborts first
 * @throws ConnectionError (rejection) when the socket closes first
 */
export function handshakeGeneration(
  transport: Transport,
  address: string,
  signal: AbortSignal,
  route: (events: TransportEvents, stalled: () => ServerGenerationError) => void,
  late: (chunk: Buffer) => void,
): Promise<ServerGeneration> {
  return new Promise((resolve, reject) => {
    const probe = new GenerationProbe(address);
    let done = false;
    const finish = (error: Error | undefined, generation?: ServerGeneration): void => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      if (error === undefined) resolve(generation as ServerGeneration);
      else reject(error);
    };
    const onAbort = (): void => finish(stalledError(probe, address, 'before the connect attempt was cancelled', signal.reason));
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    route({
      onData: (chunk) => {
        // Bytes after the verdict belong to the stream the connection reads next (a stray reply breaks it there).
        if (done) {
          late(chunk);
          return;
        }
        try {
          const step = probe.push(chunk);
          if ('write' in step) transport.write(step.write);
          else if ('generation' in step) finish(undefined, step.generation);
        } catch (error) {
          finish(error instanceof Error ? error : new Error(String(error)));
        }
      },
      onClose: (error) =>
        finish(new ConnectionError(`the connection to ${address} closed during the generation handshake (${rootCauseText(error)})`, { cause: error })),
    }, () => stalledError(probe, address, 'within connectTimeout'));
    transport.write(probe.start());
  });
}

/**
 * What a new socket needs before use, by the dialect given: for `'auto'`,
 * the handshake's verdict; for a named generation (or a custom dialect's
 * `base`), the same, checked against it; for a custom dialect without
 * `base`, nothing (`undefined`). The verdict goes to `NODE_DEBUG=zcached`.
 *
 * @param connection - its id, host and port, for messages
 * @throws DialectMismatchError (rejection) for a server of another generation than a named dialect's
 * @throws as {@link handshakeGeneration}
 */
export async function verifyServer(
  transport: Transport,
  dialect: Dialect,
  connection: { readonly id: string; readonly host: string; readonly port: number },
  signal: AbortSignal,
  route: (events: TransportEvents, stalled: () => ServerGenerationError) => void,
  late: (chunk: Buffer) => void,
): Promise<ServerGeneration | undefined> {
  if (dialect.name !== 'auto' && dialect.generation === undefined) return undefined;
  const address = formatAddress(connection.host, connection.port);
  const generation = await handshakeGeneration(transport, address, signal, route, late);
  debug('%s: %s (dialect %s)', connection.id, GENERATION_LABELS[generation], `'${dialect.name}'`);
  if (dialect.generation !== undefined && generation !== dialect.generation) throw mismatchError(address, dialect, generation);
  return generation;
}

/**
 * A TLS handshake that did not end within the connect timeout, after the
 * TCP connection was made: the server accepted it and never completed the
 * handshake (a plain TCP service, or one that is stuck). `connectTimeout`
 * in ms.
 */
export function tlsStalledError(address: string, connectTimeout: number): TimeoutError {
  return new TimeoutError(
    `TLS handshake timed out after ${connectTimeout} ms (TCP connected to ${address}; no complete TLS answer from the server: does it serve TLS on this port?)`,
  );
}

/** The handshake did not end before its connect attempt was cancelled or timed out. */
export function stalledError(probe: GenerationProbe, address: string, when: string, cause?: unknown): ServerGenerationError {
  const received = probe.received;
  return new ServerGenerationError(
    `the server at ${address} accepted the connection but did not finish the generation handshake ${when} (waiting for ${probe.waitingFor}; received: ${received === '' ? 'nothing' : received})`,
    { received, cause },
  );
}

/**
 * The error of a server whose generation is not the one the client's
 * dialect was given for: `127.0.0.1:7556 is a 2025 zcached server
 * ('etx-request'), but this client was given dialect 'etx': use dialect
 * 'etx-request' or 'auto'`.
 */
export function mismatchError(address: string, dialect: Dialect, detected: ServerGeneration): DialectMismatchError {
  const expected = dialect.name === 'custom' ? `a custom dialect with base '${String(dialect.generation)}'` : `dialect '${dialect.name}'`;
  const advice = dialect.name === 'custom' ? `use base '${detected}' or dialect 'auto'` : `use dialect '${detected}' or 'auto'`;
  return new DialectMismatchError(`${address} is ${GENERATION_LABELS[detected]}, but this client was given ${expected}: ${advice}`, {
    expected: dialect.name === 'custom' ? String(dialect.generation) : dialect.name,
    detected,
  });
}
