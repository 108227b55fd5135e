/**
 * Model-state snapshots (issue 16 item 1): what is restored predicts bit for bit what the saved
 * models would have; restored series go through the allocation paths of new ones; a changed
 * model starts cold; series idle too long are dropped; a corrupt, truncated or incompatible
 * file is moved aside and nothing of it is restored; writing yields to the event loop.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { modelEntry, type ModelConfig } from '../../src/config/models.js';
import { Registry } from '../../src/metrics/registry.js';
import { compileScoring, type QueryConfig } from '../../src/scoring/instances.js';
import { Scoring } from '../../src/scoring/scoring.js';
import { SNAPSHOT_BAD, SNAPSHOT_FILE } from '../../src/scoring/snapshot-format.js';
import { readSnapshot } from '../../src/scoring/snapshot-read.js';
import { writeSnapshot } from '../../src/scoring/snapshot-write.js';
import { Snapshots } from '../../src/scoring/snapshots.js';
import { crc32, crc32Table } from '../../src/wire/crc32.js';
import { batchOf, CollectingSink, metricValue, type TestSeries } from './scoring-helpers.js';

const NOW = Date.UTC(2026, 11, 3, 12);
const STEP = 15_000;
const T0 = NOW - 6 * 3_600_000;

const QUERIES: Record<string, QueryConfig> = {
  cpu: { expr: 'cpu', transform: 'none' },
  req: { expr: 'req', transform: 'rate' },
};

function models(over: Record<string, Record<string, unknown>> = {}): Record<string, ModelConfig> {
  const raw: Record<string, Record<string, unknown>> = {
    a: { class: 'auto', queries: ['cpu'], min_n_samples_seen: 8 },
    z: { class: 'zscore_online', queries: ['cpu', 'req'], min_n_samples_seen: 8 },
    h: { class: 'holtwinters_online', queries: ['req'], min_n_samples_seen: 8 },
    s: { class: 'seasonal_quantile_online', queries: ['cpu'], min_n_samples_seen: 8 },
    d: { class: 'mad_online', queries: ['cpu'], min_n_samples_seen: 8 },
    q: { class: 'quantile_online', queries: ['req'], min_n_samples_seen: 8 },
  };
  for (const [k, v] of Object.entries(over)) raw[k] = { ...raw[k], ...v };
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, modelEntry.parse(v) as ModelConfig]));
}

function unit(m = models(), reg = new Registry()): Scoring {
  return new Scoring(compileScoring(QUERIES, m), { maxSeries: 10_000, keepLabels: true }, reg);
}

/**
 * Points [from, to) of every series: cpu-like gauges (two tenants), counters (rate), and one unmatched
 * series (its __name__ not first, so that it is tracked: see NameFilter).
 */
function feed(scoring: Scoring, sink: CollectingSink, from: number, to: number, only?: (i: number) => boolean, count = 40): void {
  for (let p = from; p < to; p += 10) {
    const ts = Array.from({ length: Math.min(10, to - p) }, (_, k) => T0 + (p + k) * STEP);
    const gauges: TestSeries[] = [];
    const counters: TestSeries[] = [];
    for (let i = 0; i < count; i++) {
      if (only && !only(i)) continue;
      gauges.push({ labels: { __name__: 'cpu', i: String(i), job: 'node' }, ts, values: ts.map((t, k) => 50 + 10 * Math.sin(t / 3.6e6 + i) + ((p + k + i) % 7) * 0.3) });
      counters.push({ labels: { __name__: 'req', i: String(i) }, ts, values: ts.map((t) => Math.floor((t - T0) / 1000) * (i + 1) + ((t / STEP) % 3)) });
    }
    const nowMs = ts[ts.length - 1] + 1000;
    scoring.score(batchOf([...gauges, { labels: { i: 'x', __name__: 'mem' }, ts, values: ts.map(() => 1) }]), null, sink, nowMs);
    scoring.score(batchOf(gauges.slice(0, 10)), '1:2', sink, nowMs);
    scoring.score(batchOf(counters), null, sink, nowMs);
  }
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'anomstream-snap-'));
}

test('a restored model predicts bit for bit what the saved one would have; restored series use the allocation paths of new ones', async () => {
  const dir = tmp();
  try {
    const a = unit();
    const sinkA = new CollectingSink();
    feed(a, sinkA, 0, 200);
    // Series 30..39 go idle and are evicted (their ids, links and state offsets go to the free
    // lists); new ones (40..49) then take them: the snapshot walks reused slots too.
    const live = (i: number): boolean => i < 30 || i >= 40;
    feed(a, sinkA, 200, 260, (i) => i < 30);
    assert.equal(a.evictIdle(50 * STEP, T0 + 260 * STEP), 20, 'cpu and req series 30..39 evicted');
    const free = a.state.instances[0].freeOffsets.length;
    assert.equal(free, 10, 'free state offsets to reuse');
    feed(a, sinkA, 260, 280, live, 50);
    assert.equal(a.state.instances[0].freeOffsets.length, 0, 'the new series took them');
    const w = await writeSnapshot(a, dir, { version: 'test', nowMs: T0 + 280 * STEP });
    assert.ok(w.series > 0 && w.bytes > 0);

    const b = unit();
    const sinkB = new CollectingSink();
    const r = readSnapshot(b, join(dir, SNAPSHOT_FILE), sinkB, { idleTimeoutMs: 3_600_000, nowMs: T0 + 280 * STEP + 5000 });
    assert.equal(r.series, w.series);
    assert.equal(r.coldModels, 0);
    assert.equal(b.state.links.live, a.state.links.live, 'as many models');
    assert.equal(b.state.index.size, a.state.index.size - 1, 'every series but the unmatched one (it is not scored, so not kept)');
    assert.equal(sinkB.added.length, w.series, 'the emitter is told of each restored series as of a new one');

    const fromA = sinkA.got.length;
    feed(a, sinkA, 280, 400, live, 50);
    feed(b, sinkB, 280, 400, live, 50);
    const after = sinkA.got.slice(fromA);
    assert.ok(after.length > 1000, `${after.length} rows compared`);
    assert.deepEqual(sinkB.got, after, 'the same rows, value bits included, from every model of every series');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a model whose settings changed starts cold, the others resume; series idle longer than series_idle_timeout are dropped', async () => {
  const dir = tmp();
  try {
    const a = unit();
    feed(a, new CollectingSink(), 0, 100);
    feed(a, new CollectingSink(), 100, 140, (i) => i < 20);
    await writeSnapshot(a, dir, { version: 'test', nowMs: T0 + 140 * STEP });

    const changed = unit(models({ z: { half_life: '2h' } }));
    const r = readSnapshot(changed, join(dir, SNAPSHOT_FILE), new CollectingSink(), { idleTimeoutMs: 3_600_000, nowMs: T0 + 141 * STEP });
    assert.equal(r.coldModels, 40 + 10 + 40, 'zscore of every cpu (both tenants) and req series');
    assert.equal(r.warmModels, (40 + 10) * 3 + 40 * 2);

    const sinkC = new CollectingSink();
    feed(changed, sinkC, 141, 142, (i) => i === 0);
    const instZ = changed.spec.instances.findIndex((x) => x.modelAlias === 'z' && x.queryAlias === 'cpu');
    const instA = changed.spec.instances.findIndex((x) => x.modelAlias === 'a');
    assert.ok(!sinkC.got.some((row) => row.inst === instZ), 'the changed model warms up again (no row)');
    assert.ok(
      sinkC.got.some((row) => row.inst === instA),
      'an unchanged model scores at once',
    );

    // 40 points (10 min) of silence for series 20..39 before the snapshot; 5 more minutes until the restore.
    const idle = unit();
    const r2 = readSnapshot(idle, join(dir, SNAPSHOT_FILE), new CollectingSink(), { idleTimeoutMs: 12 * 60_000, nowMs: T0 + 140 * STEP + 5 * 60_000 });
    assert.equal(r2.droppedIdle, 20 * 2, 'cpu and req series 20..39 of the default tenant');
    assert.equal(r2.series, 20 * 2 + 10);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a truncated, bit-flipped or other-version snapshot: one warning, moved aside, nothing restored, counted; the next start finds none', async () => {
  const dir = tmp();
  try {
    const a = unit();
    feed(a, new CollectingSink(), 0, 50);
    await writeSnapshot(a, dir, { version: 'test' });
    const good = readFileSync(join(dir, SNAPSHOT_FILE));
    const cases: [string, Buffer, string][] = [
      ['truncated', good.subarray(0, good.length >> 1), 'corrupt'],
      ['one byte flipped', Buffer.from(good).fill(good[good.length >> 1] ^ 0x10, good.length >> 1, (good.length >> 1) + 1), 'corrupt'],
      ['version 99', Buffer.from(good).fill(99, 8, 9), 'incompatible'],
      ['empty', Buffer.alloc(0), 'corrupt'],
    ];
    for (const [what, bytes, outcome] of cases) {
      writeFileSync(join(dir, SNAPSHOT_FILE), bytes);
      const reg = new Registry();
      const b = unit(models(), reg);
      const warnings: string[] = [];
      const log = pino({ level: 'info' }, { write: (l: string) => void ((JSON.parse(l) as { level: number }).level === 40 && warnings.push(l)) });
      const s = new Snapshots(b, { dir, intervalMs: 60_000, idleTimeoutMs: 3_600_000, version: 'test', registry: reg, log });
      assert.equal(s.restore(new CollectingSink()), outcome, what);
      assert.equal(warnings.length, 1, `${what}: one warning`);
      assert.equal(b.state.index.size, 0, `${what}: nothing restored`);
      assert.equal(b.state.links.live, 0);
      assert.ok(!existsSync(join(dir, SNAPSHOT_FILE)) && existsSync(join(dir, SNAPSHOT_BAD)), `${what}: moved aside`);
      assert.equal(metricValue(reg, 'anomstream_state_restores_total', `result="${outcome}"`), 1);
      assert.equal(s.restore(new CollectingSink()), 'missing', `${what}: the next start finds no snapshot`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writing yields to the event loop between chunks, and the file is replaced atomically', async () => {
  const dir = tmp();
  try {
    const a = unit();
    feed(a, new CollectingSink(), 0, 30);
    await writeSnapshot(a, dir, { version: 'first' });
    let ticks = 0;
    const tick = (): void => {
      ticks++;
      if (!done) setImmediate(tick);
    };
    let done = false;
    setImmediate(tick);
    const r = await writeSnapshot(a, dir, { version: 'second', sliceMs: 0, chunkBytes: 4096 });
    done = true;
    assert.ok(ticks > 10, `the event loop ran ${ticks} times during the write`);
    assert.ok(r.bytes > 10 * 4096);
    // The slice clock alone yields too: a buffer the whole file fits in is still written in turns.
    ticks = 0;
    done = false;
    setImmediate(tick);
    const big = await writeSnapshot(a, dir, { version: 'third', sliceMs: 0, chunkBytes: 1 << 20 });
    done = true;
    assert.ok(big.bytes < 1 << 20);
    assert.ok(ticks >= 5, `the event loop ran ${ticks} times during a one-chunk write`);
    assert.ok(!existsSync(join(dir, 'scoring.snapshot.tmp')), 'no temp file left');
    assert.match(readFileSync(join(dir, SNAPSHOT_FILE)).subarray(0, 200).toString('latin1'), /"anomstream":"third"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('crc32: the table fallback equals node:zlib', () => {
  const data = Buffer.from(Array.from({ length: 10_000 }, (_, i) => (i * 31 + 7) & 0xff));
  assert.equal(crc32Table(data), crc32(data));
  assert.equal(crc32Table(data.subarray(5000), crc32Table(data.subarray(0, 5000))), crc32(data));
  assert.equal(crc32Table(Buffer.from('123456789')), 0xcbf43926);
});
