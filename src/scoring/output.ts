import type { OutputVar } from '../config/models.js';
import type { WriteBatch } from '../ingest/write-request.js';
import { grown } from '../wire/grow.js';

// What the scoring unit hands on: rows of output columns, per (input series, scoring instance),
// to a ScoreSink. The proxy's sink is emit's GeneratedBlock (it encodes generated series);
// replay's and bench/nab's collect the rows.

/** The output columns of OutputRows.cols, one per output variable. */
export const enum Column {
  AnomalyScore = 0,
  Yhat = 1,
  YhatLower = 2,
  YhatUpper = 3,
  Y = 4,
  Count = 5,
}

/** The column holding each output variable (provide_series names). */
export const COLUMN_OF: Readonly<Record<OutputVar, Column>> = {
  anomaly_score: Column.AnomalyScore,
  yhat: Column.Yhat,
  yhat_lower: Column.YhatLower,
  yhat_upper: Column.YhatUpper,
  y: Column.Y,
};

/**
 * Output rows of one batch: row i has timestamp ts[i], the values cols[c][i] (a stale marker's
 * row holds NaN in every column) and came from sample `sample[i]` of the batch. Each (input
 * series, instance) has a run of consecutive rows (RowRuns). Reused for every batch: valid
 * during the ScoreSink calls of that batch only.
 */
export class OutputRows {
  ts = new Float64Array(256);
  sample = new Int32Array(256);
  cols: Float64Array[] = Array.from({ length: Column.Count }, () => new Float64Array(256));

  /** Room for n rows, the rows written so far kept. */
  reserve(n: number): void {
    if (n > this.ts.length) this.grow(n);
  }

  /**
   * reserve()'s rare part, apart: its closure made V8 allocate a context for `n` on every
   * reserve() call, the early return included (40 bytes per scored series and batch, bench/inproc).
   */
  private grow(n: number): void {
    this.ts = grown(this.ts, n);
    this.sample = grown(this.sample, n);
    this.cols = this.cols.map((c) => grown(c, n));
  }
}

/** The runs of rows of one batch, in scoring order: per run its series, id, instance, first row and count. */
export class RowRuns {
  count = 0;
  series = new Int32Array(256);
  id = new Int32Array(256);
  /** 1: the first run of its series in this batch. */
  first = new Uint8Array(256);
  inst = new Int32Array(256);
  from = new Int32Array(256);
  n = new Int32Array(256);

  add(s: number, id: number, first: boolean, inst: number, from: number, n: number): void {
    const r = this.count++;
    if (r >= this.series.length) {
      this.series = grown(this.series, r + 1);
      this.id = grown(this.id, r + 1);
      this.first = grown(this.first, r + 1);
      this.inst = grown(this.inst, r + 1);
      this.from = grown(this.from, r + 1);
      this.n = grown(this.n, r + 1);
    }
    this.series[r] = s;
    this.id[r] = id;
    this.first[r] = first ? 1 : 0;
    this.inst[r] = inst;
    this.from[r] = from;
    this.n[r] = n;
  }
}

/** Where scoring writes its output. Called synchronously from Scoring.score(). */
export interface ScoreSink {
  /** A batch's series follow (the previous batch's bytes may be gone). */
  beginBatch(batch: WriteBatch): void;
  /**
   * Series `s` of `batch` has just been given series id `id` and is scored by at least one
   * instance (once per id; `labels` are its labels, for start-up-time work only).
   */
  seriesAdded(batch: WriteBatch, s: number, id: number, tenant: string | null, labels: Map<string, string>): void;
  /** Optional: series ids below `ids` are about to be added (a restore): room for them at once, as seriesAdded() would grow to. */
  reserve?(ids: number): void;
  /**
   * `n` (> 0) rows of instance `inst` for series `s` (id `id`) of `batch`: rows `from` to
   * `from + n - 1` of `out`; `first`: the first rows call for this series in this batch. Called
   * once the whole batch has been scored, in scoring order.
   */
  rows(batch: WriteBatch, s: number, id: number, first: boolean, inst: number, out: OutputRows, from: number, n: number): void;
}
