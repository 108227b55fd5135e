/**
 * The ingest scenario of issue 3's acceptance, shared by the direct-sender and vmagent tests:
 * a dataset (matched + spike, matched + calm, unmatched by label, unmatched by name) and the
 * assertions read back from VictoriaMetrics' /api/v1/export.
 */
import assert from 'node:assert/strict';
import { HttpResult, InputSeries, VictoriaMetrics, distinctSamples, encodeWriteRequest, rng, seriesKey, waitFor } from './harness.js';

export const QUERY_ALIAS = 'cpu';
export const SELECTOR = 'test_cpu{job="node"}';
export const WARMUP = 16;
export const GENERATED = ['anomaly_score', 'yhat', 'yhat_lower', 'yhat_upper'] as const;

/**
 * zscore_online with a short half-life so that the 16-point warm-up is enough to learn the noise:
 * 10 s steps, half-life 2 min -> a = 1 - 2^(-1/12) ≈ 0.056 per point.
 */
export const MODELS_YAML = `  m: { class: zscore_online, min_n_samples_seen: ${WARMUP}, half_life: 2m }`;

export interface Dataset {
  spiked: InputSeries;
  calm: InputSeries;
  unmatchedLabel: InputSeries;
  unmatchedName: InputSeries;
  all: InputSeries[];
  matched: InputSeries[];
  spikeTs: number;
  points: number;
}

/**
 * `points` samples per series, 10 s apart, ending about a minute ago (recent: VictoriaMetrics
 * drops samples older than its retention). Values have 3 decimals so that VictoriaMetrics
 * (12 significant digits) stores them exactly. The calm series is a bounded two-level noise
 * (±0.8..1.2 around 20); the spiked one the same around 50 with +40 at index `spikeAt`.
 */
export function makeDataset(opts: { points?: number; spikeAt?: number; seed?: number; prefix?: string } = {}): Dataset {
  const points = opts.points ?? 400;
  const spikeAt = opts.spikeAt ?? 250;
  const r = rng(opts.seed ?? 7);
  const step = 10_000;
  const end = Math.floor(Date.now() / step) * step - 60_000;
  const start = end - (points - 1) * step;
  const timestamps = Array.from({ length: points }, (_, i) => start + i * step);
  const noise = (base: number): number[] =>
    timestamps.map(() => {
      const sign = r() < 0.5 ? -1 : 1;
      return Math.round((base + sign * (0.8 + 0.4 * r())) * 1000) / 1000;
    });
  const p = opts.prefix ?? 'test';
  const spikedValues = noise(50);
  spikedValues[spikeAt] = Math.round((spikedValues[spikeAt] + 40) * 1000) / 1000;
  const spiked: InputSeries = {
    labels: { __name__: `${p}_cpu`, job: 'node', instance: 'a', region: 'eu' },
    timestamps,
    values: spikedValues,
  };
  const calm: InputSeries = { labels: { __name__: `${p}_cpu`, job: 'node', instance: 'b' }, timestamps, values: noise(20) };
  const unmatchedLabel: InputSeries = {
    labels: { __name__: `${p}_cpu`, job: 'other', instance: 'c' },
    timestamps,
    values: noise(30),
  };
  const unmatchedName: InputSeries = {
    labels: { __name__: `${p}_mem`, job: 'node', instance: 'a' },
    timestamps,
    values: noise(1000),
  };
  return {
    spiked,
    calm,
    unmatchedLabel,
    unmatchedName,
    all: [spiked, calm, unmatchedLabel, unmatchedName],
    matched: [spiked, calm],
    spikeTs: timestamps[spikeAt],
    points,
  };
}

/**
 * Sends the dataset in requests of `perRequest` points per series, alternating the two
 * single-node write paths; `post` compresses and sends one uncompressed WriteRequest. Every
 * answer must be 204. Returns the number of requests.
 */
export async function sendDataset(ds: Dataset, perRequest: number, post: (writeRequest: Uint8Array, path: string) => Promise<HttpResult>, tail: () => string): Promise<number> {
  let n = 0;
  for (let from = 0; from < ds.points; from += perRequest, n++) {
    const path = n % 2 === 0 ? '/api/v1/write' : '/prometheus/api/v1/write';
    const r = await post(encodeWriteRequest(ds.all, from, from + perRequest), path);
    assert.equal(r.status, 204, `POST ${path} #${n}: ${r.status} ${r.body.toString()}\n${tail()}`);
  }
  return n;
}

/** The labels a generated series of `input` must carry for variable `v` (default metric_format). */
export function expectedGeneratedLabels(input: InputSeries, v: string, alias = QUERY_ALIAS): Record<string, string> {
  const { __name__: name, ...rest } = input.labels;
  return { ...rest, __name__: v, for: alias, source_metric: name };
}

/** Every raw sample of every input series is in VictoriaMetrics: same labels, timestamps, values. */
export async function assertRawDelivered(vm: VictoriaMetrics, ds: Dataset, timeoutMs = 30_000): Promise<void> {
  const names = [...new Set(ds.all.map((s) => s.labels.__name__))].join('|');
  const exported = await waitFor(
    'all raw samples in VictoriaMetrics',
    async () => {
      const got = await vm.exportSeries(`{__name__=~"${names}"}`);
      const total = got.reduce((n, s) => n + distinctSamples(s).size, 0);
      return total >= ds.all.length * ds.points ? got : undefined;
    },
    timeoutMs,
    250,
  );
  const byKey = new Map(exported.map((s) => [seriesKey(s.metric), s]));
  assert.deepEqual([...byKey.keys()].sort(), ds.all.map((s) => seriesKey(s.labels)).sort(), 'raw series in VictoriaMetrics: exactly the input series, labels unchanged');
  for (const s of ds.all) {
    const got = distinctSamples(byKey.get(seriesKey(s.labels))!);
    const want = new Map(s.timestamps.map((t, i) => [t, s.values[i]]));
    assert.deepEqual(got, want, `samples of ${seriesKey(s.labels)}: identical timestamps and values`);
  }
}

/**
 * Generated series: for the matched series only, input labels + `for` + `source_metric`, one point
 * per input point after warm-up at the input's timestamps; score > 1 at the spike, <= 1 for >= 99%
 * of the calm series' points; yhat_lower <= yhat <= yhat_upper everywhere.
 */
export async function assertScored(vm: VictoriaMetrics, ds: Dataset, timeoutMs = 30_000): Promise<void> {
  const expectedPoints = ds.points - WARMUP;
  const match = `{__name__=~"${GENERATED.join('|')}"}`;
  const gen = await waitFor(
    `generated series (${GENERATED.length} x ${ds.matched.length} series x ${expectedPoints} points)`,
    async () => {
      const got = await vm.exportSeries(match);
      const total = got.reduce((n, s) => n + distinctSamples(s).size, 0);
      return total >= GENERATED.length * ds.matched.length * expectedPoints ? got : undefined;
    },
    timeoutMs,
    250,
  );
  const byKey = new Map(gen.map((s) => [seriesKey(s.metric), s]));
  const wantKeys = ds.matched.flatMap((s) => GENERATED.map((v) => seriesKey(expectedGeneratedLabels(s, v))));
  assert.deepEqual([...byKey.keys()].sort(), wantKeys.sort(), 'generated series: one per variable for each matched series (input labels + for + source_metric), none for unmatched');

  for (const s of ds.matched) {
    const series = Object.fromEntries(GENERATED.map((v) => [v, distinctSamples(byKey.get(seriesKey(expectedGeneratedLabels(s, v)))!)])) as Record<(typeof GENERATED)[number], Map<number, number>>;
    const afterWarmup = s.timestamps.slice(WARMUP);
    for (const v of GENERATED) {
      assert.deepEqual(
        [...series[v].keys()].sort((a, b) => a - b),
        afterWarmup,
        `${v} of ${seriesKey(s.labels)}: a point at each input timestamp after the first ${WARMUP} (warm-up), no others`,
      );
    }
    for (const ts of afterWarmup) {
      const lo = series.yhat_lower.get(ts)!;
      const yhat = series.yhat.get(ts)!;
      const hi = series.yhat_upper.get(ts)!;
      const score = series.anomaly_score.get(ts)!;
      assert.ok(Number.isFinite(score) && score >= 0, `anomaly_score finite and >= 0 at ${ts}: ${score}`);
      assert.ok(lo <= yhat && yhat <= hi, `yhat_lower <= yhat <= yhat_upper at ${seriesKey(s.labels)} @${ts}: ${lo} ${yhat} ${hi}`);
    }
  }

  const spikedScores = distinctSamples(byKey.get(seriesKey(expectedGeneratedLabels(ds.spiked, 'anomaly_score')))!);
  const atSpike = spikedScores.get(ds.spikeTs);
  assert.ok(atSpike !== undefined && atSpike > 1, `anomaly_score > 1 at the spike (@${ds.spikeTs}), got ${atSpike}`);

  const calmScores = [...distinctSamples(byKey.get(seriesKey(expectedGeneratedLabels(ds.calm, 'anomaly_score')))!).values()];
  const calmOk = calmScores.filter((x) => x <= 1).length;
  assert.ok(calmOk >= 0.99 * calmScores.length, `anomaly_score <= 1 for >= 99% of the calm series after warm-up: ${calmOk}/${calmScores.length}; ` + `scores > 1: ${calmScores.filter((x) => x > 1).join(', ')}`);
}
