/**
 * XXH64 against the reference implementation's published sanity vectors
 * (xxHash `cli/xsum_sanity_check.c`, `XSUM_XXH64_testdata`: a buffer filled
 * from PRIME32 by repeated multiplication with PRIME64, lengths 0, 1, 4, 14
 * and 222, seeds 0 and PRIME32), a few well-known strings, and a BigInt
 * transcription of the specification on random inputs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { xxhash64 } from '../../src/fleet/xxhash64.js';

const MASK = (1n << 64n) - 1n;
const PRIME32 = 2654435761n;
const PRIME64 = 11400714785074694797n;

/** The sanity buffer of the reference test: byte i is the top byte of PRIME32 × PRIME64^i (mod 2^64). */
function sanityBuffer(length: number): Uint8Array {
  const buffer = new Uint8Array(length);
  let generator = PRIME32;
  for (let i = 0; i < length; i++) {
    buffer[i] = Number(generator >> 56n);
    generator = (generator * PRIME64) & MASK;
  }
  return buffer;
}

// The XXH64 specification, written with BigInt: slow and obviously right.
const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;
const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & MASK;
const readLE = (bytes: Uint8Array, at: number, count: number): bigint => {
  let value = 0n;
  for (let k = count - 1; k >= 0; k--) value = (value << 8n) | BigInt(bytes[at + k]!);
  return value;
};
const round = (acc: bigint, input: bigint): bigint => (rotl((acc + input * P2) & MASK, 31n) * P1) & MASK;
const mergeRound = (acc: bigint, value: bigint): bigint => (((acc ^ round(0n, value)) * P1) + P4) & MASK;

function specification(bytes: Uint8Array, seed: bigint): bigint {
  const length = bytes.length;
  let i = 0;
  let h: bigint;
  if (length >= 32) {
    let v1 = (seed + P1 + P2) & MASK;
    let v2 = (seed + P2) & MASK;
    let v3 = seed;
    let v4 = (seed - P1) & MASK;
    for (; i + 32 <= length; i += 32) {
      v1 = round(v1, readLE(bytes, i, 8));
      v2 = round(v2, readLE(bytes, i + 8, 8));
      v3 = round(v3, readLE(bytes, i + 16, 8));
      v4 = round(v4, readLE(bytes, i + 24, 8));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & MASK;
    for (const v of [v1, v2, v3, v4]) h = mergeRound(h, v);
  } else {
    h = (seed + P5) & MASK;
  }
  h = (h + BigInt(length)) & MASK;
  for (; i + 8 <= length; i += 8) h = (rotl(h ^ round(0n, readLE(bytes, i, 8)), 27n) * P1 + P4) & MASK;
  if (i + 4 <= length) {
    h = (rotl(h ^ ((readLE(bytes, i, 4) * P1) & MASK), 23n) * P2 + P3) & MASK;
    i += 4;
  }
  for (; i < length; i++) h = (rotl(h ^ ((BigInt(bytes[i]!) * P5) & MASK), 11n) * P1) & MASK;
  h ^= h >> 33n;
  h = (h * P2) & MASK;
  h ^= h >> 29n;
  h = (h * P3) & MASK;
  return h ^ (h >> 32n);
}

describe('xxhash64', () => {
  it.each([
    [0, 0n, 0xef46db3751d8e999n],
    [0, PRIME32, 0xac75fda2929b17efn],
    [1, 0n, 0xe934a84adb052768n],
    [1, PRIME32, 0x5014607643a9b4c3n],
    [4, 0n, 0x9136a0dca57457een],
    [14, 0n, 0x8282dcc4994e35c8n],
    [14, PRIME32, 0xc3bd6bf63deb6df0n],
    [222, 0n, 0xb641ae8cb691c174n],
    [222, PRIME32, 0x20cb8ab7ae10c14an],
  ])('matches the reference sanity vector: %i bytes, seed %s', (length, seed, expected) => {
    expect(xxhash64(sanityBuffer(length), seed)).toBe(expected);
  });

  it('hashes strings as their UTF-8 bytes', () => {
    expect(xxhash64('')).toBe(0xef46db3751d8e999n);
    expect(xxhash64('a')).toBe(0xd24ec4f1a98c6e5bn);
    expect(xxhash64('abc')).toBe(0x44bc2cf5ad770999n);
    expect(xxhash64('héllo €')).toBe(xxhash64(new TextEncoder().encode('héllo €')));
  });

  it('agrees with the specification (BigInt) on any bytes and seed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 140 }), fc.bigInt({ min: 0n, max: MASK }), (bytes, seed) => {
        expect(xxhash64(bytes, seed)).toBe(specification(bytes, seed));
      }),
      { numRuns: 400 },
    );
  });

  it('refuses a seed outside 64 bits', () => {
    expect(() => xxhash64('a', -1n)).toThrow(RangeError);
    expect(() => xxhash64('a', 1n << 64n)).toThrow(RangeError);
  });
});
