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
 * Two independent 32-bit hashes of 32-bit words, each as two accumulators (even and odd words)
 * joined at the end, then murmur3's finaliser on each. Per word one multiply in each hash: the
 * first multiplies the word xored in and folds the high bits down (xor-shift), the second
 * rotates, adds the word and multiplies (different multipliers, combining operations and
 * rotations, so the halves do not collide together). murmur3's full round per word (3
 * multiplies, the previous form) cost as much again as the DataView loads themselves: over
 * the label entries of a series, 44 -> 38 ns (prometheus shape, 104 bytes) and 62 -> 52 ns
 * (vmagent, 160 bytes). The last 1-7 bytes are read as the block's last 8 bytes (overlapping
 * bytes already hashed, with other multipliers), not byte by byte; blocks under 8 bytes go byte
 * by byte. The length is mixed in, so blocks of different lengths never share that read.
 * Checked for collisions: none of 64 bits over 2.5M node_exporter label sets of each bench/load
 * shape, each 32-bit half near the birthday expectation (bench/RESULTS.md, branch dec3); the
 * same property on 300k similar label sets is test/unit/series.test.ts.
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
    a1 = Math.imul(a1 ^ w, 0xcc9e2d51);
    a1 ^= a1 >>> 15;
    b1 = Math.imul(b1 ^ x, 0xcc9e2d51);
    b1 ^= b1 >>> 15;
    a2 = Math.imul(((a2 << 13) | (a2 >>> 19)) + w, 0x5bd1e995);
    b2 = Math.imul(((b2 << 13) | (b2 >>> 19)) + x, 0x5bd1e995);
  }
  const n = end - start;
  if (i < end) {
    if (n >= 8) {
      const w = dv.getInt32(end - 8, true);
      const x = dv.getInt32(end - 4, true);
      a1 = Math.imul(a1 ^ w, 0x85ebca6b);
      a1 ^= a1 >>> 13;
      b1 = Math.imul(b1 ^ x, 0x85ebca6b);
      b1 ^= b1 >>> 13;
      a2 = Math.imul(((a2 << 11) | (a2 >>> 21)) + w, 0xc2b2ae35);
      b2 = Math.imul(((b2 << 11) | (b2 >>> 21)) + x, 0xc2b2ae35);
    } else {
      for (; i < end; i++) {
        a1 = Math.imul(a1 ^ b[i], 0x01000193);
        a2 = Math.imul(a2 + b[i], 0x5bd1e995);
      }
    }
  }
  finishHash(a1 ^ ((b1 << 16) | (b1 >>> 16)) ^ n, a2 + ((b2 << 16) | (b2 >>> 16)) + n, key);
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
