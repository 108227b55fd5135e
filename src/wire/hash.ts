/**
 * A 64-bit hash of bytes as two independent 32-bit halves, for identities that are checked
 * often and never stored as text: the series index's key of a series' label bytes, and ingest's
 * fingerprint of a request body (duplicate requests). Not cryptographic; about 0.3 ns per byte.
 */

/** Where a hash is written: two uint32 halves (reused by the caller, never allocated per hash). */
export interface Hash64 {
  h1: number;
  h2: number;
}

/**
 * murmur3-style mixing of 32-bit words into two independent 32-bit hashes. Each hash runs
 * as two accumulators (even and odd words) joined at the end: the multiply chains of one
 * accumulator are latency-bound; with two, hash and lookup of a series of node_exporter
 * labels went from 54 to 39 ns.
 */
export function hashBytes(b: Uint8Array, dv: DataView, start: number, end: number, seed: number, key: Hash64): void {
  let a1 = (0x811c9dc5 ^ seed) | 0;
  let b1 = (0x2c1b3c6d + seed) | 0;
  let a2 = (0x9e3779b9 + seed) | 0;
  let b2 = (0x7f4a7c15 ^ seed) | 0;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const w = dv.getInt32(i, true);
    const x = dv.getInt32(i + 4, true);
    let k = Math.imul(w, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    a1 ^= Math.imul(k, 0x1b873593);
    a1 = (a1 << 13) | (a1 >>> 19);
    a1 = (Math.imul(a1, 5) + 0xe6546b64) | 0;
    let j = Math.imul(x, 0xcc9e2d51);
    j = (j << 15) | (j >>> 17);
    b1 ^= Math.imul(j, 0x1b873593);
    b1 = (b1 << 13) | (b1 >>> 19);
    b1 = (Math.imul(b1, 5) + 0xe6546b64) | 0;
    // Second hash: multiply-rotate (independent multiplier and rotation), mixed again in finish().
    a2 = Math.imul(a2 ^ w, 0x5bd1e995);
    a2 = (a2 << 11) | (a2 >>> 21);
    b2 = Math.imul(b2 ^ x, 0x5bd1e995);
    b2 = (b2 << 11) | (b2 >>> 21);
  }
  let h1 = a1 ^ Math.imul((b1 << 16) | (b1 >>> 16), 0x85ebca6b);
  let h2 = a2 ^ Math.imul((b2 << 16) | (b2 >>> 16), 0xc2b2ae35);
  for (; i < end; i++) {
    h1 = Math.imul(h1 ^ b[i], 0x01000193);
    h2 = Math.imul(h2 + b[i], 0x5bd1e995);
  }
  finishHash(h1 ^ (end - start), h2 + (end - start), key);
}

/** Finalise (murmur3 fmix32) so that nearby keys spread over the table. */
export function finishHash(h1: number, h2: number, key: Hash64): void {
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  h1 = Math.imul(h1, 0xc2b2ae35);
  h1 ^= h1 >>> 16;
  h2 ^= h2 >>> 16;
  h2 = Math.imul(h2, 0x85ebca6b);
  h2 ^= h2 >>> 13;
  h2 = Math.imul(h2, 0xc2b2ae35);
  h2 ^= h2 >>> 16;
  key.h1 = h1 >>> 0;
  key.h2 = h2 >>> 0;
}
