import type { OutputVar } from '../config/models.js';
import type { WriteBatch } from '../ingest/write-request.js';

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
 * Output rows of one (input series, instance): row i has timestamp ts[i], the values
 * cols[c][i] (a stale marker's row holds NaN in every column) and came from sample
 * `sample[i]` of the batch. Reused for every series: valid during the ScoreSink call only.
 */
export class OutputRows {
  ts = new Float64Array(256);
  sample = new Int32Array(256);
  cols: Float64Array[] = Array.from({ length: Column.Count }, () => new Float64Array(256));

  /** Room for n rows (contents are not kept). */
  ensure(n: number): void {
    if (n <= this.ts.length) return;
    this.ts = new Float64Array(n);
    this.sample = new Int32Array(n);
    this.cols = Array.from({ length: Column.Count }, () => new Float64Array(n));
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
  /**
   * `n` (> 0) rows of instance `inst` for series `s` (id `id`) of `batch`; `first`: the first
   * rows call for this series in this batch.
   */
  rows(batch: WriteBatch, s: number, id: number, first: boolean, inst: number, out: OutputRows, n: number): void;
}
