/**
 * End-to-end smoke test of the packed package, in plain JavaScript (ES
 * module), for every runtime of the matrix (Node.js, Bun, Deno): run it with
 * the runtime under test from a folder whose node_modules holds the
 * installed tarball (`npm run test:runtimes` sets that up, see
 * test/runtimes/README.md).
 *
 * It starts the embedded server from 'zcached/testing' in the same runtime,
 * then checks, in order: connecting; every command of `ZCached`, the `fp`
 * view and `sendCommand`; pipelined requests; the CommonJS build through
 * `require`; a reconnect after the server drops every connection, and
 * another after the server stops and comes back on the same port with the
 * same data; a `ZCachedFleet` over two servers; the Keyv store
 * (`zcached/keyv`), TTL included.
 *
 * Prints one line per step and, at the end, one JSON line
 * `{"runtime":…,"steps":n}`. Exits with 1 at the first failure (naming the
 * step and what was expected); it must exit on its own once done: a socket
 * or timer left open keeps it alive until the matrix's bound kills it.
 */
import { createRequire } from 'node:module';
import { isDeepStrictEqual, inspect } from 'node:util';
import Keyv from 'keyv';
import * as zcached from 'zcached';
import { KeyvZCached } from 'zcached/keyv';
import { startServer } from 'zcached/testing';

const { ZCached, ZCachedFleet, ServerError, ZCachedError, TimeoutError, float } = zcached;

/** The runtime this runs on, as the matrix names it. */
function runtime() {
  if (typeof globalThis.Bun !== 'undefined') return `bun ${globalThis.Bun.version}`;
  if (typeof globalThis.Deno !== 'undefined') return `deno ${globalThis.Deno.version.deno}`;
  return `node ${process.versions.node}`;
}

class CheckFailed extends Error {}

/** Fails the current step unless `actual` deep-equals `expected` (strictly: types, Map entries, Buffer bytes). */
function same(actual, expected, what) {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new CheckFailed(`${what}: got ${inspect(actual, { depth: 5 })}, expected ${inspect(expected, { depth: 5 })}`);
  }
}

function ok(condition, what) {
  if (!condition) throw new CheckFailed(what);
}

/** Resolves with what `promise` rejected with; fails when it resolves. */
async function rejection(promise, what) {
  try {
    const value = await promise;
    throw new CheckFailed(`${what}: resolved with ${inspect(value)} instead of rejecting`);
  } catch (error) {
    if (error instanceof CheckFailed) throw error;
    return error;
  }
}

/** Resolves with the arguments of the next `name` event of `emitter`; fails after `ms`. */
function nextEvent(emitter, name, ms = 10_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(name, listener);
      reject(new CheckFailed(`no '${name}' event within ${ms} ms`));
    }, ms);
    const listener = (...args) => {
      clearTimeout(timer);
      resolve(args);
    };
    emitter.once(name, listener);
  });
}

let steps = 0;
async function step(name, run) {
  try {
    await run();
  } catch (error) {
    console.error(`FAIL ${runtime()}: ${name}`);
    console.error(error instanceof CheckFailed ? error.message : error);
    process.exit(1);
  }
  steps++;
  console.log(`ok ${name}`);
}

// The embedded server of 'zcached/testing', binary-safe (`faithful: false`) so that every value type round-trips.
let server = await startServer({ host: '127.0.0.1', faithful: false });
const port = server.port;
const client = new ZCached({ host: '127.0.0.1', port, poolSize: 2, timeoutLimit: 5_000 });
const events = [];
for (const name of ['connect', 'ready', 'end', 'reconnecting']) client.on(name, () => events.push(name));

await step('connect: run() connects the whole pool', async () => {
  await client.run();
  same(client.connectionPool.connectedConnections.length, 2, 'connected connections');
  same(events.filter((name) => name === 'connect').length, 2, "'connect' events");
  ok(events.includes('ready'), `a 'ready' event (events: ${events.join(', ')})`);
  same(await client.ping(), 'PONG', 'ping()');
  same(await client.isAlive(), true, 'isAlive()');
});

await step('commands: set / get / exists / delete', async () => {
  same(await client.flush(), 'OK', 'flush()');
  same(await client.set('smoke:string', 'héllo wörld ✓'), 'OK', 'set()');
  same(await client.get('smoke:string'), 'héllo wörld ✓', 'get() of a UTF-8 string');
  same(await client.get('smoke:missing'), undefined, 'get() of a missing key');
  same(await client.exists('smoke:string'), true, 'exists() of a key');
  same(await client.exists('smoke:missing'), false, 'exists() of a missing key');
  same(await client.delete('smoke:string'), true, 'delete() of a key');
  same(await client.delete('smoke:string'), false, 'delete() of a missing key');
});

await step('commands: every value type round-trips', async () => {
  const values = {
    'smoke:int': 42,
    'smoke:negative': -7,
    'smoke:float': 2.5,
    'smoke:float-integral': float(3),
    'smoke:bigint': 2n ** 62n,
    'smoke:true': true,
    'smoke:false': false,
    'smoke:null': null,
    'smoke:array': ['a', 1, [true, null]],
    'smoke:map': new Map([['x', 1], ['y', 'z']]),
    'smoke:object': { a: 1, b: ['c'] },
    'smoke:set': new Set(['p', 'q']),
    'smoke:bytes': Buffer.from([0, 1, 2, 0xff]),
  };
  for (const [key, value] of Object.entries(values)) same(await client.set(key, value), 'OK', `set(${key})`);
  same(await client.get('smoke:int'), 42, 'integer');
  same(await client.get('smoke:negative'), -7, 'negative integer');
  same(await client.get('smoke:float'), 2.5, 'float');
  same(await client.get('smoke:float-integral'), 3, 'float(3)');
  same(await client.get('smoke:bigint'), 2n ** 62n, 'bigint beyond the safe integers');
  same(await client.get('smoke:true'), true, 'true');
  same(await client.get('smoke:false'), false, 'false');
  same(await client.get('smoke:null'), null, 'null');
  same(await client.get('smoke:array'), ['a', 1, [true, null]], 'array');
  same(await client.get('smoke:map'), new Map([['x', 1], ['y', 'z']]), 'Map');
  same(await client.get('smoke:object'), new Map([['a', 1], ['b', ['c']]]), 'plain object (comes back as a Map)');
  same(await client.get('smoke:set'), new Set(['p', 'q']), 'Set');
  same(await client.get('smoke:bytes'), Buffer.from([0, 1, 2, 0xff]).toString('utf8'), 'bytes, read as a string');
  const bytes = new ZCached({ host: '127.0.0.1', port, poolSize: 1, bulkAsBuffer: true });
  try {
    await bytes.run();
    same(await bytes.get('smoke:bytes'), Buffer.from([0, 1, 2, 0xff]), 'bytes, read with bulkAsBuffer');
  } finally {
    await bytes.close();
  }
});

await step('commands: mset / mget / keys / dbsize', async () => {
  same(await client.flush(), 'OK', 'flush()');
  same(await client.mset({ 'smoke:a': '1', 'smoke:b': 2 }), 'OK', 'mset(object)');
  same(await client.mset(new Map([['smoke:c', [3]]])), 'OK', 'mset(Map)');
  same(await client.mset([['smoke:d', true]]), 'OK', 'mset(pairs)');
  same(
    await client.mget('smoke:a', 'smoke:missing', 'smoke:c'),
    new Map([['smoke:a', '1'], ['smoke:missing', null], ['smoke:c', [3]]]),
    'mget(...keys)',
  );
  same(await client.mget(['smoke:b', 'smoke:d']), new Map([['smoke:b', 2], ['smoke:d', true]]), 'mget([keys])');
  same((await client.keys()).sort(), ['smoke:a', 'smoke:b', 'smoke:c', 'smoke:d'], 'keys()');
  same(await client.dbsize(), 4, 'dbsize()');
});

await step('commands: echo / sizeof / rename / copy', async () => {
  same(await client.echo('ping pong'), 'ping pong', 'echo()');
  same(await client.set('smoke:sized', 'abcde'), 'OK', 'set()');
  same(await client.sizeof('smoke:sized'), 5, 'sizeof() of a string');
  same(await client.rename('smoke:sized', 'smoke:renamed'), 'OK', 'rename()');
  same(await client.get('smoke:sized'), undefined, 'the old key after rename()');
  same(await client.get('smoke:renamed'), 'abcde', 'the new key after rename()');
  const missing = await rejection(client.rename('smoke:nothing', 'smoke:x'), 'rename() of a missing key');
  ok(missing instanceof ServerError && missing instanceof ZCachedError, `rename() of a missing key: a ServerError, got ${inspect(missing)}`);
  same(await client.copy('smoke:renamed', 'smoke:copy'), 'OK', 'copy()');
  const busy = await rejection(client.copy('smoke:renamed', 'smoke:copy'), 'copy() onto an existing key');
  same(busy.code, 'BUSYKEY', 'copy() onto an existing key: the error code');
  same(await client.set('smoke:renamed', 'fghij'), 'OK', 'set()');
  same(await client.copy('smoke:renamed', 'smoke:copy', { replace: true }), 'OK', 'copy({ replace: true })');
  same(await client.get('smoke:copy'), 'fghij', 'the destination after copy({ replace: true })');
});

await step('commands: save / lastsave / sendCommand / fp view / argument errors', async () => {
  const before = await client.lastsave();
  ok(Number.isInteger(before) && before > 1_600_000_000, `lastsave() is Unix seconds, got ${before}`);
  same(await client.save(), 'OK', 'save()');
  ok((await client.lastsave()) >= before, 'lastsave() after save() is not earlier');
  same(await client.sendCommand(['SET', 'smoke:raw', 7]), 'OK', "sendCommand(['SET', …])");
  same(await client.sendCommand(['GET', 'smoke:raw']), 7, "sendCommand(['GET', …])");
  const right = await client.fp.get('smoke:raw')();
  same(right, { _tag: 'Right', right: 7 }, 'fp.get() of a key');
  const left = await client.fp.rename('smoke:none', 'smoke:y')();
  ok(left._tag === 'Left' && left.left instanceof ServerError, `fp.rename() of a missing key: a Left ServerError, got ${inspect(left)}`);
  let thrown;
  try {
    client.set('smoke:bad', undefined);
  } catch (error) {
    thrown = error;
  }
  ok(thrown instanceof TypeError, `set(key, undefined) throws a TypeError synchronously, got ${inspect(thrown)}`);
});

await step('pipelining: 500 requests in flight at once', async () => {
  const keys = Array.from({ length: 500 }, (_, i) => `smoke:p${i}`);
  same(new Set(await Promise.all(keys.map((key, i) => client.set(key, i)))), new Set(['OK']), 'the SET replies');
  same(await Promise.all(keys.map((key) => client.get(key))), keys.map((_, i) => i), 'every GET in order');
});

await step('timeouts: a request the server does not answer rejects with a TimeoutError', async () => {
  server.stopAnswering();
  try {
    const error = await rejection(client.ping({ timeout: 100 }), 'ping() to a silent server');
    ok(error instanceof TimeoutError && error.code === 'ETIMEOUT', `a TimeoutError, got ${inspect(error)}`);
  } finally {
    server.resumeAnswering();
  }
  same(await client.ping(), 'PONG', 'ping() once the server answers again');
});

await step('the CommonJS build, through require()', async () => {
  const require = createRequire(import.meta.url);
  const cjs = require('zcached');
  ok(require.resolve('zcached').replaceAll('\\', '/').endsWith('/dist/cjs/index.js'), `require.resolve: ${require.resolve('zcached')}`);
  const other = new cjs.ZCached({ host: '127.0.0.1', port, poolSize: 1 });
  try {
    await other.run();
    same(await other.get('smoke:raw'), 7, 'get() through the CommonJS copy');
    const error = await rejection(other.rename('smoke:none', 'smoke:z'), 'rename() of a missing key');
    ok(error instanceof ServerError, 'a CommonJS ServerError is instanceof the ES module ServerError');
  } finally {
    await other.close();
  }
});

await step('reconnect: the server drops every connection', async () => {
  const ready = nextEvent(client, 'ready');
  const end = nextEvent(client, 'end');
  const reconnecting = nextEvent(client, 'reconnecting');
  server.dropConnections();
  await end;
  const [event] = await reconnecting;
  ok(typeof event?.delay === 'number', `a 'reconnecting' event with a delay, got ${inspect(event)}`);
  await ready;
  same(await client.get('smoke:raw'), 7, 'get() after the reconnect');
  same(client.connectionPool.connections.length, 2, 'the pool still holds two connections');
});

await step('reconnect: the server stops, then comes back on the same port with its data', async () => {
  const store = server.store;
  const end = nextEvent(client, 'end');
  await server.close();
  await end;
  const error = await rejection(client.get('smoke:raw', { timeout: 200 }), 'get() while the server is down');
  ok(error instanceof ZCachedError, `a ZCachedError while the server is down, got ${inspect(error)}`);
  const ready = nextEvent(client, 'ready', 15_000);
  server = await startServer({ host: '127.0.0.1', port, store, faithful: false });
  await ready;
  same(await client.get('smoke:raw', { timeout: 5_000 }), 7, 'get() after the server came back');
});

await step('fleet: ZCachedFleet over two servers', async () => {
  const second = await startServer({ host: '127.0.0.1' });
  const fleet = new ZCachedFleet({
    servers: [`zcached://127.0.0.1:${port}?id=one`, { host: '127.0.0.1', port: second.port, id: 'two' }],
    poolSize: 2,
  });
  try {
    await fleet.run();
    same(await fleet.flush(), 'OK', 'fleet.flush()');
    const keys = Array.from({ length: 40 }, (_, i) => `fleet:${i}`);
    same(await fleet.mset(keys.map((key, i) => [key, `v${i}`])), 'OK', 'fleet.mset()');
    same(await fleet.mget(keys), new Map(keys.map((key, i) => [key, `v${i}`])), 'fleet.mget() in key order');
    const owners = new Set(keys.map((key) => fleet.serverFor(key)));
    same(owners, new Set(['one', 'two']), 'the keys spread over both servers');
    same(await fleet.dbsize(), 40, 'fleet.dbsize() over both servers');
    same(server.store.size + second.store.size, 40, 'the keys the two servers hold');
    same(await fleet.set('{tag}:a', '1'), 'OK', 'fleet.set()');
    same(fleet.serverFor('{tag}:a'), fleet.serverFor('{tag}:b'), 'a hash tag keeps keys together');
    same(await fleet.get('{tag}:a'), '1', 'fleet.get()');
    same(await fleet.delete('{tag}:a'), true, 'fleet.delete()');
    same((await fleet.keys()).length, 40, 'fleet.keys()');
    same(await fleet.ping(), 'PONG', 'fleet.ping()');
  } finally {
    await fleet.close();
    await second.close();
  }
});

await step('Keyv: KeyvZCached as the store of a Keyv', async () => {
  same(await client.set('other:outside', 'kept'), 'OK', 'set() of a key outside the namespace');
  const keyv = new Keyv({ store: new KeyvZCached(client), namespace: 'smoke' });
  same(await keyv.set('user', { name: 'Ada', langs: ['en'] }), true, 'keyv.set()');
  same(await keyv.get('user'), { name: 'Ada', langs: ['en'] }, 'keyv.get()');
  same(await keyv.has('user'), true, 'keyv.has()');
  same(await keyv.set('short', 'lived', 50), true, 'keyv.set() with a TTL');
  await new Promise((resolve) => setTimeout(resolve, 120));
  same(await keyv.get('short'), undefined, 'keyv.get() after the TTL');
  same(await keyv.delete('user'), true, 'keyv.delete()');
  same(await keyv.get('user'), undefined, 'keyv.get() after delete()');
  same(await keyv.set('again', 1), true, 'keyv.set()');
  await keyv.clear();
  same(await keyv.get('again'), undefined, 'keyv.get() after clear()');
  same(await client.get('other:outside'), 'kept', 'clear() left the keys outside its namespace');
});

await step('close', async () => {
  await client.close();
  await server.close();
  const error = await rejection(client.ping(), 'ping() after close()');
  same(error.code, 'ECLOSED', 'ping() after close(): the error code');
});

console.log(JSON.stringify({ runtime: runtime(), steps }));
