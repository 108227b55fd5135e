import { BudgetError, DecodeError } from '../errors.js';
import { grown, grownLength } from '../wire/grow.js';

// Hand-written reader of a Prometheus remote write 1.0 `WriteRequest` into flat columns.
//
// WriteRequest{1: TimeSeries*, 3: MetricMetadata*}; TimeSeries{1: Label*, 2: Sample*,
// 3: Exemplar*, 4: Histogram*}; Label{1: name, 2: value}; Sample{1: double, 2: int64 ms}.
// (prometheus/prometheus prompb; proto/ holds the same messages, used as the test oracle.)
//
// Nothing is allocated per series, label or sample: label names and values are byte ranges
// into `buf`, samples go to typed columns. Labels are checked while decoding but their byte
// ranges are filled only when asked for (`labels(s)`): the hot path needs them for new series
// only (it hashes and copies each series' label bytes as one range). Unknown fields are skipped
// by wire type, as protobuf requires; exemplars, histograms and metadata are counted, not
// decoded (the raw body is forwarded unchanged, so they still reach the database).

/**
 * One decoded request: the unit ingest hands to scoring. Everything in it (including `buf`)
 * is valid until the next `decode()` into the same batch.
 */
export class WriteBatch {
  buf: Uint8Array = new Uint8Array(0);
  /** DataView over `buf`. */
  view: DataView = new DataView(new ArrayBuffer(0));
  seriesCount = 0;
  labelCount = 0;
  sampleCount = 0;
  metadataCount = 0;
  exemplarCount = 0;
  histogramCount = 0;
  /**
   * Per series: byte range [lblStart, lblEnd) of its Label entries on the wire when they are
   * contiguous (every real sender writes them so); lblStart = -1 when they are not.
   */
  lblStart = new Int32Array(1024);
  lblEnd = new Int32Array(1024);
  /** Per series: 1 when its labels' ranges in `lbl` are filled (see labels()). */
  lblReady = new Uint8Array(1024);
  /** Per series: index of its first label, its label count, first sample, sample count. */
  lblFirst = new Int32Array(1024);
  lblCount = new Int32Array(1024);
  smpFirst = new Int32Array(1024);
  smpCount = new Int32Array(1024);
  /** Per label, LabelInt.Count ints: the byte ranges named by LabelInt, offsets into buf. */
  lbl = new Int32Array(LabelInt.Count * 8192);
  /** Per sample: value and timestamp (ms since the epoch). */
  value = new Float64Array(4096);
  ts = new Float64Array(4096);
  /** Per sample: 1 when the value is Prometheus' stale marker (NaN bits 0x7ff0000000000002). */
  stale = new Uint8Array(4096);
  staleCount = 0;
  /**
   * Asked for `bytes` more before any column grows; false refuses (decode() then throws
   * BudgetError ANOM_MEMORY_BUDGET and the columns stay as they were). Ingest points it at
   * server.max_memory_bytes; by default every growth is allowed.
   */
  reserve: (bytes: number) => boolean = () => true;

  /** Bytes held by the columns. */
  columnBytes(): number {
    return (
      this.lblStart.byteLength +
      this.lblEnd.byteLength +
      this.lblReady.byteLength +
      this.lblFirst.byteLength +
      this.lblCount.byteLength +
      this.smpFirst.byteLength +
      this.smpCount.byteLength +
      this.lbl.byteLength +
      this.value.byteLength +
      this.ts.byteLength +
      this.stale.byteLength
    );
  }

  /** Fill `lbl` for series `s`'s labels (decode() leaves contiguous ones to be read on demand). */
  labels(s: number): void {
    if (this.lblReady[s] === 0) lazy.fill(this, s);
  }

  /** Label `name` of label `j` (after labels(s) for its series) as a string (for start-up-time work only). */
  labelName(j: number): string {
    const o = LabelInt.Count * j;
    return utf8.decode(this.buf.subarray(this.lbl[o + LabelInt.NameStart], this.lbl[o + LabelInt.NameEnd]));
  }
  labelValue(j: number): string {
    const o = LabelInt.Count * j;
    return utf8.decode(this.buf.subarray(this.lbl[o + LabelInt.ValueStart], this.lbl[o + LabelInt.ValueEnd]));
  }
}

const utf8 = new TextDecoder();

/**
 * Offsets into a label's ints in WriteBatch.lbl (label j starts at LabelInt.Count * j): its
 * name's and value's byte ranges, and the range of the whole Label entry on the wire (tag and
 * length included).
 */
export const enum LabelInt {
  NameStart = 0,
  NameEnd = 1,
  ValueStart = 2,
  ValueEnd = 3,
  EntryStart = 4,
  EntryEnd = 5,
  Count = 6,
}

const TWO_53 = 2 ** 53;

/** Bytes per series and per sample in WriteBatch's columns (a label: LabelInt.Count ints). */
const SERIES_BYTES = 6 * 4 + 1;
const SAMPLE_BYTES = 8 + 8 + 1;

const NO_BYTES = new Uint8Array(0);
const NO_VIEW = new DataView(NO_BYTES.buffer);

export class WriteRequestDecoder {
  private b: Uint8Array = NO_BYTES;
  private dv: DataView = NO_VIEW;
  private pos = 0;
  /** Series and samples a request may hold (limits.max_series_per_request, max_samples_per_request). */
  private readonly maxSeries: number;
  private readonly maxSamples: number;

  constructor(limits: { maxSeries?: number; maxSamples?: number } = {}) {
    this.maxSeries = limits.maxSeries ?? Infinity;
    this.maxSamples = limits.maxSamples ?? Infinity;
  }

  /** Decode `buf` (an uncompressed WriteRequest) into `out`; throws DecodeError when unreadable. */
  decode(buf: Uint8Array, out: WriteBatch): void {
    try {
      this.decodeAll(buf, out);
    } finally {
      this.forget();
    }
  }

  /** Drop the reference to the last buffer (a decoder outlives the request slots whose buffers it reads). */
  private forget(): void {
    this.b = NO_BYTES;
    this.dv = NO_VIEW;
  }

  private decodeAll(buf: Uint8Array, out: WriteBatch): void {
    this.b = buf;
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = 0;
    out.buf = buf;
    out.view = this.dv;
    out.seriesCount = out.labelCount = out.sampleCount = 0;
    out.metadataCount = out.exemplarCount = out.histogramCount = out.staleCount = 0;
    const end = buf.length;
    while (this.pos < end) {
      // Fast path, what every sender writes: a TimeSeries (tag 0x0a) of fewer than 16,384 bytes.
      const p = this.pos;
      if (buf[p] === 0x0a) {
        const c0 = buf[p + 1];
        const c1 = buf[p + 2];
        if (c0 < 0x80 || c1 < 0x80) {
          const start = c0 < 0x80 ? p + 2 : p + 3;
          const stop = start + (c0 < 0x80 ? c0 : (c0 & 0x7f) | (c1 << 7));
          if (stop > end) throw new DecodeError('ANOM_DECODE_PROTOBUF', 'protobuf: TimeSeries overruns the request');
          this.pos = start;
          this.timeSeries(stop, out);
          continue;
        }
      }
      const key = this.varint(end);
      const field = Math.floor(key / 8);
      const wt = key & 7;
      if (field === 1 && wt === 2) {
        const len = this.varint(end);
        const stop = this.pos + len;
        if (stop > end) throw new DecodeError('ANOM_DECODE_PROTOBUF', 'protobuf: TimeSeries overruns the request');
        this.timeSeries(stop, out);
      } else if (field === 3 && wt === 2) {
        out.metadataCount++;
        this.skip(wt, end);
      } else {
        // Remote write 1.0 has only fields 1 and 3 (2 is reserved); anything else at the top
        // level means the body is not a 1.0 WriteRequest (garbage, or a 2.0 Request).
        throw new DecodeError('ANOM_DECODE_PROTOBUF', `protobuf: not a remote write 1.0 WriteRequest (top-level field ${field}, wire type ${wt})`);
      }
    }
  }

  private timeSeries(end: number, out: WriteBatch): void {
    const s = out.seriesCount++;
    if (s >= out.lblFirst.length || s >= this.maxSeries) {
      if (s >= this.maxSeries) throw new DecodeError('ANOM_DECODE_LIMIT', `more than ${this.maxSeries} series in one request (limits.max_series_per_request)`);
      take(out, (grownLength(out.lblFirst.length, s + 1) - out.lblFirst.length) * SERIES_BYTES);
      out.lblFirst = grown(out.lblFirst, s + 1);
      out.lblCount = grown(out.lblCount, s + 1);
      out.smpFirst = grown(out.smpFirst, s + 1);
      out.smpCount = grown(out.smpCount, s + 1);
      out.lblStart = grown(out.lblStart, s + 1);
      out.lblEnd = grown(out.lblEnd, s + 1);
      out.lblReady = grown(out.lblReady, s + 1);
    }
    // Labels and samples of one series are each contiguous in our columns even if the
    // sender interleaves them on the wire, since each column only grows by this series.
    out.lblFirst[s] = out.labelCount;
    out.smpFirst[s] = out.sampleCount;
    let lblStart = -2; // -2: no label yet; -1: not contiguous
    let lblEnd = 0;
    const b = this.b;
    while (this.pos < end) {
      const at = this.pos;
      // Fast paths, what every sender writes: one-byte tag and length; a Label of one-byte
      // name and value lengths right after the previous one; a Sample.
      const tag = b[at];
      const n = b[at + 1];
      if (n < 0x80 && at + 2 + n <= end) {
        if (tag === 0x12) {
          this.pos = at + 2;
          if (n !== 16 || !this.sample16(at + 2, out)) this.sample(at + 2 + n, out);
          continue;
        }
        if (tag === 0x0a && (lblStart === -2 || (lblStart >= 0 && at === lblEnd))) {
          // The run of such Labels from here, in locals (the position and count go back to
          // fields once per run, not once per label: -12% / -17% decode time, prometheus / vmagent shape).
          // The first four bytes of an entry (Label tag, its length, name tag, name length) are
          // checked as one little-endian word: tags 0x0a, lengths under 0x80.
          const dv = this.dv;
          let x = at;
          let labels = 0;
          while (x + 4 <= end) {
            const w = dv.getInt32(x, true);
            if ((w & 0x80ff80ff) !== 0x000a000a) break;
            const p = x + 2;
            const m = (w >>> 8) & 0x7f;
            const q = p + 2 + (w >>> 24);
            if (!(p + m <= end && b[q] === 0x12 && b[q + 1] < 0x80 && q + 2 + b[q + 1] === p + m)) break;
            labels++;
            x = p + m;
          }
          if (labels > 0) {
            if (lblStart === -2) lblStart = at;
            lblEnd = this.pos = x;
            out.labelCount += labels;
            continue;
          }
        }
      }
      const key = this.varint(end);
      const field = Math.floor(key / 8);
      const wt = key & 7;
      if (wt === 2 && field <= 4 && field > 0) {
        const len = this.varint(end);
        const stop = this.pos + len;
        if (stop > end) throw new DecodeError('ANOM_DECODE_PROTOBUF', 'protobuf: field overruns its TimeSeries');
        if (field === 1) {
          if (lblStart === -2) lblStart = at;
          else if (at !== lblEnd && lblStart >= 0) {
            // Not contiguous after all: fill the labels so far, then every later one as it comes.
            growLabels(out, out.labelCount);
            this.fillRange(out, out.lblFirst[s], lblStart, lblEnd);
            lblStart = -1;
          }
          lblEnd = stop;
          const j = out.labelCount++;
          if (lblStart >= 0)
            this.pos = this.label(at, stop, out.lbl, -1); // contiguous: checked now, filled on demand
          else {
            growLabels(out, j + 1);
            this.pos = this.label(at, stop, out.lbl, LabelInt.Count * j);
          }
        } else if (field === 2) this.sample(stop, out);
        else {
          if (field === 3) out.exemplarCount++;
          else out.histogramCount++;
          this.pos = stop;
        }
      } else {
        if (field === 0 || (field <= 4 && wt !== 2)) throw new DecodeError('ANOM_DECODE_PROTOBUF', `protobuf: TimeSeries field ${field} has wire type ${wt}`);
        this.skip(wt, end);
      }
    }
    out.lblStart[s] = lblStart === -2 ? lblEnd : lblStart;
    out.lblEnd[s] = lblEnd;
    out.lblReady[s] = lblStart >= 0 ? 0 : 1;
    growLabels(out, out.labelCount);
    out.lblCount[s] = out.labelCount - out.lblFirst[s];
    out.smpCount[s] = out.sampleCount - out.smpFirst[s];
  }

  /** Fill series s's labels from its contiguous Label entries (see WriteBatch.labels). */
  fill(out: WriteBatch, s: number): void {
    this.b = out.buf;
    this.dv = out.view;
    try {
      this.fillRange(out, out.lblFirst[s], out.lblStart[s], out.lblEnd[s]);
    } finally {
      this.forget();
    }
    out.lblReady[s] = 1;
  }

  /** Fill labels j, j+1, ... from the Label entries in [from, to). */
  private fillRange(out: WriteBatch, j: number, from: number, to: number): void {
    const pos = this.pos;
    this.pos = from;
    while (this.pos < to) {
      const at = this.pos;
      this.varint(to);
      const len = this.varint(to);
      this.pos = this.label(at, this.pos + len, out.lbl, LabelInt.Count * j++);
    }
    this.pos = pos;
  }

  /**
   * Check the Label message at this.pos (entry from entryStart to end, tag and length
   * included) and, when o >= 0, write its LabelInt ints at l[o]. Returns `end`.
   */
  private label(entryStart: number, end: number, l: Int32Array, o: number): number {
    let ns = 0, ne = 0, vs = 0, ve = 0; // prettier-ignore
    // Fast path, what every sender writes: name then value, each shorter than 128 bytes.
    const b = this.b;
    const p = this.pos;
    if (b[p] === 0x0a && b[p + 1] < 0x80) {
      const q = p + 2 + b[p + 1];
      if (b[q] === 0x12 && b[q + 1] < 0x80 && q + 2 + b[q + 1] === end) {
        if (o < 0) return end;
        l[o + LabelInt.NameStart] = p + 2;
        l[o + LabelInt.NameEnd] = q;
        l[o + LabelInt.ValueStart] = q + 2;
        l[o + LabelInt.ValueEnd] = end;
        l[o + LabelInt.EntryStart] = entryStart;
        l[o + LabelInt.EntryEnd] = end;
        return end;
      }
    }
    while (this.pos < end) {
      const key = this.varint(end);
      const wt = key & 7;
      const field = key >>> 3;
      if (wt === 2 && (field === 1 || field === 2)) {
        const len = this.varint(end);
        const start = this.pos;
        const stop = start + len;
        if (stop > end) throw new DecodeError('ANOM_DECODE_PROTOBUF', 'protobuf: label string overruns its Label');
        if (field === 1) {
          ns = start;
          ne = stop;
        } else {
          vs = start;
          ve = stop;
        }
        this.pos = stop;
      } else {
        if (field === 0 || field <= 2) throw new DecodeError('ANOM_DECODE_PROTOBUF', `protobuf: Label field ${field} has wire type ${wt}`);
        this.skip(wt, end);
      }
    }
    if (o < 0) return end;
    l[o + LabelInt.NameStart] = ns;
    l[o + LabelInt.NameEnd] = ne;
    l[o + LabelInt.ValueStart] = vs;
    l[o + LabelInt.ValueEnd] = ve;
    l[o + LabelInt.EntryStart] = entryStart;
    l[o + LabelInt.EntryEnd] = end;
    return end;
  }

  /**
   * The Sample every sender writes today, 16 bytes at p: tag 0x09 and the double, tag 0x10 and a
   * millisecond timestamp of 6 varint bytes (2^35 ms is 1971, 2^42 ms is 2109). Straight-line
   * reads, small enough for V8 to inline into timeSeries' loop; false (nothing written) for any
   * other layout, a full column, or a stale marker: sample() reads those.
   */
  private sample16(p: number, out: WriteBatch): boolean {
    const b = this.b;
    const i = out.sampleCount;
    if (b[p] !== 0x09 || b[p + 9] !== 0x10 || i >= out.value.length || i >= this.maxSamples) return false;
    const t0 = b[p + 10], t1 = b[p + 11], t2 = b[p + 12], t3 = b[p + 13], t4 = b[p + 14], t5 = b[p + 15]; // prettier-ignore
    if ((t0 & t1 & t2 & t3 & t4) < 0x80 || t5 >= 0x80) return false;
    const v = this.dv.getFloat64(p + 1, true);
    if (v !== v) return false;
    out.sampleCount = i + 1;
    out.value[i] = v;
    out.ts[i] = ((t0 & 0x7f) | ((t1 & 0x7f) << 7) | ((t2 & 0x7f) << 14) | ((t3 & 0x7f) << 21)) + ((t4 & 0x7f) | (t5 << 7)) * 0x10000000;
    out.stale[i] = 0;
    this.pos = p + 16;
    return true;
  }

  private sample(end: number, out: WriteBatch): void {
    const i = out.sampleCount++;
    if (i >= out.value.length || i >= this.maxSamples) {
      if (i >= this.maxSamples) throw new DecodeError('ANOM_DECODE_LIMIT', `more than ${this.maxSamples} samples in one request (limits.max_samples_per_request)`);
      take(out, (grownLength(out.value.length, i + 1) - out.value.length) * SAMPLE_BYTES);
      out.value = grown(out.value, i + 1);
      out.ts = grown(out.ts, i + 1);
      out.stale = grown(out.stale, i + 1);
    }
    let v = 0;
    let t = 0;
    let stale = 0;
    const p = this.pos;
    const b = this.b;
    if (b[p] === 0x09 && b[p + 9] === 0x10 && p + 11 <= end) {
      // Fast path: value, then a timestamp varint that ends the Sample (read here, in locals).
      let q = p + 10;
      let c = b[q++];
      t = c & 0x7f;
      for (let mul = 128; c >= 0x80 && q < end; mul *= 128) {
        c = b[q++];
        t += (c & 0x7f) * mul;
      }
      if (c < 0x80 && q === end && t < TWO_53) {
        this.pos = end;
        v = this.dv.getFloat64(p + 1, true);
        stale = v !== v && this.dv.getUint32(p + 5, true) === 0x7ff00000 && this.dv.getUint32(p + 1, true) === 2 ? 1 : 0;
        out.value[i] = v;
        out.ts[i] = t;
        out.stale[i] = stale;
        out.staleCount += stale;
        return;
      }
      this.pos = p;
      t = 0;
    }
    while (this.pos < end) {
      const key = this.b[this.pos++];
      if (key === 0x09) {
        if (this.pos + 8 > end) throw new DecodeError('ANOM_DECODE_PROTOBUF', 'protobuf: truncated sample value');
        v = this.dv.getFloat64(this.pos, true);
        stale = v !== v && this.dv.getUint32(this.pos + 4, true) === 0x7ff00000 && this.dv.getUint32(this.pos, true) === 2 ? 1 : 0;
        this.pos += 8;
      } else if (key === 0x10) {
        const at = this.pos;
        t = this.varint(end);
        if (t >= TWO_53) t = this.int64Slow(at); // negative or beyond double precision: rare
      } else {
        this.pos--;
        const k = this.varint(end);
        if (k >>> 3 === 1 || k >>> 3 === 2 || k < 8) throw new DecodeError('ANOM_DECODE_PROTOBUF', `protobuf: Sample field ${k >>> 3} has wire type ${k & 7}`);
        this.skip(k & 7, end);
      }
    }
    out.value[i] = v;
    out.ts[i] = t;
    out.stale[i] = stale;
    out.staleCount += stale;
  }

  /** The int64 varint at `at` (already validated by varint()), exactly, as a double. */
  private int64Slow(at: number): number {
    let r = 0n;
    let shift = 0n;
    for (let p = at; ; p++, shift += 7n) {
      const c = this.b[p];
      r |= BigInt(c & 0x7f) << shift;
      if (c < 0x80) break;
    }
    return Number(BigInt.asIntN(64, r));
  }

  /** Unsigned varint up to 64 bits as a double (exact below 2^53). */
  private varint(end: number): number {
    const b = this.b;
    let p = this.pos;
    if (p >= end) throw new DecodeError('ANOM_DECODE_PROTOBUF', 'protobuf: truncated varint');
    let c = b[p++];
    if (c < 0x80) {
      this.pos = p;
      return c;
    }
    let r = c & 0x7f;
    let mul = 128;
    for (let i = 1; i < 10; i++) {
      if (p >= end) throw new DecodeError('ANOM_DECODE_PROTOBUF', 'protobuf: truncated varint');
      c = b[p++];
      r += (c & 0x7f) * mul;
      if (c < 0x80) {
        this.pos = p;
        return r;
      }
      mul *= 128;
    }
    throw new DecodeError('ANOM_DECODE_PROTOBUF', 'protobuf: varint longer than 10 bytes');
  }

  private skip(wt: number, end: number): void {
    switch (wt) {
      case 0:
        this.varint(end);
        return;
      case 1:
        this.pos += 8;
        break;
      case 2: {
        const len = this.varint(end); // read first: `this.pos += this.varint()` would add to the stale pos
        this.pos += len;
        break;
      }
      case 5:
        this.pos += 4;
        break;
      default:
        throw new DecodeError('ANOM_DECODE_PROTOBUF', `protobuf: unsupported wire type ${wt}`);
    }
    if (this.pos > end) throw new DecodeError('ANOM_DECODE_PROTOBUF', 'protobuf: field overruns its message');
  }
}

/** Ask the batch's budget for `bytes` more before a column grows; BudgetError when refused. */
function take(out: WriteBatch, bytes: number): void {
  if (bytes > 0 && !out.reserve(bytes)) throw new BudgetError('ANOM_MEMORY_BUDGET', `server.max_memory_bytes reached: no room for ${bytes} more bytes of decoded columns; retry`);
}

/** Room in `out.lbl` for `labels` labels (asked of the budget first). */
function growLabels(out: WriteBatch, labels: number): void {
  const need = LabelInt.Count * labels;
  if (need <= out.lbl.length) return;
  take(out, (grownLength(out.lbl.length, need) - out.lbl.length) * 4);
  out.lbl = grown(out.lbl, need);
}

/** Fills labels on demand (its own position and buffer, apart from any decode in progress). */
const lazy = new WriteRequestDecoder();
