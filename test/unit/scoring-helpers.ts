/** Batches and a row-collecting sink for tests of the scoring unit (protobufjs builds the requests: an independent oracle). */
import protobuf from 'protobufjs';
import { metricIn } from '../e2e/harness.js';
import { WriteBatch, WriteRequestDecoder } from '../../src/ingest/write-request.js';
import { Registry } from '../../src/metrics/registry.js';
import { Column, type OutputRows, type ScoreSink } from '../../src/scoring/output.js';

const root = protobuf.loadSync(new URL('../../../proto/remote.proto', import.meta.url).pathname);
const WR = root.lookupType('prometheus.WriteRequest');

export interface TestSeries {
  labels: Record<string, string>;
  ts: number[];
  values: number[];
}

/** A decoded batch of these series (labels in the given order). */
export function batchOf(series: TestSeries[]): WriteBatch {
  const b = new WriteBatch();
  const msg = WR.fromObject({
    timeseries: series.map((s) => ({
      labels: Object.entries(s.labels).map(([name, value]) => ({ name, value })),
      samples: s.ts.map((t, i) => ({ value: s.values[i], timestamp: t })),
    })),
  });
  new WriteRequestDecoder().decode(WR.encode(msg).finish(), b);
  return b;
}

/** One output row as plain data; values as their exact bits (hex), so equality is bit-for-bit. */
export interface Row {
  series: string;
  inst: number;
  ts: number;
  bits: string;
}

function bits(v: number): string {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, v);
  return dv.getBigUint64(0).toString(16);
}

/** Collects every row, keyed by the series' __name__ and `i` label. */
export class CollectingSink implements ScoreSink {
  readonly got: Row[] = [];
  readonly added: string[] = [];
  beginBatch(): void {}
  seriesAdded(_b: WriteBatch, _s: number, _id: number, tenant: string | null, labels: Map<string, string>): void {
    this.added.push(`${tenant ?? ''}/${labels.get('__name__')}/${labels.get('i') ?? ''}`);
  }
  rows(batch: WriteBatch, s: number, _id: number, _first: boolean, inst: number, out: OutputRows, from: number, n: number): void {
    batch.labels(s);
    let name = '';
    for (let j = batch.lblFirst[s], e = j + batch.lblCount[s]; j < e; j++) if (batch.labelName(j) === 'i') name = batch.labelValue(j);
    for (let k = from; k < from + n; k++) {
      const vals = [Column.AnomalyScore, Column.Yhat, Column.YhatLower, Column.YhatUpper, Column.Y].map((c) => bits(out.cols[c][k]));
      this.got.push({ series: name, inst, ts: out.ts[k], bits: vals.join(',') });
    }
  }
}

/** Value of a metric line `name{labels} v` in the registry's text, NaN when absent. */
export function metricValue(reg: Registry, name: string, labels = ''): number {
  return metricIn(reg.render(), labels ? `${name}{${labels}}` : name);
}
