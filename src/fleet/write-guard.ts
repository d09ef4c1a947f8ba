/**
 * `WriteGuard`: keeps read repair from writing back a value that a write
 * has replaced meanwhile (with `replicas` > 1).
 *
 * A read that found a key on a later replica copies it to the replicas
 * that missed it. Were a write to the key running, or done, between that
 * read and the copy, the copy could land after it and bring an older value
 * back. So keys are hashed into a fixed number of buckets (memory does not
 * grow with the keys), each with a stamp that moves when a write of one of
 * its keys starts and when it ends, and a count of writes in flight:
 * - a repair goes ahead only when the stamp it read at the start of the
 *   read is still the stamp and no write is in flight (a false alarm from
 *   another key of the bucket only skips a repair);
 * - a write that finds a repair in flight in its bucket waits for it, so
 *   the repair lands first.
 *
 * Writes are also numbered as they begin, and each bucket keeps the number
 * of its latest one: a server doubted after a placement change (see
 * `reducer-replicas.ts`) still holds the current value of a key that moved
 * off it as long as no write of the key began since.
 *
 * @module
 */

/** Buckets: a power of two. */
const BUCKETS = 4096;

/** Write stamps and repairs in flight, by key bucket. */
export class WriteGuard {
  readonly #stamps = new Uint32Array(BUCKETS);
  readonly #inFlight = new Uint32Array(BUCKETS);
  readonly #repairs = new Map<number, Promise<void>>();
  /** By bucket: the number of the latest write that began in it (0: none yet). */
  readonly #began = new Float64Array(BUCKETS);
  #writes = 0;

  /** The bucket of `key` (FNV-1a over its UTF-16 code units). */
  bucket(key: string): number {
    let hash = 0x811c9dc5;
    for (let at = 0; at < key.length; at++) hash = Math.imul(hash ^ key.charCodeAt(at), 0x01000193);
    return (hash >>> 0) & (BUCKETS - 1);
  }

  /** The stamp of a bucket now (read when a read starts). */
  stamp(bucket: number): number {
    return this.#stamps[bucket]!;
  }

  /** A write of a key of `bucket` starts (before anything is sent). */
  begin(bucket: number): void {
    this.#stamps[bucket]!++;
    this.#inFlight[bucket]!++;
    this.#began[bucket] = ++this.#writes;
  }

  /** The number of the latest write that began, of any key (0 before the first). */
  get writes(): number {
    return this.#writes;
  }

  /** True when a write of a key of `bucket` began after write number `since` (see {@link writes}). */
  writtenSince(bucket: number, since: number): boolean {
    return this.#began[bucket]! > since;
  }

  /** That write has settled on every replica. */
  end(bucket: number): void {
    this.#stamps[bucket]!++;
    this.#inFlight[bucket]!--;
  }

  /** True when no write of the bucket started or ended since `stamp` and none is in flight. */
  quiet(bucket: number, stamp: number): boolean {
    return this.#inFlight[bucket] === 0 && this.#stamps[bucket] === stamp;
  }

  /** The repair in flight in `bucket`, if any (a write waits for it). */
  repairing(bucket: number): Promise<void> | undefined {
    return this.#repairs.size === 0 ? undefined : this.#repairs.get(bucket);
  }

  /** Records a repair of `bucket` until `repair` settles (it must never reject). */
  hold(bucket: number, repair: Promise<void>): void {
    this.#repairs.set(bucket, repair);
    void repair.then(() => {
      if (this.#repairs.get(bucket) === repair) this.#repairs.delete(bucket);
    });
  }
}
