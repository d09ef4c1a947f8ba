/**
 * Makes a raw server socket answer the client's connect-time generation
 * handshake (src/connection/generation-probe.ts) as a zcached server of a
 * chosen generation would, then hands the socket to the test's own logic.
 *
 * Every `Connection` runs that handshake before it writes any user request
 * (unless its dialect is a custom one without `base`), so a hand-made server
 * that is meant to misbehave only AFTER the connect (garbage replies, resets,
 * silence) must first get through it:
 *
 * ```ts
 * net.createServer((socket) =>
 *   answerHandshake(socket, () => socket.on('data', () => socket.write('!garbage\r\n'))),
 * );
 * ```
 *
 * It reads exactly the bytes of each handshake request (checked against
 * {@link PROBE_REQUESTS}), writes the generation's reply, and waits for the
 * next one; after the last reply it removes its own listener and calls
 * `then`. The client writes nothing of its own before the handshake ends,
 * so `then` sees every byte of the first user request. Should the client
 * send anything else, the socket is destroyed (the test then fails on a
 * connection closed during the handshake, not on a server that answered a
 * request it never got).
 */
import type * as net from 'node:net';
import { PROBE_REQUESTS, PROBE_TOKEN } from '../src/connection/generation-probe.js';
import type { ServerGeneration } from '../src/protocol/dialect.js';

/** What a server of each generation answers to each handshake request, in order (request bytes, reply bytes). */
export const HANDSHAKE_ANSWERS: Readonly<Record<ServerGeneration, readonly (readonly [request: Buffer, reply: string])[]>> = Object.freeze({
  etx: [
    [PROBE_REQUESTS.echo, `$${PROBE_TOKEN.length}\r\n${PROBE_TOKEN}\r\n\x03`],
    [PROBE_REQUESTS.pingEtx, '+PONG\r\n\x03'],
  ],
  'etx-request': [
    [PROBE_REQUESTS.echo, `$${PROBE_TOKEN.length}\r\n${PROBE_TOKEN}\r\n`],
    [PROBE_REQUESTS.pingEtx, '+PONG\r\n'],
    [PROBE_REQUESTS.loneEtx, '-ERR bad request\r\n'],
  ],
  legacy: [
    [PROBE_REQUESTS.echo, "-ERR unknown command 'ECHO'\r\n"],
    [PROBE_REQUESTS.pingPlain, '+PONG\r\n'],
  ],
});

/**
 * Answers the handshake on `socket` as a `generation` server (default
 * `'etx'`, the current one), then calls `then(socket)`.
 */
export function answerHandshake(socket: net.Socket, then: (socket: net.Socket) => void, generation: ServerGeneration = 'etx'): void {
  const steps = [...HANDSHAKE_ANSWERS[generation]];
  let buffered = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    buffered = Buffer.concat([buffered, chunk]);
    const step = steps[0];
    if (step === undefined) return;
    const [request, reply] = step;
    if (buffered.length < request.length) {
      if (!request.subarray(0, buffered.length).equals(buffered)) refuse();
      return;
    }
    // The client waits for each reply before its next write: more than one request's bytes is a bug.
    if (!buffered.equals(request)) {
      refuse();
      return;
    }
    buffered = Buffer.alloc(0);
    steps.shift();
    if (steps.length === 0) socket.off('data', onData);
    socket.write(reply);
    if (steps.length === 0) then(socket);
  };
  const refuse = (): void => {
    socket.off('data', onData);
    socket.destroy();
  };
  socket.on('data', onData);
}
