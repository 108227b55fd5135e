/**
 * Snapshots and shards (issue 20 item 3): an instance restores only the series its `shard:`
 * owns (the others counted as dropped, not_owned); the shares of one snapshot restored into N
 * sharded instances resume bit for bit what the one instance would have scored; with
 * reader.ignore_labels a snapshot restores under the folded identity; a series found in two
 * snapshot files (merged by `anomstream state`) keeps the state seen last.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { modelEntry, type ModelConfig } from '../../src/config/models.js';
import { shardSchema } from '../../src/config/schema.js';
import { Registry } from '../../src/metrics/registry.js';
import { Hashmod } from '../../src/scoring/hashmod.js';
import { compileScoring } from '../../src/scoring/instances.js';
import { Scoring } from '../../src/scoring/scoring.js';
import { SNAPSHOT_FILE } from '../../src/scoring/snapshot-format.js';
import { readSnapshot } from '../../src/scoring/snapshot-read.js';
import { writeSnapshot } from '../../src/scoring/snapshot-write.js';
import { batchOf, CollectingSink, type TestSeries } from './scoring-helpers.js';

const NOW = Date.UTC(2026, 11, 3, 12);
const STEP = 15_000;
const T0 = NOW - 6 * 3_600_000;
const SERIES = 60;
const SOURCE = ['__name__', 'instance'];
const MODELS: Record<string, ModelConfig> = { z: modelEntry.parse({ class: 'zscore_online', min_n_samples_seen: 4 }) as ModelConfig };

function unit(o: { count?: number; index?: number; ignore?: string[] } = {}): Scoring {
  const shard = o.count === undefined ? undefined : shardSchema.parse({ count: o.count, index: o.index, source_labels: SOURCE });
  const spec = compileScoring({ node: { expr: '{__name__="cpu"}', transform: 'none' } }, MODELS, { ignoreLabels: o.ignore ?? [], shard });
  return new Scoring(spec, { maxSeries: 10_000, keepLabels: true }, new Registry());
}

const labelsOf = (i: number, replica?: string): Record<string, string> => ({ __name__: 'cpu', instance: `10.0.0.${i}:9100`, ...(replica ? { replica } : {}) });

/** Points [from, to) of series 0..SERIES-1 (those `only` keeps), each with `replica` when given. */
function feed(s: Scoring, sink: CollectingSink, from: number, to: number, o: { replica?: string; only?: (i: number) => boolean } = {}): void {
  for (let p = from; p < to; p++) {
    const series: TestSeries[] = [];
    for (let i = 0; i < SERIES; i++) {
      if (o.only && !o.only(i)) continue;
      series.push({ labels: { ...labelsOf(i, o.replica), i: String(i) }, ts: [T0 + p * STEP], values: [50 + 5 * Math.sin(p / 7 + i) + ((p * 3 + i) % 5) * 0.1] });
    }
    s.score(batchOf(series), null, sink, T0 + p * STEP + 1000);
  }
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'anomstream-reshard-'));
}

test("one instance's snapshot restored into 3 sharded instances: each takes exactly its share, and resumes bit for bit", async () => {
  const dir = tmp();
  try {
    const one = unit();
    const sinkOne = new CollectingSink();
    feed(one, sinkOne, 0, 40);
    await writeSnapshot(one, dir, { version: 'test', nowMs: T0 + 40 * STEP });
    const shardOf = new Hashmod({ sourceLabels: SOURCE, count: 3 });
    const owner = (i: number): number => shardOf.ofPairs(Object.entries({ ...labelsOf(i), i: String(i) }));
    const before = sinkOne.got.length;
    feed(one, sinkOne, 40, 80);
    const expected = sinkOne.got.slice(before);
    let total = 0;
    for (const index of [0, 1, 2]) {
      const mine = (i: number): boolean => owner(i) === index;
      const share = Array.from({ length: SERIES }, (_, i) => i).filter(mine).length;
      const inst = unit({ count: 3, index });
      const sink = new CollectingSink();
      const r = readSnapshot(inst, join(dir, SNAPSHOT_FILE), sink, { idleTimeoutMs: 3_600_000, nowMs: T0 + 40 * STEP + 5000 });
      assert.equal(r.series, share, `shard ${index}: its share`);
      assert.equal(r.droppedNotOwned, SERIES - share, `shard ${index}: the others dropped as not owned`);
      assert.ok(share > 0);
      total += share;
      feed(inst, sink, 40, 80, { only: mine });
      const want = expected.filter((row) => mine(Number(row.series)));
      assert.ok(want.length > 0);
      assert.deepEqual(sink.got, want, `shard ${index}: the same rows, value bits included, from its first point on (no warm-up)`);
    }
    assert.equal(total, SERIES);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('reader.ignore_labels: a snapshot of an HA pair restores under the folded identity, and both copies find it', async () => {
  const dir = tmp();
  try {
    const a = unit({ ignore: ['replica'] });
    feed(a, new CollectingSink(), 0, 20, { replica: 'a' });
    feed(a, new CollectingSink(), 0, 20, { replica: 'b' }); // the other copy: duplicates, not learnt
    assert.equal(a.state.links.live, SERIES);
    await writeSnapshot(a, dir, { version: 'test', nowMs: T0 + 20 * STEP });
    const b = unit({ ignore: ['replica'] });
    const r = readSnapshot(b, join(dir, SNAPSHOT_FILE), new CollectingSink(), { idleTimeoutMs: 3_600_000, nowMs: T0 + 20 * STEP + 5000 });
    assert.equal(r.series, SERIES);
    const sink = new CollectingSink();
    feed(b, sink, 20, 21, { replica: 'b' });
    assert.equal(b.state.links.live, SERIES, 'replica b found the restored series: no new model');
    assert.equal(sink.got.length, SERIES, 'scored at once (warm)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a series in two snapshot files: the state seen last is kept, whichever file comes first', async () => {
  const dirs = [tmp(), tmp()];
  try {
    // Instance "old" saw series 0..59 until point 20; instance "new" saw series 0..29 from 0 to 40.
    const old = unit();
    feed(old, new CollectingSink(), 0, 20);
    await writeSnapshot(old, dirs[0], { version: 'test', nowMs: T0 + 40 * STEP });
    const fresh = unit();
    const sinkFresh = new CollectingSink();
    feed(fresh, sinkFresh, 0, 40, { only: (i) => i < 30 });
    await writeSnapshot(fresh, dirs[1], { version: 'test', nowMs: T0 + 40 * STEP });
    const before = sinkFresh.got.length;
    feed(fresh, sinkFresh, 40, 50, { only: (i) => i < 30 });
    const want = sinkFresh.got.slice(before);
    for (const order of [
      [0, 1],
      [1, 0],
    ]) {
      const merged = unit();
      let dup = 0;
      for (const d of order) dup += readSnapshot(merged, join(dirs[d], SNAPSHOT_FILE), new CollectingSink(), { idleTimeoutMs: 3_600_000, nowMs: T0 + 40 * STEP + 1000 }).duplicates;
      assert.equal(dup, 30, `order ${order.join(',')}: series 0..29 twice`);
      assert.equal(merged.state.index.size, SERIES);
      const sink = new CollectingSink();
      feed(merged, sink, 40, 50, { only: (i) => i < 30 });
      assert.deepEqual(sink.got, want, `order ${order.join(',')}: series 0..29 resume from the later state`);
    }
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});
