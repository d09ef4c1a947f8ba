/**
 * KeyvZCached where a new user trips: one adapter given to two Keyv
 * instances (Keyv keeps one namespace per store), namespaces that are
 * prefixes of others, `has()` when the server is gone (Keyv calls the
 * store's `has` without catching), and misspelt adapter options.
 */
import Keyv from 'keyv';
import { describe, expect, it } from 'vitest';
import { ZCached } from '../../src/client/client.js';
import { ConnectError, ConnectionClosedError, DialectError, ZCachedError } from '../../src/errors.js';
import { KeyvSharedStoreError, KeyvZCached } from '../../src/keyv/index.js';
import { startServer, type ZCachedServer } from '../../src/testing/server.js';
import { etxServerAndClient } from './keyv-support.js';

let server: ZCachedServer;
let client: ZCached;

etxServerAndClient((started) => ({ server, client } = started), { flushAfterEach: true });

const sortedKeys = async (): Promise<string[]> => (await client.keys()).sort();

/** The errors a Keyv (or the adapter) emits. */
function errorsOf(emitter: { on(event: 'error', listener: (error: unknown) => void): unknown }): unknown[] {
  const errors: unknown[] = [];
  emitter.on('error', (error) => errors.push(error));
  return errors;
}

describe('one adapter shared by two Keyv instances', () => {
  it('with different namespaces: clear() deletes nothing and reports KeyvSharedStoreError (emitted, or rejected with throwOnErrors)', async () => {
    const store = new KeyvZCached(client);
    const k1 = new Keyv({ store, namespace: 'n1' });
    const k1Errors = errorsOf(k1);
    const k2 = new Keyv({ store, namespace: 'n2' });
    const k2Errors = errorsOf(k2);
    await k1.set('x', 1);
    await k2.set('b', 2);
    await client.set('a:b', 'other program');

    await k1.clear();
    // Before the fix, the adapter held 'n2' (the last Keyv wins), and k1.clear() deleted n2:b.
    expect(await sortedKeys()).toEqual(['a:b', 'n1:x', 'n2:b']);
    expect(await k2.get('b')).toBe(2);
    // Binding the second Keyv was reported at once, to the Keyvs already listening; then clear().
    expect(k1Errors).toHaveLength(2);
    expect(k1Errors[0]).toBeInstanceOf(KeyvSharedStoreError);
    const error = k1Errors[1] as KeyvSharedStoreError;
    expect(error).toBeInstanceOf(KeyvSharedStoreError);
    expect(error).toBeInstanceOf(ZCachedError);
    expect(error).toMatchObject({ name: 'KeyvSharedStoreError', code: 'EKEYVSHARED', namespaces: ['n1', 'n2'] });
    expect(error.message).toContain('(they may share one ZCached client)');
    expect(error.message).toMatch(/^KeyvZCached is shared by Keyv instances with different namespaces \("n1" and "n2"\).*nothing was deleted/);

    await k2.clear();
    expect(await sortedKeys()).toEqual(['a:b', 'n1:x', 'n2:b']);
    expect(k2Errors).toEqual([expect.any(KeyvSharedStoreError)]);

    const strict = new Keyv({ store, namespace: 'n1', throwOnErrors: true });
    await expect(strict.clear()).rejects.toBeInstanceOf(KeyvSharedStoreError);
    await expect(store.clear()).rejects.toMatchObject({ code: 'EKEYVSHARED' });
    expect(await sortedKeys()).toEqual(['a:b', 'n1:x', 'n2:b']);
  });

  it('one Keyv without a namespace and one with: refused too', async () => {
    const store = new KeyvZCached(client);
    const plain = new Keyv({ store, namespace: undefined as never });
    const named = new Keyv({ store, namespace: 'n2' });
    const errors = errorsOf(named);
    await plain.set('x', 1);
    await named.clear();
    expect(await sortedKeys()).toEqual(['x']);
    expect(errors[0]).toMatchObject({ code: 'EKEYVSHARED', namespaces: [undefined, 'n2'] });
    expect((errors[0] as Error).message).toContain('(no namespace and "n2")');
  });

  it('with the same namespace: clear() works', async () => {
    const store = new KeyvZCached(client);
    const a = new Keyv({ store, namespace: 'same' });
    const b = new Keyv({ store, namespace: 'same' });
    const errors = [...errorsOf(a), ...errorsOf(b)];
    await a.set('x', 1);
    await client.set('other:y', 'stays');
    await b.clear();
    expect(await sortedKeys()).toEqual(['other:y']);
    expect(errors).toEqual([]);
  });

  it('one Keyv renaming its namespace (keyv.namespace = ..., as cacheable does) is no sharing, even with listeners of its own', async () => {
    const store = new KeyvZCached(client);
    const keyv = new Keyv({ store, namespace: 'before' });
    const errors = errorsOf(keyv);
    const storeErrors = errorsOf(store); // a listener of the user's, after the Keyv's
    await Promise.resolve();
    keyv.namespace = 'after';
    await keyv.set('x', 1);
    await client.set('before:y', 'stays');
    await keyv.clear();
    expect(await sortedKeys()).toEqual(['before:y']);
    expect([...errors, ...storeErrors]).toEqual([]);
  });

  it('two Keyvs of one namespace, then one renames: refused from then on', async () => {
    const store = new KeyvZCached(client);
    const a = new Keyv({ store, namespace: 'same' });
    const b = new Keyv({ store, namespace: 'same' });
    const errors = errorsOf(a);
    b.namespace = 'moved';
    await a.set('x', 1);
    await a.clear();
    expect(await sortedKeys()).toEqual(['same:x']);
    expect(errors).toEqual([expect.objectContaining({ code: 'EKEYVSHARED', namespaces: ['same', 'moved'] }), expect.objectContaining({ code: 'EKEYVSHARED' })]);
  });

  it('two adapters over one client, one per Keyv, each clear their own namespace', async () => {
    const k1 = new Keyv({ store: new KeyvZCached(client), namespace: 'n1' });
    const k2 = new Keyv({ store: new KeyvZCached(client), namespace: 'n2' });
    await k1.set('x', 1);
    await k2.set('b', 2);
    await k1.clear();
    expect(await sortedKeys()).toEqual(['n2:b']);
  });
});

describe('namespaces that are prefixes of others', () => {
  it("clear() of namespace 'users' also removes the keys of namespace 'users:admin' (Keyv's keys cannot tell them apart)", async () => {
    const users = new Keyv({ store: new KeyvZCached(client), namespace: 'users' });
    const admins = new Keyv({ store: new KeyvZCached(client), namespace: 'users:admin' });
    await users.set('admin:1', 'a key with a colon');
    await admins.set('1', 'an admin');
    await client.set('usersx:1', 'another namespace');
    // Both are stored as users:admin:1.
    expect(await sortedKeys()).toEqual(['users:admin:1', 'usersx:1']);
    await users.clear();
    expect(await sortedKeys()).toEqual(['usersx:1']);
    expect(await admins.get('1')).toBeUndefined();
    // The other way round, clear() of 'users:admin' keeps users:1.
    await users.set('1', 'a user');
    await admins.set('2', 'an admin');
    await admins.clear();
    expect(await sortedKeys()).toEqual(['users:1', 'usersx:1']);
  });
});

describe('has() and hasMany() when the server cannot answer', () => {
  it('a closed client: Keyv emits the ConnectionClosedError and has() resolves false, as get() resolves undefined', async () => {
    const closed = new ZCached({ port: server.port });
    await closed.close();
    const keyv = new Keyv({ store: new KeyvZCached(closed) });
    const errors = errorsOf(keyv);
    expect(await keyv.has('x')).toBe(false);
    expect(await keyv.has(['x', 'y'])).toEqual([false, false]);
    expect(await keyv.get('x')).toBeUndefined();
    expect(await keyv.set('x', 1)).toBe(false);
    expect(errors.slice(0, 2)).toEqual([expect.any(ConnectionClosedError), expect.any(ConnectionClosedError)]);
  });

  it('an unreachable server: the ConnectError is emitted and has() resolves false', async () => {
    const gone = await startServer({ dialect: 'etx' });
    const port = gone.port;
    await gone.close();
    const store = new KeyvZCached({ port });
    const keyv = new Keyv({ store });
    const errors = errorsOf(keyv);
    expect(await keyv.has('x')).toBe(false);
    expect(await keyv.has(['x'])).toEqual([false]);
    expect(errors).toEqual([expect.any(ConnectError), expect.any(ConnectError)]);
    await keyv.disconnect();
  });

  it('a key the dialect refuses: emitted as the DialectError, has() resolves false', async () => {
    const keyv = new Keyv({ store: new KeyvZCached(client), namespace: 'ns' });
    const errors = errorsOf(keyv);
    expect(await keyv.has('a\nb')).toBe(false);
    expect(errors).toEqual([expect.any(DialectError)]);
  });

  it('the adapter alone, with no error listener: has() and hasMany() reject (Node emitters throw an unheard error)', async () => {
    const closed = new ZCached({ port: server.port });
    await closed.close();
    const store = new KeyvZCached(closed);
    await expect(store.has('x')).rejects.toBeInstanceOf(ConnectionClosedError);
    await expect(store.hasMany(['x'])).rejects.toBeInstanceOf(ConnectionClosedError);
    const errors = errorsOf(store);
    expect(await store.has('x')).toBe(false);
    expect(errors).toEqual([expect.any(ConnectionClosedError)]);
  });
});

describe('adapter options', () => {
  it.each<[string, object, string]>([
    ['batchsize', { batchsize: 2 }, 'KeyvZCached: unknown option "batchsize"; did you mean batchSize?'],
    ['a stranger', { retries: 2 }, 'KeyvZCached: unknown option "retries"; the options are batchSize, commandOptions'],
    ['commandOptions.timout', { commandOptions: { timout: 5 } }, 'KeyvZCached: unknown option "commandOptions.timout"; did you mean commandOptions.timeout?'],
    [
      'namespace',
      { namespace: 'x' },
      "KeyvZCached: namespace is Keyv's option, not the adapter's: new Keyv({ store, namespace: 'users' }) sets it on the adapter and prefixes the keys",
    ],
  ])('refuses %s with a TypeError', (_, options, message) => {
    expect(() => new KeyvZCached(client, options as never)).toThrow(new TypeError(message));
  });

  it('takes the valid ones', () => {
    expect(() => new KeyvZCached(client, { batchSize: 2, commandOptions: { timeout: 1_000 } })).not.toThrow();
  });
});
