import { encodeLabels } from '../emit/format.js';
import { WriteBatch, WriteRequestDecoder } from '../ingest/write-request.js';
import { Registry } from '../metrics/registry.js';
import type { ScoringSpec } from '../scoring/instances.js';
import { Column, type OutputRows, type ScoreSink } from '../scoring/output.js';
import { Scoring } from '../scoring/scoring.js';
import { varintLen, writeVarint } from '../wire/varint.js';

/** Samples per TimeSeries: a file is sent as the proxy sees a long series, in pieces (its output rows stay small). */
const CHUNK = 256;

/**
 * One series of an offline file as the proxy would receive it: a remote write WriteRequest
 * whose TimeSeries (labels sorted by name) carry CHUNK samples each, in order, decoded by
 * ingest's decoder into a WriteBatch, so that the scoring unit sees exactly what it sees behind
 * the receiver. Timestamps are rounded to whole milliseconds (remote write carries int64 ms);
 * samples dated before 1970 are left out (the proxy forwards them without scoring).
 * `rows` maps the batch's samples back to input rows.
 */
export function seriesBatch(labels: Record<string, string>, ts: Float64Array, value: Float64Array): SeriesBatch {
  const pairs = Object.keys(labels)
    .sort()
    .map((k): [string, string] => [k, labels[k]]);
  const labelBytes = encodeLabels(pairs);
  const rows = new Int32Array(ts.length);
  let kept = 0;
  for (let i = 0; i < ts.length; i++) if (Math.round(ts[i]) >= 0) rows[kept++] = i;
  // Each Sample entry: tag, length, 0x09 + double, 0x10 + timestamp varint.
  const sampleBytes = (k: number): number => 12 + varintLen(Math.round(ts[rows[k]]));
  let total = 0;
  for (let from = 0; from < kept; from += CHUNK) {
    let size = labelBytes.length;
    for (let k = from; k < Math.min(from + CHUNK, kept); k++) size += sampleBytes(k);
    total += 1 + varintLen(size) + size;
  }
  const buf = new Uint8Array(total);
  const view = new DataView(buf.buffer);
  let p = 0;
  for (let from = 0; from < kept; from += CHUNK) {
    const to = Math.min(from + CHUNK, kept);
    let size = labelBytes.length;
    for (let k = from; k < to; k++) size += sampleBytes(k);
    buf[p++] = 0x0a; // WriteRequest.timeseries
    p = writeVarint(buf, p, size);
    buf.set(labelBytes, p);
    p += labelBytes.length;
    for (let k = from; k < to; k++) {
      const i = rows[k];
      const t = Math.round(ts[i]);
      buf[p++] = 0x12; // TimeSeries.samples
      buf[p++] = 10 + varintLen(t);
      buf[p++] = 0x09; // Sample.value
      view.setFloat64(p, value[i], true);
      p += 8;
      buf[p++] = 0x10; // Sample.timestamp
      p = writeVarint(buf, p, t);
    }
  }
  const batch = new WriteBatch();
  new WriteRequestDecoder().decode(buf, batch);
  return { batch, rows: rows.subarray(0, kept), inputRows: ts.length };
}

/** One input series as a decoded batch; `rows[i]`: the input row of the batch's sample i. */
export interface SeriesBatch {
  batch: WriteBatch;
  rows: Int32Array;
  inputRows: number;
}

/** Per input row: whether the proxy would have written generated series for it, and their values. */
export interface OfflineScores {
  scored: Uint8Array;
  score: Float64Array;
  yhat: Float64Array;
  lower: Float64Array;
  upper: Float64Array;
  /** The value the model saw (differs from the input under a transform). */
  y: Float64Array;
}

/**
 * Score one series (a fresh series, as the proxy sees a new one) through the scoring unit
 * compiled from `spec`, which must give it exactly one instance; returns the output rows by
 * input row. Rows the proxy writes nothing for (warm-up, NaN/Inf, a timestamp not after the
 * previous one, the first sample under a transform) have `scored` 0.
 */
export function scoreSeries(spec: ScoringSpec, labels: Record<string, string>, ts: Float64Array, value: Float64Array): OfflineScores {
  return new OfflineScorer(spec).score(seriesBatch(labels, ts, value));
}

/**
 * One scoring unit for many offline series: each score() call is a new series (its own tenant
 * seed, so the same batch scored again starts cold), without building a new unit per series.
 */
export class OfflineScorer {
  private readonly scoring: Scoring;
  private calls = 0;

  constructor(spec: ScoringSpec) {
    this.scoring = new Scoring(spec, { maxSeries: 1 << 30 }, new Registry());
  }

  /** The batch is only read; results go into `out` when given (arrays of at least b.inputRows, reused). */
  score(b: SeriesBatch, out: OfflineScores = offlineScores(b.inputRows)): OfflineScores {
    out.scored.fill(0, 0, b.inputRows);
    this.scoring.score(b.batch, `offline-${this.calls++}`, new RowsByInput(out, b.rows));
    return out;
  }
}

/** Result arrays for n input rows. */
export function offlineScores(n: number): OfflineScores {
  return { scored: new Uint8Array(n), score: new Float64Array(n), yhat: new Float64Array(n), lower: new Float64Array(n), upper: new Float64Array(n), y: new Float64Array(n) };
}

/** A ScoreSink that files each output row under the input row its sample came from. */
class RowsByInput implements ScoreSink {
  constructor(
    private readonly result: OfflineScores,
    private readonly inputRow: Int32Array,
  ) {}

  beginBatch(): void {}

  seriesAdded(): void {}

  rows(_batch: WriteBatch, _s: number, _id: number, _first: boolean, _inst: number, out: OutputRows, from: number, n: number): void {
    const r = this.result;
    for (let i = from; i < from + n; i++) {
      const row = this.inputRow[out.sample[i]];
      r.scored[row] = 1;
      r.score[row] = out.cols[Column.AnomalyScore][i];
      r.yhat[row] = out.cols[Column.Yhat][i];
      r.lower[row] = out.cols[Column.YhatLower][i];
      r.upper[row] = out.cols[Column.YhatUpper][i];
      r.y[row] = out.cols[Column.Y][i];
    }
  }
}
