/**
 * Restore pre-sizing (issue 20): before a restore, ScoringState.reserve() takes every column to
 * the capacity adding the series one by one would grow it to (the same memory, reached without
 * ~log2(n) doublings); a restore with it leaves the same state as one without.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { modelEntry, type ModelConfig } from '../../src/config/models.js';
import { writerSchema } from '../../src/config/schema.js';
import { GeneratedBlock } from '../../src/emit/block.js';
import { TenancyCheck } from '../../src/emit/tenancy.js';
import { Registry } from '../../src/metrics/registry.js';
import { compileScoring } from '../../src/scoring/instances.js';
import { Scoring } from '../../src/scoring/scoring.js';
import { SNAPSHOT_FILE } from '../../src/scoring/snapshot-format.js';
import { readSnapshot } from '../../src/scoring/snapshot-read.js';
import { writeSnapshot } from '../../src/scoring/snapshot-write.js';
import { batchOf, CollectingSink, type TestSeries } from './scoring-helpers.js';

const NOW = Date.UTC(2026, 11, 3, 12);

function unit(maxSeries = 100_000): Scoring {
  const models = { m: modelEntry.parse({ class: 'zscore_online', min_n_samples_seen: 2 }) as ModelConfig };
  return new Scoring(compileScoring({ cpu: { expr: 'cpu', transform: 'none' } }, models), { maxSeries, keepLabels: true }, new Registry());
}

function fill(s: Scoring, n: number): void {
  const ts = [NOW - 30_000, NOW - 15_000, NOW];
  const series: TestSeries[] = [];
  for (let i = 0; i < n; i++) series.push({ labels: { __name__: 'cpu', i: String(i) }, ts, values: [i, i + 1, i + 3] });
  series.push({ labels: { __name__: 'mem', i: 'x' }, ts, values: [1, 1, 1] });
  s.score(batchOf(series), null, new CollectingSink(), NOW);
}

/** Every column's length and content (as far as it is used), and the counters. */
function shape(s: Scoring): unknown {
  const st = s.state;
  const l = st.links;
  const cols = [l.first, l.inst, l.offset, l.next, l.prevValue, l.prevTs, l.aboveScore, l.aboveAt, st.matchedGen];
  const index = st.index as unknown as Record<string, ArrayLike<number>>;
  return {
    lengths: cols.map((c) => c.length),
    used: cols.map((c) => Array.from(c as ArrayLike<number>).slice(0, l.count + 1)),
    index: ['hashes', 'lastSeen', 'table'].map((k) => index[k].length),
    labels: ['start', 'len', 'tenantNo', 'bytes'].map((k) => (st.labels as unknown as Record<string, ArrayLike<number>>)[k].length),
    seen: Array.from({ length: st.index.end }, (_, id) => st.index.seenAt(id)),
    instances: st.instances.map((i) => ({ length: i.state.length, used: i.used, ready: i.ready, state: Array.from(i.state.subarray(0, i.used * i.slots)) })),
    size: st.index.size,
    live: l.live,
  };
}

test('a restore reserves at once the capacities series by series growth reaches; the restored state is the same', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'anomstream-reserve-'));
  try {
    const a = unit();
    fill(a, 5000);
    await writeSnapshot(a, dir, { version: 'test', nowMs: NOW });

    // Without reservation: reserveForRestore() made a no-op on this unit.
    const plain = unit();
    plain.reserveForRestore = () => {};
    const sinkPlain = new CollectingSink();
    readSnapshot(plain, join(dir, SNAPSHOT_FILE), sinkPlain, { idleTimeoutMs: 3_600_000, nowMs: NOW + 1000 });
    const reserved = unit();
    const sinkReserved = new CollectingSink();
    const r = readSnapshot(reserved, join(dir, SNAPSHOT_FILE), sinkReserved, { idleTimeoutMs: 3_600_000, nowMs: NOW + 1000 });
    assert.equal(r.series, 5000);
    assert.deepEqual(shape(reserved), shape(plain));
    assert.deepEqual(sinkReserved.added, sinkPlain.added);

    // The proxy's sink reserves its per-id columns too: the same lengths and plans as grown one by one.
    const blocks = [unit(), unit()].map((s, i) => {
      if (i === 0) s.reserveForRestore = () => {};
      const block = new GeneratedBlock(writerSchema.parse({ datasource_url: 'http://127.0.0.1:1' }), s.spec.instances, new TenancyCheck(new Registry(), pino({ level: 'silent' })));
      readSnapshot(s, join(dir, SNAPSHOT_FILE), block, { idleTimeoutMs: 3_600_000, nowMs: NOW + 1000 });
      const b = block as unknown as { kept: Int32Array; encoder: { plans: Record<string, ArrayLike<number>>; memo: Record<string, ArrayLike<number>> } };
      return {
        kept: Array.from(b.kept),
        plans: ['simple', 'nameId', 'generation', 'commonPrev'].map((k) => Array.from(b.encoder.plans[k])),
        memo: ['len', 'page', 'valOff'].map((k) => b.encoder.memo[k].length),
      };
    });
    assert.deepEqual(blocks[1], blocks[0]);

    // limits.max_series below the file's count: no more room than the index may fill.
    const small = unit(100);
    const r2 = readSnapshot(small, join(dir, SNAPSHOT_FILE), new CollectingSink(), { idleTimeoutMs: 3_600_000, nowMs: NOW + 1000 });
    assert.equal(r2.series, 100);
    assert.equal(r2.droppedLimit, 4900);
    assert.ok(small.state.instances[0].state.length <= 256 * small.state.instances[0].slots, `${small.state.instances[0].state.length} state slots for 100 series`);
    assert.ok(small.state.links.inst.length <= 1024);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
