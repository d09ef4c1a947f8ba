/** Connection.send checks its arguments at run time (plain-JavaScript callers): refused, nothing sent. */
import { describe, expect, it } from 'vitest';
import { Connection } from '../../src/connection/connection.js';
import { deferredCleanup } from '../support.js';
import { serversAndClients } from '../servers-and-clients.js';

const cleanup = deferredCleanup();
const { server } = serversAndClients(cleanup);

describe('Connection.send arguments', () => {
  it('refuses unknown options, non-object options, bad values and a third argument; sends nothing', async () => {
    const started = await server();
    const connection = new Connection({ host: '127.0.0.1', port: started.port });
    cleanup.push(() => connection.close({ force: true }));
    await connection.connect();
    const before = started.stats.requests;
    const send = connection.send.bind(connection) as (...args: unknown[]) => Promise<unknown>;
    expect(() => send(['GET', 'k'], { timout: 200 })).toThrow(/unknown option "timout"; did you mean timeout\?/);
    expect(() => send(['GET', 'k'], 200)).toThrow(TypeError);
    expect(() => send(['GET', 'k'], { timeout: -1 })).toThrow(RangeError);
    expect(() => send(['GET', 'k'], { signal: 'abort' })).toThrow(TypeError);
    expect(() => send(['GET', 'k'], {}, 'extra')).toThrow(/Connection.send takes \(command, options\?\), got 3 arguments/);
    expect(() => send(['SET', 'k', 'v'], { ttl: 10 })).toThrow(/no expiry/);
    expect(() => send('PING')).toThrow(/command must be an array such as \['GET', 'key'\], got string/);
    expect(() => send({ 0: 'PING', length: 1 })).toThrow(/command must be an array/);
    await expect(connection.send(['PING'])).resolves.toBe('PONG');
    expect(started.stats.requests).toBe(before + 1);
  });
});
