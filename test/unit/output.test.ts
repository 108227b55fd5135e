import assert from 'node:assert/strict';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import { WriteBatch, WriteRequestDecoder } from '../../src/decode/write-request.js';
import { GeneratedEncoder } from '../../src/output/encoder.js';
import { encodeLabels, formatLabels, replacedLabelNames } from '../../src/output/format.js';

const root = protobuf.loadSync(new URL('../../../proto/remote.proto', import.meta.url).pathname);
const WR = root.lookupType('prometheus.WriteRequest');

type Obj = { timeseries: { labels: { name: string; value: string }[]; samples: { value: number; timestamp: number }[] }[] };

test('generated series: metric_format labels, input labels kept, __name__ kept as source_metric, clashes won by the output', () => {
  const input = WR.encode(
    WR.fromObject({
      timeseries: [
        {
          labels: [
            { name: '__name__', value: 'node_load1' },
            { name: 'for', value: 'clash' },
            { name: 'instance', value: 'a:9100' },
            { name: 'job', value: 'node' },
          ],
          samples: [{ value: 1, timestamp: 1000 }],
        },
      ],
    }),
  ).finish();
  const batch = new WriteBatch();
  new WriteRequestDecoder().decode(input, batch);
  const format = { __name__: 'anomstream_$VAR', for: '$QUERY_KEY', run: 'static' };
  const enc = new GeneratedEncoder(replacedLabelNames(format));
  enc.beginSeries(batch, 0);
  const ts = Float64Array.from([1_790_000_000_000, 1_790_000_015_000]);
  enc.writeSeries(encodeLabels(formatLabels(format, 'anomaly_score', 'load', 'fast')), ts, Float64Array.from([0.5, 2.5]), 2);
  enc.writeSeries(encodeLabels(formatLabels(format, 'yhat', 'load', null)), ts, Float64Array.from([1, NaN]), 2);
  const out = WR.toObject(WR.decode(enc.body()), { longs: Number }) as Obj;
  assert.equal(out.timeseries.length, 2);
  const lab = (i: number) => Object.fromEntries(out.timeseries[i].labels.map((l) => [l.name, l.value]));
  assert.deepEqual(lab(0), {
    __name__: 'anomstream_anomaly_score',
    for: 'load',
    run: 'static',
    model_alias: 'fast',
    source_metric: 'node_load1',
    instance: 'a:9100',
    job: 'node',
  });
  assert.equal(lab(1).__name__, 'anomstream_yhat');
  assert.equal(lab(1).model_alias, undefined);
  assert.deepEqual(
    out.timeseries[0].samples.map((s) => [s.value, s.timestamp]),
    [
      [0.5, 1_790_000_000_000],
      [2.5, 1_790_000_015_000],
    ],
  );
  // NaN in a column is written as the Prometheus stale marker, bit for bit.
  const body = enc.body();
  const stale = Buffer.from([2, 0, 0, 0, 0, 0, 0xf0, 0x7f]);
  assert.ok(Buffer.from(body).indexOf(stale) > 0, 'stale marker bits present');
  assert.equal(enc.series, 2);
  assert.equal(enc.samples, 4);
});
