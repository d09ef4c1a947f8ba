/**
 * Every reply's framing is checked against the generation the connection
 * speaks (issue 18, item 3): a reply that breaks it breaks the connection
 * with a ProtocolError, and no caller ever receives it.
 */
import { describe, expect, it } from 'vitest';
import { Connection } from '../../src/connection/connection.js';
import { ConnectionError, ProtocolError } from '../../src/errors.js';
import { FakeTransport } from './fake-transport.js';

const flushed = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function connected(generation: 'etx' | 'etx-request') {
  const fake = new FakeTransport({ replyTerminator: generation === 'etx', generation });
  const connection = new Connection({ host: 'fake', port: 1, openTransport: fake.open, reconnect: false });
  await connection.connect();
  expect(connection.generation).toBe(generation);
  return { fake, connection };
}

describe('reply framing on a connected socket', () => {
  it("'etx': replies without their 0x03 are never handed to a caller; the connection breaks with a ProtocolError", async () => {
    const { fake, connection } = await connected('etx');
    const first = connection.send(['ECHO', 'a']).then((value) => ({ value }), (error: unknown) => ({ error }));
    const second = connection.send(['ECHO', 'b']).then((value) => ({ value }), (error: unknown) => ({ error }));
    await flushed();
    // As a 2025 server would answer: no 0x03 after the replies.
    fake.socket?.reply('$1\r\na\r\n$1\r\nb\r\n');
    const outcomes = [await first, await second];
    for (const outcome of outcomes) {
      expect(outcome).not.toHaveProperty('value');
      expect((outcome as { error: unknown }).error).toBeInstanceOf(ConnectionError);
    }
    expect(connection.lastError).toBeInstanceOf(ProtocolError);
    expect(connection.lastError?.message).toMatch(/not followed by 0x03/);
    await connection.close({ force: true });
  });

  it("'etx-request': a 0x03 after a reply breaks the connection with a ProtocolError", async () => {
    const { fake, connection } = await connected('etx-request');
    const first = connection.send(['ECHO', 'a']);
    await flushed();
    fake.socket?.reply('$1\r\na\r\n\x03');
    // The reply came whole before the stray byte: its caller gets it; the stream then breaks.
    expect(await first).toBe('a');
    expect(connection.state).not.toBe('connected');
    expect(connection.lastError).toBeInstanceOf(ProtocolError);
    expect(connection.lastError?.message).toMatch(/only current zcached servers/);
    await connection.close({ force: true });
  });
});

describe('bytes the server sends around the handshake are never dropped', () => {
  it.each([0, 1, 2, 3, 4, 5, 6, 8, 12])('a stray reply %i microtask(s) after the socket opens: the connect fails or the connection breaks', async (hops) => {
    const fake = new FakeTransport({ generation: 'etx' });
    const connection = new Connection({ host: 'fake', port: 1, openTransport: fake.open, reconnect: false, connectionAttempts: 1 });
    const connecting = connection.connect().then(
      () => 'connected',
      (error: unknown) => error,
    );
    while (fake.sockets.length === 0) await Promise.resolve();
    for (let i = 0; i < hops; i++) await Promise.resolve();
    fake.sockets[0]?.reply('+STRAY\r\n\x03');
    await connecting;
    await flushed();
    // Whether the handshake or the reply stream read it, it counted: never a connection that carries on as if nothing came.
    expect(connection.state).not.toBe('connected');
    expect(connection.lastError?.message).toMatch(/STRAY|a reply nobody asked for|more than one reply/);
    await connection.close({ force: true });
  });
});
