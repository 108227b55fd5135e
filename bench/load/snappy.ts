import { writeVarint } from '../../src/wire/varint.js';

// Snappy block format (not framed): the load generator's compressor (the product reads with
// src/wire/snappy.ts, which the counting sink uses too).
//
// compressWithSlots(): a greedy hash-matching compressor like snappy's own, except that bytes marked in
// `literalMask` are always emitted as literals and never used as a copy source. The load generator marks
// each sample's value and timestamp, so it can later rewrite them in place inside the *compressed* body
// (copy the template, patch 14 bytes per sample) instead of re-encoding and re-compressing per request.
// The label bytes compress as snappy would compress them; only the ~18 sample bytes of each series stay
// literal, which makes our bodies slightly larger than real snappy's (documented in RESULTS.md).

const HASH_BITS = 14;
const HASH_SIZE = 1 << HASH_BITS;
const MAX_OFFSET = 65535; // 2-byte-offset copies only: simple and within snappy's 64 KiB block window

function hash4(b: Uint8Array, i: number): number {
  const v = b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
  return Math.imul(v, 0x1e35a7bd) >>> (32 - HASH_BITS);
}

class Out {
  buf: Uint8Array;
  len = 0;
  constructor(cap: number) {
    this.buf = new Uint8Array(cap);
  }
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }
  varint(v: number): void {
    this.ensure(10);
    this.len = writeVarint(this.buf, this.len, v);
  }
}

/**
 * Compresses `src` into a valid snappy block. Returns the block and, for every input offset listed in
 * `track`, the offset in the block where that input byte landed (all tracked bytes must be inside
 * `literalMask`, so they land in a literal and keep their position relative to their neighbours).
 */
export function compressWithSlots(src: Uint8Array, literalMask: Uint8Array, track: Uint32Array): { block: Uint8Array; trackedAt: Uint32Array } {
  const out = new Out(src.length + (src.length >>> 4) + 16);
  out.varint(src.length);
  const table = new Int32Array(HASH_SIZE).fill(-1);
  const trackedAt = new Uint32Array(track.length);
  let t = 0; // next entry of `track` to place (track must be ascending)
  let litStart = 0;
  const emitLiteral = (end: number): void => {
    let pos = litStart;
    while (pos < end) {
      const n = Math.min(end - pos, 65536);
      const m = n - 1;
      if (m < 60) out.byte(m << 2);
      else if (m < 256) {
        out.byte(60 << 2);
        out.byte(m);
      } else {
        out.byte(61 << 2);
        out.byte(m & 0xff);
        out.byte(m >>> 8);
      }
      out.ensure(n);
      const base = out.len - pos;
      while (t < track.length && track[t] < pos + n) {
        trackedAt[t] = base + track[t];
        t++;
      }
      out.buf.set(src.subarray(pos, pos + n), out.len);
      out.len += n;
      pos += n;
    }
    litStart = end;
  };
  const emitCopy = (offset: number, length: number): void => {
    while (length > 0) {
      if (offset < 2048 && length >= 4 && length <= 11) {
        out.byte(1 | ((length - 4) << 2) | ((offset >>> 8) << 5));
        out.byte(offset & 0xff);
        return;
      }
      // 2-byte-offset copies take any length 1..64, so the remainder needs no care.
      const n = Math.min(length, 64);
      out.byte(2 | ((n - 1) << 2));
      out.byte(offset & 0xff);
      out.byte(offset >>> 8);
      length -= n;
    }
  };
  let i = 0;
  const n = src.length;
  while (i + 4 <= n) {
    if (literalMask[i] || literalMask[i + 1] || literalMask[i + 2] || literalMask[i + 3]) {
      i++;
      continue;
    }
    const h = hash4(src, i);
    const cand = table[h];
    table[h] = i;
    if (cand >= 0 && i - cand <= MAX_OFFSET && src[cand] === src[i] && src[cand + 1] === src[i + 1] && src[cand + 2] === src[i + 2] && src[cand + 3] === src[i + 3]) {
      let len = 4;
      while (i + len < n && !literalMask[i + len] && !literalMask[cand + len] && src[cand + len] === src[i + len]) len++;
      emitLiteral(i);
      emitCopy(i - cand, len);
      i += len;
      litStart = i;
      // Like snappy: index the position just before the next attempt, so runs of matches chain.
      if (i - 1 + 4 <= n && !literalMask[i - 1] && !literalMask[i] && !literalMask[i + 1] && !literalMask[i + 2]) table[hash4(src, i - 1)] = i - 1;
      continue;
    }
    i++;
  }
  emitLiteral(n);
  if (t !== track.length) throw new Error(`compressWithSlots: ${track.length - t} tracked offsets not placed`);
  return { block: out.buf.slice(0, out.len), trackedAt };
}
