/**
 * XXH64, the 64-bit member of Yann Collet's xxHash family, written for
 * JavaScript numbers: every 64-bit value is a pair of 32-bit halves (`hi`,
 * `lo`), multiplied with `Math.imul` on 16-bit halves for the high word of a
 * 32 × 32-bit product. Integer operations only, no BigInt and no allocation
 * on the hot path: a key of 20 ASCII bytes hashes in tens of nanoseconds.
 *
 * Specification: "xxHash fast digest algorithm", XXH64 section
 * (https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md). Checked
 * against the reference implementation's published sanity vectors
 * (`cli/xsum_sanity_check.c`, `XSUM_XXH64_testdata`) and against a BigInt
 * transcription of the specification, in `test/fleet/xxhash64.test.ts`.
 *
 * Why XXH64: a fast, well-specified, non-cryptographic 64-bit hash with
 * independent implementations in every language, so a key's placement can
 * be recomputed outside this library (a proxy, a script, another client).
 *
 * @module
 */

// The five primes of XXH64, as (high, low) 32-bit halves.
const P1_HI = 0x9e3779b1 | 0;
const P1_LO = 0x85ebca87 | 0;
const P2_HI = 0xc2b2ae3d | 0;
const P2_LO = 0x27d4eb4f | 0;
const P3_HI = 0x165667b1 | 0;
const P3_LO = 0x9e3779f9 | 0;
const P4_HI = 0x85ebca77 | 0;
const P4_LO = 0xc2b2ae63 | 0;
const P5_HI = 0x27d4eb2f | 0;
const P5_LO = 0x165667c5 | 0;

/**
 * `W[0]`: the high word of the last {@link mul}, {@link add}, {@link rotl}
 * or {@link avalanche} (their return value is the low word). Words are kept
 * as signed 32-bit integers (`| 0`), which V8 holds unboxed; unsigned words
 * past 2^31, or a module variable written on every step, would be boxed
 * into heap numbers and made the hash several times slower.
 */
const W = new Int32Array(1);

/** (ah:al) × (bh:bl) mod 2^64; returns the low word, leaves the high word in `W[0]`. */
function mul(ah: number, al: number, bh: number, bl: number): number {
  // High 32 bits of the unsigned 32 x 32 product al x bl, from the 16-bit halves: three partial
  // products below 2^32 and their carries, in integer operations only (no float rounding).
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const p00 = Math.imul(a0, b0) >>> 0;
  const p10 = Math.imul(a1, b0) >>> 0;
  const p01 = Math.imul(a0, b1) >>> 0;
  const middle = (p00 >>> 16) + (p10 & 0xffff) + (p01 & 0xffff);
  W[0] = (Math.imul(a1, b1) + (p10 >>> 16) + (p01 >>> 16) + (middle >>> 16) + Math.imul(ah, bl) + Math.imul(al, bh)) | 0;
  return Math.imul(al, bl);
}

/** (ah:al) + (bh:bl) mod 2^64; returns the low word, leaves the high word in `W[0]`. */
function add(ah: number, al: number, bh: number, bl: number): number {
  const lo = (al >>> 0) + (bl >>> 0);
  W[0] = (ah + bh + (lo > 0xffffffff ? 1 : 0)) | 0;
  return lo | 0;
}

/** (hi:lo) rotated left by `r` bits, 0 < r < 32; returns the low word, leaves the high word in `W[0]`. */
function rotl(hi: number, lo: number, r: number): number {
  W[0] = (hi << r) | (lo >>> (32 - r));
  return (lo << r) | (hi >>> (32 - r));
}

/** Little-endian 32-bit word at `i` (as a signed integer, like every word here). */
function read32(bytes: Uint8Array, i: number): number {
  return bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
}


/** round(acc, input) = rotl(acc + input × P2, 31) × P1; returns the low word, leaves the high word in `W[0]`. */
function round(acch: number, accl: number, inh: number, inl: number): number {
  let l = mul(inh, inl, P2_HI, P2_LO);
  let h = W[0]!;
  l = add(acch, accl, h, l);
  h = W[0]!;
  l = rotl(h, l, 31);
  h = W[0]!;
  return mul(h, l, P1_HI, P1_LO);
}

/** mergeRound(acc, v) = (acc ^ round(0, v)) × P1 + P4; returns the low word, leaves the high word in `W[0]`. */
function mergeRound(acch: number, accl: number, vh: number, vl: number): number {
  const rl = round(0, 0, vh, vl);
  const rh = W[0]!;
  const l = mul(acch ^ rh, accl ^ rl, P1_HI, P1_LO);
  return add(W[0]!, l, P4_HI, P4_LO);
}

/**
 * The XXH64 avalanche (final mix) of (hi:lo): `h ^= h >> 33; h *= P2;
 * h ^= h >> 29; h *= P3; h ^= h >> 32`. Returns the low word, leaves the high
 * word in `W[0]`. A bijection of 64-bit values in which every input bit flips
 * every output bit with probability close to 1/2.
 */
function avalanche(hi: number, lo: number): number {
  lo ^= hi >>> 1; // h ^= h >> 33
  lo = mul(hi, lo, P2_HI, P2_LO);
  hi = W[0]!;
  lo ^= (lo >>> 29) | (hi << 3); // h ^= h >> 29
  hi ^= hi >>> 29;
  lo = mul(hi, lo, P3_HI, P3_LO);
  hi = W[0]!;
  W[0] = hi; // h ^= h >> 32 leaves the high word as it is
  return lo ^ hi;
}

/**
 * The 32-byte stripe loop of XXH64 over `bytes[0 .. 32 * floor(length / 32))`
 * and the merge of its four accumulators (inputs of 32 bytes or more only).
 * Returns the low word of the merged hash, leaves the high word in `W[0]`.
 * Kept apart so that the short-input path, the one keys take, stays small
 * enough for V8 to inline every step into it.
 */
function stripes(bytes: Uint8Array, length: number, seedHi: number, seedLo: number): number {
  let i = 0;
  let hh: number;
  let hl: number;
  // The four accumulators of the 32-byte stripe loop.
  let v1h: number, v1l: number, v2h: number, v2l: number, v3h: number, v3l: number, v4h: number, v4l: number;
  // v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1 (mod 2^64).
  v1l = add(seedHi, seedLo, P1_HI, P1_LO);
  v1h = W[0]!;
  v1l = add(v1h, v1l, P2_HI, P2_LO);
  v1h = W[0]!;
  v2l = add(seedHi, seedLo, P2_HI, P2_LO);
  v2h = W[0]!;
  v3h = seedHi;
  v3l = seedLo;
  // -P1 mod 2^64 is the two's complement of P1.
  v4l = add(seedHi, seedLo, ~P1_HI, -P1_LO | 0);
  v4h = W[0]!;
  const limit = length - 32;
  do {
    v1l = round(v1h, v1l, read32(bytes, i + 4), read32(bytes, i));
    v1h = W[0]!;
    v2l = round(v2h, v2l, read32(bytes, i + 12), read32(bytes, i + 8));
    v2h = W[0]!;
    v3l = round(v3h, v3l, read32(bytes, i + 20), read32(bytes, i + 16));
    v3h = W[0]!;
    v4l = round(v4h, v4l, read32(bytes, i + 28), read32(bytes, i + 24));
    v4h = W[0]!;
    i += 32;
  } while (i <= limit);
  hl = rotl(v1h, v1l, 1);
  hh = W[0]!;
  let rl = rotl(v2h, v2l, 7);
  hl = add(hh, hl, W[0]!, rl);
  hh = W[0]!;
  rl = rotl(v3h, v3l, 12);
  hl = add(hh, hl, W[0]!, rl);
  hh = W[0]!;
  rl = rotl(v4h, v4l, 18);
  hl = add(hh, hl, W[0]!, rl);
  hh = W[0]!;
  hl = mergeRound(hh, hl, v1h, v1l);
  hh = W[0]!;
  hl = mergeRound(hh, hl, v2h, v2l);
  hh = W[0]!;
  hl = mergeRound(hh, hl, v3h, v3l);
  hh = W[0]!;
  return mergeRound(hh, hl, v4h, v4l);
}

/**
 * XXH64 of `bytes[0 .. length)` with the seed (seedHi:seedLo). Writes the
 * hash to `out[0]` (high word) and `out[1]` (low word).
 *
 * @param bytes - the input; only the first `length` bytes are read.
 * @param length - a byte count, `0 <= length <= bytes.length`.
 * @param seedHi - high 32 bits of the seed (signed or unsigned: only the bits count).
 * @param seedLo - low 32 bits of the seed.
 * @param out - receives the hash as two 32-bit words (use an `Int32Array` on hot paths).
 */
export function xxh64Into(bytes: Uint8Array, length: number, seedHi: number, seedLo: number, out: Int32Array | Uint32Array): void {
  let i = 0;
  let hh: number;
  let hl: number;
  if (length >= 32) {
    hl = stripes(bytes, length, seedHi, seedLo);
    hh = W[0]!;
    i = length - (length % 32);
  } else {
    hl = add(seedHi, seedLo, P5_HI, P5_LO);
    hh = W[0]!;
  }
  // h += length (a byte count below 2^53: split it into its two words).
  hl = add(hh, hl, Math.floor(length / 0x100000000) | 0, length | 0);
  hh = W[0]!;
  while (i + 8 <= length) {
    const kl = round(0, 0, read32(bytes, i + 4), read32(bytes, i));
    const kh = W[0]!;
    hl = rotl(hh ^ kh, hl ^ kl, 27);
    hh = W[0]!;
    hl = mul(hh, hl, P1_HI, P1_LO);
    hl = add(W[0]!, hl, P4_HI, P4_LO);
    hh = W[0]!;
    i += 8;
  }
  if (i + 4 <= length) {
    const kl = mul(0, read32(bytes, i), P1_HI, P1_LO);
    hl = rotl(hh ^ W[0]!, hl ^ kl, 23);
    hh = W[0]!;
    hl = mul(hh, hl, P2_HI, P2_LO);
    hl = add(W[0]!, hl, P3_HI, P3_LO);
    hh = W[0]!;
    i += 4;
  }
  while (i < length) {
    const kl = mul(0, bytes[i]!, P5_HI, P5_LO);
    hl = rotl(hh ^ W[0]!, hl ^ kl, 11);
    hh = W[0]!;
    hl = mul(hh, hl, P1_HI, P1_LO);
    hh = W[0]!;
    i += 1;
  }
  hl = avalanche(hh, hl);
  out[0] = W[0]!;
  out[1] = hl;
}

/**
 * The top 53 bits of `avalanche(hash ^ seed)` (the XXH64 final mix of the
 * key's hash and the server's seed), as an integer in [0, 2^53), exact in a
 * double: the rendezvous draw of a (key, server) pair. The key is hashed
 * once; each server costs one mix, and nothing is written to memory.
 */
export function mixDraw53(hashHi: number, hashLo: number, seedHi: number, seedLo: number): number {
  const lo = avalanche(hashHi ^ seedHi, hashLo ^ seedLo);
  return (W[0]! >>> 0) * 2097152 + (lo >>> 11);
}

const words = new Uint32Array(2);
const encoder = new TextEncoder();

/**
 * XXH64 of a string's UTF-8 bytes, or of bytes, as an unsigned 64-bit
 * `bigint`. The convenient (allocating) form, for tests and tools; the
 * placement code uses {@link xxh64Into}.
 *
 * @param input - a string (hashed as UTF-8; lone surrogates become U+FFFD, as `TextEncoder` does) or bytes.
 * @param seed - an unsigned 64-bit seed. Default 0.
 * @throws RangeError when `seed` is negative or not below 2^64.
 */
export function xxhash64(input: string | Uint8Array, seed: bigint = 0n): bigint {
  if (seed < 0n || seed >= 1n << 64n) throw new RangeError(`seed must be an unsigned 64-bit integer, got ${seed}`);
  const bytes = typeof input === 'string' ? encoder.encode(input) : input;
  xxh64Into(bytes, bytes.length, Number(seed >> 32n), Number(seed & 0xffffffffn), words);
  return (BigInt(words[0]!) << 32n) | BigInt(words[1]!);
}
