import { LabelInt, type WriteBatch } from '../ingest/write-request.js';
import { grown } from '../wire/grow.js';
import { LabelNames } from '../wire/label-names.js';

/** Metric names given an id; later new names are compared byte by byte instead. */
const MAX_NAMES = 100_000;

/**
 * Block plans per series id: what the encoder decides once, when scoring gives a series its id
 * (GeneratedBlock.seriesAdded calls plan()), since the series' label bytes, hence all of this,
 * never change while it has the id:
 *  - `simple`: 1 when the series has the simple layout (simpleLayout()), so its block is the
 *    source_metric entry plus one byte range of the request;
 *  - `nameId`: the id of its metric name (-1: none), so a source entry is found by id;
 *  - `generation`: how many series the id has had (a cache entry naming an id is stale once
 *    the id changes hands);
 *  - filled by the encoder on first use: the lengths of the common start (`common`) and of the
 *    common end after it (`commonEnd`) of this series' labels with those of the series before
 *    it in the request (`commonPrev`, as of `commonPrevGen`):
 *    scrapes send series in the same order every time, so this is worked out once per series,
 *    not per sample.
 * And per metric name id: where its source entry was last written (`nameBody`: in which output
 * body; `nameAt`: uncompressed position). Scrape data repeats each metric name once per target,
 * so most source entries that do not follow the same name are copies of an earlier one.
 */
export class BlockPlans {
  simple = new Uint8Array(1024);
  nameId = new Int32Array(1024);
  generation = new Int32Array(1024);
  commonPrev = new Int32Array(1024);
  commonPrevGen = new Int32Array(1024);
  common = new Int32Array(1024);
  commonEnd = new Int32Array(1024);
  nameAt = new Float64Array(1024);
  nameBody = new Int32Array(1024);
  private readonly names = new Map<string, number>();
  private readonly utf8 = new TextDecoder();
  /** Replaced label names, checked per input label when a block is planned. */
  private readonly replaced: LabelNames;

  constructor(replacedNames: string[]) {
    this.replaced = new LabelNames(replacedNames);
  }

  /**
   * Series `s` of `batch` has just been given series id `id`: decide its plan (the simple one
   * only when `allowSimple`, which tests turn off to compare both plans).
   */
  plan(batch: WriteBatch, s: number, id: number, allowSimple = true): void {
    if (id >= this.simple.length) this.growIds(id + 1);
    const simple = allowSimple && this.simpleLayout(batch, s);
    this.simple[id] = simple ? 1 : 0;
    this.generation[id]++;
    this.commonPrev[id] = -1;
    this.nameId[id] = -1;
    if (!simple) return;
    const o = LabelInt.Count * batch.lblFirst[s];
    const name = this.utf8.decode(batch.buf.subarray(batch.lbl[o + LabelInt.ValueStart], batch.lbl[o + LabelInt.ValueEnd]));
    let n = this.names.get(name);
    if (n === undefined && this.names.size < MAX_NAMES) {
      n = this.names.size;
      this.names.set(name, n);
      this.nameAt = grown(this.nameAt, n + 1);
      this.nameBody = grown(this.nameBody, n + 1);
    }
    this.nameId[id] = n ?? -1;
  }

  /**
   * Series `s` has the simple layout: Label entries contiguous on the wire, `__name__` first, no
   * other label replaced by the generated ones. Its block is then the source_metric entry plus
   * one byte range of the request, planned without looking at the labels.
   */
  simpleLayout(batch: WriteBatch, s: number): boolean {
    batch.labels(s);
    const b = batch.buf;
    const l = batch.lbl;
    const first = batch.lblFirst[s];
    const last = first + batch.lblCount[s];
    if (batch.lblStart[s] < 0 || last === first) return false;
    const o = LabelInt.Count * first;
    if (l[o + LabelInt.NameEnd] - l[o + LabelInt.NameStart] !== 8 || !isName(b, l[o + LabelInt.NameStart])) return false;
    for (let j = first + 1; j < last; j++) {
      const oj = LabelInt.Count * j;
      if (this.isReplaced(b, l[oj + LabelInt.NameStart], l[oj + LabelInt.NameEnd])) return false;
    }
    return true;
  }

  /** Is the label name b[ns..ne) one the generated labels replace? */
  isReplaced(b: Uint8Array, ns: number, ne: number): boolean {
    return this.replaced.has(b, ns, ne);
  }

  /** Room for series ids below `ids`. */
  reserve(ids: number): void {
    if (ids > this.simple.length) this.growIds(ids);
  }

  private growIds(n: number): void {
    this.simple = grown(this.simple, n);
    this.nameId = grown(this.nameId, n);
    this.generation = grown(this.generation, n);
    this.commonPrev = grown(this.commonPrev, n);
    this.commonPrevGen = grown(this.commonPrevGen, n);
    this.common = grown(this.common, n);
    this.commonEnd = grown(this.commonEnd, n);
  }
}

/** "__name__" at b[p..p+8)? */
export function isName(b: Uint8Array, p: number): boolean {
  return b[p] === 95 && b[p + 1] === 95 && b[p + 2] === 110 && b[p + 3] === 97 && b[p + 4] === 109 && b[p + 5] === 101 && b[p + 6] === 95 && b[p + 7] === 95;
}
