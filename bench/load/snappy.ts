// Snappy block format (not framed), the two halves the benchmark needs.
//
// compressWithSlots(): a greedy hash-matching compressor like snappy's own, except that bytes marked in
// `literalMask` are always emitted as literals and never used as a copy source. The load generator marks
// each sample's value and timestamp, so it can later rewrite them in place inside the *compressed* body
// (copy the template, patch 14 bytes per sample) instead of re-encoding and re-compressing per request.
// The label bytes compress as snappy would compress them; only the ~18 sample bytes of each series stay
// literal, which makes our bodies slightly larger than real snappy's (documented in RESULTS.md).
//
// Decompressor: writes into a caller-owned, reused buffer (snappyjs allocates and zero-fills one per call).
// It can stop after `limit` output bytes, which the sink uses to classify a request by its first series.

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
    while (v >= 0x80) {
      this.byte((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    this.byte(v);
  }
}

/**
 * Compresses `src` into a valid snappy block. Returns the block and, for every input offset listed in
 * `track`, the offset in the block where that input byte landed (all tracked bytes must be inside
 * `literalMask`, so they land in a literal and keep their position relative to their neighbours).
 */
export function compressWithSlots(
  src: Uint8Array,
  literalMask: Uint8Array,
  track: Uint32Array,
): { block: Uint8Array; trackedAt: Uint32Array } {
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
    if (
      cand >= 0 &&
      i - cand <= MAX_OFFSET &&
      src[cand] === src[i] &&
      src[cand + 1] === src[i + 1] &&
      src[cand + 2] === src[i + 2] &&
      src[cand + 3] === src[i + 3]
    ) {
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

/** Reads the uncompressed length from a snappy block's preamble; -1 if malformed. */
export function uncompressedLength(src: Uint8Array): number {
  let v = 0;
  let shift = 1;
  for (let i = 0; i < 5 && i < src.length; i++) {
    const b = src[i];
    v += (b & 0x7f) * shift;
    if (b < 0x80) return v;
    shift *= 128;
  }
  return -1;
}

/**
 * Decompresses a snappy block into `dst` (which must hold uncompressedLength(src) bytes, or `limit`).
 * Stops once `limit` bytes are produced. Returns the number of bytes written, or -1 if malformed.
 * The result is valid until the caller reuses `dst`.
 */
export function decompressInto(src: Uint8Array, dst: Uint8Array, limit = Infinity): number {
  let p = 0;
  let total = 0;
  let shift = 1;
  for (;;) {
    if (p >= src.length) return -1;
    const b = src[p++];
    total += (b & 0x7f) * shift;
    if (b < 0x80) break;
    shift *= 128;
  }
  if (total > dst.length) return -1;
  const stop = Math.min(total, limit);
  let o = 0;
  const n = src.length;
  while (p < n && o < stop) {
    const tag = src[p++];
    const kind = tag & 3;
    if (kind === 0) {
      let len = tag >>> 2;
      if (len >= 60) {
        const extra = len - 59;
        if (p + extra > n) return -1;
        len = src[p];
        if (extra > 1) len += src[p + 1] * 0x100;
        if (extra > 2) len += src[p + 2] * 0x10000;
        if (extra > 3) len += src[p + 3] * 0x1000000;
        p += extra;
      }
      len += 1;
      if (p + len > n || o + len > total) return -1;
      if (len < 32) for (let k = 0; k < len; k++) dst[o + k] = src[p + k];
      else dst.set(src.subarray(p, p + len), o);
      p += len;
      o += len;
      continue;
    }
    let len: number;
    let off: number;
    if (kind === 1) {
      len = ((tag >>> 2) & 7) + 4;
      off = ((tag >>> 5) << 8) | src[p++];
    } else if (kind === 2) {
      len = (tag >>> 2) + 1;
      off = src[p] | (src[p + 1] << 8);
      p += 2;
    } else {
      len = (tag >>> 2) + 1;
      off = (src[p] | (src[p + 1] << 8) | (src[p + 2] << 16)) + src[p + 3] * 0x1000000;
      p += 4;
    }
    if (off === 0 || off > o || o + len > total || p > n) return -1;
    if (off >= len && len >= 32) {
      dst.copyWithin(o, o - off, o - off + len);
      o += len;
    } else {
      for (let k = 0; k < len; k++, o++) dst[o] = dst[o - off];
    }
  }
  if (o < stop) return -1;
  return o;
}
