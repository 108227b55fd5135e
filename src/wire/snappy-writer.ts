import { varintLen, writeVarint } from './varint.js';

/** Bytes kept free before the first element for the length header (a varint of up to 5 bytes). */
const HEADER_ROOM = 5;
export const MAX_LITERAL = 65536;
const MIN_BUFFER = 1 << 16;
/** Recycled buffers kept (one per block in flight is enough). */
const MAX_SPARE = 16;

/**
 * Writes a snappy block (the format of wire/snappy.ts) element by element, for a caller that
 * knows where its repeats are: it asks for literal bytes (and writes them itself into `out`
 * at `pos`) and for copies of what it wrote earlier, by distance back in the uncompressed
 * stream (`raw` is the uncompressed length so far). No searching, no hashing: a valid block
 * at memcpy cost, as small as the caller's knowledge of its repeats makes it.
 *
 * Elements used: literal with a 2-byte length (tag 61<<2), up to 65536 bytes; copy with a
 * 2-byte offset (tag kind 2) or a 4-byte offset (kind 3), up to 64 bytes each. Consecutive
 * copies at the same distance merge into one run. The uncompressed-length header is written
 * last, right-aligned in the HEADER_ROOM bytes before the first element.
 *
 * `finish()` hands out the block and moves to a fresh buffer (the block may still be in flight
 * while the next is written, after reset()); `recycle()` gives a finished block's buffer back.
 * Every buffer is a plain Uint8Array of at least 64 KiB, never a Buffer: a Buffer among them
 * gives every write site two object shapes (measured: deoptimised, then polymorphic).
 */
export class SnappyWriter {
  /** The block being written and a DataView over it; both replaced when the block grows. */
  out: Uint8Array = uninitialised(MIN_BUFFER);
  view = new DataView(this.out.buffer, this.out.byteOffset, this.out.byteLength);
  /** Write position in `out`. */
  pos = HEADER_ROOM;
  /** Uncompressed bytes so far: copy distances count back from here. */
  raw = 0;
  /**
   * Position of the open literal's 3-byte header (-1: none) and the bytes in it so far. Public
   * for one caller's straight-line path (GeneratedEncoder.writeRepeat: through the methods it
   * measured 1.3x slower, calls not inlined); everyone else uses the methods.
   */
  litHeader = -1;
  litLen = 0;
  /** A copy not emitted yet (runs at one distance merge): its distance and length. */
  private copyDist = 0;
  private copyLen = 0;
  private readonly spare: Uint8Array[] = [];

  /** Start a new block in the current buffer (what was written since the last finish() is dropped). */
  reset(): void {
    this.pos = HEADER_ROOM;
    this.raw = 0;
    this.litHeader = -1;
    this.litLen = 0;
    this.copyLen = 0;
  }

  /** True when a literal is open and no copy is pending: bytes can be appended with literal(). */
  get inLiteral(): boolean {
    return this.litHeader >= 0 && this.copyLen === 0;
  }

  /**
   * The finished block. The writer moves to a recycled or new buffer (no zero-fill: every byte is
   * written before use); `raw` still tells the block's uncompressed size until reset() starts the next.
   */
  finish(): Uint8Array {
    this.flushCopy();
    this.closeLiteral();
    const start = HEADER_ROOM - varintLen(this.raw);
    writeVarint(this.out, start, this.raw);
    const block = this.out.subarray(start, this.pos);
    this.out = this.spare.pop() ?? uninitialised(this.out.length);
    this.view = new DataView(this.out.buffer, this.out.byteOffset, this.out.byteLength);
    return block;
  }

  /** Give back a finish() result once it has been sent, so its buffer is reused (steady state: no allocation). */
  recycle(block: Uint8Array): void {
    // Our buffers are >= 64 KiB, so never slices of Node's shared Buffer pool: the whole
    // ArrayBuffer is ours.
    if (this.spare.length < MAX_SPARE && block.buffer.byteLength >= MIN_BUFFER) this.spare.push(new Uint8Array(block.buffer));
  }

  /** Make room for `n` (<= MAX_LITERAL) literal bytes at `pos`; the caller writes them into `out`, then advance(). */
  literal(n: number): void {
    if (this.copyLen > 0) this.flushCopy();
    if (this.litHeader < 0 || this.litLen + n > MAX_LITERAL) {
      this.closeLiteral();
      this.ensure(3 + n);
      this.litHeader = this.pos;
      this.pos += 3;
      this.litLen = 0;
    } else this.ensure(n);
  }

  /** Literal bytes were written up to `p`. */
  advance(p: number): void {
    const d = p - this.pos;
    this.raw += d;
    this.litLen += d;
    this.pos = p;
  }

  /** `len` bytes of `src` from `from` as literal bytes (any length). */
  literalBytes(src: Uint8Array, from: number, len: number): void {
    for (let s = from, end = from + len; s < end;) {
      const chunk = Math.min(end - s, 4096);
      this.literal(chunk);
      const out = this.out;
      let p = this.pos;
      if (chunk > 64) {
        out.set(src.subarray(s, s + chunk), p);
        p += chunk;
      } else for (let i = 0; i < chunk; i++) out[p++] = src[s + i];
      this.advance(p);
      s += chunk;
    }
  }

  /** Copy `len` bytes from `dist` bytes back in the uncompressed stream (merged with a pending copy at the same distance). */
  copy(dist: number, len: number): void {
    if (this.copyLen > 0) {
      if (dist === this.copyDist) {
        this.copyLen += len;
        this.raw += len;
        return;
      }
      this.flushCopy();
    }
    this.closeLiteral();
    this.copyDist = dist;
    this.copyLen = len;
    this.raw += len;
  }

  /** Room for `extra` more bytes at `pos` (the block moves to a larger buffer when needed: re-read `out` and `view` after). */
  ensure(extra: number): void {
    if (this.pos + extra <= this.out.length) return;
    const nb = uninitialised(Math.max(this.pos + extra, this.out.length * 2));
    nb.set(this.out.subarray(0, this.pos));
    this.out = nb;
    this.view = new DataView(nb.buffer, nb.byteOffset, nb.byteLength);
  }

  /** Emit the pending copy and close the open literal: the next element starts at `pos`. */
  seal(): void {
    this.flushCopy();
    this.closeLiteral();
  }

  closeLiteral(): void {
    if (this.litHeader < 0) return;
    if (this.litLen === 0)
      this.pos = this.litHeader; // nothing was written into it
    else {
      // The 3-byte header of a literal of litLen (1..65536) bytes.
      const h = this.litHeader;
      this.out[h] = 61 << 2;
      this.out[h + 1] = (this.litLen - 1) & 0xff;
      this.out[h + 2] = (this.litLen - 1) >>> 8;
    }
    this.litHeader = -1;
    this.litLen = 0;
  }

  /** Emit the pending copy as snappy copy elements of at most 64 bytes. */
  private flushCopy(): void {
    const len = this.copyLen;
    if (len === 0) return;
    this.ensure(5 * ((len + 63) >>> 6));
    this.pos = copyElements(this.out, this.pos, this.copyDist, len);
    this.copyLen = 0;
  }
}

/** Snappy copy elements for `len` bytes at distance `dist`, written at p; returns the new end. */
export function copyElements(out: Uint8Array, p: number, dist: number, len: number): number {
  while (len > 0) {
    const l = len > 64 ? 64 : len;
    if (dist < 65536) {
      out[p++] = ((l - 1) << 2) | 2;
      out[p++] = dist & 0xff;
      out[p++] = dist >>> 8;
    } else {
      out[p++] = ((l - 1) << 2) | 3;
      out[p++] = dist & 0xff;
      out[p++] = (dist >>> 8) & 0xff;
      out[p++] = (dist >>> 16) & 0xff;
      out[p++] = dist >>> 24;
    }
    len -= l;
  }
  return p;
}

/**
 * A plain Uint8Array of n (>= 4 KiB, so never a slice of Node's Buffer pool) bytes, not
 * zero-filled.
 */
function uninitialised(n: number): Uint8Array {
  const b = Buffer.allocUnsafe(n);
  return new Uint8Array(b.buffer, b.byteOffset, n);
}
