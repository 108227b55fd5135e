import assert from 'node:assert/strict';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import snappy from 'snappyjs';
import { WriteBatch, WriteRequestDecoder } from '../../src/ingest/write-request.js';
import { GeneratedEncoder } from '../../src/emit/encoder.js';
import { encodeLabels, formatLabels, replacedLabelNames } from '../../src/emit/format.js';

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
  const enc = new GeneratedEncoder(replacedLabelNames(format), 2);
  enc.plan(batch, 0, 0);
  enc.beginSeries(batch, 0, 0);
  const ts = Float64Array.from([1_790_000_000_000, 1_790_000_015_000]);
  enc.timestamps(ts, 2);
  enc.writeSeries(0, encodeLabels(formatLabels(format, 'anomaly_score', 'load', 'fast')), Float64Array.from([0.5, 2.5]));
  enc.writeSeries(1, encodeLabels(formatLabels(format, 'yhat', 'load', null)), Float64Array.from([1, NaN]));
  const body = snappy.uncompress(enc.body());
  const out = WR.toObject(WR.decode(body), { longs: Number }) as Obj;
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
  const stale = Buffer.from([2, 0, 0, 0, 0, 0, 0xf0, 0x7f]);
  assert.ok(Buffer.from(body).indexOf(stale) > 0, 'stale marker bits present');
  assert.equal(enc.series, 2);
  assert.equal(enc.samples, 4);
});

test('the one-pass snappy output is valid snappy, equal to the plain encoding, and compact', () => {
  const n = 300;
  const series = Array.from({ length: n }, (_, i) => ({
    labels: [
      // Every 11th series has a label sorted before __name__, every 7th one the output replaces:
      // neither has the simple layout, so both block plans meet in one request.
      ...(i % 11 === 5 ? [{ name: 'A', value: 'x' }] : []),
      { name: '__name__', value: i % 13 === 6 ? `node_${'x'.repeat(130)}` : i % 50 < 25 ? 'node_cpu_seconds_total' : 'node_cpu_guest_seconds_total' },
      { name: 'cpu', value: String(Math.floor(i / 3) % 16) }, // cpu-major, as node_exporter writes them
      ...(i % 7 === 3 ? [{ name: 'for', value: 'old' }] : []),
      { name: 'instance', value: `host-${Math.floor(i / 16)}.example.com:9100` },
      { name: 'job', value: 'node' },
      { name: 'mode', value: ['idle', 'user', 'system'][i % 3] },
    ],
    samples: [{ value: i, timestamp: 1_790_000_000_000 + i }],
  }));
  const batch = new WriteBatch();
  new WriteRequestDecoder().decode(WR.encode(WR.fromObject({ timeseries: series })).finish(), batch);
  const format = { __name__: '$VAR', for: '$QUERY_KEY' };
  const vars = ['anomaly_score', 'yhat', 'yhat_lower', 'yhat_upper'];
  const prefixes = vars.map((v) => encodeLabels(formatLabels(format, v, 'cpu', null)));
  const enc = new GeneratedEncoder(replacedLabelNames(format), vars.length);
  let simpleCount = 0;
  for (let s = 0; s < n; s++) if (enc.plans.simpleLayout(batch, s)) simpleCount++;
  assert.equal(simpleCount, n - 27 - 43 + 4); // 27 with "A", 43 with "for", 4 with both
  const encode = (allowSimple: boolean): Uint8Array => {
    for (let s = 0; s < n; s++) enc.plan(batch, s, s, allowSimple);
    for (let round = 0; round < 3; round++) {
      enc.reset(); // the encoder is reused across requests (from round 2 on, per-series plans are cached)
      for (let s = 0; s < n; s++) {
        enc.beginSeries(batch, s, s);
        enc.timestamps(Float64Array.of(1_790_000_000_000 + (s >> 1)), 1); // pairs share a timestamp
        for (let v = 0; v < vars.length; v++) enc.writeSeries(v, prefixes[v], Float64Array.of(s + v / 10));
      }
    }
    return enc.body();
  };
  // The general plan for every series, then the simple one where it applies: same WriteRequest.
  const generalBody = encode(false);
  const body = encode(true);
  const raw = snappy.uncompress(body);
  assert.equal(raw.length, enc.rawLength);
  assert.deepEqual(Buffer.from(raw), Buffer.from(snappy.uncompress(generalBody)));
  const out = WR.toObject(WR.decode(raw), { longs: Number }) as Obj;
  assert.equal(out.timeseries.length, n * vars.length);
  for (let s = 0; s < n; s++) {
    const input = Object.fromEntries(series[s].labels.map((l) => [l.name, l.value]));
    for (let v = 0; v < vars.length; v++) {
      const ts = out.timeseries[s * vars.length + v];
      const lab = Object.fromEntries(ts.labels.map((l) => [l.name, l.value]));
      assert.equal(ts.labels.length, Object.keys(input).length + 2 - (input.for ? 1 : 0));
      assert.equal(lab.__name__, vars[v]);
      assert.equal(lab.for, 'cpu');
      assert.equal(lab.A, input.A);
      assert.equal(lab.instance, input.instance);
      assert.equal(lab.mode, input.mode);
      assert.equal(lab.source_metric, input.__name__);
      assert.deepEqual(ts.samples, [{ value: s + v / 10, timestamp: 1_790_000_000_000 + (s >> 1) }]);
    }
  }
  const general = snappy.compress(raw).length;
  assert.ok(body.length < raw.length * 0.4, `compressed ${body.length} of ${raw.length} bytes`);
  assert.ok(generalBody.length < general * 2.5, `one-pass ${generalBody.length} bytes vs snappyjs ${general}`);
  // The simple plan copies only the common start of consecutive series' labels: a little larger.
  assert.ok(body.length < generalBody.length * 1.25, `simple plan ${body.length} bytes vs general ${generalBody.length}`);
});

test('per-series plans and their caches stay right when the order changes and ids are given to other series', () => {
  const metrics = ['node_network_receive_bytes_total', 'node_network_transmit_bytes_total', 'node_load1', 'up'];
  const devices = ['eth0', 'eth1', 'lo'];
  const n = 120;
  const series = Array.from({ length: n }, (_, i) => ({
    labels: [
      { name: '__name__', value: metrics[i % 4] },
      ...(i % 4 < 2 ? [{ name: 'device', value: devices[Math.floor(i / 4) % 3] }] : []),
      { name: 'instance', value: `10.0.${Math.floor(i / 12)}.1:9100` },
      { name: 'job', value: 'node' },
    ],
    samples: [{ value: i, timestamp: 1_790_000_000_000 }],
  }));
  const batch = new WriteBatch();
  new WriteRequestDecoder().decode(WR.encode(WR.fromObject({ timeseries: series })).finish(), batch);
  const format = { __name__: '$VAR', for: '$QUERY_KEY' };
  const prefixes = ['anomaly_score', 'yhat'].map((v) => encodeLabels(formatLabels(format, v, 'net', null)));
  const simple = new GeneratedEncoder(replacedLabelNames(format), 2);
  const general = new GeneratedEncoder(replacedLabelNames(format), 2);
  // idOf[s]: the series id input series s has now; both encoders are told the same.
  const idOf = Array.from({ length: n }, (_, s) => (s * 7) % n);
  const planAll = (ss: number[]): void => {
    for (const s of ss) {
      simple.plan(batch, s, idOf[s]);
      general.plan(batch, s, idOf[s], false);
    }
  };
  const run = (order: number[]): void => {
    const bodies = [simple, general].map((enc) => {
      enc.reset();
      for (const s of order) {
        enc.beginSeries(batch, s, idOf[s]);
        enc.timestamps(Float64Array.of(1_790_000_000_000), 1);
        for (let v = 0; v < 2; v++) enc.writeSeries(v, prefixes[v], Float64Array.of(s + v));
      }
      return Buffer.from(snappy.uncompress(enc.body()));
    });
    assert.deepEqual(bodies[0], bodies[1]);
  };
  const seq = Array.from({ length: n }, (_, s) => s);
  planAll(seq);
  run(seq);
  run(seq); // cached common starts
  run([...seq].reverse()); // other neighbours
  // Ids go to other series (as after eviction): series s and s + 60 (s even) swap ids and places,
  // so each id comes back after the same neighbour as before, now with other labels.
  for (let s = 0; s < 60; s += 2) [idOf[s], idOf[s + 60]] = [idOf[s + 60], idOf[s]];
  planAll(seq.filter((s) => s % 2 === 0));
  const swapped = seq.map((s) => (s % 2 === 0 ? (s < 60 ? s + 60 : s - 60) : s));
  run(swapped);
  run(seq);
  run(seq.filter((s) => s % 3 !== 0));
  const out = WR.toObject(
    WR.decode(
      snappy.uncompress(
        (() => {
          simple.reset();
          for (const s of seq) {
            simple.beginSeries(batch, s, idOf[s]);
            simple.timestamps(Float64Array.of(1_790_000_000_000), 1);
            simple.writeSeries(0, prefixes[0], Float64Array.of(s));
          }
          return simple.body();
        })(),
      ),
    ),
    { longs: Number },
  ) as Obj;
  out.timeseries.forEach((ts, s) => {
    const lab = Object.fromEntries(ts.labels.map((l) => [l.name, l.value]));
    const input = Object.fromEntries(series[s].labels.map((l) => [l.name, l.value]));
    assert.equal(lab.source_metric, input.__name__);
    assert.equal(lab.device, input.device);
    assert.equal(lab.instance, input.instance);
  });
});

test('labels appended after the varying ones (vmagent external labels) are copied from the series before', () => {
  // As a vmagent >= 1.83 with external labels sends node_exporter data: the varying cpu and mode
  // sit before instance, job and the appended az, env, region, so the common start stops early.
  const n = 96;
  const series = Array.from({ length: n }, (_, i) => ({
    labels: [
      { name: '__name__', value: 'node_cpu_seconds_total' },
      { name: 'cpu', value: String(Math.floor(i / 8) % 4) },
      { name: 'mode', value: ['idle', 'iowait', 'irq', 'nice', 'softirq', 'steal', 'system', 'user'][i % 8] },
      { name: 'instance', value: `host-${Math.floor(i / 32)}.prod.example.com:9100` },
      { name: 'job', value: 'node' },
      { name: 'az', value: `eu-west-1${'abc'[Math.floor(i / 32)]}` },
      { name: 'env', value: 'production' },
      { name: 'region', value: 'eu-west-1' },
    ],
    samples: [{ value: i, timestamp: 1_790_000_000_000 }],
  }));
  const batch = new WriteBatch();
  new WriteRequestDecoder().decode(WR.encode(WR.fromObject({ timeseries: series })).finish(), batch);
  const format = { __name__: '$VAR', for: '$QUERY_KEY' };
  const vars = ['anomaly_score', 'yhat'];
  const prefixes = vars.map((v) => encodeLabels(formatLabels(format, v, 'cpu', null)));
  const encode = (allowSimple: boolean): Uint8Array => {
    const enc = new GeneratedEncoder(replacedLabelNames(format), vars.length);
    for (let s = 0; s < n; s++) enc.plan(batch, s, s, allowSimple);
    for (let round = 0; round < 2; round++) {
      enc.reset(); // round 2: the common start and end come from the plans' cache
      for (let s = 0; s < n; s++) {
        enc.beginSeries(batch, s, s);
        enc.timestamps(Float64Array.of(1_790_000_000_000), 1);
        for (let v = 0; v < vars.length; v++) enc.writeSeries(v, prefixes[v], Float64Array.of(s + v / 10));
      }
    }
    return enc.body();
  };
  const generalBody = encode(false);
  const body = encode(true);
  const raw = snappy.uncompress(body);
  assert.deepEqual(Buffer.from(raw), Buffer.from(snappy.uncompress(generalBody)));
  const out = WR.toObject(WR.decode(raw), { longs: Number }) as Obj;
  for (let s = 0; s < n; s++) {
    const lab = Object.fromEntries(out.timeseries[s * vars.length].labels.map((l) => [l.name, l.value]));
    for (const l of series[s].labels.slice(1)) assert.equal(lab[l.name], l.value);
  }
  // Only the cpu and mode entries (and a new host's labels) are literal: per series the simple
  // plan writes no more than the general plan, which copies every repeated entry.
  assert.ok(body.length <= generalBody.length, `simple plan ${body.length} bytes vs general ${generalBody.length}`);
});

test('writeOutputs (all outputs of one sample at once, timestamp before value) decodes to what writeSeries writes', () => {
  // Scrape-like data over several rounds: metric names changing and repeating, a label the
  // output replaces (general plan), series moving, ids given to other series, stale markers,
  // timestamps of other varint lengths, two instances with their own prefixes, new bodies.
  const names = ['node_cpu_seconds_total', 'node_load1', 'node_network_receive_bytes_total', 'node_network_transmit_bytes_total', 'up'];
  const n = 150;
  const series = Array.from({ length: n }, (_, i) => ({
    labels: [
      { name: '__name__', value: names[(i * 7) % 5] + (i % 37 === 5 ? 'x'.repeat(120) : '') },
      { name: 'cpu', value: String(i % 4) },
      ...(i % 9 === 4 ? [{ name: 'for', value: 'old' }] : []),
      { name: 'instance', value: `host-${Math.floor(i / 10)}.example.com:9100` },
      { name: 'job', value: 'node' },
    ],
    samples: [{ value: i, timestamp: 1_790_000_000_000 }],
  }));
  const batch = new WriteBatch();
  new WriteRequestDecoder().decode(WR.encode(WR.fromObject({ timeseries: series })).finish(), batch);
  const format = { __name__: '$VAR', for: '$QUERY_KEY' };
  const insts = [
    { vars: ['anomaly_score', 'yhat', 'yhat_lower', 'yhat_upper'], key: 'cpu' },
    { vars: ['anomaly_score', 'y'], key: 'other' },
  ].map(({ vars, key }, i) => ({
    prefixes: vars.map((v) => encodeLabels(formatLabels(format, v, key, null))),
    ids: Int32Array.from(vars, (_, k) => i * 5 + k),
    columns: Int32Array.from(vars, (_, k) => k),
  }));
  const cols = Array.from({ length: 5 }, () => new Float64Array(1));
  const ts = new Float64Array(1);
  const one = new Float64Array(1);
  const fast = new GeneratedEncoder(replacedLabelNames(format), 10);
  const ref = new GeneratedEncoder(replacedLabelNames(format), 10);
  const idOf = Array.from({ length: n }, (_, s) => s);
  const plan = (ss: number[]): void => {
    for (const s of ss) for (const e of [fast, ref]) e.plan(batch, s, idOf[s]);
  };
  plan(idOf.map((_, s) => s));
  /** One body from both encoders: the passes (input order, round) in turn, each a new batch. */
  const bodies = (passes: [number[], number][]): Obj[] => {
    const enc = [fast, ref];
    for (const e of enc) e.reset();
    for (const [order, round] of passes) {
      for (const e of enc) e.newBatch();
      for (const s of order) {
        const inst = insts[s % 13 === 0 || (round === 3 && s % 2 === 1) ? 1 : 0];
        ts[0] = round === 2 && s > 100 ? 1_000 + s : 1_790_000_000_000 + round * 15_000;
        for (let c = 0; c < 5; c++) cols[c][0] = c === 2 && (s + round) % 17 === 0 ? NaN : s + c / 10 + round;
        for (const e of enc) e.beginSeries(batch, s, idOf[s]);
        fast.writeOutputs(inst.ids, inst.prefixes, cols, inst.columns, 0, ts);
        ref.timestamps(ts, 1);
        for (let k = 0; k < inst.ids.length; k++) {
          one[0] = cols[inst.columns[k]][0];
          ref.writeSeries(inst.ids[k], inst.prefixes[k], one);
        }
      }
    }
    return enc.map((e) => {
      const raw = snappy.uncompress(e.body());
      assert.equal(raw.length, e.rawLength);
      return WR.toObject(WR.decode(raw), { longs: Number }) as Obj;
    });
  };
  const seq = idOf.map((_, s) => s);
  const check = (...passes: [number[], number][]): void => {
    const [a, b] = bodies(passes);
    assert.equal(
      a.timeseries.length,
      passes.reduce((t, [o, r]) => t + o.reduce((u, s) => u + (s % 13 === 0 || (r === 3 && s % 2 === 1) ? 2 : 4), 0), 0),
    );
    assert.deepEqual(a, b);
    assert.equal(fast.series, ref.series);
    assert.equal(fast.samples, ref.samples);
  };
  check([seq, 0]);
  check([seq, 1], [seq, 2]); // the same series again in the same body, some timestamps of another varint length
  check([seq, 3]); // other instances for half the series
  check([[...seq].reverse(), 4]);
  for (let s = 0; s < 40; s += 2) [idOf[s], idOf[s + 40]] = [idOf[s + 40], idOf[s]];
  plan(seq.filter((s) => s % 2 === 0 && s < 80));
  check([seq.map((s) => (s % 2 === 0 && s < 80 ? (s < 40 ? s + 40 : s - 40) : s)), 5], [seq, 6]);
  check([seq.filter((s) => s % 3 !== 0), 7], [seq, 7]);
  assert.ok(fast.memoChunks > n, `${fast.memoChunks} chunks from the memo`);
  // The stale marker is written bit for bit.
  fast.reset();
  fast.beginSeries(batch, 0, idOf[0]);
  cols[0][0] = NaN;
  fast.writeOutputs(insts[0].ids, insts[0].prefixes, cols, insts[0].columns, 0, Float64Array.of(1_790_000_000_000));
  assert.ok(Buffer.from(snappy.uncompress(fast.body())).indexOf(Buffer.from([2, 0, 0, 0, 0, 0, 0xf0, 0x7f])) > 0);
});

test('writeOutputs from the memo in runs (one copy for consecutive chunks): the same WriteRequest bytes as encoding every chunk', () => {
  // Enough series for the memo's chunks to fill more than one page and for the output buffer
  // to grow in the middle of a run; series skipped, swapped and bodies cut break the runs.
  const n = 12_000;
  const series = Array.from({ length: n }, (_, i) => ({
    labels: [
      { name: '__name__', value: `node_metric_${i % 7}` },
      { name: 'cpu', value: String(i % 16) },
      { name: 'instance', value: `host-${Math.floor(i / 50)}.example.com:9100` },
      { name: 'job', value: 'node' },
    ],
    samples: [{ value: i, timestamp: 1_790_000_000_000 }],
  }));
  const batch = new WriteBatch();
  new WriteRequestDecoder().decode(WR.encode(WR.fromObject({ timeseries: series })).finish(), batch);
  const format = { __name__: '$VAR', for: '$QUERY_KEY' };
  const vars = ['anomaly_score', 'yhat', 'yhat_lower', 'yhat_upper'];
  const prefixes = vars.map((v) => encodeLabels(formatLabels(format, v, 'cpu', null)));
  const ids = Int32Array.from(vars, (_, k) => k);
  const columns = Int32Array.from(vars, (_, k) => k);
  const cols = Array.from({ length: 5 }, () => new Float64Array(n));
  const ts = new Float64Array(n);
  const fast = new GeneratedEncoder(replacedLabelNames(format), 5);
  const ref = new GeneratedEncoder(replacedLabelNames(format), 5); // re-planned before every pass: never from the memo
  for (let s = 0; s < n; s++) for (const e of [fast, ref]) e.plan(batch, s, s);
  const seq = Array.from({ length: n }, (_, s) => s);
  const swapped = seq.map((s) => (s % 500 === 7 ? s + 1 : s % 500 === 8 ? s - 1 : s));
  const passes: [number[], number][] = [
    [seq, 0],
    [seq, 1],
    [seq, 2],
    [seq.filter((s) => s % 1000 !== 3), 3],
    [swapped, 4],
    [seq, 5],
  ];
  let memo = 0;
  for (const [order, round] of passes) {
    for (let s = 0; s < n; s++) ref.plan(batch, s, s);
    const before = fast.memoChunks;
    for (const e of [fast, ref]) {
      e.reset();
      e.newBatch();
    }
    const bodies: Uint8Array[][] = [[], []];
    for (const s of order) {
      ts[s] = 1_790_000_000_000 + round * 15_000;
      for (let c = 0; c < 5; c++) cols[c][s] = (s + round) % 23 === 0 ? NaN : s * 1.5 + c + round;
      [fast, ref].forEach((e, i) => {
        e.beginSeries(batch, s, s);
        e.writeOutputs(ids, prefixes, cols, columns, s, ts);
        if (s === 5_000 && round === 5) {
          bodies[i].push(snappy.uncompress(e.body()));
          e.reset();
        }
      });
    }
    for (const [i, e] of [fast, ref].entries()) bodies[i].push(snappy.uncompress(e.body()));
    // Decompressed: the memo's chunks may take other snappy copies than a fresh encoding would.
    assert.equal(bodies[0].length, bodies[1].length);
    for (let b = 0; b < bodies[0].length; b++) assert.ok(Buffer.from(bodies[0][b]).equals(bodies[1][b]), `pass ${round}, body ${b}`);
    memo += fast.memoChunks - before;
  }
  assert.equal(ref.memoChunks, 0);
  assert.ok(memo > 4 * n, `${memo} chunks from the memo`);
});
