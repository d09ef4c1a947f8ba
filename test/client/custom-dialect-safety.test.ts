/**
 * Custom dialects are not probed, but the framing check still keeps a
 * zcached-like custom dialect from handing out other keys' values (found by
 * the new-user trial of issue 18): `{ requestTerminator: true, pipelining:
 * true }` now requires 0x03 after every reply, so against a 2024 or 2025
 * server (no 0x03) the connection breaks instead. 32 concurrent GETs over a
 * pool of 2, as in the dialect matrix.
 */
import { describe, expect, it } from 'vitest';
import type { ServerGeneration } from '../../src/protocol/dialect.js';
import { deferredCleanup } from '../support.js';
import { serversAndClients } from '../servers-and-clients.js';

const cleanup = deferredCleanup();
const { server, client } = serversAndClients(cleanup);
const KEYS = Array.from({ length: 16 }, (_, i) => `k${i}`);

describe('a custom dialect that pipelines 0x03-terminated requests', () => {
  it.each(['legacy', 'etx-request', 'etx'] as ServerGeneration[])('against a %s server: never another key\'s value', async (generation) => {
    const started = await server({ dialect: generation });
    const seeder = client({ port: started.port, dialect: generation });
    await seeder.run();
    for (const key of KEYS) await seeder.set(key, `value-of-${key}`);
    const c = client({ port: started.port, poolSize: 2, timeoutLimit: 300, connectionAttempts: 1, dialect: { requestTerminator: true, pipelining: true } });
    await c.run();
    let wrong = 0;
    let right = 0;
    await Promise.all(
      Array.from({ length: 32 }, async (_, worker) => {
        for (let i = 0; i < 20; i++) {
          const key = KEYS[(worker + i) % KEYS.length] as string;
          const value = await c.get(key).catch(() => undefined);
          if (value === undefined) return; // a typed failure: this worker stops
          if (value === `value-of-${key}`) right++;
          else wrong++;
        }
      }),
    );
    expect(wrong).toBe(0);
    if (generation === 'etx') expect(right).toBe(640);
  });
});
