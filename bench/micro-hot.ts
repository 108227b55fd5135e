/**
 * Micro-benchmark of the per-request hot path stages on a realistic request (2,000 node_exporter-like
 * series, 1 sample each): snappy decompress, WriteRequest decode, series hashing + lookup, and the
 * generated-series encoder. `node dist/bench/micro-hot.js` prints ns per sample for each stage.
 *
 *   node dist/bench/micro-hot.js [--shapes cpu,prometheus,vmagent]
 *
 * Bodies: `cpu` = 2,000 node_cpu_seconds_total series (5 sorted labels) compressed by snappyjs, the
 * figure of earlier RESULTS blocks; `prometheus` / `vmagent` = the first request of bench/load's pool in
 * that label shape (bench/load/labels.ts), as bench/compare sends it. Each body is decoded once and its
 * series planned for the encoder (as the pipeline does for a new series) before the timed loops.
 *
 * After the four stages, what `reader.ignore_labels` changes (not in the sum): the series hash
 * reading each series' labels to leave the ignored ones out, when the series have none of them
 * (`[replica]`) and when each has one (`[job]`, the label gathered around), and the encoder's
 * general plan, which every series takes when ignore_labels is set.
 */
import protobuf from 'protobufjs';
import snappy from 'snappyjs';
import { nodeCpuLabels } from './node-cpu.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SnappyReader } from '../src/wire/snappy.js';
import { WriteBatch, WriteRequestDecoder } from '../src/ingest/write-request.js';
import { SeriesIndex, SeriesKey } from '../src/scoring/series-index.js';
import { GeneratedEncoder } from '../src/emit/encoder.js';
import { encodeLabels, formatLabels, replacedLabelNames } from '../src/emit/format.js';
import { LabelNames } from '../src/wire/label-names.js';
import { buildPool, materialize } from './load/pool.js';
import { parseShape, type Shape } from './load/labels.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const WR = protobuf.loadSync(join(root, 'proto', 'remote.proto')).lookupType('prometheus.WriteRequest');
const N = 2000;

/** The `cpu` body of earlier RESULTS blocks: node_cpu_seconds_total only, snappyjs-compressed. */
function cpuBody(): Uint8Array {
  const ts = Array.from({ length: N }, (_, i) => ({
    labels: nodeCpuLabels(i),
    samples: [{ value: i * 1.5, timestamp: 1_790_000_000_000 }],
  }));
  return snappy.compress(WR.encode(WR.fromObject({ timeseries: ts })).finish());
}

function poolBody(shape: Shape): Uint8Array {
  return materialize(buildPool({ series: N, samplesPerSeries: 1, samplesPerRequest: N, intervalMs: 10_000, nowMs: Date.now(), shape }), 0);
}

function time(name: string, samples: number, reps: number, fn: () => void): number {
  for (let i = 0; i < 200; i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) fn();
  const ns = Number(process.hrtime.bigint() - t0) / reps / samples;
  console.log(`  ${name.padEnd(28)} ${ns.toFixed(1)} ns/sample`);
  return ns;
}

function stagesOf(label: string, body: Uint8Array): void {
  const sn = new SnappyReader();
  const key = new SeriesKey();
  const dec = new WriteRequestDecoder();
  const batch = new WriteBatch();
  const index = new SeriesIndex(1e7);
  const fmt = { __name__: '$VAR', for: '$QUERY_KEY' };
  const enc = new GeneratedEncoder(replacedLabelNames(fmt), 4);
  const prefixes = ['anomaly_score', 'yhat', 'yhat_lower', 'yhat_upper'].map((v) => encodeLabels(formatLabels(fmt, v, 'q', null)));
  const tcol = Float64Array.of(1_790_000_000_000);
  const vcol = Float64Array.of(1.25);
  const rawView = sn.decompress(body, 1 << 25);
  dec.decode(rawView, batch);
  for (let s = 0; s < batch.seriesCount; s++) enc.plan(batch, s, s);
  let labels = 0;
  for (let s = 0; s < batch.seriesCount; s++) labels += batch.lblCount[s];
  const n = batch.sampleCount;
  console.log(`${label}: ${n} samples, ${(labels / batch.seriesCount).toFixed(2)} labels/series, ${(rawView.length / n).toFixed(1)} B/sample uncompressed, ${(body.length / n).toFixed(1)} compressed`);
  const total =
    time('snappy decompress', n, 300, () => void sn.decompress(body, 1 << 25)) +
    time('decode WriteRequest', n, 300, () => dec.decode(rawView, batch)) +
    time('hash + find/add series', n, 300, () => {
      for (let s = 0; s < batch.seriesCount; s++) {
        index.hash(batch, s, 0, key);
        if (index.find(key) < 0) index.add(key, 0);
      }
    }) +
    time('encode 4 generated series', n, 300, () => {
      enc.reset();
      for (let s = 0; s < batch.seriesCount; s++) {
        enc.beginSeries(batch, s, s);
        enc.timestamps(tcol, 1);
        for (let v = 0; v < 4; v++) enc.writeSeries(v, prefixes[v], vcol);
      }
      enc.recycle(enc.body()); // as the pipeline does once a body is sent
    });
  console.log(`  ${'sum of the four'.padEnd(28)} ${total.toFixed(1)} ns/sample`);
  for (const ignored of ['replica', 'job']) {
    const names = new LabelNames([ignored]);
    const ix = new SeriesIndex(1e7);
    time(`hash + find, ignoring ${ignored}`, n, 300, () => {
      for (let s = 0; s < batch.seriesCount; s++) {
        ix.hashIgnoring(batch, s, 0, key, names);
        if (ix.find(key) < 0) ix.add(key, 0);
      }
    });
  }
  const general = new GeneratedEncoder(replacedLabelNames(fmt, ['job']), 4);
  for (let s = 0; s < batch.seriesCount; s++) general.plan(batch, s, s, false);
  time('encode 4, general plan (job)', n, 300, () => {
    general.reset();
    for (let s = 0; s < batch.seriesCount; s++) {
      general.beginSeries(batch, s, s);
      general.timestamps(tcol, 1);
      for (let v = 0; v < 4; v++) general.writeSeries(v, prefixes[v], vcol);
    }
    general.recycle(general.body());
  });
  enc.reset();
  for (let s = 0; s < batch.seriesCount; s++) {
    enc.beginSeries(batch, s, s);
    enc.timestamps(tcol, 1);
    for (let v = 0; v < 4; v++) enc.writeSeries(v, prefixes[v], vcol);
  }
  const rawLen = enc.rawLength;
  const out = enc.body();
  console.log(`  generated request: ${(out.length / n).toFixed(1)} B compressed, ${(rawLen / n).toFixed(1)} B uncompressed per input series`);
}

let shapes = ['cpu', 'prometheus', 'vmagent'];
const at = process.argv.indexOf('--shapes');
if (at > 0) shapes = (process.argv[at + 1] ?? '').split(',');
for (const sh of shapes) stagesOf(sh, sh === 'cpu' ? cpuBody() : poolBody(parseShape(sh)));
