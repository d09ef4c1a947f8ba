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
