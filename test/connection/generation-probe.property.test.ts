/**
 * The generation handshake under any timing: the servers here are the
 * embedded faithful servers' own framers and command executor (what each
 * real generation does with the bytes it reads), run in memory, so that a
 * test decides how every reply is cut into chunks and when each piece
 * arrives.
 *
 * - The probe alone: for every generation and any split of the replies,
 *   it finds that generation, and writes nothing but its own requests.
 * - A Connection over an in-memory transport under `fc.scheduler`: replies
 *   split and delayed at random, user requests made at random moments
 *   before, during and after the handshake, and reconnects to servers of
 *   other generations: each socket's generation is found, no user request
 *   reaches a socket before its handshake has ended, and every request
 *   resolves with its own reply.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Connection } from '../../src/connection/connection.js';
import { GenerationProbe, PROBE_REQUESTS } from '../../src/connection/generation-probe.js';
import type { OpenTransport, TransportEvents } from '../../src/connection/transport.js';
import { ConnectionError, ServerError, ServerGenerationError } from '../../src/errors.js';
import { ETX, type ServerGeneration } from '../../src/protocol/dialect.js';
import { createFramer } from '../../src/testing/generations/index.js';
import { executeRequest } from '../../src/testing/server-commands.js';
import { encodeReply } from '../../src/testing/server-reply.js';
import { ZCachedStore } from '../../src/testing/server-store.js';

const GENERATIONS: readonly ServerGeneration[] = ['legacy', 'etx-request', 'etx'];

/** One in-memory server connection of a generation: the bytes of each read in, the reply bytes out. */
function memoryServer(generation: ServerGeneration): (read: Buffer) => Buffer {
  const framer = createFramer({ dialect: generation, faithful: true, maxRequestBytes: 10 * 1024 * 1024 });
  const context = { store: new ZCachedStore(), dialect: generation };
  return (read) => {
    const replies: Buffer[] = [];
    for (const event of framer.push(read)) {
      if (event.kind === 'crash') throw new Error(`the ${generation} server crashed (${event.reason})`);
      const reply =
        event.kind === 'request' ? encodeReply(executeRequest(event.value, context)) : event.kind === 'error' ? encodeReply({ type: 'error', value: event.text }) : undefined;
      if (reply === undefined) continue;
      replies.push(reply);
      if (generation === 'etx') replies.push(Buffer.from([ETX]));
    }
    return Buffer.concat(replies);
  };
}

/** Cuts `bytes` at the given fractions (each in [0, 1)), keeping every piece non-empty. */
function cut(bytes: Buffer, fractions: readonly number[]): Buffer[] {
  const points = [...new Set(fractions.map((f) => Math.floor(f * bytes.length)).filter((p) => p > 0 && p < bytes.length))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    pieces.push(bytes.subarray(from, point));
    from = point;
  }
  return pieces;
}

const PROBE_BYTES = new Set(Object.values(PROBE_REQUESTS).map((bytes) => bytes.toString('latin1')));

describe('GenerationProbe against the faithful framers', () => {
  it('finds every generation whatever the split of the replies, and writes only its own requests', () => {
    fc.assert(
      fc.property(fc.constantFrom(...GENERATIONS), fc.array(fc.array(fc.double({ min: 0, max: 0.999, noNaN: true }), { maxLength: 6 }), { minLength: 4, maxLength: 4 }), (generation, splits) => {
        const server = memoryServer(generation);
        const probe = new GenerationProbe('memory:1');
        let write: Buffer | undefined = probe.start();
        let found: ServerGeneration | undefined;
        for (let step = 0; write !== undefined; step++) {
          expect(PROBE_BYTES.has(write.toString('latin1'))).toBe(true);
          const reply = server(write);
          write = undefined;
          for (const piece of cut(reply, splits[step % splits.length] ?? [])) {
            expect(found).toBeUndefined(); // nothing arrives after the verdict
            const next = probe.push(piece);
            if ('write' in next) write = next.write;
            if ('generation' in next) found = next.generation;
          }
        }
        expect(found).toBe(generation);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses any other answer to ECHO with a ServerGenerationError naming it', () => {
    fc.assert(
      fc.property(fc.constantFrom('+OK\r\n', '-ERR nope\r\n', ':1\r\n', 'HTTP/1.1 400 Bad Request\r\n\r\n', '$3\r\nabc\r\n', '\x03'), (reply) => {
        const probe = new GenerationProbe('memory:1');
        probe.start();
        let error: unknown;
        try {
          probe.push(Buffer.from(reply, 'latin1'));
        } catch (caught) {
          error = caught;
        }
        expect(error).toBeInstanceOf(ServerGenerationError);
        expect((error as ServerGenerationError).code).toBe('EGENERATION');
        expect((error as ServerGenerationError).message).toContain('is it a zcached server?');
        expect((error as ServerGenerationError).received.length).toBeGreaterThan(0);
      }),
    );
  });

  it('confirms a 2025 verdict: a server that echoes and never answers a lone 0x03 is never taken for one', () => {
    // A 2024 server that knew ECHO (none is known, but the verdict must not rest on it) keeps a lone 0x03.
    const probe = new GenerationProbe('memory:1');
    probe.start();
    expect(probe.push(Buffer.from('$24\r\nzcached-generation-probe\r\n', 'latin1'))).toEqual({ write: PROBE_REQUESTS.pingEtx });
    expect(probe.push(Buffer.from('+PONG\r\n', 'latin1'))).toEqual({ write: PROBE_REQUESTS.loneEtx });
    expect(probe.waitingFor).toBe('the reply to a lone 0x03');
    // No answer: the attempt's timeout ends it, never a verdict.
    expect(() => probe.push(Buffer.from('+PONG\r\n', 'latin1'))).toThrow(ServerGenerationError);
  });
});

/** An in-memory transport whose sockets are memory servers; replies are handed to the scheduler in random pieces. */
function scheduledTransport(s: fc.Scheduler, generations: readonly ServerGeneration[], splits: readonly (readonly number[])[]) {
  const sockets: { generation: ServerGeneration; userBytesBeforeVerdict: number; events: TransportEvents; open: boolean }[] = [];
  let writes = 0;
  const open: OpenTransport = async (_options, events) => {
    const generation = generations[sockets.length % generations.length] as ServerGeneration;
    const server = memoryServer(generation);
    const socket = { generation, userBytesBeforeVerdict: 0, events, open: true };
    sockets.push(socket);
    let handshaking = true;
    let tail = Promise.resolve();
    return {
      write: (bytes) => {
        if (!socket.open) return;
        const copy = Buffer.from(bytes);
        if (handshaking && !PROBE_BYTES.has(copy.toString('latin1'))) socket.userBytesBeforeVerdict += copy.length;
        // The handshake ends with the last probe request; anything after it is the connection's.
        if (copy.equals(PROBE_REQUESTS.loneEtx) || (copy.equals(PROBE_REQUESTS.pingEtx) && generation === 'etx') || (copy.equals(PROBE_REQUESTS.pingPlain) && generation === 'legacy')) handshaking = false;
        const reply = server(copy);
        // In order (as TCP keeps it), each piece after a delay the scheduler picks.
        for (const piece of cut(reply, splits[writes++ % splits.length] ?? [])) {
          tail = tail
            .then(() => s.schedule(Promise.resolve(), `${generation} reply piece`))
            .then(() => {
              if (socket.open) events.onData(piece);
            });
        }
      },
      cork: () => {},
      uncork: () => {},
      destroy: () => {
        socket.open = false;
      },
    };
  };
  return { open, sockets };
}

describe('Connection handshake under fc.scheduler', () => {
  it('finds each socket\'s generation, writes no user request before the verdict, and answers every request right', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.constantFrom(...GENERATIONS), { minLength: 1, maxLength: 3 }),
        fc.array(fc.array(fc.double({ min: 0, max: 0.999, noNaN: true }), { maxLength: 4 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat({ max: 3 }), { minLength: 1, maxLength: 4 }),
        async (s, generations, splits, batches) => {
          const transport = scheduledTransport(s, generations, splits);
          const connection = new Connection({ host: 'memory', port: 1, openTransport: transport.open, timeoutLimit: 60_000, connectTimeout: 60_000, stableAfter: 0, backoff: { initial: 1, max: 4, jitter: 0 } });
          try {
            let n = 0;
            const results: Promise<void>[] = [];
            const wrong: string[] = [];
            // GET of a key no server holds: every generation answers `-ERR '<key>' not found`, naming it.
            const sendSome = (count: number): void => {
              for (let i = 0; i < count; i++) {
                const key = `r${n++}`;
                results.push(
                  connection.send(['GET', key]).then(
                    (reply) => void wrong.push(`${key}: resolved ${String(reply)}`),
                    (error: unknown) => {
                      // Its own reply, or (on the wire when the test dropped the socket) a ConnectionError.
                      const own = error instanceof ServerError && error.reply === `ERR '${key}' not found`;
                      if (!own && !(error instanceof ConnectionError)) wrong.push(`${key}: ${String(error)}`);
                    },
                  ),
                );
              }
            };
            for (let round = 0; round < generations.length; round++) {
              const connected = connection.connect();
              // Requests made while the handshake runs wait for it; some are made at random moments.
              sendSome(batches[round % batches.length] ?? 0);
              for (const count of batches) void s.schedule(Promise.resolve(), 'send').then(() => sendSome(count));
              await s.waitFor(connected);
              expect(connection.generation).toBe(transport.sockets.at(-1)?.generation);
              await s.waitFor(Promise.all(results.splice(0)));
              if (round + 1 < generations.length) {
                // The server goes away; the next socket reaches a server of (maybe) another generation.
                transport.sockets.at(-1)?.events.onClose(new Error('gone'));
              }
            }
            await s.waitAll();
            expect(wrong).toEqual([]);
            for (const socket of transport.sockets) expect(socket.userBytesBeforeVerdict).toBe(0);
          } finally {
            await connection.close({ force: true });
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
