import { LABEL_INTS, type WriteBatch } from '../ingest/write-request.js';
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
 * Within the first copy of a block, each label entry equal to the same-position entry of the
 * previous input series (scrape data repeats metric, job, instance) is a copy too, and runs of
 * such copies merge into one element. Input label entries are copied from the request's own
 * bytes (no re-encoding); only the `source_metric` entry is built. Nothing is allocated per
 * sample. `body()` hands out the encoded request and continues in a fresh buffer (the request
 * may still be in flight while the next one is encoded).
 */
const STALE_HI = 0x7ff00000;
const STALE_LO = 0x00000002;
const HEADER_ROOM = 5; // varint of the uncompressed length, written last, right-aligned
const MAX_LITERAL = 65536;
/** Metric names given an id (see plan()); later new names are compared byte by byte instead. */
const MAX_NAMES = 100_000;
const MIN_BUFFER = 1 << 16;
/** Recycled output buffers kept (one per generated request in flight is enough). */
const MAX_SPARE = 16;

export class GeneratedEncoder {
  private out: Uint8Array = uninitialised(MIN_BUFFER);
  /** Buffers of bodies already sent, for reuse. */
  private readonly spare: Uint8Array[] = [];
  private dv = new DataView(this.out.buffer, this.out.byteOffset, this.out.byteLength);
  /** Write position in `out`. */
  private o = HEADER_ROOM;
  /** Uncompressed bytes so far. */
  private u = 0;
  /** Position of the open literal's 3-byte header, or -1; bytes in it so far. */
  private litHdr = -1;
  private litLen = 0;
  /** A copy not yet emitted (runs of copies with the same distance merge), its distance and length. */
  private copyDist = 0;
  private copyLen = 0;
  /** Per prefix id: uncompressed position where it was last written, or -1. */
  private prefixU: Float64Array;

  // The current input series' block: entries (label index into the batch, -1 for source_metric) and lengths.
  private b: Uint8Array = new Uint8Array(0);
  private bv: DataView = new DataView(new ArrayBuffer(0));
  private lbl: Int32Array = new Int32Array(0);
  private ent: Int32Array = new Int32Array(64);
  private entLen: Int32Array = new Int32Array(64);
  private entPos: Float64Array = new Float64Array(64);
  private ents = 0;
  private nameJ = -1;
  private blockLen = 0;
  /** Uncompressed position where the current block was first written, or -1. */
  private blockU = -1;
  // The previous input series' block in this request (same layout); prevEnts = -1: none.
  private pEnt: Int32Array = new Int32Array(64);
  private pEntLen: Int32Array = new Int32Array(64);
  private pEntPos: Float64Array = new Float64Array(64);
  private prevEnts = -1;
  private prevNameJ = -1;
  /**
   * Simple layout (see simpleLayout()): the block is the source_metric entry (srcLen bytes)
   * then the input's entries after __name__, [restStart, restStart + restLen) of the request.
   */
  private simple = false;
  private srcLen = 0;
  private nameStart = 0;
  private nameLen = 0;
  private restStart = 0;
  private restLen = 0;
  /** The previous input series had the simple layout: its name value's start and length, where its source entry was written. */
  private pSimple = false;
  private pNameStart = 0;
  private pNameLen = 0;
  private pSrcU = 0;
  private pRestStart = 0;
  private pRestLen = 0;
  private pRestU = 0;
  /** Series id of the current and of the previous simple-layout series (-1: none). */
  private id = -1;
  private pId = -1;
  /**
   * Per series id, decided by plan() when the id is given to a series (its label bytes, hence
   * all of this, never change while it has the id): 1 when it has the simple layout; the id of
   * its metric name (-1: none); `gen` counts the series an id has had. And, filled on first
   * use, the length of the common start of its rest with the rest of the series before it in
   * the request (`prevOf`, as of `prevGen`): scrapes send series in the same order each time,
   * so this is computed once per series, not per sample.
   */
  private simpleOf = new Uint8Array(1024);
  private nameOf = new Int32Array(1024);
  private genOf = new Int32Array(1024);
  private prevOf = new Int32Array(1024);
  private prevGen = new Int32Array(1024);
  private commonOf = new Int32Array(1024);
  /**
   * Metric names seen (name -> id, at most MAX_NAMES) and, per name id, where its source entry
   * was last written (`nameBody`: in which output body; any earlier position of this body is a
   * valid copy source, whichever request it came from).
   * Scrape data repeats each metric name once per target, so most source entries that do not
   * follow the same name are copies instead of ~40 literal bytes.
   */
  private readonly names = new Map<string, number>();
  private nameU = new Float64Array(1024);
  private nameBody = new Int32Array(1024);
  private bodyNo = 1;
  private readonly utf8 = new TextDecoder();

  /** Timestamp varints of the current series (tsEnd[i]: end of sample i's bytes), their count, the Sample entries' total size. */
  private tsEnc = new Uint8Array(2560);
  private tsEnd = new Int32Array(257);
  private tsN = 0;
  private samplesLen = 0;
  /** The timestamp encoded in tsEnc when it holds exactly one (else NaN). */
  private lastTs = NaN;
  series = 0;
  samples = 0;
  /** Replaced label names as bytes, checked per input label when a block is planned. */
  private readonly replaced: Uint8Array[];
  /** Bit k set: some replaced name has k bytes (names of 32+ bytes are always compared). */
  private replacedLengths = 0;
  private readonly sourceName = new TextEncoder().encode(SOURCE_METRIC_LABEL);
  /** Label-entry bytes of source_metric up to its value's length: name tag, name length, name, value tag. */
  private readonly sourceKey = Uint8Array.from([0x0a, this.sourceName.length, ...this.sourceName, 0x12]);
  private readonly sourceKeyView = new DataView(this.sourceKey.buffer);

  constructor(replacedNames: string[], prefixCount: number) {
    const te = new TextEncoder();
    this.replaced = replacedNames.map((n) => te.encode(n));
    for (const n of this.replaced) this.replacedLengths |= n.length < 32 ? 1 << n.length : 0;
    this.prefixU = new Float64Array(prefixCount).fill(-1);
  }

  reset(): void {
    this.o = HEADER_ROOM;
    this.u = 0;
    this.litHdr = -1;
    this.litLen = 0;
    this.copyLen = 0;
    this.blockU = -1;
    this.prevEnts = -1;
    this.pSimple = false;
    this.bodyNo++;
    this.prefixU.fill(-1);
    this.series = 0;
    this.samples = 0;
  }

  /**
   * The series that follow come from another request's buffer: they are not compared with the
   * previous request's last series (its bytes may be gone). Copies of what was already written
   * to this output stay valid.
   */
  newBatch(): void {
    this.prevEnts = -1;
    this.pSimple = false;
    this.blockU = -1;
  }

  /** Uncompressed size of the WriteRequest so far. */
  get rawLength(): number {
    return this.u;
  }

  /** The snappy-compressed WriteRequest; the encoder continues in a new buffer. */
  body(): Uint8Array {
    this.flushCopy();
    this.closeLiteral();
    const n = this.u;
    let len = 1;
    for (let x = n; x >= 128; x = Math.floor(x / 128)) len++;
    const start = HEADER_ROOM - len;
    writeVarint(this.out, start, n);
    const body = this.out.subarray(start, this.o);
    // Continue in a recycled buffer, or a new one (no zero-fill: every byte is written before use).
    this.out = this.spare.pop() ?? uninitialised(this.out.length);
    this.dv = new DataView(this.out.buffer, this.out.byteOffset, this.out.byteLength);
    return body;
  }

  /** Give back a body() once it has been sent, so its buffer is reused (steady state: no allocation). */
  recycle(body: Uint8Array): void {
    // Our buffers are >= 64 KiB, so never slices of Node's shared Buffer pool: the whole
    // ArrayBuffer is ours.
    if (this.spare.length < MAX_SPARE && body.buffer.byteLength >= MIN_BUFFER) this.spare.push(new Uint8Array(body.buffer));
  }

  /**
   * Series `s` has the simple layout: Label entries contiguous on the wire, `__name__` first, no
   * other label replaced by the generated ones. Its block is then the source_metric entry plus
   * one byte range of the request, planned without looking at the labels. The answer depends
   * only on the series' label bytes, so a caller may keep it per series (the pipeline does).
   */
  simpleLayout(batch: WriteBatch, s: number): boolean {
    batch.labels(s);
    const b = batch.buf;
    const l = batch.lbl;
    const first = batch.lblFirst[s];
    const last = first + batch.lblCount[s];
    if (batch.lblStart[s] < 0 || last === first) return false;
    if (l[LABEL_INTS * first + 1] - l[LABEL_INTS * first] !== 8 || !isName(b, l[LABEL_INTS * first])) return false;
    for (let j = first + 1; j < last; j++) if (this.isReplaced(b, l[LABEL_INTS * j], l[LABEL_INTS * j + 1])) return false;
    return true;
  }

  /**
   * Series `s` of `batch` has just been given series id `id`: decide its block plan (the simple
   * one only when `allowSimple`, which tests turn off to compare both plans).
   */
  plan(batch: WriteBatch, s: number, id: number, allowSimple = true): void {
    if (id >= this.simpleOf.length) this.growIds(Math.max(id + 1, 2 * this.simpleOf.length));
    const simple = allowSimple && this.simpleLayout(batch, s);
    this.simpleOf[id] = simple ? 1 : 0;
    this.genOf[id]++;
    this.prevOf[id] = -1;
    this.nameOf[id] = -1;
    if (!simple) return;
    const j = LABEL_INTS * batch.lblFirst[s];
    const name = this.utf8.decode(batch.buf.subarray(batch.lbl[j + 2], batch.lbl[j + 3]));
    let n = this.names.get(name);
    if (n === undefined && this.names.size < MAX_NAMES) {
      n = this.names.size;
      this.names.set(name, n);
      if (n >= this.nameU.length) {
        this.nameU = resized(this.nameU, 2 * n);
        this.nameBody = resized(this.nameBody, 2 * n);
      }
    }
    this.nameOf[id] = n ?? -1;
  }

  private growIds(n: number): void {
    this.simpleOf = resized(this.simpleOf, n);
    this.nameOf = resized(this.nameOf, n);
    this.genOf = resized(this.genOf, n);
    this.prevOf = resized(this.prevOf, n);
    this.prevGen = resized(this.prevGen, n);
    this.commonOf = resized(this.commonOf, n);
  }

  /** Plan the label block of input series `s` (series id `id`, see plan()) for the generated series that follow. */
  beginSeries(batch: WriteBatch, s: number, id: number): void {
    const b = batch.buf;
    this.b = b;
    this.bv = batch.view;
    this.blockU = -1;
    this.id = id;
    const simple = this.simpleOf[id] === 1;
    this.simple = simple;
    if (simple) {
      // The __name__ entry at the start: its value's range and the entry's end, read straight
      // from the bytes when it has the usual shape (0a len 0a 08 "__name__" 12 vlen value).
      const at = batch.lblStart[s];
      let vs: number, ve: number;
      if (b[at + 1] < 0x80 && b[at + 2] === 0x0a && b[at + 3] === 8 && b[at + 12] === 0x12 && b[at + 13] < 0x80 && 12 + b[at + 13] === b[at + 1]) {
        vs = at + 14;
        ve = vs + b[at + 13];
      } else {
        batch.labels(s); // an unusual __name__ entry (e.g. a name of 116+ bytes): rare
        const o = LABEL_INTS * batch.lblFirst[s];
        vs = batch.lbl[o + 2];
        ve = batch.lbl[o + 3];
      }
      const vl = ve - vs;
      const inner = this.sourceKey.length + varintLen(vl) + vl;
      this.nameStart = vs;
      this.nameLen = vl;
      this.srcLen = 1 + varintLen(inner) + inner;
      this.restStart = ve;
      this.restLen = batch.lblEnd[s] - ve;
      this.blockLen = this.srcLen + this.restLen;
      return;
    }
    batch.labels(s);
    const l = batch.lbl;
    this.lbl = l;
    const first = batch.lblFirst[s];
    this.nameJ = -1;
    const last = first + batch.lblCount[s];
    if (last - first + 1 > this.ent.length) this.growEntries(2 * (last - first + 1));
    let n = 0;
    let len = 0;
    for (let j = first; j < last; j++) {
      const o = LABEL_INTS * j;
      const ns = l[o];
      const ne = l[o + 1];
      if (ne - ns === 8 && isName(b, ns)) {
        // The input's metric name becomes the source_metric entry, first in the block.
        this.nameJ = j;
        const vl = l[o + 3] - l[o + 2];
        const inner = 2 + this.sourceName.length + 1 + varintLen(vl) + vl;
        const el = 1 + varintLen(inner) + inner;
        this.shiftIn(n);
        this.ent[0] = -1;
        this.entLen[0] = el;
        n++;
        len += el;
        continue;
      }
      if (this.isReplaced(b, ns, ne)) continue;
      this.ent[n] = j;
      this.entLen[n] = l[o + 5] - l[o + 4];
      len += this.entLen[n];
      n++;
    }
    this.ents = n;
    this.blockLen = len;
  }

  /** Make room at entry 0 (source_metric goes first even when __name__ is not the first label). */
  private shiftIn(n: number): void {
    for (let i = n; i > 0; i--) {
      this.ent[i] = this.ent[i - 1];
      this.entLen[i] = this.entLen[i - 1];
    }
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
    if (n === 1 && ts[0] === this.lastTs) {
      // One sample at the same time as the previous series' (a scrape): bytes already there.
      this.tsN = 1;
      return;
    }
    let p = 0;
    for (let i = 0; i < n; i++) {
      p = writeVarint(this.tsEnc, p, ts[i]);
      this.tsEnd[i] = p;
    }
    this.tsN = n;
    this.lastTs = n === 1 ? ts[0] : NaN;
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
    const pu = this.prefixU[prefixId];
    if (n === 1 && pu >= 0 && this.blockU >= 0 && this.copyLen === 0 && this.litHdr >= 0) {
      this.writeRepeat(prefixId, prefix.length, pu, val[0]);
      return;
    }
    const msgLen = prefix.length + this.blockLen + this.samplesLen;
    // WriteRequest.timeseries tag + length
    this.literal(6);
    this.out[this.o] = 0x0a;
    this.advance(writeVarint(this.out, this.o + 1, msgLen));
    // Labels: the prefix, then the block, each copied from its last occurrence when there is one.
    this.prefixU[prefixId] = this.u;
    if (pu >= 0) this.copy(this.u - pu, prefix.length);
    else this.literalBytes(prefix, 0, prefix.length);
    const bu = this.blockU;
    this.blockU = this.u;
    if (bu >= 0) this.copy(this.u - bu, this.blockLen);
    else if (this.simple) this.firstSimple();
    else this.firstBlock();
    const te = this.tsEnc;
    let ts = 0;
    for (let i = 0; i < n; i++) {
      const tEnd = this.tsEnd[i];
      this.literal(12 + tEnd - ts);
      this.advance(this.sample(this.o, val[i], te, ts, tEnd));
      ts = tEnd;
    }
    this.series++;
    this.samples += n;
  }

  /**
   * One Sample entry at p (value, then the timestamp varint te[from..to)); returns its end.
   * A NaN value only ever means "stale" here: it is written as the exact stale-marker bits.
   */
  private sample(p: number, v: number, te: Uint8Array, from: number, to: number): number {
    const out = this.out;
    out[p++] = 0x12; // TimeSeries.samples
    out[p++] = 10 + to - from;
    out[p++] = 0x09; // Sample.value (double)
    if (v !== v) {
      this.dv.setUint32(p, STALE_LO, true);
      this.dv.setUint32(p + 4, STALE_HI, true);
    } else this.dv.setFloat64(p, v, true);
    p += 8;
    out[p++] = 0x10; // Sample.timestamp
    for (let i = from; i < to; i++) out[p++] = te[i];
    return p;
  }

  /**
   * writeSeries' common case, straight-line: one sample, prefix and block both written before,
   * a literal open (the previous series' sample). Emits: the header into that literal, closes
   * it, a copy of the prefix, a copy of the block, a new literal with the sample.
   */
  private writeRepeat(prefixId: number, prefixLen: number, pu: number, v: number): void {
    const blockLen = this.blockLen;
    const msgLen = prefixLen + blockLen + this.samplesLen;
    const tEnd = this.tsEnd[0];
    this.ensure(6 + 5 + 5 * ((blockLen + 63) >>> 6) + 5 + 3 + 12 + tEnd);
    const out = this.out;
    // Header, appended to the open literal (or a new one when it is full).
    if (this.litLen + 6 > MAX_LITERAL) {
      this.closeLiteral();
      this.litHdr = this.o;
      this.o += 3;
      this.litLen = 0;
    }
    let p = this.o;
    const h = p;
    out[p++] = 0x0a; // WriteRequest.timeseries
    p = writeVarint(out, p, msgLen);
    this.litLen += p - h;
    this.u += p - h;
    this.o = p;
    this.closeLiteral();
    p = this.o;
    // Prefix and block: copies.
    this.prefixU[prefixId] = this.u;
    p = copyElements(out, p, this.u - pu, prefixLen);
    this.u += prefixLen;
    const bu = this.blockU;
    this.blockU = this.u;
    p = copyElements(out, p, this.u - bu, blockLen);
    this.u += blockLen;
    // The sample, in a new literal.
    this.litHdr = p;
    p += 3;
    const s0 = p;
    p = this.sample(p, v, this.tsEnc, 0, tEnd);
    this.litLen = p - s0;
    this.u += p - s0;
    this.o = p;
    this.series++;
    this.samples++;
  }

  /**
   * First write of a simple-layout block: the source_metric entry (a copy when the previous
   * series had the same metric name, as consecutive series of a scrape mostly do), then the
   * other label entries as one literal straight from the request bytes.
   */
  private firstSimple(): void {
    const at = this.u;
    const id = this.id;
    const nid = this.nameOf[id];
    if (this.pSimple && (nid >= 0 ? nid === this.nameOf[this.pId] : this.sameName())) this.copy(at - this.pSrcU, this.srcLen);
    else if (nid >= 0 && this.nameBody[nid] === this.bodyNo) this.copy(at - this.nameU[nid], this.srcLen);
    else this.sourceEntry(this.srcLen, this.nameStart, this.nameLen);
    if (nid >= 0) {
      this.nameBody[nid] = this.bodyNo;
      this.nameU[nid] = at;
    }
    let common = 0;
    if (this.pSimple) {
      const p = this.pId;
      if (this.prevOf[id] === p && this.prevGen[id] === this.genOf[p]) common = this.commonOf[id];
      else {
        common = this.commonRest();
        this.prevOf[id] = p;
        this.prevGen[id] = this.genOf[p];
        this.commonOf[id] = common;
      }
    }
    if (common > 0) this.copy(this.u - this.pRestU, common);
    const rest = this.restLen - common;
    if (rest <= 4096) this.literalFromRequest(this.restStart + common, rest);
    else this.literalBytes(this.b, this.restStart + common, rest);
    this.simpleWritten(at);
  }

  /** The current series' metric name equals the previous simple-layout series' (names without an id: compared)? */
  private sameName(): boolean {
    return this.pNameLen === this.nameLen && same(this.b, this.bv, this.nameStart, this.pNameStart, this.nameLen);
  }

  /**
   * Bytes the rest of the labels shares at its start with the previous simple-layout series'
   * rest (byte-wise, so `instance` and `job` after a changing `cpu` value still count); 0 when
   * fewer than 4 (not worth a copy element).
   */
  private commonRest(): number {
    const b = this.b;
    const bv = this.bv;
    const from = this.restStart;
    const pf = this.pRestStart;
    const max = Math.min(this.restLen, this.pRestLen);
    let common = 0;
    while (common + 4 <= max && bv.getInt32(from + common) === bv.getInt32(pf + common)) common += 4;
    while (common < max && b[from + common] === b[pf + common]) common++;
    return common >= 4 ? common : 0;
  }

  /** The block just written at uncompressed position `at` is the previous one for the next series. */
  private simpleWritten(at: number): void {
    this.pSimple = true;
    this.pId = this.id;
    this.pNameStart = this.nameStart;
    this.pNameLen = this.nameLen;
    this.pSrcU = at;
    this.pRestStart = this.restStart;
    this.pRestLen = this.restLen;
    this.pRestU = at + this.srcLen;
    this.prevEnts = -1;
  }

  /**
   * First write of this series' block: entries equal to the same-position entry of the
   * previous input series become copies of it; the others are copied from the request bytes.
   */
  private firstBlock(): void {
    const b = this.b;
    const l = this.lbl;
    const hasPrev = this.prevEnts >= 0;
    for (let i = 0; i < this.ents; i++) {
      const j = this.ent[i];
      const len = this.entLen[i];
      this.entPos[i] = this.u;
      if (hasPrev && i < this.prevEnts && this.pEntLen[i] === len && this.sameEntry(j, this.pEnt[i], len)) {
        this.copy(this.u - this.pEntPos[i], len);
      } else if (j >= 0) {
        this.literalBytes(b, l[LABEL_INTS * j + 4], len);
      } else {
        const vs = l[LABEL_INTS * this.nameJ + 2]; // the input's __name__ value
        this.sourceEntry(len, vs, l[LABEL_INTS * this.nameJ + 3] - vs);
      }
    }
    // This block becomes the previous one (swap, no copying).
    const e = this.pEnt, el = this.pEntLen, ep = this.pEntPos; // prettier-ignore
    this.pEnt = this.ent;
    this.pEntLen = this.entLen;
    this.pEntPos = this.entPos;
    this.ent = e;
    this.entLen = el;
    this.entPos = ep;
    this.prevEnts = this.ents;
    this.prevNameJ = this.nameJ;
    this.pSimple = false;
  }

  /** Entry j (or the source_metric entry, j = -1) equals the previous series' entry pj? */
  private sameEntry(j: number, pj: number, len: number): boolean {
    const b = this.b;
    const l = this.lbl;
    if (j < 0 || pj < 0) {
      if (j !== pj) return false;
      // Both are source_metric entries: compare the two metric names.
      const a = l[LABEL_INTS * this.nameJ + 2];
      const pa = l[LABEL_INTS * this.prevNameJ + 2];
      const vl = l[LABEL_INTS * this.nameJ + 3] - a;
      return vl === l[LABEL_INTS * this.prevNameJ + 3] - pa && same(b, this.bv, a, pa, vl);
    }
    return same(b, this.bv, l[LABEL_INTS * j + 4], l[LABEL_INTS * pj + 4], len);
  }

  /** Literal source_metric="<value at b[vs..vs+vl)>" entry of `len` bytes. */
  private sourceEntry(len: number, vs: number, vl: number): void {
    this.literal(len);
    this.advance(this.writeSource(this.o, vs, vl));
  }

  /** The source_metric entry's bytes at p (value: request bytes [vs, vs + vl)); returns the end. */
  private writeSource(p: number, vs: number, vl: number): number {
    const out = this.out;
    const dv = this.dv;
    const key = this.sourceKey;
    const kv = this.sourceKeyView;
    out[p++] = 0x0a;
    p = writeVarint(out, p, key.length + varintLen(vl) + vl);
    // The key's bytes (tag, length, "source_metric", value tag), then the value's length and bytes.
    let i = 0;
    for (; i + 4 <= key.length; i += 4) dv.setInt32(p + i, kv.getInt32(i));
    for (; i < key.length; i++) out[p + i] = key[i];
    p = writeVarint(out, p + key.length, vl);
    copyBytes(out, dv, p, this.b, this.bv, vs, vl);
    return p + vl;
  }

  /** Make room for `n` (<= MAX_LITERAL) more literal bytes at this.o; the caller writes them, then advance(). */
  private literal(n: number): void {
    if (this.copyLen > 0) this.flushCopy();
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
      const chunk = Math.min(end - s, 4096);
      this.literal(chunk);
      const out = this.out;
      let p = this.o;
      if (chunk > 64) {
        out.set(src.subarray(s, s + chunk), p);
        p += chunk;
      } else for (let i = 0; i < chunk; i++) out[p++] = src[s + i];
      this.advance(p);
      s += chunk;
    }
  }

  /** `len` (<= 4096) request bytes from `from` as literal bytes, four at a time, nothing allocated. */
  private literalFromRequest(from: number, len: number): void {
    this.literal(len);
    copyBytes(this.out, this.dv, this.o, this.b, this.bv, from, len);
    this.advance(this.o + len);
  }

  private closeLiteral(): void {
    if (this.litHdr < 0) return;
    if (this.litLen === 0) this.o = this.litHdr; // nothing was written into it
    else closeLit(this.out, this.litHdr, this.litLen);
    this.litHdr = -1;
    this.litLen = 0;
  }

  /** Copy `len` bytes from `dist` bytes back in the uncompressed stream (merged with a pending copy when contiguous). */
  private copy(dist: number, len: number): void {
    if (this.copyLen > 0) {
      if (dist === this.copyDist) {
        this.copyLen += len;
        this.u += len;
        return;
      }
      this.flushCopy();
    }
    this.closeLiteral();
    this.copyDist = dist;
    this.copyLen = len;
    this.u += len;
  }

  /** Emit the pending copy as snappy copy elements of at most 64 bytes. */
  private flushCopy(): void {
    const len = this.copyLen;
    if (len === 0) return;
    this.ensure(5 + ((len + 63) >>> 6) * 5);
    this.o = copyElements(this.out, this.o, this.copyDist, len);
    this.copyLen = 0;
  }


  private isReplaced(b: Uint8Array, ns: number, ne: number): boolean {
    const len = ne - ns;
    if (len < 32 && ((this.replacedLengths >>> len) & 1) === 0) return false; // no replaced name this long
    const r = this.replaced;
    outer: for (let k = 0; k < r.length; k++) {
      const name = r[k];
      if (name.length !== ne - ns) continue;
      for (let i = 0; i < name.length; i++) if (name[i] !== b[ns + i]) continue outer;
      return true;
    }
    return false;
  }

  private growEntries(n: number): void {
    this.ent = resized(this.ent, n);
    this.entLen = resized(this.entLen, n);
    this.entPos = resized(this.entPos, n);
    this.pEnt = resized(this.pEnt, n);
    this.pEntLen = resized(this.pEntLen, n);
    this.pEntPos = resized(this.pEntPos, n);
  }

  private ensure(extra: number): void {
    if (this.o + extra <= this.out.length) return;
    const nb = uninitialised(Math.max(this.o + extra, this.out.length * 2));
    nb.set(this.out.subarray(0, this.o));
    this.out = nb;
    this.dv = new DataView(nb.buffer, nb.byteOffset, nb.byteLength);
  }
}

/**
 * A plain Uint8Array of n (>= 4 KiB, so never a slice of Node's Buffer pool) bytes, not
 * zero-filled. Every buffer the encoder writes is a plain Uint8Array: a Buffer among them
 * would give each write site two object shapes to handle (measured: deoptimised, then
 * polymorphic).
 */
function uninitialised(n: number): Uint8Array {
  const b = Buffer.allocUnsafe(n);
  return new Uint8Array(b.buffer, b.byteOffset, n);
}

/** A copy of `a` with room for `n` elements (n >= a.length). */
function resized<T extends Uint8Array | Int32Array | Float64Array>(a: T, n: number): T {
  const x = new (a.constructor as new (n: number) => T)(n);
  x.set(a);
  return x;
}

/** The 3-byte header of a literal of `len` (1..65536) bytes at h. */
function closeLit(out: Uint8Array, h: number, len: number): void {
  out[h] = 61 << 2;
  out[h + 1] = (len - 1) & 0xff;
  out[h + 2] = (len - 1) >>> 8;
}

/** src[from..from+len) to out[p..), four bytes at a time through the DataViews over each. */
function copyBytes(out: Uint8Array, ov: DataView, p: number, src: Uint8Array, sv: DataView, from: number, len: number): void {
  let i = 0;
  for (; i + 4 <= len; i += 4) ov.setInt32(p + i, sv.getInt32(from + i));
  for (; i < len; i++) out[p + i] = src[from + i];
}

/** Snappy copy elements for `len` bytes at distance `dist`, written at p; returns the new end. */
function copyElements(out: Uint8Array, p: number, dist: number, len: number): number {
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

/** b[x..x+len) == b[y..y+len)? Four bytes at a time through `v` (a DataView over b). */
function same(b: Uint8Array, v: DataView, x: number, y: number, len: number): boolean {
  let i = 0;
  for (; i + 4 <= len; i += 4) if (v.getInt32(x + i) !== v.getInt32(y + i)) return false;
  for (; i < len; i++) if (b[x + i] !== b[y + i]) return false;
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
  if (n >= 0x10000000) {
    // Above 28 bits (timestamps): emit the low 28 bits with integer ops, then the rest.
    const lo = n % 0x10000000;
    b[p++] = (lo & 0x7f) | 0x80;
    b[p++] = ((lo >>> 7) & 0x7f) | 0x80;
    b[p++] = ((lo >>> 14) & 0x7f) | 0x80;
    b[p++] = ((lo >>> 21) & 0x7f) | 0x80;
    n = (n - lo) / 0x10000000;
    while (n >= 128) {
      b[p++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    b[p++] = n;
    return p;
  }
  while (n >= 128) {
    b[p++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  b[p++] = n;
  return p;
}
