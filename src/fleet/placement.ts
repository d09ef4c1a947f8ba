/**
 * Key placement: which server of a fleet holds a key. Pure code, no I/O.
 *
 * **Weighted rendezvous hashing** (highest random weight, HRW; Thaler and
 * Ravishankar, "Using Name-Based Mappings to Increase Hit Rates", IEEE/ACM
 * Transactions on Networking 6(1), 1998). Every server draws a pseudo-random
 * number `u` in (0, 1) from the pair (key, server); the key belongs to the
 * server with the highest score `-weight / ln(u)`: the *logarithmic method*
 * of Schindelhauer and Schomaker ("Weighted Distributed Hash Tables", SPAA
 * 2005), also given as "weighted rendezvous hashing" by J. Resch ("New
 * Hashing Algorithms for Data Storage", SNIA SDC 2015). `-ln(u) / weight` is
 * an exponential variable of rate `weight`, and the smallest of independent
 * exponentials is server `i` with probability `weight_i / Σ weight`: shares
 * are exactly proportional to the weights.
 *
 * What follows from the construction (and is tested in
 * `test/fleet/placement.property.test.ts`, measured in `bench/fleet.mjs`):
 * - **determinism**: the server depends only on the key and the set of
 *   (id, weight) pairs, not on their order;
 * - **minimal movement**: adding a server moves only keys that now belong to
 *   it; removing one moves only its own keys; raising a server's weight moves
 *   keys only to it, lowering it only away from it. No key ever moves between
 *   two servers that stayed;
 * - **balance** at the statistical limit (no virtual nodes, no ring).
 *
 * The score of (key, server) is `avalanche(xxh64(key) ^ xxh64(server id))`
 * (the XXH64 final mix): the key is hashed once, each server costs one
 * 64-bit mix. Among servers of equal weight the highest 53-bit score wins
 * without a logarithm; one `Math.log` per distinct weight decides between
 * weight classes. Cost is linear in the number of servers (measured at 10,
 * 100 and 1,000 in `bench/fleet.mjs`).
 *
 * **Hash tags** (the Redis Cluster rule): when a key holds a `{`, and a `}`
 * after it with at least one character between, only the text between the
 * first `{` and the first `}` after it is hashed, so `{user42}:profile` and
 * `{user42}:cart` land on the same server. `{}x` and `x{` are hashed whole.
 * Source: Redis Cluster specification, "Hash tags"
 * (https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/).
 *
 * @module
 */

import { mixDraw53, xxh64Into } from './xxhash64.js';

/** A server as placement sees it: an id (hashed) and a weight. */
export interface PlacementServer {
  /** The server's identity; its placement seed is `xxh64(id)`. Unique within a fleet. */
  readonly id: string;
  /** Its share relative to the others: a finite number > 0. Default 1. */
  readonly weight?: number;
}

/** Options of key hashing. */
export interface PlacementOptions {
  /** Hash only the `{tag}` of keys that have one (see the module notes). Default true. */
  readonly hashTags?: boolean;
}

const TWO_POW_53 = 9007199254740992;

/** Scratch buffer for a key's UTF-8 bytes; grows with the longest key seen, up to 64 Ki code units (longer keys are encoded apart). */
let scratch = new Uint8Array(256);
const SCRATCH_LIMIT = 65536;
const textEncoder = new TextEncoder();
const keyWords = new Int32Array(2);
/** How many replicas {@link Placement.replicasFor} picks in its scratch arrays (MAX_REPLICAS); more go through {@link Placement.rank}. */
const TOP_CAPACITY = 16;
/** Scratch of {@link Placement.replicasFor}: the best servers so far, their scores and draws. */
const topIndex = new Int32Array(TOP_CAPACITY);
const topScore = new Float64Array(TOP_CAPACITY);
const topDraw = new Float64Array(TOP_CAPACITY);
const scoreWords = new Int32Array(2);

/**
 * The part of `key` that is hashed, as `[start, end)` UTF-16 indices: the
 * hash tag's contents when the key has one (and `hashTags` is on), else the
 * whole key. `{` and `}` are ASCII, so these indices also cut the UTF-8
 * bytes where the Redis Cluster rule does.
 */
export function hashedRange(key: string, hashTags = true): readonly [start: number, end: number] {
  if (hashTags) {
    const open = key.indexOf('{');
    if (open !== -1) {
      const close = key.indexOf('}', open + 1);
      if (close > open + 1) return [open + 1, close];
    }
  }
  return [0, key.length];
}

/** The text of `key` that placement hashes (its hash tag, or all of it). */
export function hashTagOf(key: string, hashTags = true): string {
  const [start, end] = hashedRange(key, hashTags);
  return start === 0 && end === key.length ? key : key.slice(start, end);
}

/** XXH64 (seed 0) of the UTF-8 bytes of `text[start, end)`, into `out` (high word, low word). */
function hashText(text: string, start: number, end: number, out: Int32Array): void {
  const units = end - start;
  if (units > SCRATCH_LIMIT) {
    const encoded = textEncoder.encode(text.slice(start, end));
    xxh64Into(encoded, encoded.length, 0, 0, out);
    return;
  }
  // Room for the worst case: 3 UTF-8 bytes per UTF-16 code unit.
  if (units * 3 > scratch.length) scratch = new Uint8Array(Math.max(units * 3, scratch.length * 2));
  const bytes = scratch;
  // An ASCII string is its own UTF-8: copy the code units; anything else goes through TextEncoder.
  let i = 0;
  for (; i < units; i++) {
    const unit = text.charCodeAt(start + i);
    if (unit >= 0x80) break;
    bytes[i] = unit;
  }
  if (i === units) {
    xxh64Into(bytes, units, 0, 0, out);
    return;
  }
  const { written } = textEncoder.encodeInto(start === 0 && end === text.length ? text : text.slice(start, end), bytes);
  xxh64Into(bytes, written, 0, 0, out);
}

/** XXH64 of the hashed part of `key` (its hash tag, or all of it), into `out`; no allocation. */
function hashKeyInto(key: string, hashTags: boolean, out: Int32Array): void {
  if (hashTags) {
    const open = key.indexOf('{');
    if (open !== -1) {
      const close = key.indexOf('}', open + 1);
      if (close > open + 1) {
        hashText(key, open + 1, close, out);
        return;
      }
    }
  }
  hashText(key, 0, key.length, out);
}

/** The 64-bit hash placement uses for `key`, as an unsigned `bigint` (for tools and tests). */
export function keyHash(key: string, options: PlacementOptions = {}): bigint {
  hashKeyInto(key, options.hashTags !== false, keyWords);
  return (BigInt(keyWords[0]! >>> 0) << 32n) | BigInt(keyWords[1]! >>> 0);
}

/**
 * Rendezvous hashing over a fixed list of servers, with their seeds and
 * weight classes computed once. Immutable; build a new one when the
 * membership or a weight changes (O(n), a hash of each id).
 *
 * @typeParam S - the server type; {@link Placement.serverFor} returns the same objects.
 */
export class Placement<S extends PlacementServer = PlacementServer> {
  /** The servers, as given. */
  readonly servers: readonly S[];
  readonly #hashTags: boolean;
  readonly #seedHi: Int32Array;
  readonly #seedLo: Int32Array;
  /** Server indices grouped by weight class: class c holds `#order[#classStart[c] .. #classStart[c + 1])`. */
  readonly #order: Int32Array;
  readonly #classStart: Int32Array;
  readonly #classWeight: Float64Array;

  /**
   * @param servers - distinct ids; weights finite and > 0 (default 1).
   * @throws TypeError when an id is not a string; RangeError for a repeated id or a bad weight.
   */
  constructor(servers: readonly S[], options: PlacementOptions = {}) {
    this.servers = Object.freeze([...servers]);
    this.#hashTags = options.hashTags !== false;
    const count = this.servers.length;
    this.#seedHi = new Int32Array(count);
    this.#seedLo = new Int32Array(count);
    const seen = new Set<string>();
    const byWeight = new Map<number, number[]>();
    this.servers.forEach((server, index) => {
      const { id } = server;
      const weight = server.weight ?? 1;
      if (typeof id !== 'string') throw new TypeError(`server #${index + 1}: id must be a string, got ${typeof id}`);
      if (seen.has(id)) throw new RangeError(`server id ${JSON.stringify(id)} appears twice`);
      seen.add(id);
      assertWeight(weight, `weight of server ${JSON.stringify(id)}`);
      hashText(id, 0, id.length, scoreWords);
      this.#seedHi[index] = scoreWords[0]!;
      this.#seedLo[index] = scoreWords[1]!;
      const members = byWeight.get(weight);
      if (members === undefined) byWeight.set(weight, [index]);
      else members.push(index);
    });
    this.#order = new Int32Array(count);
    this.#classStart = new Int32Array(byWeight.size + 1);
    this.#classWeight = new Float64Array(byWeight.size);
    let at = 0;
    let klass = 0;
    for (const [weight, members] of byWeight) {
      this.#classStart[klass] = at;
      this.#classWeight[klass] = weight;
      for (const index of members) this.#order[at++] = index;
      klass++;
    }
    this.#classStart[klass] = at;
  }

  /** Number of servers. */
  get size(): number {
    return this.servers.length;
  }

  /**
   * The server that holds `key`: the highest weighted rendezvous score.
   * `undefined` when there is no server. O(n) 64-bit mixes plus one
   * logarithm per distinct weight; no allocation for keys up to 64 KiB.
   */
  serverFor(key: string): S | undefined {
    const index = this.indexFor(key);
    return index < 0 ? undefined : this.servers[index];
  }

  /** The index in {@link Placement.servers} of the server that holds `key`; -1 when there is none. */
  indexFor(key: string): number {
    const count = this.servers.length;
    if (count <= 1) return count - 1;
    hashKeyInto(key, this.#hashTags, keyWords);
    return this.#winner(keyWords[0]!, keyWords[1]!);
  }

  /**
   * Every server, best first, for `key`: the first is {@link Placement.serverFor},
   * the second where the key goes when the first is taken out, and so on.
   * O(n log n); meant for failover, tools and tests, not the request path.
   */
  rank(key: string): S[] {
    hashKeyInto(key, this.#hashTags, keyWords);
    const kh = keyWords[0]!;
    const kl = keyWords[1]!;
    const scored = this.servers.map((server, index) => {
      const draw = mixDraw53(kh, kl, this.#seedHi[index]!, this.#seedLo[index]!);
      return { server, index, draw, score: weightedScore(server.weight ?? 1, draw) };
    });
    scored.sort((a, b) => b.score - a.score || b.draw - a.draw || compareIds(a.server.id, b.server.id));
    return scored.map((entry) => entry.server);
  }

  /**
   * The `k` servers that hold `key` when it is stored on `k` (its replicas),
   * best first: the `k` highest weighted rendezvous scores, so the first is
   * {@link Placement.serverFor} and the rest are where {@link Placement.rank}
   * would go next (`rank(key).slice(0, k)`). Fewer when there are fewer
   * servers. O(n·k) mixes, one logarithm per server when weights differ;
   * one small array allocated.
   *
   * @param k - an integer from 1 to {@link MAX_REPLICAS}.
   * @throws TypeError / RangeError for any other `k` (as `placement()` with `replicas`)
   */
  replicasFor(key: string, k: number): S[] {
    // The scratch arrays hold MAX_REPLICAS + 1 entries: a larger or fractional k would give holes or an extra server.
    if (!(Number.isSafeInteger(k) && k >= 1 && k <= MAX_REPLICAS)) assertReplicas(k, 'k');
    const count = this.servers.length;
    if (k <= 1 || count <= 1) {
      const first = this.serverFor(key);
      return first === undefined ? [] : [first];
    }
    const size = Math.min(k, count);
    hashKeyInto(key, this.#hashTags, keyWords);
    const kh = keyWords[0]!;
    const kl = keyWords[1]!;
    const picked = topIndex;
    const scores = topScore;
    const draws = topDraw;
    let filled = 0;
    const weighted = this.#classWeight.length > 1;
    for (let index = 0; index < count; index++) {
      const draw = mixDraw53(kh, kl, this.#seedHi[index]!, this.#seedLo[index]!);
      const score = weighted ? weightedScore(this.servers[index]!.weight ?? 1, draw) : draw;
      // Insertion into the best `size` so far, best first (ties as rank(): the higher draw, then the smaller id).
      let at = filled;
      while (at > 0 && this.#better(score, draw, index, scores[at - 1]!, draws[at - 1]!, picked[at - 1]!)) at--;
      if (at >= size) continue;
      for (let move = Math.min(filled, size - 1); move > at; move--) {
        picked[move] = picked[move - 1]!;
        scores[move] = scores[move - 1]!;
        draws[move] = draws[move - 1]!;
      }
      picked[at] = index;
      scores[at] = score;
      draws[at] = draw;
      if (filled < size) filled++;
    }
    const result = new Array<S>(filled);
    for (let at = 0; at < filled; at++) result[at] = this.servers[picked[at]!]!;
    return result;
  }

  /** Whether `server` (by id) is among the `k` replicas of `key` here. @throws as {@link Placement.replicasFor} for a bad `k` */
  holds(key: string, k: number, id: string): boolean {
    return this.replicasFor(key, k).some((server) => server.id === id);
  }

  #better(score: number, draw: number, index: number, otherScore: number, otherDraw: number, other: number): boolean {
    if (score !== otherScore) return score > otherScore;
    if (draw !== otherDraw) return draw > otherDraw;
    return compareIds(this.servers[index]!.id, this.servers[other]!.id) < 0;
  }

  /** The winning index for the key hash (kh:kl). */
  #winner(kh: number, kl: number): number {
    const order = this.#order;
    const classStart = this.#classStart;
    const seedHi = this.#seedHi;
    const seedLo = this.#seedLo;
    const classes = this.#classWeight.length;
    let best = -1;
    let bestScore = -1;
    let bestDraw = -1;
    for (let klass = 0; klass < classes; klass++) {
      // Within a weight class the score grows with the draw: keep the highest draw, no logarithm.
      let classBest = -1;
      let classDraw = -1;
      for (let at = classStart[klass]!, end = classStart[klass + 1]!; at < end; at++) {
        const index = order[at]!;
        // The top 53 bits of the mix: an integer in [0, 2^53), exact in a double.
        const draw = mixDraw53(kh, kl, seedHi[index]!, seedLo[index]!);
        if (draw > classDraw || (draw === classDraw && compareIds(this.servers[index]!.id, this.servers[classBest]!.id) < 0)) {
          classDraw = draw;
          classBest = index;
        }
      }
      if (classes === 1) return classBest;
      const score = weightedScore(this.#classWeight[klass]!, classDraw);
      if (
        score > bestScore ||
        (score === bestScore && (classDraw > bestDraw || (classDraw === bestDraw && compareIds(this.servers[classBest]!.id, this.servers[best]!.id) < 0)))
      ) {
        bestScore = score;
        bestDraw = classDraw;
        best = classBest;
      }
    }
    return best;
  }
}

/** `-weight / ln(u)` with `u = (draw + 1/2) / 2^53`, strictly inside (0, 1): finite and > 0. */
function weightedScore(weight: number, draw: number): number {
  return -weight / Math.log((draw + 0.5) / TWO_POW_53);
}

/** Ties (equal 53-bit draws, about one key in 2^53 / n²) go to the smaller id, so that order never matters. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Throws unless `weight` is a finite number > 0.
 * @throws TypeError when it is not a number; RangeError when it is not finite and positive.
 */
export function assertWeight(weight: unknown, name = 'weight'): asserts weight is number {
  if (typeof weight !== 'number') throw new TypeError(`${name} must be a number, got ${typeof weight}`);
  if (!(weight > 0) || !Number.isFinite(weight)) throw new RangeError(`${name} must be a finite number > 0, got ${weight}`);
}

/**
 * The server that holds `key` among `servers` (weighted rendezvous hashing
 * with hash tags, see the module notes), or `undefined` for an empty list.
 * Pure: the same key and the same set of (id, weight) pairs give the same
 * server, in any order. O(n) with a hash of every id: to place many keys on
 * the same servers, build a {@link Placement} once.
 *
 * @example
 * ```ts
 * const servers = [{ id: '10.0.0.1:7556' }, { id: '10.0.0.2:7556', weight: 2 }];
 * placement('{user42}:cart', servers) === placement('{user42}:profile', servers); // true
 * ```
 * @throws TypeError / RangeError as the {@link Placement} constructor.
 */
export function placement<S extends PlacementServer>(key: string, servers: readonly S[], options?: PlacementOptions & { readonly replicas?: undefined }): S | undefined;
/**
 * With `replicas: k`: the `k` servers that hold `key` (its replicas), best
 * first, as `ZCachedFleet` with `replicas: k` places it (see
 * {@link Placement.replicasFor}); fewer when `servers` has fewer.
 * @throws RangeError when `replicas` is not a positive integer
 */
export function placement<S extends PlacementServer>(key: string, servers: readonly S[], options: PlacementOptions & { readonly replicas: number }): S[];
export function placement<S extends PlacementServer>(key: string, servers: readonly S[], options: PlacementOptions & { readonly replicas?: number | undefined } = {}): S | undefined | S[] {
  const { replicas } = options;
  if (replicas === undefined) return new Placement(servers, options).serverFor(key);
  assertReplicas(replicas);
  return new Placement(servers, options).replicasFor(key, replicas);
}

/** The most copies of a key a fleet keeps (`replicas`). */
export const MAX_REPLICAS = 16;

/**
 * Throws unless `replicas` is an integer from 1 to {@link MAX_REPLICAS}.
 * @throws TypeError when it is not a number; RangeError otherwise.
 */
export function assertReplicas(replicas: unknown, name = 'replicas'): asserts replicas is number {
  if (typeof replicas !== 'number') throw new TypeError(`${name} must be a number, got ${typeof replicas}`);
  if (!Number.isSafeInteger(replicas) || replicas < 1 || replicas > MAX_REPLICAS) {
    throw new RangeError(`${name} must be an integer from 1 to ${MAX_REPLICAS}, got ${replicas}`);
  }
}

/** Every server of `servers`, best first, for `key` (see {@link Placement.rank}). */
export function rankServers<S extends PlacementServer>(key: string, servers: readonly S[], options: PlacementOptions = {}): S[] {
  return new Placement(servers, options).rank(key);
}
