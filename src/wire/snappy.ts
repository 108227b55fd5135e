import { DecodeError } from '../errors.js';
import { bufferSize } from './grow.js';

/** The decoded length `src`'s header announces, read without decompressing; -1 when the header is unreadable. */
export function snappyDecodedLength(src: Uint8Array): number {
  let n = 0;
  let shift = 1;
  for (let s = 0; s < src.length && s < 5; s++) {
    const b = src[s];
    n += (b & 0x7f) * shift;
    if (b < 0x80) return n;
    shift *= 128;
  }
  return -1;
}

/**
 * Snappy block format (not framed), as remote_write uses it.
 *
 * decompress() writes into a buffer it owns and reuses: the returned view is valid until the
 * next call on the same SnappyReader. The announced length is checked against the limit
 * before anything is allocated, so a header claiming 4 GiB costs nothing.
 *
 * Format: varint(uncompressed length), then elements tagged by the low 2 bits of a byte:
 *   00 literal: length-1 in the upper 6 bits (60..63 mean 1..4 little-endian length bytes follow)
 *   01 copy, 1-byte offset: length 4 + 3 bits, offset 3 high bits << 8 | next byte
 *   10 copy, 2-byte offset: length 1 + upper 6 bits, offset LE16
 *   11 copy, 4-byte offset: length 1 + upper 6 bits, offset LE32
 */
export class SnappyReader {
  private buf: Uint8Array = new Uint8Array(64 * 1024);
  private view = new DataView(this.buf.buffer);
  /** Uncompressed length the last block's header announced. */
  announced = 0;

  /** Bytes this reader holds (its output buffer, which only grows; drop the reader to free it). */
  get memoryBytes(): number {
    return this.buf.length;
  }

  /**
   * Decompress the block `src`; a block announcing more than `limit` bytes is refused before
   * anything is read. With `prefix`, stop once that many bytes are out (at least; the rest of
   * the block is neither read nor checked): a reader that needs the first series only.
   */
  decompress(src: Uint8Array, limit: number, prefix = Infinity): Uint8Array {
    let n = 0;
    let s = 0;
    let shift = 1;
    for (;;) {
      if (s >= src.length || s >= 5) throw new DecodeError('ANOM_DECODE_SNAPPY', 'snappy: bad length header');
      const b = src[s++];
      n += (b & 0x7f) * shift;
      if (b < 0x80) break;
      shift *= 128;
    }
    this.announced = n;
    if (n > limit) throw new DecodeError('ANOM_DECODE_TOO_LARGE', `snappy: announced decompressed size ${n} exceeds the limit ${limit}`);
    if (this.buf.length < n) this.buf = new Uint8Array(bufferSize(n));
    const dst = this.buf;
    if (this.view.buffer !== dst.buffer) this.view = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
    const view = this.view;
    const sv = new DataView(src.buffer, src.byteOffset, src.byteLength);
    // Elements that end at or before these may move 8 bytes at a time past their end (below).
    const srcSafe = src.length - 8;
    const dstSafe = dst.length - 8;
    let d = 0;
    const end = src.length;
    const stop = prefix < n ? prefix : n;
    while (s < end && d < stop) {
      const tag = src[s++];
      const kind = tag & 3;
      if (kind === 0) {
        let len = tag >>> 2;
        if (len >= 60) {
          const extra = len - 59;
          if (s + extra > end) throw new DecodeError('ANOM_DECODE_SNAPPY', 'snappy: truncated literal length');
          len = src[s];
          if (extra > 1) len |= src[s + 1] << 8;
          if (extra > 2) len |= src[s + 2] << 16;
          if (extra > 3) len = (len | 0) + src[s + 3] * 0x1000000;
          s += extra;
        }
        len += 1;
        if (s + len > end || d + len > n) throw new DecodeError('ANOM_DECODE_SNAPPY', 'snappy: literal overruns the block');
        if (len > 64) dst.set(src.subarray(s, s + len), d);
        else if (s + len <= srcSafe && d + len <= dstSafe) {
          // Eight bytes at a time, rounded up: the bytes written past the literal's end lie at or
          // after the next element's start, which writes them before anything reads them (a copy
          // reads only what is already out). The last literals of a block take the exact loop.
          // One float64 load and store per 8 bytes (two int32 pairs before: decompress 46 -> 38 ns
          // per sample, prometheus shape, bench/RESULTS.md session 9): a double moved unchanged
          // keeps every bit, signalling and payload NaNs included (test/unit/snappy-nan.test.ts).
          for (let i = 0; i < len; i += 8) view.setFloat64(d + i, sv.getFloat64(s + i));
        } else {
          // Short (most literals of a remote write body are under 16 bytes): four bytes at a time.
          let i = 0;
          for (; i + 4 <= len; i += 4) view.setInt32(d + i, sv.getInt32(s + i, true), true);
          for (; i < len; i++) dst[d + i] = src[s + i];
        }
        s += len;
        d += len;
        continue;
      }
      let len: number;
      let off: number;
      if (kind === 1) {
        if (s >= end) throw new DecodeError('ANOM_DECODE_SNAPPY', 'snappy: truncated copy');
        len = 4 + ((tag >>> 2) & 7);
        off = ((tag >>> 5) << 8) | src[s++];
      } else if (kind === 2) {
        if (s + 2 > end) throw new DecodeError('ANOM_DECODE_SNAPPY', 'snappy: truncated copy');
        len = 1 + (tag >>> 2);
        off = src[s] | (src[s + 1] << 8);
        s += 2;
      } else {
        if (s + 4 > end) throw new DecodeError('ANOM_DECODE_SNAPPY', 'snappy: truncated copy');
        len = 1 + (tag >>> 2);
        off = (src[s] | (src[s + 1] << 8) | (src[s + 2] << 16)) + src[s + 3] * 0x1000000;
        s += 4;
      }
      if (off === 0 || off > d || d + len > n) throw new DecodeError('ANOM_DECODE_SNAPPY', 'snappy: copy out of range');
      // Copies are at most 64 bytes: a loop beats copyWithin()'s native call (measured 51 vs 60 ns
      // per sample on load-generator bodies for lengths 33-64).
      if (off >= 8 && d + len <= dstSafe) {
        // Eight bytes at a time as one float64 (read whole before it is written: an 8-byte step
        // never reads what it writes when off >= 8), rounded up past the copy's end as for
        // literals: no tail loop. Most copies of a remote write body are 9-64 bytes of repeated
        // label entries at distances of one series or more.
        const e = d + len;
        for (; d < e; d += 8) view.setFloat64(d, view.getFloat64(d - off));
        d = e;
      } else if (off >= 8) {
        // Eight bytes at a time, both words read before either is written (an 8-byte step never
        // reads what it writes when off >= 8): most copies of a remote write body are 20-64 bytes
        // of repeated label entries, at distances of one series or more.
        const e = d + len;
        for (; d + 8 <= e; d += 8) {
          const lo = view.getInt32(d - off, true);
          const hi = view.getInt32(d - off + 4, true);
          view.setInt32(d, lo, true);
          view.setInt32(d + 4, hi, true);
        }
        if (d + 4 <= e) {
          view.setInt32(d, view.getInt32(d - off, true), true);
          d += 4;
        }
        for (; d < e; d++) dst[d] = dst[d - off];
      } else if (off >= 4) {
        // Four bytes at a time (a 4-byte step never reads what it writes when off >= 4).
        const e = d + len;
        for (; d + 4 <= e; d += 4) view.setInt32(d, view.getInt32(d - off, true), true);
        for (; d < e; d++) dst[d] = dst[d - off];
      } else {
        // Overlapping (run-length style) copy, off 1..3: the bytes repeat every `off`, so byte x
        // equals byte x - step for `step` the smallest multiple of off that is >= 4 (1, 2: 4; 3: 6),
        // and once x - step >= d - off those 4 bytes are already final: byte by byte up to there,
        // then 4 at a time. (Byte by byte throughout, a 32 MiB run, a snappy bomb, took ~300 ms.)
        const e = d + len;
        const step = off === 3 ? 6 : 4;
        const head = Math.min(e, d - off + step);
        for (; d < head; d++) dst[d] = dst[d - off];
        for (; d + 4 <= e; d += 4) view.setInt32(d, view.getInt32(d - step));
        for (; d < e; d++) dst[d] = dst[d - off];
      }
    }
    if (stop < n) return dst.subarray(0, d);
    if (d !== n || s !== end) throw new DecodeError('ANOM_DECODE_SNAPPY', `snappy: decompressed ${d} bytes and ${end - s} left, header announced ${n}`);
    return dst.subarray(0, n);
  }
}
