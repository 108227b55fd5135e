import type { WriteBatch } from '../decode/write-request.js';
import { SOURCE_METRIC_LABEL } from './format.js';

/**
 * Builds the generated series' WriteRequest, already snappy-compressed, in one pass.
 *
 * Generated data is repetitive by construction: each input series yields 4-5 output series
 * that share its label block, and each output variable's label prefix (`__name__`, `for`, ...)
 * repeats in every input series. Instead of writing the protobuf and then searching it for
 * repeats (snappyjs spends more CPU on that than everything else in the pipeline together),
 * the encoder knows where it wrote them and emits snappy copy elements pointing back there.
 * The rest goes out as snappy literals. The result is a valid snappy block (any reader accepts
 * it) at memcpy cost, about as small as a general compressor makes it.
 *
 * Snappy elements used: literal with a 2-byte length (tag 61<<2), up to 65536 bytes; copy with
 * a 2-byte offset (tag kind 2) or 4-byte offset (kind 3), up to 64 bytes each.
 *
 * Within the first copy of a block, each label equal to the same-position label of the
 * previous input series' block is a copy too (scrape data repeats metric, job, instance).
 * Per (input series, model) the input's labels are encoded once into a scratch block (minus
 * the replaced names, plus source_metric). Nothing is allocated per sample. `body()` returns a
 * fresh copy (the request may still be in flight while the next one is encoded).
 */
const STALE_HI = 0x7ff00000;
const STALE_LO = 0x00000002;
const HEADER_ROOM = 5; // varint of the uncompressed length, written last, right-aligned
const MAX_LITERAL = 65536;

export class GeneratedEncoder {
  private out = new Uint8Array(1 << 16);
  private dv = new DataView(this.out.buffer);
  /** Write position in `out`. */
  private o = HEADER_ROOM;
  /** Uncompressed bytes so far. */
  private u = 0;
  /** Position of the open literal's 3-byte header, or -1; bytes in it so far. */
  private litHdr = -1;
  private litLen = 0;
  private block = new Uint8Array(1024);
  private blockLen = 0;
  /** Start offset of each label entry in `block` (and one past the last). */
  private labelOff = new Int32Array(65);
  private labels = 0;
  /** The previous series' block, its label offsets, and where it was written (-1: not yet). */
  private prev = new Uint8Array(1024);
  private prevOff = new Int32Array(65);
  private prevLabels = 0;
  private prevU = -1;
  /** Timestamp varints of the current series (tsEnd[i]: end of sample i's bytes), their count, the Sample entries' total size. */
  private tsEnc = new Uint8Array(2560);
  private tsEnd = new Int32Array(257);
  private tsN = 0;
  private samplesLen = 0;
  /** Uncompressed position where the current block was last written, or -1. */
  private blockU = -1;
  /** Per prefix id: uncompressed position where it was last written, or -1. */
  private prefixU: Float64Array;
  series = 0;
  samples = 0;
  /** Replaced label names as bytes, checked per input label when a block is built. */
  private readonly replaced: Uint8Array[];
  private readonly sourceName = new TextEncoder().encode(SOURCE_METRIC_LABEL);

  constructor(replacedNames: string[], prefixCount: number) {
    const te = new TextEncoder();
    this.replaced = replacedNames.map((n) => te.encode(n));
    this.prefixU = new Float64Array(prefixCount).fill(-1);
  }

  reset(): void {
    this.o = HEADER_ROOM;
    this.u = 0;
    this.litHdr = -1;
    this.litLen = 0;
    this.blockU = -1;
    this.prevU = -1;
    this.prefixU.fill(-1);
    this.series = 0;
    this.samples = 0;
  }

  /** Uncompressed size of the WriteRequest so far. */
  get rawLength(): number {
    return this.u;
  }

  /** The snappy-compressed WriteRequest (a copy). */
  body(): Uint8Array {
    this.closeLiteral();
    const n = this.u;
    let len = 1;
    for (let x = n; x >= 128; x = Math.floor(x / 128)) len++;
    const start = HEADER_ROOM - len;
    writeVarint(this.out, start, n);
    return this.out.slice(start, this.o);
  }

  /** Encode series `s`'s labels for the generated series that follow. */
  beginSeries(batch: WriteBatch, s: number): void {
    const b = batch.buf;
    const l = batch.lbl;
    this.blockLen = 0;
    this.labels = 0;
    this.blockU = -1;
    const first = batch.lblFirst[s];
    const last = first + batch.lblCount[s];
    for (let j = first; j < last; j++) {
      const ns = l[4 * j], ne = l[4 * j + 1], vs = l[4 * j + 2], ve = l[4 * j + 3]; // prettier-ignore
      if (ne - ns === 8 && isName(b, ns)) {
        this.label(this.sourceName, 0, this.sourceName.length, b, vs, ve);
        continue;
      }
      if (this.isReplaced(b, ns, ne)) continue;
      this.label(b, ns, ne, b, vs, ve);
    }
    this.labelOff[this.labels] = this.blockLen;
  }

  /**
   * Timestamps of the generated series that follow (one input series): their varints are
   * encoded once here for all of its output variables.
   */
  timestamps(ts: Float64Array, n: number): void {
    if (this.tsEnc.length < 10 * n) {
      this.tsEnc = new Uint8Array(10 * n);
      this.tsEnd = new Int32Array(n + 1);
    }
    let p = 0;
    for (let i = 0; i < n; i++) {
      p = writeVarint(this.tsEnc, p, ts[i]);
      this.tsEnd[i] = p;
    }
    this.tsN = n;
    // Each Sample entry: tag, length (< 128), 0x09 + 8-byte double, 0x10 + timestamp varint.
    this.samplesLen = 12 * n + p;
  }

  /**
   * One generated series: prefix labels (`prefixId` identifies the prefix across calls) + the
   * current block, the samples of the last timestamps() call with values from `val` (a NaN
   * value is written as the stale marker).
   */
  writeSeries(prefixId: number, prefix: Uint8Array, val: Float64Array): void {
    const n = this.tsN;
    const msgLen = prefix.length + this.blockLen + this.samplesLen;
    // WriteRequest.timeseries tag + length
    this.literal(6);
    this.out[this.o] = 0x0a;
    this.advance(writeVarint(this.out, this.o + 1, msgLen));
    // Labels: the prefix, then the block, each copied from its last occurrence when there is one.
    const pu = this.prefixU[prefixId];
    this.prefixU[prefixId] = this.u;
    if (pu >= 0) this.copy(this.u - pu, prefix.length);
    else this.literalBytes(prefix, 0, prefix.length);
    const bu = this.blockU;
    this.blockU = this.u;
    if (bu >= 0) this.copy(this.u - bu, this.blockLen);
    else this.firstBlock();
    const te = this.tsEnc;
    let ts = 0;
    for (let i = 0; i < n; i++) {
      const tEnd = this.tsEnd[i];
      this.literal(12 + tEnd - ts);
      const out = this.out;
      let p = this.o;
      out[p++] = 0x12; // TimeSeries.samples
      out[p++] = 10 + tEnd - ts;
      out[p++] = 0x09; // Sample.value (double)
      const v = val[i];
      if (v !== v) {
        // NaN here only ever means "stale": write the exact stale-marker bits.
        this.dv.setUint32(p, STALE_LO, true);
        this.dv.setUint32(p + 4, STALE_HI, true);
      } else this.dv.setFloat64(p, v, true);
      p += 8;
      out[p++] = 0x10; // Sample.timestamp
      for (; ts < tEnd; ts++) out[p++] = te[ts];
      this.advance(p);
    }
    this.series++;
    this.samples += n;
  }

  /**
   * First write of this series' block: each label equal to the same-position label of the
   * previous series' block (same metric, job, instance... in scrape data) becomes a copy.
   */
  private firstBlock(): void {
    const blk = this.block;
    const off = this.labelOff;
    const start = this.u;
    for (let k = 0; k < this.labels; k++) {
      const a = off[k];
      const len = off[k + 1] - a;
      if (this.prevU >= 0 && k < this.prevLabels && this.prevOff[k + 1] - this.prevOff[k] === len && same(blk, a, this.prev, this.prevOff[k], len)) {
        this.copy(this.u - (this.prevU + this.prevOff[k]), len);
      } else this.literalBytes(blk, a, len);
    }
    // This block becomes the previous one: swap the buffers (the next beginSeries rewrites
    // `block` from scratch; the remaining variables of this series copy from the stream).
    this.block = this.prev;
    this.prev = blk;
    this.labelOff = this.prevOff;
    this.prevOff = off;
    this.prevLabels = this.labels;
    this.prevU = start;
  }

  /** Make room for `n` (<= MAX_LITERAL) more literal bytes at this.o; the caller writes them, then advance(). */
  private literal(n: number): void {
    if (this.litHdr < 0 || this.litLen + n > MAX_LITERAL) {
      this.closeLiteral();
      this.ensure(3 + n);
      this.litHdr = this.o;
      this.o += 3;
      this.litLen = 0;
    } else this.ensure(n);
  }

  /** Literal bytes were written up to `p`. */
  private advance(p: number): void {
    const d = p - this.o;
    this.u += d;
    this.litLen += d;
    this.o = p;
  }

  private literalBytes(src: Uint8Array, from: number, len: number): void {
    for (let s = from, end = from + len; s < end; ) {
      const room = this.litHdr < 0 ? MAX_LITERAL : MAX_LITERAL - this.litLen;
      const chunk = Math.min(end - s, room > 0 ? room : MAX_LITERAL);
      this.literal(chunk);
      const out = this.out;
      let p = this.o;
      for (let i = 0; i < chunk; i++) out[p++] = src[s + i];
      this.advance(p);
      s += chunk;
    }
  }

  private closeLiteral(): void {
    if (this.litHdr < 0) return;
    if (this.litLen === 0) {
      this.o = this.litHdr; // nothing was written into it
    } else {
      const h = this.litHdr;
      const n = this.litLen - 1;
      this.out[h] = 61 << 2;
      this.out[h + 1] = n & 0xff;
      this.out[h + 2] = n >>> 8;
    }
    this.litHdr = -1;
    this.litLen = 0;
  }

  /** Snappy copy of `len` bytes from `offset` bytes back in the uncompressed stream. */
  private copy(offset: number, len: number): void {
    this.closeLiteral();
    this.ensure(5 * Math.ceil(len / 64) + 5);
    const out = this.out;
    let p = this.o;
    this.u += len;
    while (len > 0) {
      const l = len > 64 ? 64 : len;
      if (offset < 65536) {
        out[p++] = ((l - 1) << 2) | 2;
        out[p++] = offset & 0xff;
        out[p++] = offset >>> 8;
      } else {
        out[p++] = ((l - 1) << 2) | 3;
        out[p++] = offset & 0xff;
        out[p++] = (offset >>> 8) & 0xff;
        out[p++] = (offset >>> 16) & 0xff;
        out[p++] = offset >>> 24;
      }
      len -= l;
    }
    this.o = p;
  }

  private label(nb: Uint8Array, ns: number, ne: number, vb: Uint8Array, vs: number, ve: number): void {
    const nl = ne - ns;
    const vl = ve - vs;
    const inner = 1 + varintLen(nl) + nl + 1 + varintLen(vl) + vl;
    const need = this.blockLen + 1 + 5 + inner;
    if (need > this.block.length) {
      const nbk = new Uint8Array(Math.max(need, this.block.length * 2));
      nbk.set(this.block.subarray(0, this.blockLen));
      this.block = nbk;
    }
    if (this.labels + 2 > this.labelOff.length) {
      const lo = new Int32Array(this.labelOff.length * 2);
      lo.set(this.labelOff);
      this.labelOff = lo;
    }
    this.labelOff[this.labels++] = this.blockLen;
    const o = this.block;
    let p = this.blockLen;
    o[p++] = 0x0a;
    p = writeVarint(o, p, inner);
    o[p++] = 0x0a;
    p = writeVarint(o, p, nl);
    for (let i = ns; i < ne; i++) o[p++] = nb[i];
    o[p++] = 0x12;
    p = writeVarint(o, p, vl);
    for (let i = vs; i < ve; i++) o[p++] = vb[i];
    this.blockLen = p;
  }

  private isReplaced(b: Uint8Array, ns: number, ne: number): boolean {
    const r = this.replaced;
    outer: for (let k = 0; k < r.length; k++) {
      const name = r[k];
      if (name.length !== ne - ns) continue;
      for (let i = 0; i < name.length; i++) if (name[i] !== b[ns + i]) continue outer;
      return true;
    }
    return false;
  }

  private ensure(extra: number): void {
    if (this.o + extra <= this.out.length) return;
    const nb = new Uint8Array(Math.max(this.o + extra, this.out.length * 2));
    nb.set(this.out.subarray(0, this.o));
    this.out = nb;
    this.dv = new DataView(nb.buffer);
  }
}

function same(a: Uint8Array, ai: number, b: Uint8Array, bi: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (a[ai + i] !== b[bi + i]) return false;
  return true;
}

/** "__name__" at b[p..p+8)? */
function isName(b: Uint8Array, p: number): boolean {
  return b[p] === 95 && b[p + 1] === 95 && b[p + 2] === 110 && b[p + 3] === 97 && b[p + 4] === 109 && b[p + 5] === 101 && b[p + 6] === 95 && b[p + 7] === 95;
}

/** Bytes of the varint of a non-negative integer below 2^53 (timestamps: ms since 1970). */
export function varintLen(n: number): number {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

export function writeVarint(b: Uint8Array, p: number, n: number): number {
  while (n >= 128) {
    b[p++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  b[p++] = n;
  return p;
}
