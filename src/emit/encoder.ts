import { LabelInt, WriteBatch } from '../ingest/write-request.js';
import { copyBytes, sameBytes } from '../wire/bytes.js';
import { grown } from '../wire/grow.js';
import { MAX_LITERAL, SnappyWriter, copyElements } from '../wire/snappy-writer.js';
import { varintLen, writeVarint } from '../wire/varint.js';
import { SOURCE_METRIC_LABEL } from './format.js';
import { BlockPlans, isName } from './plans.js';
import { ChunkMemo, MAX_CHUNK, MAX_OUTPUTS } from './chunks.js';

/** Prometheus' stale marker: the NaN with bits 0x7ff0000000000002 (high and low 32-bit words). */
const STALE_HI = 0x7ff00000;
const STALE_LO = 0x00000002;
/** Bytes of a memo page copied at once by fromMemo, least and most (chunks of 4 outputs: ~120 bytes). */
const RUN_MIN = 256;
const RUN_MAX = 16384;

/**
 * Builds the generated series' WriteRequest, already snappy-compressed, in one pass: the
 * protobuf layout is written through a SnappyWriter, and what repeats is written as copies.
 *
 * Generated data is repetitive by construction: each input series yields 4-5 output series
 * that share its label block, and each output variable's label prefix (`__name__`, `for`, ...)
 * repeats in every input series. Instead of writing the protobuf and then searching it for
 * repeats (snappyjs spends more CPU on that than everything else in the pipeline together),
 * the encoder knows where it wrote them and emits copies pointing back there. The result is a
 * valid snappy block at memcpy cost, about as small as a general compressor makes it.
 *
 * An output series is: a prefix (the metric_format labels of one output variable, encoded once
 * at start-up, see format.ts), the input series' *block* (its labels, `__name__` replaced by
 * `source_metric`, labels the prefix replaces left out), then its samples. A block is planned
 * per input series (BlockPlans, decided once per series id):
 *  - simple plan: the source_metric entry, then the rest of the input's Label entries as one
 *    byte range of the request; the common start and the common end of that range with the
 *    previous series' are copies of it (worked out once per pair of neighbours);
 *  - general plan: entry by entry; an entry equal to the same-position entry of the previous
 *    input series is a copy of it (scrape data repeats metric, job, instance).
 * Input label entries are copied from the request's own bytes (no re-encoding); only the
 * `source_metric` entry is built. Nothing is allocated per sample.
 *
 * The common case, one sample per input series per request, goes through writeOutputs(): all
 * outputs of the sample at once (its Sample entries timestamp first, so the outputs after the
 * first copy everything but the value from the one before), and the snappy bytes of those
 * outputs kept per series id (ChunkMemo): the next request's sample of the series, after the
 * same series as this time, is that chunk again with the timestamp and values patched in. Series
 * arriving in the order of last time have their chunks one after another in the memo: one native
 * copy writes a run of them (fromMemo), then each is only patched.
 */
export class GeneratedEncoder {
  private readonly w = new SnappyWriter();
  readonly plans: BlockPlans;
  /** Per prefix id: uncompressed position where that prefix was last written, or -1. */
  private readonly prefixAt: Float64Array;
  /** Output bodies begun so far (BlockPlans.nameBody refers to them). */
  private bodyNo = 1;
  /** Output series and samples in the current body. */
  series = 0;
  samples = 0;
  /** Chunks written from the memo (writeOutputs), since the start. */
  memoChunks = 0;

  // The current input series: its request's bytes, and its block's length and where it was first written (-1: not yet).
  private req: Uint8Array = new Uint8Array(0);
  private reqView: DataView = new DataView(new ArrayBuffer(0));
  private blockLen = 0;
  private blockAt = -1;
  /** Series id of the current input series, and of the previous one when it had the simple plan. */
  private id = -1;
  private prevId = -1;

  // General plan: the block's entries (label index into the batch, -1 for source_metric), their lengths and positions written.
  private labelInts: Int32Array = new Int32Array(0);
  private entLabel = new Int32Array(64);
  private entLen = new Int32Array(64);
  private entAt = new Float64Array(64);
  private entCount = 0;
  /** Label index of the input's __name__ (-1: none). */
  private nameLabel = -1;
  // The previous input series' general block in this body (same layout); prevEntCount = -1: none.
  private prevEntLabel = new Int32Array(64);
  private prevEntLen = new Int32Array(64);
  private prevEntAt = new Float64Array(64);
  private prevEntCount = -1;
  private prevNameLabel = -1;

  // Simple plan: the source_metric entry (sourceLen bytes, its value the request's [nameStart, +nameLen)),
  // then the request's [restStart, +restLen).
  private simple = false;
  private sourceLen = 0;
  private nameStart = 0;
  private nameLen = 0;
  private restStart = 0;
  private restLen = 0;
  /** The previous input series had the simple plan: its name value's range, its rest's range, where its source entry and rest were written. */
  private prevSimple = false;
  private prevNameStart = 0;
  private prevNameLen = 0;
  private prevRestStart = 0;
  private prevRestLen = 0;
  private prevSourceAt = 0;
  private prevRestAt = 0;
  /**
   * A simple-plan series' ranges are worked out when needed (planSimple): its batch and index,
   * whether its ranges are (planned), and for the previous series the same (prevS, prevPlanned).
   */
  private batch: WriteBatch = new WriteBatch();
  private s = 0;
  private planned = false;
  private prevS = 0;
  private prevPlanned = false;

  /** Timestamp varints of the current series (tsEnd[i]: end of sample i's bytes), their count, the Sample entries' total size. */
  private tsBytes = new Uint8Array(2560);
  private tsEnd = new Int32Array(257);
  private tsCount = 0;
  private samplesLen = 0;
  /** The timestamp encoded in tsBytes when it holds exactly one (else NaN). */
  private lastTs = NaN;

  /** Chunks of one-sample series kept per series id (writeOutputs). */
  private readonly memo = new ChunkMemo();
  /** The last chunk writeOutputs wrote: its series id and generation, instance (first prefix id), timestamp varint length, uncompressed end (-1: none). */
  private lastId = -1;
  private lastGen = 0;
  private lastInst = -1;
  private lastTl = 0;
  private lastEnd = -1;
  /**
   * The run copy (see fromMemo): the output buffer and memo page it went between, out position
   * minus page position, where it ends in the output; lastMemo: the last chunk written came from
   * the memo (so nothing was written over the run's bytes since).
   */
  private runOut: Uint8Array = new Uint8Array(0);
  private runPage = -1;
  private runDelta = 0;
  private runEnd = 0;
  private runBytes = RUN_MIN;
  private lastMemo = false;
  /** fromMemo's last timestamp (NaN: none) and its 6-byte varint (cacheTs). */
  private tsCached = NaN;
  private tsLow4 = 0;
  private tsHigh2 = 0;
  private readonly tsScratch = new Uint8Array(10);
  /** The last chunk from the memo whose prefixes' positions are not in prefixAt yet (-1: none), where it starts (uncompressed), its prefix ids. */
  private pendId = -1;
  private pendRaw = 0;
  private pendIds: Int32Array = new Int32Array(0);
  /** While a chunk is encoded: where its timestamp, values (per output) and prefixes (uncompressed) went, its far source copy (name id, -1: none; its position). */
  private tsOff = 0;
  private readonly valOff = new Int32Array(MAX_OUTPUTS);
  private readonly preOff = new Float64Array(MAX_OUTPUTS);
  private farName = -1;
  private farAt = 0;

  private readonly sourceName = new TextEncoder().encode(SOURCE_METRIC_LABEL);
  /** Label-entry bytes of source_metric up to its value's length: name tag, name length, name, value tag. */
  private readonly sourceKey = Uint8Array.from([0x0a, this.sourceName.length, ...this.sourceName, 0x12]);
  private readonly sourceKeyView = new DataView(this.sourceKey.buffer);

  /** `replacedNames`: input labels the generated labels replace; `prefixCount`: prefix ids used with writeSeries(). */
  constructor(replacedNames: string[], prefixCount: number) {
    this.plans = new BlockPlans(replacedNames);
    this.prefixAt = new Float64Array(prefixCount).fill(-1);
  }

  /** Start a new body (a new WriteRequest). */
  reset(): void {
    this.w.reset();
    this.blockAt = -1;
    this.prevEntCount = -1;
    this.prevSimple = false;
    this.bodyNo++;
    this.prefixAt.fill(-1);
    this.pendId = -1;
    this.lastEnd = -1;
    this.lastMemo = false;
    this.series = 0;
    this.samples = 0;
  }

  /**
   * The series that follow come from another request's buffer: they are not compared with the
   * previous request's last series (its bytes may be gone). Copies of what was already written
   * to this body stay valid.
   */
  newBatch(): void {
    this.prevEntCount = -1;
    this.prevSimple = false;
    this.blockAt = -1;
  }

  /** Uncompressed size of the WriteRequest so far. */
  get rawLength(): number {
    return this.w.raw;
  }

  /** The snappy-compressed WriteRequest; reset() starts the next one, in a new buffer. */
  body(): Uint8Array {
    return this.w.finish();
  }

  /** Give back a body() once it has been sent, so its buffer is reused (steady state: no allocation). */
  recycle(body: Uint8Array): void {
    this.w.recycle(body);
  }

  /** Series `s` of `batch` has just been given series id `id` (see BlockPlans.plan). */
  plan(batch: WriteBatch, s: number, id: number, allowSimple = true): void {
    this.plans.plan(batch, s, id, allowSimple);
    this.memo.drop(id);
  }

  /** Room for series ids below `ids` in the plans and the chunk memo (a restore: see ScoreSink.reserve()). */
  reserve(ids: number): void {
    this.plans.reserve(ids);
    this.memo.reserve(ids);
  }

  /** Plan the label block of input series `s` (series id `id`, planned) for the generated series that follow. */
  beginSeries(batch: WriteBatch, s: number, id: number): void {
    const b = batch.buf;
    this.req = b;
    this.reqView = batch.view;
    this.blockAt = -1;
    this.id = id;
    const simple = this.plans.simple[id] === 1;
    this.simple = simple;
    if (simple) {
      // Its ranges are worked out when a chunk is encoded (planSimple): a chunk written from the
      // memo does not need them.
      this.batch = batch;
      this.s = s;
      this.planned = false;
      return;
    }
    batch.labels(s);
    const l = batch.lbl;
    this.labelInts = l;
    const first = batch.lblFirst[s];
    this.nameLabel = -1;
    const last = first + batch.lblCount[s];
    if (last - first + 1 > this.entLabel.length) this.growEntries(last - first + 1);
    let n = 0;
    let len = 0;
    for (let j = first; j < last; j++) {
      const o = LabelInt.Count * j;
      const ns = l[o + LabelInt.NameStart];
      const ne = l[o + LabelInt.NameEnd];
      if (ne - ns === 8 && isName(b, ns)) {
        // The input's metric name becomes the source_metric entry, first in the block.
        this.nameLabel = j;
        const vl = l[o + LabelInt.ValueEnd] - l[o + LabelInt.ValueStart];
        const inner = 2 + this.sourceName.length + 1 + varintLen(vl) + vl;
        const el = 1 + varintLen(inner) + inner;
        this.shiftIn(n);
        this.entLabel[0] = -1;
        this.entLen[0] = el;
        n++;
        len += el;
        continue;
      }
      if (this.plans.isReplaced(b, ns, ne)) continue;
      this.entLabel[n] = j;
      this.entLen[n] = l[o + LabelInt.EntryEnd] - l[o + LabelInt.EntryStart];
      len += this.entLen[n];
      n++;
    }
    this.entCount = n;
    this.blockLen = len;
  }

  /**
   * The simple plan's ranges of series `s` of the current batch: the source_metric entry's
   * length, the __name__ value's range, the rest's range; into the current series' fields, or
   * (`prev`) into the previous series' (see prevPlanned).
   */
  private planSimple(s: number, prev: boolean): void {
    const batch = this.batch;
    const b = batch.buf;
    // The __name__ entry at the start: its value's range and the entry's end, read straight
    // from the bytes when it has the usual shape (0a len 0a 08 "__name__" 12 vlen value).
    const at = batch.lblStart[s];
    let vs: number, ve: number;
    if (b[at + 1] < 0x80 && b[at + 2] === 0x0a && b[at + 3] === 8 && b[at + 12] === 0x12 && b[at + 13] < 0x80 && 12 + b[at + 13] === b[at + 1]) {
      vs = at + 14;
      ve = vs + b[at + 13];
    } else {
      batch.labels(s); // an unusual __name__ entry (e.g. a name of 116+ bytes): rare
      const o = LabelInt.Count * batch.lblFirst[s];
      vs = batch.lbl[o + LabelInt.ValueStart];
      ve = batch.lbl[o + LabelInt.ValueEnd];
    }
    const vl = ve - vs;
    const inner = this.sourceKey.length + varintLen(vl) + vl;
    const sourceLen = 1 + varintLen(inner) + inner;
    if (prev) {
      this.prevNameStart = vs;
      this.prevNameLen = vl;
      this.prevRestStart = ve;
      this.prevRestLen = batch.lblEnd[s] - ve;
      this.prevRestAt = this.prevSourceAt + sourceLen;
      this.prevPlanned = true;
      return;
    }
    this.nameStart = vs;
    this.nameLen = vl;
    this.sourceLen = sourceLen;
    this.restStart = ve;
    this.restLen = batch.lblEnd[s] - ve;
    this.blockLen = sourceLen + this.restLen;
    this.planned = true;
  }

  /** Make room at entry 0 (source_metric goes first even when __name__ is not the first label). */
  private shiftIn(n: number): void {
    for (let i = n; i > 0; i--) {
      this.entLabel[i] = this.entLabel[i - 1];
      this.entLen[i] = this.entLen[i - 1];
    }
  }

  /**
   * Timestamps of the generated series that follow (one input series): ts[from..from+n), their
   * varints encoded once here for all of its output variables.
   */
  timestamps(ts: Float64Array, n: number, from = 0): void {
    if (this.tsBytes.length < 10 * n) {
      this.tsBytes = new Uint8Array(10 * n);
      this.tsEnd = new Int32Array(n + 1);
    }
    if (n === 1 && ts[from] === this.lastTs) {
      // One sample at the same time as the previous series' (a scrape): bytes already there.
      this.tsCount = 1;
      return;
    }
    let p = 0;
    for (let i = 0; i < n; i++) {
      p = writeVarint(this.tsBytes, p, ts[from + i]);
      this.tsEnd[i] = p;
    }
    this.tsCount = n;
    this.lastTs = n === 1 ? ts[from] : NaN;
    // Each Sample entry: tag, length (< 128), 0x09 + 8-byte double, 0x10 + timestamp varint.
    this.samplesLen = 12 * n + p;
  }

  /**
   * One generated series: prefix labels (`prefixId` identifies the prefix across calls) + the
   * current block, the samples of the last timestamps() call with values val[from..] (a NaN
   * value is written as the stale marker).
   */
  writeSeries(prefixId: number, prefix: Uint8Array, val: Float64Array, from = 0): void {
    if (this.pendId >= 0) this.settlePrefixes();
    if (this.simple && !this.planned) this.planSimple(this.s, false);
    const w = this.w;
    const n = this.tsCount;
    const pa = this.prefixAt[prefixId];
    if (n === 1 && pa >= 0 && this.blockAt >= 0 && w.inLiteral) {
      this.writeRepeat(prefixId, prefix.length, pa, val[from]);
      return;
    }
    this.head(prefixId, prefix, this.samplesLen);
    const te = this.tsBytes;
    let ts = 0;
    for (let i = 0; i < n; i++) {
      const tEnd = this.tsEnd[i];
      w.literal(12 + tEnd - ts);
      w.advance(this.sample(w.pos, val[from + i], te, ts, tEnd));
      ts = tEnd;
    }
    this.series++;
    this.samples += n;
  }

  /**
   * A TimeSeries entry up to its samples (`samplesLen` bytes, written next by the caller): tag
   * and length, then the labels: the prefix, then the block, each copied from its last
   * occurrence when there is one.
   */
  private head(prefixId: number, prefix: Uint8Array, samplesLen: number): void {
    const w = this.w;
    const pa = this.prefixAt[prefixId];
    w.literal(6);
    w.out[w.pos] = 0x0a; // WriteRequest.timeseries
    w.advance(writeVarint(w.out, w.pos + 1, prefix.length + this.blockLen + samplesLen));
    this.prefixAt[prefixId] = w.raw;
    if (pa >= 0) w.copy(w.raw - pa, prefix.length);
    else w.literalBytes(prefix, 0, prefix.length);
    const ba = this.blockAt;
    this.blockAt = w.raw;
    if (ba >= 0) w.copy(w.raw - ba, this.blockLen);
    else if (this.simple) this.firstSimple();
    else this.firstGeneral();
  }

  /**
   * Every output variable's series of the current input series for its one sample at time
   * ts[row], the value of output k being cols[columns[k]][row] (`prefixes[k]`, id `prefixIds[k]`):
   * the common case (one sample per series per request), written without timestamps()/writeSeries().
   * The time is passed as its column and row, not as a number: a double argument (a ms timestamp)
   * is boxed on the heap at every call V8 does not inline (this one and fromMemo).
   *
   * Its Sample entries put the timestamp before the value (protobuf fields may come in any
   * order; every decoder reads them by field number), so from the second output on everything
   * after the prefix up to the value, the block and `12 len 10 <ts> 09`, equals the bytes of
   * the output before: one copy, then a literal of the 8 value bytes and the next header.
   */
  writeOutputs(prefixIds: Int32Array, prefixes: Uint8Array[], cols: Float64Array[], columns: Int32Array, row: number, ts: Float64Array): void {
    const w = this.w;
    const t = ts[row];
    const tl = t >= 0x800000000 && t < 0x40000000000 ? 6 : varintLen(t); // ms timestamps of 1971..2109: 6 bytes
    const inst = prefixIds[0];
    const id = this.id;
    const m = this.memo;
    w.seal();
    // The chunk before this one is right before it, for the same outputs and timestamp length.
    const ctx = this.lastEnd === w.raw && this.lastInst === inst && this.lastTl === tl;
    if (ctx && this.simple && m.len[id] > 0 && m.ctxId[id] === this.lastId && m.ctxGen[id] === this.lastGen && m.inst[id] === inst && m.tl[id] === tl && this.farSame(m.farName[id], m.farDist[id])) {
      this.fromMemo(prefixIds, prefixes, cols, columns, row, ts);
      this.memoChunks++;
      this.lastMemo = true;
    } else {
      this.lastMemo = false;
      if (this.pendId >= 0) this.settlePrefixes();
      if (this.simple && !this.planned) this.planSimple(this.s, false);
      const start = w.pos;
      const rawStart = w.raw;
      this.farName = -1;
      this.encodeOutputs(prefixIds, prefixes, cols, columns, row, ts, tl);
      w.seal();
      if (ctx && this.simple) this.keep(start, rawStart, columns.length, inst, tl);
    }
    this.lastId = id;
    this.lastGen = this.plans.generation[id];
    this.lastInst = inst;
    this.lastTl = tl;
    this.lastEnd = w.raw;
    this.series += columns.length;
    this.samples += columns.length;
  }

  /** The far source_metric copy of a chunk (name id `nid`, -1: none) points at the same distance from here? */
  private farSame(nid: number, dist: number): boolean {
    return nid < 0 || (this.plans.nameBody[nid] === this.bodyNo && this.w.raw - this.plans.nameAt[nid] === dist);
  }

  /** The current series' chunk again (see ChunkMemo), with timestamp ts[row] and this sample's values; the state as if encoded. */
  private fromMemo(prefixIds: Int32Array, prefixes: Uint8Array[], cols: Float64Array[], columns: Int32Array, row: number, ts: Float64Array): void {
    const w = this.w;
    const m = this.memo;
    const id = this.id;
    const n = m.len[id];
    const pg = m.page[id];
    const a = m.at[id];
    const start = w.pos;
    const rawStart = w.raw;
    const onRun = this.lastMemo && pg === this.runPage && start - a === this.runDelta && w.out === this.runOut;
    if (!onRun || start + n > this.runEnd) {
      // Not inside the last run copy: copy this chunk and the page bytes after it natively, in
      // one call. Scrapes come in the same series order every time and chunks kept in that
      // order lie one after the other in the page, so the next series' chunk is usually there
      // already, at the position it is written to (onRun: the chunk's page position, nothing
      // written since, the same buffer). The run's length adapts: doubled when the last run
      // was used to its end, halved when it broke before (a cost bounded in other orders).
      const rb = onRun ? Math.min(this.runBytes * 2, RUN_MAX) : Math.max(this.runBytes >> 1, RUN_MIN);
      this.runBytes = rb;
      const e = Math.min(a + (rb > n ? rb : n), m.pages[pg].length);
      w.ensure(e - a);
      w.out.set(m.pages[pg].subarray(a, e), start);
      this.runOut = w.out;
      this.runPage = pg;
      this.runDelta = start - a;
      this.runEnd = start + e - a;
    }
    const t = ts[row];
    const tp = start + m.tsOff[id];
    if (m.tl[id] === 6) {
      // A ms timestamp (6-byte varint): its bytes worked out once per timestamp, then two stores.
      if (t !== this.tsCached) this.cacheTs(t);
      w.view.setInt32(tp, this.tsLow4, true);
      w.view.setUint16(tp + 4, this.tsHigh2, true);
    } else writeVarint(w.out, tp, t);
    const o = MAX_OUTPUTS * id;
    for (let k = 0; k < columns.length; k++) this.double(start + m.valOff[o + k], cols[columns[k]][row]);
    // Where its prefixes went: stored when something is encoded next (settlePrefixes), as the
    // next chunk from the memo does not read them.
    this.pendId = id;
    this.pendRaw = rawStart;
    this.pendIds = prefixIds;
    const last = columns.length - 1;
    this.blockAt = rawStart + m.preOff[o + last] + prefixes[last].length;
    const at = rawStart + m.preOff[o] + prefixes[0].length;
    const nid = this.plans.nameId[id];
    if (nid >= 0) {
      this.plans.nameBody[nid] = this.bodyNo;
      this.plans.nameAt[nid] = at;
    }
    // This series is the previous one for the next; its ranges are worked out only if the next
    // is encoded (firstSimple).
    this.prevSimple = true;
    this.prevId = id;
    this.prevSourceAt = at;
    this.prevS = this.s;
    this.prevPlanned = this.planned;
    if (this.planned) this.simpleWritten(at);
    this.prevEntCount = -1;
    w.pos = start + n;
    w.raw = rawStart + m.raw[id];
  }

  /** The last chunk written from the memo (pendId) is where its prefixes were last written (prefixAt). */
  private settlePrefixes(): void {
    const ids = this.pendIds;
    const o = MAX_OUTPUTS * this.pendId;
    const pre = this.memo.preOff;
    for (let k = 0; k < ids.length; k++) this.prefixAt[ids[k]] = this.pendRaw + pre[o + k];
    this.pendId = -1;
  }

  /** The 6-byte varint of t as fromMemo stores it: its first 4 bytes, its last 2 (little-endian). */
  private cacheTs(t: number): void {
    const b = this.tsScratch;
    writeVarint(b, 0, t);
    this.tsLow4 = b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24);
    this.tsHigh2 = b[4] | (b[5] << 8);
    this.tsCached = t;
  }

  /** Keep the chunk just written at out[start..pos) (uncompressed from rawStart) for the current series. */
  private keep(start: number, rawStart: number, outputs: number, inst: number, tl: number): void {
    const w = this.w;
    const m = this.memo;
    const id = this.id;
    const n = w.pos - start;
    if (this.tsOff < 0 || n > MAX_CHUNK || w.raw - rawStart > MAX_CHUNK || !m.place(id, n)) return;
    const pg = m.page[id];
    copyBytes(m.pages[pg], m.views[pg], m.at[id], w.out, w.view, start, n);
    m.len[id] = n;
    m.raw[id] = w.raw - rawStart;
    m.ctxId[id] = this.lastId;
    m.ctxGen[id] = this.lastGen;
    m.inst[id] = inst;
    m.tl[id] = tl;
    m.tsOff[id] = this.tsOff - start;
    m.farName[id] = this.farName;
    m.farDist[id] = rawStart - this.farAt;
    const o = MAX_OUTPUTS * id;
    for (let k = 0; k < outputs; k++) {
      m.valOff[o + k] = this.valOff[k] - start;
      m.preOff[o + k] = this.preOff[k] - rawStart;
    }
  }

  /** writeOutputs without its memo: encode the chunk, noting where its timestamp, values and prefixes went. */
  private encodeOutputs(prefixIds: Int32Array, prefixes: Uint8Array[], cols: Float64Array[], columns: Int32Array, row: number, ts: Float64Array, tl: number): void {
    const t = ts[row];
    const sl = 10 + tl; // Sample: 0x10 + timestamp varint, 0x09 + double
    this.head(prefixIds[0], prefixes[0], sl + 2);
    this.preOff[0] = this.prefixAt[prefixIds[0]];
    this.sampleFirst(sl, t, cols[columns[0]][row], 0);
    for (let k = 1; k < columns.length; k++) {
      const id = prefixIds[k];
      const v = cols[columns[k]][row];
      if (this.prefixAt[id] >= 0) this.repeatOutput(id, prefixes[k].length, sl, v, k);
      else {
        // The prefix's first write in this body: the general way.
        this.head(id, prefixes[k], sl + 2);
        this.sampleFirst(sl, t, v, k);
      }
      this.preOff[k] = this.prefixAt[id];
    }
  }

  /** A Sample entry (timestamp first) with its own copy of the timestamp, as output k. */
  private sampleFirst(sl: number, t: number, v: number, k: number): void {
    const w = this.w;
    w.literal(sl + 2);
    let p = w.pos;
    const out = w.out;
    out[p++] = 0x12; // TimeSeries.samples
    out[p++] = sl;
    out[p++] = 0x10; // Sample.timestamp
    if (k === 0) this.tsOff = p;
    else this.tsOff = -1; // a second copy of the timestamp: the chunk is not kept
    p = writeVarint(out, p, t);
    out[p++] = 0x09; // Sample.value (double)
    this.valOff[k] = p;
    this.double(p, v);
    w.advance(p + 8);
  }

  /**
   * writeOutputs' output 2, 3, ...: the header into the open literal (the previous output's
   * value), a copy of the prefix, a copy of the block and the sample up to its value from the
   * previous output, a literal with the value. Works on the writer's fields directly (see
   * writeRepeat).
   */
  private repeatOutput(prefixId: number, prefixLen: number, sl: number, v: number, k: number): void {
    const w = this.w;
    const blockLen = this.blockLen;
    const msgLen = prefixLen + blockLen + sl + 2;
    const hl = msgLen < 128 ? 2 : msgLen < 16384 ? 3 : 1 + varintLen(msgLen);
    const cl = blockLen + sl - 6; // the block, 12 len 10 <ts> 09
    w.ensure(hl + 5 * ((prefixLen + 63) >>> 6) + 5 * ((cl + 63) >>> 6) + 3 + 8);
    const out = w.out;
    if (w.litLen + hl > MAX_LITERAL) {
      w.closeLiteral();
      w.litHeader = w.pos;
      w.pos += 3;
      w.litLen = 0;
    }
    let p = w.pos;
    out[p] = 0x0a; // WriteRequest.timeseries
    writeVarint(out, p + 1, msgLen);
    w.litLen += hl;
    w.raw += hl;
    w.pos = p + hl;
    w.closeLiteral();
    p = w.pos;
    const pa = this.prefixAt[prefixId];
    this.prefixAt[prefixId] = w.raw;
    p = copyElements(out, p, w.raw - pa, prefixLen);
    w.raw += prefixLen;
    this.blockAt = w.raw;
    p = copyElements(out, p, blockLen + sl + 2 + hl + prefixLen, cl);
    w.raw += cl + 8;
    w.litHeader = p;
    this.valOff[k] = p + 3;
    this.double(p + 3, v);
    w.litLen = 8;
    w.pos = p + 11;
  }

  /** The double v at p of the output (NaN: the stale marker's exact bits). */
  private double(p: number, v: number): void {
    if (v !== v) {
      this.w.view.setUint32(p, STALE_LO, true);
      this.w.view.setUint32(p + 4, STALE_HI, true);
    } else this.w.view.setFloat64(p, v, true);
  }

  /**
   * One Sample entry at p (value, then the timestamp varint te[from..to)); returns its end.
   * A NaN value only ever means "stale" here: it is written as the exact stale-marker bits.
   */
  private sample(p: number, v: number, te: Uint8Array, from: number, to: number): number {
    const out = this.w.out;
    out[p++] = 0x12; // TimeSeries.samples
    out[p++] = 10 + to - from;
    out[p++] = 0x09; // Sample.value (double)
    if (v !== v) {
      this.w.view.setUint32(p, STALE_LO, true);
      this.w.view.setUint32(p + 4, STALE_HI, true);
    } else this.w.view.setFloat64(p, v, true);
    p += 8;
    out[p++] = 0x10; // Sample.timestamp
    for (let i = from; i < to; i++) out[p++] = te[i];
    return p;
  }

  /**
   * writeSeries' common case, straight-line: one sample, prefix and block both written before,
   * a literal open (the previous series' sample). Emits: the header into that literal, closes
   * it, a copy of the prefix, a copy of the block, a new literal with the sample. It works on
   * the writer's fields directly: through its methods this path measured 1.3x slower (bench
   * micro-hot, encode 4 outputs), the calls not inlined.
   */
  private writeRepeat(prefixId: number, prefixLen: number, pa: number, v: number): void {
    const w = this.w;
    const blockLen = this.blockLen;
    const msgLen = prefixLen + blockLen + this.samplesLen;
    const tEnd = this.tsEnd[0];
    w.ensure(6 + 5 + 5 * ((blockLen + 63) >>> 6) + 5 + 3 + 12 + tEnd);
    const out = w.out;
    // Header, appended to the open literal (or a new one when it is full).
    if (w.litLen + 6 > MAX_LITERAL) {
      w.closeLiteral();
      w.litHeader = w.pos;
      w.pos += 3;
      w.litLen = 0;
    }
    let p = w.pos;
    const h = p;
    out[p++] = 0x0a; // WriteRequest.timeseries
    p = writeVarint(out, p, msgLen);
    w.litLen += p - h;
    w.raw += p - h;
    w.pos = p;
    w.closeLiteral();
    p = w.pos;
    // Prefix and block: copies.
    this.prefixAt[prefixId] = w.raw;
    p = copyElements(out, p, w.raw - pa, prefixLen);
    w.raw += prefixLen;
    const ba = this.blockAt;
    this.blockAt = w.raw;
    p = copyElements(out, p, w.raw - ba, blockLen);
    w.raw += blockLen;
    // The sample, in a new literal.
    w.litHeader = p;
    p += 3;
    const s0 = p;
    p = this.sample(p, v, this.tsBytes, 0, tEnd);
    w.litLen = p - s0;
    w.raw += p - s0;
    w.pos = p;
    this.series++;
    this.samples++;
  }

  /**
   * First write of a simple-plan block: the source_metric entry (a copy when the previous
   * series had the same metric name, as consecutive series of a scrape mostly do), then the
   * other label entries as one literal straight from the request bytes.
   */
  private firstSimple(): void {
    if (this.prevSimple && !this.prevPlanned) this.planSimple(this.prevS, true);
    const w = this.w;
    const plans = this.plans;
    const at = w.raw;
    const id = this.id;
    const nid = plans.nameId[id];
    if (this.prevSimple && (nid >= 0 ? nid === plans.nameId[this.prevId] : this.sameName())) w.copy(at - this.prevSourceAt, this.sourceLen);
    else if (nid >= 0 && plans.nameBody[nid] === this.bodyNo) {
      this.farName = nid; // a copy from further back than the series before (see ChunkMemo)
      this.farAt = plans.nameAt[nid];
      w.copy(at - plans.nameAt[nid], this.sourceLen);
    } else this.sourceEntry(this.sourceLen, this.nameStart, this.nameLen);
    if (nid >= 0) {
      plans.nameBody[nid] = this.bodyNo;
      plans.nameAt[nid] = at;
    }
    let common = 0;
    let commonEnd = 0;
    if (this.prevSimple) {
      const p = this.prevId;
      if (plans.commonPrev[id] === p && plans.commonPrevGen[id] === plans.generation[p]) {
        common = plans.common[id];
        commonEnd = plans.commonEnd[id];
      } else {
        common = this.commonRest();
        commonEnd = this.commonRestEnd(common);
        plans.commonPrev[id] = p;
        plans.commonPrevGen[id] = plans.generation[p];
        plans.common[id] = common;
        plans.commonEnd[id] = commonEnd;
      }
    }
    if (common > 0) w.copy(w.raw - this.prevRestAt, common);
    const rest = this.restLen - common - commonEnd;
    if (rest <= 4096) {
      // Inline, not a writer method: as a call it measured ~5% slower (not inlined here).
      if (rest > 0) {
        w.literal(rest);
        copyBytes(w.out, w.view, w.pos, this.req, this.reqView, this.restStart + common, rest);
        w.advance(w.pos + rest);
      }
    } else w.literalBytes(this.req, this.restStart + common, rest);
    // The common end: a copy of the previous rest's last commonEnd bytes.
    if (commonEnd > 0) w.copy(w.raw - (this.prevRestAt + this.prevRestLen - commonEnd), commonEnd);
    this.simpleWritten(at);
  }

  /** The simple-plan block just written at uncompressed position `at` is the previous one for the next series. */
  private simpleWritten(at: number): void {
    this.prevSimple = true;
    this.prevId = this.id;
    this.prevNameStart = this.nameStart;
    this.prevNameLen = this.nameLen;
    this.prevSourceAt = at;
    this.prevRestStart = this.restStart;
    this.prevRestLen = this.restLen;
    this.prevRestAt = at + this.sourceLen;
    this.prevEntCount = -1;
    this.prevPlanned = true;
  }

  /** The current series' metric name equals the previous simple-plan series' (names without an id: compared)? */
  private sameName(): boolean {
    return this.prevNameLen === this.nameLen && sameBytes(this.req, this.reqView, this.nameStart, this.prevNameStart, this.nameLen);
  }

  /**
   * Bytes the rest of the labels shares at its start with the previous simple-plan series'
   * rest (byte-wise, so `instance` and `job` after a changing `cpu` value still count); 0 when
   * fewer than 4 (not worth a copy element).
   */
  private commonRest(): number {
    const b = this.req;
    const bv = this.reqView;
    const from = this.restStart;
    const pf = this.prevRestStart;
    const max = Math.min(this.restLen, this.prevRestLen);
    let common = 0;
    while (common + 4 <= max && bv.getInt32(from + common) === bv.getInt32(pf + common)) common += 4;
    while (common < max && b[from + common] === b[pf + common]) common++;
    return common >= 4 ? common : 0;
  }

  /**
   * Bytes the rest of the labels shares at its end with the previous simple-plan series' rest,
   * not counting the `common` bytes of the common start; 0 when fewer than 4. A vmagent with
   * external labels appends them (`instance job az env region` after a changing `cpu` or
   * `mode`), so the end repeats where the start stopped.
   */
  private commonRestEnd(common: number): number {
    const b = this.req;
    const bv = this.reqView;
    const end = this.restStart + this.restLen;
    const pe = this.prevRestStart + this.prevRestLen;
    const max = Math.min(this.restLen, this.prevRestLen) - common;
    let n = 0;
    while (n + 4 <= max && bv.getInt32(end - n - 4) === bv.getInt32(pe - n - 4)) n += 4;
    while (n < max && b[end - n - 1] === b[pe - n - 1]) n++;
    return n >= 4 ? n : 0;
  }

  /**
   * First write of a general-plan block: entries equal to the same-position entry of the
   * previous input series become copies of it; the others are copied from the request bytes.
   */
  private firstGeneral(): void {
    const w = this.w;
    const l = this.labelInts;
    const hasPrev = this.prevEntCount >= 0;
    for (let i = 0; i < this.entCount; i++) {
      const j = this.entLabel[i];
      const len = this.entLen[i];
      this.entAt[i] = w.raw;
      if (hasPrev && i < this.prevEntCount && this.prevEntLen[i] === len && this.sameEntry(j, this.prevEntLabel[i], len)) {
        w.copy(w.raw - this.prevEntAt[i], len);
      } else if (j >= 0) {
        w.literalBytes(this.req, l[LabelInt.Count * j + LabelInt.EntryStart], len);
      } else {
        const o = LabelInt.Count * this.nameLabel; // the input's __name__ value
        this.sourceEntry(len, l[o + LabelInt.ValueStart], l[o + LabelInt.ValueEnd] - l[o + LabelInt.ValueStart]);
      }
    }
    // This block becomes the previous one (swap, no copying).
    const label = this.prevEntLabel;
    const len = this.prevEntLen;
    const at = this.prevEntAt;
    this.prevEntLabel = this.entLabel;
    this.prevEntLen = this.entLen;
    this.prevEntAt = this.entAt;
    this.entLabel = label;
    this.entLen = len;
    this.entAt = at;
    this.prevEntCount = this.entCount;
    this.prevNameLabel = this.nameLabel;
    this.prevSimple = false;
  }

  /** Entry of label j (or the source_metric entry, j = -1) equals the previous series' entry of label pj? */
  private sameEntry(j: number, pj: number, len: number): boolean {
    const l = this.labelInts;
    if (j < 0 || pj < 0) {
      if (j !== pj) return false;
      // Both are source_metric entries: compare the two metric names.
      const o = LabelInt.Count * this.nameLabel;
      const po = LabelInt.Count * this.prevNameLabel;
      const a = l[o + LabelInt.ValueStart];
      const pa = l[po + LabelInt.ValueStart];
      const vl = l[o + LabelInt.ValueEnd] - a;
      return vl === l[po + LabelInt.ValueEnd] - pa && sameBytes(this.req, this.reqView, a, pa, vl);
    }
    return sameBytes(this.req, this.reqView, l[LabelInt.Count * j + LabelInt.EntryStart], l[LabelInt.Count * pj + LabelInt.EntryStart], len);
  }

  /** Literal source_metric="<request bytes [vs, vs + vl)>" entry of `len` bytes. */
  private sourceEntry(len: number, vs: number, vl: number): void {
    const w = this.w;
    w.literal(len);
    const out = w.out;
    const key = this.sourceKey;
    let p = w.pos;
    out[p++] = 0x0a;
    p = writeVarint(out, p, key.length + varintLen(vl) + vl);
    // The key's bytes (tag, length, "source_metric", value tag), then the value's length and bytes.
    copyBytes(out, w.view, p, key, this.sourceKeyView, 0, key.length);
    p = writeVarint(out, p + key.length, vl);
    copyBytes(out, w.view, p, this.req, this.reqView, vs, vl);
    w.advance(p + vl);
  }

  private growEntries(n: number): void {
    this.entLabel = grown(this.entLabel, n);
    this.entLen = grown(this.entLen, n);
    this.entAt = grown(this.entAt, n);
    this.prevEntLabel = grown(this.prevEntLabel, n);
    this.prevEntLen = grown(this.prevEntLen, n);
    this.prevEntAt = grown(this.prevEntAt, n);
  }
}
