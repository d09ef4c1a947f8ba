/**
 * Reliability: a hostile (or badly broken) server. A raw TCP server gets
 * through the connect-time generation handshake as a current ('etx') server,
 * then answers every request with bytes chosen by the test: random bytes,
 * absurd lengths, deep nesting, replies nobody asked for, replies that never
 * end.
 *
 * The client never crashes, never holds more than its decoder limits, and
 * the connection ends broken with a `ProtocolError` as the cause (or, for a
 * reply that stalls, a `TimeoutError`); every request settles with a typed error.
 */
import * as net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ZCached } from '../../src/client/client.js';
import { Connection, type ConnectionOptions } from '../../src/connection/connection.js';
import { ConnectionError, PoolEmptyError, ProtocolError, TimeoutError, ZCachedError } from '../../src/errors.js';
import { ReplyDecoder } from '../../src/protocol/decoder.js';
import { answerHandshake } from '../handshake-responder.js';
import { deferredCleanup, sleep, until, watchUnhandledRejections } from '../support.js';

const cleanup = deferredCleanup();

const unhandled = watchUnhandledRejections();
afterAll(() => {
  expect(unhandled).toEqual([]);
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

/** What the hostile server does with a client socket; `request` is each chunk the client sends. */
type Behaviour = (socket: net.Socket, request: Buffer) => void;

/**
 * A raw TCP server that answers the connect-time generation handshake as a
 * current ('etx') server would, then behaves as told on every request.
 * `sockets` are the server sides of the connections that got through the
 * handshake. `handshake: false`: no handshake, for a client whose dialect is
 * a custom one without `base` (it runs none).
 */
async function hostileServer(
  behaviour: Behaviour,
  options: { readonly handshake?: boolean } = {},
): Promise<{ port: number; written: () => number; sockets: () => net.Socket[] }> {
  const connected: net.Socket[] = [];
  const sockets = new Set<net.Socket>();
  let written = 0;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    const write = socket.write.bind(socket);
    socket.write = ((chunk: Buffer | string, ...rest: never[]) => {
      written += Buffer.byteLength(chunk);
      return write(chunk, ...rest);
    }) as typeof socket.write;
    const serve = (): void => {
      connected.push(socket);
      socket.on('data', (chunk: Buffer) => behaviour(socket, chunk));
    };
    if (options.handshake === false) serve();
    else answerHandshake(socket, serve);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { port: (server.address() as net.AddressInfo).port, written: () => written, sockets: () => [...connected] };
}

/** Writes `chunk` over and over, as fast as the client reads, until the socket goes. */
function flood(socket: net.Socket, chunk: Buffer): void {
  const pump = (): void => {
    while (!socket.destroyed && socket.writable) {
      if (!socket.write(chunk)) {
        socket.once('drain', pump);
        return;
      }
    }
  };
  pump();
}

const SMALL_LIMITS = { maxBulkBytes: 64 * 1024, maxAggregateLength: 1_000, maxDepth: 16, maxBufferedBytes: 256 * 1024 } as const;

async function connectTo(port: number, options: Partial<ConnectionOptions> = {}): Promise<Connection> {
  const connection = new Connection({
    host: '127.0.0.1',
    port,
    reconnect: false,
    connectionAttempts: 1,
    timeoutLimit: 300,
    decoderLimits: SMALL_LIMITS,
    ...options,
  });
  cleanup.push(() => connection.close({ force: true }));
  await connection.connect();
  return connection;
}

/** Sends one GET and expects the connection to break because of what came back. */
async function expectProtocolBreak(connection: Connection, reason?: string): Promise<ProtocolError> {
  const error = await connection.send(['GET', 'k']).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectionError);
  const cause = (error as ConnectionError).cause;
  expect(cause).toBeInstanceOf(ProtocolError);
  expect(connection.state).toBe('broken');
  expect(connection.lastError).toBe(cause);
  if (reason !== undefined) expect((cause as ProtocolError).reason).toBe(reason);
  // The connection refuses further requests with a typed error rather than hanging.
  await expect(connection.send(['PING'])).rejects.toBeInstanceOf(ConnectionError);
  return cause as ProtocolError;
}

describe('a server that answers garbage', () => {
  it('an unknown type byte breaks the connection with a ProtocolError', async () => {
    const { port } = await hostileServer((socket) => socket.write('!what\r\n'));
    await expectProtocolBreak(await connectTo(port), 'type');
  });

  it('random bytes: every request settles with a reply or a typed error; a decode failure is a ProtocolError', async () => {
    let answer = Buffer.alloc(0);
    const { port } = await hostileServer((socket) => socket.write(answer));
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), async (bytes) => {
        answer = Buffer.from(bytes);
        const connection = await connectTo(port, { timeoutLimit: 50 });
        try {
          const result = await connection.send(['GET', 'k']).then(
            (reply) => ({ reply }),
            (error: unknown) => ({ error }),
          );
          if ('error' in result) {
            expect(result.error).toBeInstanceOf(ZCachedError);
            if (result.error instanceof ConnectionError) {
              expect(result.error.cause).toBeInstanceOf(ProtocolError);
              expect(connection.lastError).toBeInstanceOf(ProtocolError);
            }
          }
          if (connection.state === 'broken') {
            expect(connection.lastError instanceof ProtocolError || connection.lastError instanceof TimeoutError).toBe(true);
          }
        } finally {
          await connection.close({ force: true });
        }
      }),
      { numRuns: 150 },
    );
  });

  it('a reply nobody asked for puts the stream out of step: broken, with a ProtocolError', async () => {
    const server = await hostileServer(() => {});
    const connection = await connectTo(server.port);
    const changes: string[] = [];
    connection.subscribe((change) => changes.push(change.to));
    // Written once the client is connected with nothing asked (sent with the handshake's last
    // reply, it would fail the handshake instead: 'sent more than one reply after the handshake').
    expect(server.sockets()).toHaveLength(1);
    server.sockets()[0]!.write('+OK\r\n\x03');
    await until(() => connection.state !== 'connected');
    expect(connection.state).toBe('broken');
    expect(connection.lastError).toBeInstanceOf(ProtocolError);
    expect(changes).toEqual(['broken']);
  });

  it('two replies for one request: broken, with a ProtocolError', async () => {
    const { port } = await hostileServer((socket) => socket.write('+OK\r\n\x03+OK\r\n\x03'));
    const connection = await connectTo(port);
    // The first reply is taken as the answer; the second breaks the connection.
    expect(await connection.send(['PING'])).toBe('OK');
    await until(() => connection.state !== 'connected');
    expect(connection.state).toBe('broken');
    expect(connection.lastError).toBeInstanceOf(ProtocolError);
  });
});

describe('absurd lengths and deep nesting', () => {
  it.each([
    ['a bulk string of 99 999 999 999 bytes', '$99999999999\r\n', 'limit'],
    ['an array of 99 999 999 999 elements', '*99999999999\r\n', 'limit'],
    ['a map of 99 999 999 999 pairs', '%99999999999\r\n', 'limit'],
    ['a set of 99 999 999 999 elements', '~99999999999\r\n', 'limit'],
    ['a length of 30 digits', '$999999999999999999999999999999\r\n', 'length'],
    ['a negative length', '$-7\r\n', 'length'],
    ['an integer of 60 digits', `:${'9'.repeat(60)}\r\n`, 'integer'],
  ])('%s: a ProtocolError, nothing allocated for it', async (_, reply, reason) => {
    const { port } = await hostileServer((socket) => socket.write(reply));
    const before = memoryInUse();
    // Default limits here: the absurd claim alone must not make the client allocate.
    await expectProtocolBreak(await connectTo(port, { decoderLimits: {} }), reason);
    expect(memoryInUse() - before).toBeLessThan(4 * 1024 * 1024);
  });

  it('deep nesting stops at maxDepth with a ProtocolError, not a stack overflow', async () => {
    const { port } = await hostileServer((socket) => socket.write(`${'*1\r\n'.repeat(200_000)}:1\r\n`));
    const error = await expectProtocolBreak(await connectTo(port), 'limit');
    expect(error.message).toMatch(/depth/);
  });

  it('deep nesting within the default limits is refused too (maxDepth 128)', async () => {
    const { port } = await hostileServer((socket) => socket.write(`${'*1\r\n'.repeat(100_000)}:1\r\n`));
    await expectProtocolBreak(await connectTo(port, { decoderLimits: {} }), 'limit');
  });
});

describe('replies that never end', () => {
  it('an endless bulk string stops at maxBufferedBytes; memory stays flat while the server floods', async () => {
    const server = await hostileServer((socket) => {
      socket.write('$1000000\r\n'); // within maxBulkBytes (1 MiB), past maxBufferedBytes (256 KiB)
      flood(socket, Buffer.alloc(64 * 1024, 0x61));
    });
    const before = memoryInUse();
    await expectProtocolBreak(await connectTo(port(server), { decoderLimits: { ...SMALL_LIMITS, maxBulkBytes: 1024 * 1024 } }), 'limit');
    expect(memoryInUse() - before).toBeLessThan(8 * 1024 * 1024);
  });

  it('an endless simple string (no CR ever) stops at the line limit', async () => {
    const server = await hostileServer((socket) => {
      socket.write('+');
      flood(socket, Buffer.alloc(64 * 1024, 0x62));
    });
    const before = memoryInUse();
    await expectProtocolBreak(await connectTo(port(server)), 'limit');
    expect(memoryInUse() - before).toBeLessThan(8 * 1024 * 1024);
  });

  it('an endless chain of nested arrays stops at maxDepth', async () => {
    const server = await hostileServer((socket) => flood(socket, Buffer.from('*1\r\n'.repeat(16 * 1024))));
    await expectProtocolBreak(await connectTo(port(server)), 'limit');
  });

  it('an aggregate whose elements keep coming stops at maxBufferedBytes', async () => {
    const element = `$1000\r\n${'c'.repeat(1000)}\r\n`;
    const server = await hostileServer((socket) => {
      socket.write('*999\r\n'); // within maxAggregateLength; ~1 MB of elements, past maxBufferedBytes
      flood(socket, Buffer.from(element.repeat(64)));
    });
    const before = memoryInUse();
    await expectProtocolBreak(await connectTo(port(server)), 'limit');
    expect(memoryInUse() - before).toBeLessThan(8 * 1024 * 1024);
  });

  it("an endless stream of 0x03 terminators on an 'etx' connection: the first stray one breaks it with a ProtocolError; memory stays flat", async () => {
    // Replies are framed strictly on a current server's connection: one 0x03 after each reply, none elsewhere.
    const server = await hostileServer((socket) => flood(socket, Buffer.alloc(64 * 1024, 0x03)));
    const before = memoryInUse();
    const error = await expectProtocolBreak(await connectTo(port(server)), 'framing');
    expect(error.message).toMatch(/0x03/);
    expect(memoryInUse() - before).toBeLessThan(8 * 1024 * 1024);
  });

  it('an endless stream of 0x03 terminators where they are not checked (custom dialect) holds no memory; the request times out and the connection breaks', async () => {
    // A custom dialect without `base` runs no handshake; one that does not end requests with 0x03 (Redis-like)
    // does not check replies for it either, and skips 0x03 between replies.
    const server = await hostileServer((socket) => flood(socket, Buffer.alloc(64 * 1024, 0x03)), { handshake: false });
    const connection = await connectTo(port(server), { timeoutLimit: 200, dialect: { requestTerminator: false, pipelining: true } });
    const before = memoryInUse();
    await expect(connection.send(['GET', 'k'])).rejects.toBeInstanceOf(TimeoutError);
    expect(server.written()).toBeGreaterThan(1024 * 1024);
    // The oldest request on the wire silent for timeoutLimit: the stream is reset (in the same timer turn or the next).
    await until(() => connection.state === 'broken');
    expect(connection.lastError).toBeInstanceOf(TimeoutError);
    expect(memoryInUse() - before).toBeLessThan(8 * 1024 * 1024);
  });

  it('a reply that stops half-way: the request times out and the connection breaks', async () => {
    const { port: p } = await hostileServer((socket) => socket.write('*3\r\n:1\r\n'));
    const connection = await connectTo(p, { timeoutLimit: 150 });
    const started = performance.now();
    await expect(connection.send(['GET', 'k'])).rejects.toBeInstanceOf(TimeoutError);
    await until(() => connection.state === 'broken');
    // Generous: the reset is due at 150 ms; only a timer that never fired would pass 5 s.
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe('replies that cost far more to decode than their bytes', () => {
  it('an array of a million empty maps (4 MB on the wire) cannot make the client allocate far past its limit', async () => {
    const limit = 4 * 1024 * 1024;
    const elements = 1_000_000;
    // Within every byte limit; decoded naively, ~190 bytes of Map per 4 bytes of wire (~180 MB).
    const { port: p } = await hostileServer((socket) => socket.write(`*${elements}\r\n${'%0\r\n'.repeat(elements)}`));
    const connection = await connectTo(p, { timeoutLimit: 5_000, decoderLimits: { maxBufferedBytes: limit, maxAggregateLength: elements } });
    const before = memoryInUse();
    const outcome = await connection.send(['GET', 'k']).then(
      (reply) => ({ reply }),
      (error: unknown) => ({ error }),
    );
    const grown = memoryInUse() - before;
    if ('error' in outcome) {
      // Refused: a typed limit error, the connection broken.
      expect(outcome.error).toBeInstanceOf(ConnectionError);
      expect((outcome.error as ConnectionError).cause).toBeInstanceOf(ProtocolError);
      expect(((outcome.error as ConnectionError).cause as ProtocolError).reason).toBe('limit');
    } else {
      expect((outcome.reply as unknown[]).length).toBe(elements);
    }
    expect(grown).toBeLessThan(16 * limit);
  });
});

describe('huge replies in many chunks', () => {
  it('decode in time linear in their size: a server cannot stall the event loop within the limits', () => {
    /**
     * Decodes an array of `n` 10-byte bulk strings fed in 64 KiB chunks; returns the CPU time it took
     * (the best of three), in ms. CPU time, not wall-clock time: other processes taking the CPU
     * (a loaded CI machine) do not count, only the decoder's own work.
     */
    const decodeTime = (n: number): number => {
      const parts = [`*${n}\r\n`];
      for (let i = 0; i < n; i++) parts.push(`$10\r\nkey:${String(i).padStart(6, '0')}\r\n`);
      const bytes = Buffer.from(parts.join(''));
      let best = Number.POSITIVE_INFINITY;
      for (let round = 0; round < 3; round++) {
        const decoder = new ReplyDecoder();
        let replies = 0;
        const started = process.cpuUsage();
        for (let offset = 0; offset < bytes.length; offset += 65_536) {
          decoder.push(bytes.subarray(offset, offset + 65_536), () => replies++);
        }
        const used = process.cpuUsage(started);
        expect(replies).toBe(1);
        best = Math.min(best, (used.user + used.system) / 1000);
      }
      return best;
    };
    decodeTime(20_000); // warm up
    const small = decodeTime(100_000); // 1.7 MB
    const large = decodeTime(400_000); // 6.8 MB: 4 times the bytes
    // Linear: ~4x. Re-parsing the reply from its first byte on every chunk made it ~16x
    // (0.17 s vs 2.9 s): a KEYS of a million keys blocked the event loop for many seconds.
    expect(large / small).toBeLessThan(8);
  });
});

describe('a pool against a chaotic server', () => {
  it('never crashes: every request settles typed, the pool keeps reconnecting, close() resolves', async () => {
    let turn = 0;
    const answers = [
      '+OK\r\n\x03',
      '!garbage\r\n',
      '$99999999999\r\n',
      `${'*1\r\n'.repeat(100)}`,
      '*2\r\n:1\r\n', // never ends
      ':12\r\n\x03:13\r\n\x03', // one too many
      '\x03\x03\x03',
    ];
    const { port } = await hostileServer((socket) => socket.write(answers[turn++ % answers.length] as string));
    const client = new ZCached({
      port,
      poolSize: 4,
      timeoutLimit: 100,
      connectionAttempts: 100,
      backoff: { initial: 1, max: 5 },
      decoderLimits: SMALL_LIMITS,
      closeTimeout: 50,
    });
    cleanup.push(() => client.close());
    await client.run();
    const results = await Promise.all(
      Array.from({ length: 400 }, async (_, i) => {
        await sleep(i % 50);
        return client.sendCommand(['GET', `k${i}`]).then(
          () => 'reply',
          (error: unknown) => error,
        );
      }),
    );
    for (const result of results) {
      if (result !== 'reply') expect(result instanceof ZCachedError || result instanceof PoolEmptyError).toBe(true);
    }
    const causes = results.filter((r): r is ConnectionError => r instanceof ConnectionError).map((e) => e.cause);
    expect(causes.some((cause) => cause instanceof ProtocolError)).toBe(true);
    await client.close();
    expect(client.connectionPool.isEmpty()).toBe(true);
  });
});

function port(server: { port: number }): number {
  return server.port;
}
