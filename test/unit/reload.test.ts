import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import { parseConfig } from '../../src/config/load.js';
import { STATE_LAYOUT } from '../../src/config/models.js';
import { WriteBatch, WriteRequestDecoder } from '../../src/ingest/write-request.js';
import { Registry } from '../../src/metrics/registry.js';
import { compileScoring, type ScoringSpec } from '../../src/scoring/instances.js';
import { Column, type OutputRows, type ScoreSink } from '../../src/scoring/output.js';
import { Scoring } from '../../src/scoring/scoring.js';
import { SNAPSHOT_FILE } from '../../src/scoring/snapshot-format.js';
import { readSnapshot } from '../../src/scoring/snapshot-read.js';
import { writeSnapshot } from '../../src/scoring/snapshot-write.js';

const root = protobuf.loadSync(new URL('../../../proto/remote.proto', import.meta.url).pathname);
const WR = root.lookupType('prometheus.WriteRequest');

const T0 = 1_700_000_000_000;
const SERIES: [string, string][][] = [
  [
    ['__name__', 'cpu'],
    ['job', 'a'],
  ],
  [['__name__', 'mem_bytes_total']],
];

/** Points [from, to) of both series (cpu: a noisy gauge; mem: a counter), at 10 s steps. */
function batch(from: number, to: number): WriteBatch {
  const value = (s: number, i: number): number => (s === 0 ? 50 + ((i * 7) % 5) + (i === 37 ? 30 : 0) : 1000 * i + ((i * 13) % 7) * 10);
  const timeseries = SERIES.map((labels, s) => ({
    labels: labels.map(([name, v]) => ({ name, value: v })),
    samples: Array.from({ length: to - from }, (_, k) => ({ value: value(s, from + k), timestamp: T0 + (from + k) * 10_000 })),
  }));
  const b = new WriteBatch();
  new WriteRequestDecoder().decode(WR.encode(WR.fromObject({ timeseries })).finish(), b);
  return b;
}

function spec(yaml: { queries: Record<string, unknown>; models: Record<string, unknown> }): ScoringSpec {
  const cfg = parseConfig({ reader: { queries: yaml.queries }, models: yaml.models, writer: { datasource_url: 'http://127.0.0.1:8428' } });
  return compileScoring(cfg.reader.queries, cfg.models);
}

const A = spec({
  queries: { cpu: 'cpu{job="a"}', mem: { expr: 'mem_bytes_total', transform: 'rate' }, gone: 'cpu' },
  models: { z: { class: 'zscore_online', min_n_samples_seen: 5, queries: ['cpu', 'mem', 'gone'] }, m: { class: 'mad_online', min_n_samples_seen: 5, queries: ['mem'] } },
});
// cpu/z and mem/z unchanged; mem/m changed (threshold); gone removed; cpu2 added (matches the cpu series too).
const B = spec({
  queries: { cpu: 'cpu{job="a"}', mem: { expr: 'mem_bytes_total', transform: 'rate' }, cpu2: 'cpu' },
  models: { z: { class: 'zscore_online', min_n_samples_seen: 5, queries: ['cpu', 'mem', 'cpu2'] }, m: { class: 'mad_online', min_n_samples_seen: 5, threshold: 3, queries: ['mem'] } },
});

/** Output rows by "query/model series-name": [ts, score, yhat, lower, upper] each. */
class Rows implements ScoreSink {
  private readonly byKey = new Map<string, number[][]>();
  added = 0;
  constructor(private readonly scoring: () => Scoring) {}
  beginBatch(): void {}
  seriesAdded(): void {
    this.added++;
  }
  of(key: string): number[][] {
    return this.byKey.get(key) ?? [];
  }
  rows(b: WriteBatch, s: number, _id: number, _first: boolean, inst: number, out: OutputRows, from: number, n: number): void {
    const i = this.scoring().spec.instances[inst];
    b.labels(s);
    const key = `${i.queryAlias}/${i.modelAlias} ${b.labelValue(b.lblFirst[s])}`;
    const list = this.byKey.get(key) ?? [];
    for (let r = from; r < from + n; r++) list.push([out.ts[r], out.cols[Column.AnomalyScore][r], out.cols[Column.Yhat][r], out.cols[Column.YhatLower][r], out.cols[Column.YhatUpper][r]]);
    this.byKey.set(key, list);
  }
}

function after(rows: number[][], from: number): number[][] {
  return rows.filter((r) => r[0] >= T0 + from * 10_000);
}

test('reload: unchanged (query, model) pairs keep their state exactly; changed and new ones start empty; removed ones stop', () => {
  const registry = new Registry();
  const s = new Scoring(A, { maxSeries: 1000 }, registry);
  const sink = new Rows(() => s);
  const ref = new Scoring(A, { maxSeries: 1000 }, new Registry());
  const refRows = new Rows(() => ref);
  const fresh = new Scoring(B, { maxSeries: 1000 }, new Registry());
  const freshRows = new Rows(() => fresh);
  for (const [from, to] of [
    [0, 10],
    [10, 20],
    [20, 30],
  ]) {
    s.score(batch(from, to), null, sink, T0);
    ref.score(batch(from, to), null, refRows, T0);
  }
  assert.equal(sink.added, 2);
  const kept = s.reload(B, 1000);
  // B's instances: cpu/z, mem/z, mem/m, cpu2/z; A's: cpu/z, mem/z, mem/m, gone/z.
  assert.deepEqual([...kept], [0, 1, -1, -1]);
  for (const [from, to] of [
    [30, 35],
    [35, 40],
  ]) {
    s.score(batch(from, to), null, sink, T0);
    ref.score(batch(from, to), null, refRows, T0);
    fresh.score(batch(from, to), null, freshRows, T0);
  }
  // Kept: exactly what a scoring unit that never reloaded writes (model and transform state).
  for (const key of ['cpu/z cpu', 'mem/z mem_bytes_total']) {
    const got = after(sink.of(key), 30);
    assert.equal(got.length, 10, key);
    assert.deepEqual(got, after(refRows.of(key), 30), key);
  }
  // Changed and new: what a unit started on B at point 30 writes (a warm-up first: fewer rows).
  for (const key of ['mem/m mem_bytes_total', 'cpu2/z cpu']) {
    const got = after(sink.of(key), 30);
    assert.ok(got.length > 0 && got.length < 10, `${key}: ${got.length} rows after a new warm-up`);
    assert.deepEqual(got, freshRows.of(key), key);
  }
  assert.deepEqual(after(sink.of('gone/z cpu'), 30), [], 'a removed query writes nothing');
  assert.equal(sink.added, 4, 'each series is handed to the sink again after the reload (new plans)');

  // Counts per (query, model): the removed pair leaves /metrics, the others count on.
  const text = registry.render();
  assert.ok(!text.includes('query="gone"'), 'no series of the removed query');
  assert.match(text, /^anomstream_scored_series\{query="cpu2",model_alias="z"\} 1$/m);
  assert.match(text, /^anomstream_scored_series\{query="cpu",model_alias="z"\} 1$/m);
  assert.match(text, /^anomstream_samples_scored_total\{query="cpu",model_alias="z"\} 40$/m, 'counted across the reload');
  // mem/m: 29 rates before (the first point has none), 9 after (its new link starts its transform afresh).
  assert.match(text, /^anomstream_samples_scored_total\{query="mem",model_alias="m"\} 38$/m);
  assert.match(text, /^anomstream_series_warming_up\{query="cpu2",model_alias="z"\} 0$/m);
  assert.equal(s.state.links.live, 4);

  // Eviction still frees everything.
  assert.equal(s.evictIdle(1000, T0 + 10_000_000), 2);
  assert.equal(s.state.links.live, 0);
});

test('reload: a change of policy only (min_n_samples_seen, detection_direction, provide_series) keeps the state, as a restart from a snapshot would', () => {
  const before = spec({ queries: { cpu: 'cpu{job="a"}' }, models: { z: { class: 'zscore_online', min_n_samples_seen: 5, queries: ['cpu'] } } });
  const policy = spec({
    queries: { cpu: 'cpu{job="a"}' },
    models: { z: { class: 'zscore_online', min_n_samples_seen: 8, detection_direction: 'both', provide_series: ['anomaly_score', 'yhat'], queries: ['cpu'] } },
  });
  const state = spec({ queries: { cpu: 'cpu{job="a"}' }, models: { z: { class: 'zscore_online', min_n_samples_seen: 5, z_threshold: 3.5, queries: ['cpu'] } } });
  assert.equal(policy.instances[0].fingerprint, before.instances[0].fingerprint, 'the snapshot fingerprint ignores policy');
  assert.notEqual(state.instances[0].fingerprint, before.instances[0].fingerprint);
  const s = new Scoring(before, { maxSeries: 1000 }, new Registry());
  const sink = new Rows(() => s);
  const ref = new Scoring(before, { maxSeries: 1000 }, new Registry());
  const refRows = new Rows(() => ref);
  s.score(batch(0, 20), null, sink, T0);
  ref.score(batch(0, 20), null, refRows, T0);
  assert.deepEqual([...s.reload(policy, 1000)], [0], 'policy changed: state kept');
  s.score(batch(20, 30), null, sink, T0);
  ref.score(batch(20, 30), null, refRows, T0);
  assert.deepEqual(after(sink.of('cpu/z cpu'), 20), after(refRows.of('cpu/z cpu'), 20), 'scores continue from the kept state');
  assert.deepEqual([...s.reload(state, 1000)], [-1], 'a setting of the model itself changed: it starts cold');
});

test('reload: a series not seen between two reloads is matched against the pairs new in either', () => {
  const only = spec({ queries: { cpu: 'cpu{job="a"}' }, models: { z: { class: 'zscore_online', min_n_samples_seen: 5, queries: ['cpu'] } } });
  const plusMem = spec({
    queries: { cpu: 'cpu{job="a"}', mem: 'mem_bytes_total' },
    models: { z: { class: 'zscore_online', min_n_samples_seen: 5, queries: ['cpu', 'mem'] } },
  });
  const plusMad = spec({
    queries: { cpu: 'cpu{job="a"}', mem: 'mem_bytes_total' },
    models: { z: { class: 'zscore_online', min_n_samples_seen: 5, queries: ['cpu', 'mem'] }, m: { class: 'mad_online', min_n_samples_seen: 5, queries: ['cpu'] } },
  });
  const registry = new Registry();
  const s = new Scoring(only, { maxSeries: 1000 }, registry);
  const sink = new Rows(() => s);
  s.score(batch(0, 10), null, sink, T0);
  assert.deepEqual([...s.reload(plusMem, 1000)], [0, -1]); // mem/z is new
  assert.deepEqual([...s.reload(plusMad, 1000)], [0, -1, 1]); // cpu/z, cpu/m (new), mem/z (kept: born at the first reload)
  s.score(batch(10, 20), null, sink, T0);
  assert.equal(s.state.links.live, 3, 'cpu: z and m; mem: z (new at the first reload, the series unseen until after the second)');
  assert.equal(after(sink.of('mem/z mem_bytes_total'), 10).length, 10 - 5, 'mem/z scores after its warm-up');
  assert.equal(after(sink.of('cpu/z cpu'), 10).length, 10, 'cpu/z kept its state through both reloads');
  assert.match(registry.render(), /^anomstream_scored_series\{query="mem",model_alias="z"\} 1$/m);
});

test('reload then snapshot: the snapshot holds the current instances, so a restart resumes every pair the reload kept or added', async () => {
  const cpuOnly = spec({ queries: { cpu: 'cpu{job="a"}' }, models: { z: { class: 'zscore_online', min_n_samples_seen: 5, queries: ['cpu'] } } });
  // cpu/z kept; mem/z new: the mem series, unmatched before, is matched after the reload (its labels kept for the snapshot then).
  const withMem = spec({
    queries: { cpu: 'cpu{job="a"}', mem: { expr: 'mem_bytes_total', transform: 'rate' } },
    models: { z: { class: 'zscore_online', min_n_samples_seen: 5, queries: ['cpu', 'mem'] } },
  });
  const dir = mkdtempSync(join(tmpdir(), 'reload-snapshot-'));
  try {
    const s = new Scoring(cpuOnly, { maxSeries: 1000, keepLabels: true }, new Registry());
    const rows = new Rows(() => s);
    s.score(batch(0, 20), null, rows, T0);
    s.reload(withMem, 1000);
    s.score(batch(20, 30), null, rows, T0);
    await writeSnapshot(s, dir, { version: 'test', nowMs: T0 });

    const restored = new Scoring(withMem, { maxSeries: 1000, keepLabels: true }, new Registry());
    const restoredRows = new Rows(() => restored);
    const r = readSnapshot(restored, join(dir, SNAPSHOT_FILE), restoredRows, { idleTimeoutMs: 3_600_000, nowMs: T0 });
    assert.equal(r.series, 2, 'both series, the one matched only after the reload too');
    assert.equal(r.coldModels, 0, 'every model of the snapshot is one of the current instances');
    s.score(batch(30, 40), null, rows, T0);
    restored.score(batch(30, 40), null, restoredRows, T0);
    for (const key of ['cpu/z cpu', 'mem/z mem_bytes_total']) {
      const want = after(rows.of(key), 30);
      assert.equal(want.length, 10, key);
      assert.deepEqual(after(restoredRows.of(key), 30), want, `${key}: the restart goes on where the reloaded unit is`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('state layout versions: version 1 leaves the fingerprint as snapshots written before versions have it; another version starts the class cold', () => {
  const one = spec({ queries: { q: 'up' }, models: { default: {} } });
  // The fingerprint of the default model as written in snapshots before STATE_LAYOUT existed (b963237).
  assert.equal(one.instances[0].fingerprint, '8d6e8b489b9e23fc');
  const saved = STATE_LAYOUT.auto;
  try {
    STATE_LAYOUT.auto = 2;
    const two = spec({ queries: { q: 'up' }, models: { default: {} } });
    assert.notEqual(two.instances[0].fingerprint, one.instances[0].fingerprint, 'a new layout is not restored from an old snapshot');
    assert.equal(two.instances[0].settings, one.instances[0].settings, 'a reload in one process never sees two layouts');
  } finally {
    STATE_LAYOUT.auto = saved;
  }
});
