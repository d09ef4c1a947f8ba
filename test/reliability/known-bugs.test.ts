/**
 * KNOWN BUGS found by the reliability work (issue 7), in code this suite
 * does not own. Every test here FAILS today on purpose and states the
 * behaviour the issue promises; each names the file to fix. Once a bug is
 * fixed its test passes and belongs with the others in test/reliability/.
 *
 * (The first five bugs found here -- no healing after a long outage, a
 * reconnect storm behind a proxy, quadratic decoding of chunked replies,
 * timer overflow past 2^31 - 1 ms, reconnecting during a graceful close --
 * were fixed in 894bab7; their tests now live in restart, reconnect-storm,
 * hostile-server, bad-input and close-under-fire.)
 *
 * 1. The decoder limits bound the bytes of a reply, not what decoding them
 *    allocates: tiny elements blow up 10 to 50 times (an empty map, 4 bytes
 *    on the wire, is a ~190-byte `Map`). Within the DEFAULT limits (16 Mi
 *    elements, 256 MiB) a hostile server's 64 MiB reply of empty maps takes
 *    ~3 GB of heap; under a 1 GB heap the process dies with a fatal
 *    "JavaScript heap out of memory" -- no ProtocolError, nothing to catch.
 *    Fix in src/protocol/decoder.ts (see the test).
 */
import * as net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { Connection } from '../../src/connection/connection.js';
import { ConnectionError, ProtocolError } from '../../src/errors.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap and buffer memory after a full collection, in bytes. */
function memoryInUse(): number {
  gc();
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** A raw TCP server that answers every request with `reply`. */
async function serverAnswering(reply: Buffer): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', () => socket.write(reply));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as net.AddressInfo).port;
}

describe('known bugs (each test fails until its bug is fixed)', () => {
  it('1. a reply within the byte limits cannot make the client allocate far past them', async () => {
    const limit = 4 * 1024 * 1024;
    const elements = 1_000_000;
    // 4 MB on the wire, within every limit: an array of a million empty maps.
    const port = await serverAnswering(Buffer.from(`*${elements}\r\n${'%0\r\n'.repeat(elements)}`));
    const connection = new Connection({
      host: '127.0.0.1',
      port,
      reconnect: false,
      timeoutLimit: 5_000,
      decoderLimits: { maxBufferedBytes: limit, maxAggregateLength: elements },
    });
    cleanup.push(() => connection.close({ force: true }));
    await connection.connect();

    const before = memoryInUse();
    const outcome = await connection.send(['GET', 'k']).then(
      (reply) => ({ reply }),
      (error: unknown) => ({ error }),
    );
    const grown = memoryInUse() - before;
    if ('error' in outcome) {
      // A fix that refuses such a reply: a typed limit error.
      expect(outcome.error).toBeInstanceOf(ConnectionError);
      expect((outcome.error as ConnectionError).cause).toBeInstanceOf(ProtocolError);
      expect(((outcome.error as ConnectionError).cause as ProtocolError).reason).toBe('limit');
    } else {
      expect((outcome.reply as unknown[]).length).toBe(elements);
    }
    // Today: accepted, and the decoded reply holds ~180 MB (45 times the 4 MiB limit).
    // Fix (src/protocol/decoder.ts): charge each decoded element an estimate of what it costs in
    // memory (say 16 bytes per element, plus 64 per array and 192 per map or set) to the same
    // per-value budget as its bytes (`#consumed` vs maxBufferedBytes), and fail with reason
    // 'limit' past it; or add a total-element limit per reply. Lowering the default
    // maxAggregateLength (16 Mi) would shrink the default exposure too.
    expect(grown).toBeLessThan(16 * limit);
  });
});
