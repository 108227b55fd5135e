import { encodeLabels } from '../emit/format.js';
import { WriteBatch, WriteRequestDecoder } from '../ingest/write-request.js';
import { Registry } from '../metrics/registry.js';
import type { ScoringSpec } from '../scoring/instances.js';
import { Column, type OutputRows, type ScoreSink } from '../scoring/output.js';
import { Scoring } from '../scoring/scoring.js';
import { varintLen, writeVarint } from '../wire/varint.js';

/**
 * One series of an offline file as the proxy would receive it: a remote write WriteRequest
 * with one TimeSeries (labels sorted by name, every sample), decoded by ingest's decoder into
 * a WriteBatch, so that the scoring unit sees exactly what it sees behind the receiver.
 * Timestamps are rounded to whole milliseconds (remote write carries int64 ms); samples dated
 * before 1970 are left out (the proxy forwards them without scoring). Sample i of the batch is
 * row i of the input among those kept; `rows` maps batch samples back to input rows.
 */
export function seriesBatch(labels: Record<string, string>, ts: Float64Array, value: Float64Array): { batch: WriteBatch; rows: Int32Array } {
  const pairs = Object.keys(labels)
    .sort()
    .map((k): [string, string] => [k, labels[k]]);
  const labelBytes = encodeLabels(pairs);
  const rows = new Int32Array(ts.length);
  let kept = 0;
  let size = labelBytes.length;
  for (let i = 0; i < ts.length; i++) {
    if (!(Math.round(ts[i]) >= 0)) continue;
    rows[kept++] = i;
    size += 12 + varintLen(Math.round(ts[i])); // tag, length, 0x09 + double, 0x10 + varint
  }
  const buf = new Uint8Array(1 + varintLen(size) + size);
  const view = new DataView(buf.buffer);
  buf[0] = 0x0a; // WriteRequest.timeseries
  let p = writeVarint(buf, 1, size);
  buf.set(labelBytes, p);
  p += labelBytes.length;
  for (let k = 0; k < kept; k++) {
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
  const batch = new WriteBatch();
  new WriteRequestDecoder().decode(buf, batch);
  return { batch, rows: rows.subarray(0, kept) };
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
  const { batch, rows } = seriesBatch(labels, ts, value);
  const sink = new RowsByInput(ts.length, rows);
  new Scoring(spec, 1, new Registry()).score(batch, null, sink);
  return sink.result;
}

/** A ScoreSink that files each output row under the input row its sample came from. */
class RowsByInput implements ScoreSink {
  readonly result: OfflineScores;

  constructor(
    n: number,
    private readonly inputRow: Int32Array,
  ) {
    this.result = { scored: new Uint8Array(n), score: new Float64Array(n), yhat: new Float64Array(n), lower: new Float64Array(n), upper: new Float64Array(n), y: new Float64Array(n) };
  }

  beginBatch(): void {}

  seriesAdded(): void {}

  rows(_batch: WriteBatch, _s: number, _id: number, _first: boolean, _inst: number, out: OutputRows, n: number): void {
    const r = this.result;
    for (let i = 0; i < n; i++) {
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
