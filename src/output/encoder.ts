import type { WriteBatch } from '../decode/write-request.js';
import { SOURCE_METRIC_LABEL } from './format.js';

/**
 * Builds the WriteRequest body of generated series straight into one reused byte buffer.
 *
 * Per (input series, model) the input's labels are re-encoded once into a scratch block
 * (minus the replaced names, plus source_metric); each output variable then costs one copy
 * of its precompiled prefix, one copy of that block, and its samples. Nothing is allocated
 * per sample. `body()` is valid until the next `reset()`.
 */
const STALE_HI = 0x7ff00000;
const STALE_LO = 0x00000002;

export class GeneratedEncoder {
  private buf = new Uint8Array(1 << 16);
  private dv = new DataView(this.buf.buffer);
  private len = 0;
  private block = new Uint8Array(1024);
  private blockLen = 0;
  series = 0;
  samples = 0;
  /** Replaced label names as bytes, checked per input label when a block is built. */
  private readonly replaced: Uint8Array[];
  private readonly sourceName = new TextEncoder().encode(SOURCE_METRIC_LABEL);

  constructor(replacedNames: string[]) {
    const te = new TextEncoder();
    this.replaced = replacedNames.map((n) => te.encode(n));
  }

  reset(): void {
    this.len = 0;
    this.series = 0;
    this.samples = 0;
  }

  body(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  /** Encode series `s`'s labels for the generated series that follow. */
  beginSeries(batch: WriteBatch, s: number): void {
    const b = batch.buf;
    const l = batch.lbl;
    this.blockLen = 0;
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
  }

  /** One generated series: `prefix` labels + the current block, samples from the columns. */
  writeSeries(prefix: Uint8Array, ts: Float64Array, val: Float64Array, n: number): void {
    let samplesLen = 0;
    for (let i = 0; i < n; i++) {
      const sl = 10 + varintLen(ts[i]);
      samplesLen += 1 + varintLen(sl) + sl;
    }
    const msgLen = prefix.length + this.blockLen + samplesLen;
    this.ensure(1 + 5 + msgLen);
    const buf = this.buf;
    let p = this.len;
    buf[p++] = 0x0a; // WriteRequest.timeseries
    p = writeVarint(buf, p, msgLen);
    buf.set(prefix, p);
    p += prefix.length;
    buf.set(this.block.subarray(0, this.blockLen), p);
    p += this.blockLen;
    for (let i = 0; i < n; i++) {
      const t = ts[i];
      buf[p++] = 0x12; // TimeSeries.samples
      buf[p++] = 10 + varintLen(t);
      buf[p++] = 0x09; // Sample.value (double)
      const v = val[i];
      if (v !== v) {
        // NaN here only ever means "stale": write the exact stale-marker bits.
        this.dv.setUint32(p, STALE_LO, true);
        this.dv.setUint32(p + 4, STALE_HI, true);
      } else this.dv.setFloat64(p, v, true);
      p += 8;
      buf[p++] = 0x10; // Sample.timestamp
      p = writeVarint(buf, p, t);
    }
    this.len = p;
    this.series++;
    this.samples += n;
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
    if (this.len + extra <= this.buf.length) return;
    const nb = new Uint8Array(Math.max(this.len + extra, this.buf.length * 2));
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
    this.dv = new DataView(nb.buffer);
  }
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
