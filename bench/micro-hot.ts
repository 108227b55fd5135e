/**
 * Micro-benchmark of the per-request hot path stages on a realistic request (2,000 node_exporter-like
 * series, 1 sample each): snappy decompress, WriteRequest decode, series hashing + lookup, and the
 * generated-series encoder. `node dist/bench/micro-hot.js` prints ns per sample for each stage.
 */
import protobuf from 'protobufjs';
import snappy from 'snappyjs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SnappyReader } from '../src/wire/snappy.js';
import { WriteBatch, WriteRequestDecoder } from '../src/ingest/write-request.js';
import { SeriesIndex, SeriesKey } from '../src/scoring/series-index.js';
import { GeneratedEncoder } from '../src/emit/encoder.js';
import { encodeLabels, formatLabels, replacedLabelNames } from '../src/emit/format.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const WR = protobuf.loadSync(join(root, 'proto', 'remote.proto')).lookupType('prometheus.WriteRequest');
const N = 2000;
const modes = ['idle', 'user', 'system', 'iowait', 'irq', 'softirq', 'steal', 'nice'];
const ts = Array.from({ length: N }, (_, i) => ({
  labels: [
    { name: '__name__', value: 'node_cpu_seconds_total' },
    { name: 'cpu', value: String(i % 8) },
    { name: 'instance', value: `host-${Math.floor(i / 64)}.prod.example.com:9100` },
    { name: 'job', value: 'node' },
    { name: 'mode', value: modes[Math.floor(i / 8) % 8] },
  ],
  samples: [{ value: i * 1.5, timestamp: 1_790_000_000_000 }],
}));
const raw = WR.encode(WR.fromObject({ timeseries: ts })).finish();
const body = snappy.compress(raw);
const sn = new SnappyReader();
const dec = new WriteRequestDecoder();
const batch = new WriteBatch();
const index = new SeriesIndex(1e7);
const key = new SeriesKey();
const fmt = { __name__: '$VAR', for: '$QUERY_KEY' };
const enc = new GeneratedEncoder(replacedLabelNames(fmt), 4);
const prefixes = ['anomaly_score', 'yhat', 'yhat_lower', 'yhat_upper'].map((v) => encodeLabels(formatLabels(fmt, v, 'q', null)));
const tcol = Float64Array.of(1_790_000_000_000);
const vcol = Float64Array.of(1.25);

function time(name: string, reps: number, fn: () => void): void {
  for (let i = 0; i < 200; i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) fn();
  const ns = Number(process.hrtime.bigint() - t0) / reps / N;
  console.log(`${name.padEnd(28)} ${ns.toFixed(1)} ns/sample`);
}

time('snappy decompress', 300, () => void sn.decompress(body, 1 << 25));
const rawView = sn.decompress(body, 1 << 25);
time('decode WriteRequest', 300, () => dec.decode(rawView, batch));
for (let s = 0; s < batch.seriesCount; s++) enc.plan(batch, s, s); // as the pipeline does when it gives a scored series its id
time('hash + find/add series', 300, () => {
  for (let s = 0; s < batch.seriesCount; s++) {
    index.hash(batch, s, 0, key);
    if (index.find(key) < 0) index.add(key, 0);
  }
});
time('encode 4 generated series', 300, () => {
  enc.reset();
  for (let s = 0; s < batch.seriesCount; s++) {
    enc.beginSeries(batch, s, s);
    enc.timestamps(tcol, 1);
    for (let v = 0; v < 4; v++) enc.writeSeries(v, prefixes[v], vcol);
  }
  enc.recycle(enc.body()); // as the pipeline does once a body is sent
});
