import { WriteBatch, WriteRequestDecoder } from '../ingest/write-request.js';

// Generated series as JSON lines, VictoriaMetrics' /api/v1/import format (the transport of
// vmanomaly's VmWriter, used when writer.import_json_path is set):
//
//   {"metric":{"__name__":"anomaly_score","for":"cpu",...},"values":[0.4,1.2],"timestamps":[1700000000000,1700000015000]}
//
// Input is the uncompressed WriteRequest the GeneratedEncoder built, read back with the same
// decoder as incoming requests. Non-finite values: the stale marker (the only NaN the encoder
// writes) becomes `null`, which VictoriaMetrics reads as NaN; ±Inf become "Inf"/"-Inf", which
// it also accepts. They go on a line of their own after the series' finite values: VictoriaMetrics
// 1.79 (Debian's) reads neither and skips the whole line holding one (logged there, 204 here), so
// a stale marker scored together with a series' last points would cost those points' scores.

const decoder = new WriteRequestDecoder();
const batch = new WriteBatch();

export function writeRequestToJsonLines(buf: Uint8Array): string {
  decoder.decode(buf, batch);
  let out = '';
  for (let s = 0; s < batch.seriesCount; s++) {
    const n = batch.smpCount[s];
    if (n === 0) continue;
    let metric = '';
    batch.labels(s);
    for (let j = batch.lblFirst[s], e = j + batch.lblCount[s]; j < e; j++) {
      metric += `${metric ? ',' : ''}${JSON.stringify(batch.labelName(j))}:${JSON.stringify(batch.labelValue(j))}`;
    }
    let values = '';
    let timestamps = '';
    let odd = '';
    let oddTimestamps = '';
    for (let i = batch.smpFirst[s], e = i + n; i < e; i++) {
      const v = batch.value[i];
      if (Number.isFinite(v)) {
        values += `${values ? ',' : ''}${v}`;
        timestamps += `${timestamps ? ',' : ''}${batch.ts[i]}`;
      } else {
        odd += `${odd ? ',' : ''}${nonFinite(v)}`;
        oddTimestamps += `${oddTimestamps ? ',' : ''}${batch.ts[i]}`;
      }
    }
    if (values) out += `{"metric":{${metric}},"values":[${values}],"timestamps":[${timestamps}]}\n`;
    if (odd) out += `{"metric":{${metric}},"values":[${odd}],"timestamps":[${oddTimestamps}]}\n`;
  }
  return out;
}

function nonFinite(v: number): string {
  return v !== v ? 'null' : v > 0 ? '"Inf"' : '"-Inf"';
}
