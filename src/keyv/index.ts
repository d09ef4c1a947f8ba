/**
 * `zcached/keyv`: a [Keyv](https://keyv.org) storage adapter, so that Keyv
 * and what is built on it (cacheable, cache-manager) keep their data in
 * zcached. `keyv` is an optional peer dependency: only its types are used.
 *
 * ```ts
 * import Keyv from 'keyv';
 * import { KeyvZCached } from 'zcached/keyv';
 * const keyv = new Keyv({ store: new KeyvZCached('zcached://127.0.0.1:7556') });
 * ```
 *
 * @module zcached/keyv
 */
export { KeyvSharedStoreError } from './shared.js';
export { KeyvZCached, type KeyvZCachedOptions, type KeyvZCachedOpts, type KeyvZCachedTarget } from './store.js';
