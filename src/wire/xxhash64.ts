/**
 * XXH64 (Yann Collet's xxHash, 64-bit), as github.com/cespare/xxhash/v2 computes it: the hash
 * VictoriaMetrics uses for relabeling's `hashmod` and vmagent's `-remoteWrite.shardByURL`.
 *
 * No BigInt and no allocation: every 64-bit value is a pair of uint32 halves (hi, lo) in numbers.
 * The arithmetic helpers below leave their result in the module registers `rh`, `rl`.
 *
 *   primes P1..P5; acc lanes v1..v4 = seed+P1+P2, seed+P2, seed, seed-P1
 *   round(acc, x) = rotl(acc + x*P2, 31) * P1           (per 8-byte lane of a 32-byte stripe)
 *   h = len >= 32 ? rotl(v1,1)+rotl(v2,7)+rotl(v3,12)+rotl(v4,18), then 4 merges
 *                   h = (h ^ round(0, vi)) * P1 + P4
 *                 : seed + P5
 *   h += len; then per 8 bytes: h = rotl(h ^ round(0, x), 27) * P1 + P4
 *              per 4 bytes: h = rotl(h ^ x*P1, 23) * P2 + P3
 *              per byte:    h = rotl(h ^ b*P5, 11) * P1
 *   avalanche: h ^= h>>>33; h *= P2; h ^= h>>>29; h *= P3; h ^= h>>>32
 * (all mod 2^64; little-endian lanes). Checked against cespare/xxhash's own test vectors and a
 * BigInt transcription of the above in test/unit/shard-xxhash64.test.ts.
 */

/** A 64-bit unsigned value as two uint32 halves; reuse one instead of allocating per hash. */
export class U64 {
  hi = 0;
  lo = 0;

  /** This value mod m, exactly, for an integer 1 <= m <= 2^32 (16 bits at a time: r * 2^16 < 2^53). */
  mod(m: number): number {
    let r = (this.hi >>> 16) % m;
    r = (r * 65536 + (this.hi & 0xffff)) % m;
    r = (r * 65536 + (this.lo >>> 16)) % m;
    return (r * 65536 + (this.lo & 0xffff)) % m;
  }

  /** 16 lower-case hex digits (for tests and logs, allocates). */
  toHex(): string {
    return this.hi.toString(16).padStart(8, '0') + this.lo.toString(16).padStart(8, '0');
  }
}

// Primes as (hi, lo).
const P1H = 0x9e3779b1, P1L = 0x85ebca87; // prettier-ignore
const P2H = 0xc2b2ae3d, P2L = 0x27d4eb4f; // prettier-ignore
const P3H = 0x165667b1, P3L = 0x9e3779f9; // prettier-ignore
const P4H = 0x85ebca77, P4L = 0xc2b2ae63; // prettier-ignore
const P5H = 0x27d4eb2f, P5L = 0x165667c5; // prettier-ignore

/** Result registers of the helpers below. */
let rh = 0;
let rl = 0;

/** High 32 bits of the 64-bit product of two uint32s. */
function mulHi32(a: number, b: number): number {
  const a1 = a >>> 16, a0 = a & 0xffff, b1 = b >>> 16, b0 = b & 0xffff; // prettier-ignore
  const mid = a1 * b0 + a0 * b1 + ((a0 * b0) >>> 16); // < 2^34: exact in a double
  return (a1 * b1 + Math.floor(mid / 65536)) >>> 0;
}

/** (ah, al) * (bh, bl) mod 2^64. */
function mul(ah: number, al: number, bh: number, bl: number): void {
  const hi = mulHi32(al, bl) + Math.imul(ah, bl) + Math.imul(al, bh);
  rl = Math.imul(al, bl) >>> 0;
  rh = hi >>> 0;
}

/** (ah, al) + (bh, bl) mod 2^64. */
function add(ah: number, al: number, bh: number, bl: number): void {
  const lo = (al >>> 0) + (bl >>> 0);
  rl = lo >>> 0;
  rh = (ah + bh + (lo > 0xffffffff ? 1 : 0)) >>> 0;
}

/** Rotate (h, l) left by 0 < r < 32 bits. */
function rotl(h: number, l: number, r: number): void {
  rh = ((h << r) | (l >>> (32 - r))) >>> 0;
  rl = ((l << r) | (h >>> (32 - r))) >>> 0;
}

/** round(acc, x) = rotl(acc + x * P2, 31) * P1. */
function round(acch: number, accl: number, xh: number, xl: number): void {
  mul(xh, xl, P2H, P2L);
  add(acch, accl, rh, rl);
  rotl(rh, rl, 31);
  mul(rh, rl, P1H, P1L);
}

function u32(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

/** XXH64 of bytes[start, end) with seed (seedHi, seedLo); the result goes to `out`, which is returned. */
export function xxh64(bytes: Uint8Array, start: number, end: number, out: U64, seedHi = 0, seedLo = 0): U64 {
  const len = end - start;
  let p = start;
  let hh: number, hl: number; // prettier-ignore
  if (len >= 32) {
    add(seedHi, seedLo, P1H, P1L);
    add(rh, rl, P2H, P2L);
    let v1h = rh, v1l = rl; // prettier-ignore
    add(seedHi, seedLo, P2H, P2L);
    let v2h = rh, v2l = rl; // prettier-ignore
    let v3h = seedHi >>> 0, v3l = seedLo >>> 0; // prettier-ignore
    add(seedHi, seedLo, ~P1H >>> 0, ~P1L >>> 0); // seed - P1 = seed + ~P1 + 1
    add(rh, rl, 0, 1);
    let v4h = rh, v4l = rl; // prettier-ignore
    for (; p + 32 <= end; p += 32) {
      round(v1h, v1l, u32(bytes, p + 4), u32(bytes, p));
      v1h = rh;
      v1l = rl;
      round(v2h, v2l, u32(bytes, p + 12), u32(bytes, p + 8));
      v2h = rh;
      v2l = rl;
      round(v3h, v3l, u32(bytes, p + 20), u32(bytes, p + 16));
      v3h = rh;
      v3l = rl;
      round(v4h, v4l, u32(bytes, p + 28), u32(bytes, p + 24));
      v4h = rh;
      v4l = rl;
    }
    rotl(v1h, v1l, 1);
    hh = rh;
    hl = rl;
    rotl(v2h, v2l, 7);
    add(hh, hl, rh, rl);
    hh = rh;
    hl = rl;
    rotl(v3h, v3l, 12);
    add(hh, hl, rh, rl);
    hh = rh;
    hl = rl;
    rotl(v4h, v4l, 18);
    add(hh, hl, rh, rl);
    hh = rh;
    hl = rl;
    for (let k = 0; k < 4; k++) {
      const vh = k === 0 ? v1h : k === 1 ? v2h : k === 2 ? v3h : v4h;
      const vl = k === 0 ? v1l : k === 1 ? v2l : k === 2 ? v3l : v4l;
      round(0, 0, vh, vl);
      mul((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, P1H, P1L);
      add(rh, rl, P4H, P4L);
      hh = rh;
      hl = rl;
    }
  } else {
    add(seedHi, seedLo, P5H, P5L);
    hh = rh;
    hl = rl;
  }
  add(hh, hl, Math.floor(len / 4294967296), len >>> 0);
  hh = rh;
  hl = rl;
  for (; p + 8 <= end; p += 8) {
    round(0, 0, u32(bytes, p + 4), u32(bytes, p));
    rotl((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, 27);
    mul(rh, rl, P1H, P1L);
    add(rh, rl, P4H, P4L);
    hh = rh;
    hl = rl;
  }
  if (p + 4 <= end) {
    mul(0, u32(bytes, p), P1H, P1L);
    rotl((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, 23);
    mul(rh, rl, P2H, P2L);
    add(rh, rl, P3H, P3L);
    hh = rh;
    hl = rl;
    p += 4;
  }
  for (; p < end; p++) {
    mul(0, bytes[p], P5H, P5L);
    rotl((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, 11);
    mul(rh, rl, P1H, P1L);
    hh = rh;
    hl = rl;
  }
  // Avalanche.
  hl = (hl ^ (hh >>> 1)) >>> 0; // h ^= h >>> 33
  mul(hh, hl, P2H, P2L);
  hh = rh;
  hl = rl;
  hl = (hl ^ ((hl >>> 29) | (hh << 3))) >>> 0; // h ^= h >>> 29
  hh = (hh ^ (hh >>> 29)) >>> 0;
  mul(hh, hl, P3H, P3L);
  hh = rh;
  hl = rl;
  hl = (hl ^ hh) >>> 0; // h ^= h >>> 32
  out.hi = hh;
  out.lo = hl;
  return out;
}

/**
 * fastHashUint64 of VictoriaMetrics lib/consistenthash (v1.116.0+): x ^= x>>>12; x ^= x<<25;
 * x ^= x>>>27; x *= 2685821657736338717; of (xh, xl), into `out`.
 */
export function fastHashUint64(xh: number, xl: number, out: U64): U64 {
  xl = (xl ^ ((xl >>> 12) | (xh << 20))) >>> 0; // x ^= x >>> 12
  xh = (xh ^ (xh >>> 12)) >>> 0;
  xh = (xh ^ ((xh << 25) | (xl >>> 7))) >>> 0; // x ^= x << 25
  xl = (xl ^ (xl << 25)) >>> 0;
  xl = (xl ^ ((xl >>> 27) | (xh << 5))) >>> 0; // x ^= x >>> 27
  xh = (xh ^ (xh >>> 27)) >>> 0;
  mul(xh, xl, 0x2545f491, 0x4f6cdd1d); // 2685821657736338717 = 0x2545F4914F6CDD1D
  out.hi = rh;
  out.lo = rl;
  return out;
}
