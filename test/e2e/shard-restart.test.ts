/**
 * Issue 20 acceptance (restarts and resharding): a real vmagent (Debian 1.79.5) shards
 * remote_write with `hashmod` over anomstream instances that keep model snapshots, into one
 * real VictoriaMetrics.
 *
 * - Restart one of two instances mid-load (SIGTERM, vmagent keeps the data coming and retries
 *   the stopped instance's share, the instance starts again on the same state.path): every raw
 *   sample arrives exactly once, the instance restores exactly its share, and its series are
 *   scored from their first point after the restart (no second warm-up).
 * - Reshard 2 -> 3 with `anomstream state import` (the two old instances, merging the other's
 *   snapshot into their own) and `anomstream state export --shard 3/2` (the new one): every
 *   instance restores exactly its new share, and every series is scored from its first point
 *   after the reshard, on whichever instance it moved to.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Anomstream, VMAGENT_BIN, VM_BIN, VictoriaMetrics, requireBinaries, runCli, waitFor, type InputSeries } from './harness.js';
import { pushRounds, rawExactlyOnce, shardConfig, shares, shardingVmAgent, withShardStack, type ShardConfig } from './shard-support.js';

const SERIES = 300;
const UNMATCHED = 20;
const POINTS = 16;
/** Points sent before the restart / reshard. */
const BEFORE = 8;
const WARMUP = 4;
const STEP = 15_000;
const EXPR = '{__name__=~"rs_.+"}';
/** The raw series sent (matched and not), not the generated ones. */
const RAW = '{__name__=~".*rs.*", for=""}';

function dataset(): { matched: InputSeries[]; all: InputSeries[] } {
  const t0 = Math.floor((Date.now() - 30 * 60_000) / STEP) * STEP;
  const timestamps = Array.from({ length: POINTS }, (_, k) => t0 + k * STEP);
  const values = (i: number): number[] => timestamps.map((_, k) => 40 + (i % 13) + Math.round(1000 * Math.sin(i + k)) / 1000);
  const matched = Array.from({ length: SERIES }, (_, i) => ({ labels: { __name__: `rs_${i % 7}`, instance: `10.1.${i % 23}.${i % 3}:9100`, n: String(i) }, timestamps, values: values(i) }));
  const other = Array.from({ length: UNMATCHED }, (_, i) => ({ labels: { __name__: 'other_rs', instance: `h${i}:9100` }, timestamps, values: values(i) }));
  return { matched, all: [...matched, ...other] };
}

/** Until every matched series has exactly one anomaly_score at each point from WARMUP to `to` - 1. */
async function scoredThrough(vm: VictoriaMetrics, matched: InputSeries[], to: number): Promise<void> {
  const want = new Map(matched.map((s) => [s.labels.n, s.timestamps.slice(WARMUP, to)]));
  const got = await waitFor(
    `anomaly_score at points ${WARMUP}..${to - 1} of every series`,
    async () => {
      const e = await vm.exportSeries('anomaly_score{for="node"}');
      return e.reduce((n, s) => n + s.timestamps.length, 0) >= matched.length * (to - WARMUP) ? e : undefined;
    },
    60_000,
    500,
  ).catch(() => vm.exportSeries('anomaly_score{for="node"}'));
  assert.equal(got.length, matched.length, 'one anomaly_score series per matched series');
  for (const s of got) assert.deepEqual(s.timestamps, want.get(s.metric.n), `series n=${s.metric.n}: one score per point after the first warm-up, none missing`);
}

function config(vm: string, count: number, index: number, statePath: string): (port: number) => string {
  const c: ShardConfig = { vm, count, index, warmup: WARMUP, expr: EXPR, state: `path: "${statePath}", interval: 1s` };
  return (port) => shardConfig(port, c);
}

test('restart one of two sharded instances mid-load: nothing lost, its series resume from its snapshot', { timeout: 180_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN, VMAGENT_BIN)) return;
  const { matched, all } = dataset();
  await withShardStack(t, 'shard-restart', async (st) => {
    const { vm, anoms, dir } = st;
    for (const i of [0, 1]) anoms.push(await Anomstream.start(config(vm.url, 2, i, join(dir, `state-${i}`))));
    const agent = (st.agent = await shardingVmAgent(dir, anoms));
    const owned = shares(matched, 2);
    t.diagnostic(`shares ${owned.join(' / ')}`);

    await pushRounds(agent, all, 0, BEFORE, 2);
    await scoredThrough(vm, matched, BEFORE);
    const b = anoms[1];
    b.proc.child.kill('SIGTERM');
    assert.equal(await b.proc.wait(), 0, 'instance 1 stops with exit code 0 (snapshot written)');
    // The rest while instance 1 is away: vmagent sends instance 0 its share and holds instance 1's.
    await agent.importJsonLines(all, BEFORE, POINTS);
    await waitFor('vmagent to fail sending to the stopped instance', async () => ((await agent.metric('vmagent_remotewrite_retries_count_total')) > 0 ? true : undefined), 30_000, 200);
    await b.restart();
    assert.equal(await b.metric('anomstream_state_restores_total{result="restored"}'), 1);
    assert.equal(await b.metric('anomstream_state_restored_series'), owned[1], 'instance 1 restored exactly its share');

    await rawExactlyOnce(vm, RAW, all);
    await scoredThrough(vm, matched, POINTS);
    assert.equal(await b.metric('anomstream_samples_scored_total'), owned[1] * (POINTS - BEFORE), 'after the restart each of its series learnt each later point once');
    assert.equal(await anoms[0].metric('anomstream_samples_scored_total'), owned[0] * POINTS, 'instance 0 went on undisturbed');
    for (const a of anoms) assert.equal(await a.metric('anomstream_series_not_owned_total'), 0);
  });
});

test('reshard 2 -> 3 with state import / state export --shard: each instance restores its new share, every series scored from its first point after', { timeout: 240_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN, VMAGENT_BIN)) return;
  const { matched, all } = dataset();
  await withShardStack(t, 'shard-reshard', async (st) => {
    const { vm, anoms, dir } = st;
    const statePath = (i: number): string => join(dir, `state-${i}`);
    const snapshot = (i: number): string => join(statePath(i), 'scoring.snapshot');
    const old: Anomstream[] = [];
    for (const i of [0, 1]) old.push(await Anomstream.start(config(vm.url, 2, i, statePath(i))));
    anoms.push(...old);
    st.agent = await shardingVmAgent(dir, old);
    await pushRounds(st.agent, all, 0, BEFORE, 2);
    await scoredThrough(vm, matched, BEFORE);
    await st.agent.close();
    for (const a of old) {
      a.proc.child.kill('SIGTERM');
      assert.equal(await a.proc.wait(), 0, 'old instance stopped, snapshot written');
    }

    // The handover, as deploy/scale-out.md describes it: copies of the old snapshots first (an
    // import rewrites its instance's own); instances 0 and 1 take their new share of the other's
    // into their own state.path (import keeps their own series that stay); the new instance 2
    // exports its share from both with the old config and --shard 3/2.
    const handover = join(dir, 'handover');
    mkdirSync(handover);
    const copy = (i: number): string => join(handover, `old-${i}.snapshot`);
    for (const i of [0, 1]) copyFileSync(snapshot(i), copy(i));
    const cfgFile = (i: number): string => {
      const f = join(dir, `new-${i}.yml`);
      writeFileSync(f, config(vm.url, 3, i, statePath(i))(0));
      return f;
    };
    const moved: string[] = [];
    for (const i of [0, 1]) {
      const r = await runCli(['state', 'import', '--config', cfgFile(i), copy(1 - i)]);
      assert.equal(r.code, 0, r.output);
      moved.push(r.output);
    }
    mkdirSync(statePath(2));
    const ex = await runCli(['state', 'export', '--config', old[0].configFile, '--shard', '3/2', '--output', statePath(2), copy(0), copy(1)]);
    assert.equal(ex.code, 0, ex.output);
    t.diagnostic([...moved, ex.output].join(''));
    // Misuse: no --output is exit 2; an unreadable snapshot is exit 1 and nothing is written.
    assert.equal((await runCli(['state', 'export', '--config', cfgFile(0), copy(0)])).code, 2);
    const junk = join(handover, 'junk.snapshot');
    writeFileSync(junk, 'not a snapshot');
    const before = readFileSync(snapshot(0));
    const bad = await runCli(['state', 'import', '--config', cfgFile(0), copy(1), junk]);
    assert.equal(bad.code, 1, bad.output);
    assert.match(bad.output, /junk\.snapshot: corrupt/);
    assert.deepEqual(readFileSync(snapshot(0)), before, 'a failed import leaves the snapshot as it was');

    const owned = shares(matched, 3);
    const now: Anomstream[] = [];
    for (const i of [0, 1, 2]) now.push(await Anomstream.start(config(vm.url, 3, i, statePath(i))));
    anoms.push(...now);
    for (const i of [0, 1, 2]) assert.equal(await now[i].metric('anomstream_state_restored_series'), owned[i], `new instance ${i} restored exactly its share (${owned[i]})`);
    st.agent = await shardingVmAgent(dir, now);
    await pushRounds(st.agent, all, BEFORE, POINTS, 3);

    await rawExactlyOnce(vm, RAW, all);
    await scoredThrough(vm, matched, POINTS);
    for (const i of [0, 1, 2]) {
      assert.equal(await now[i].metric('anomstream_samples_scored_total'), owned[i] * (POINTS - BEFORE), `new instance ${i}: its share, each point once`);
      assert.equal(await now[i].metric('anomstream_series_not_owned_total'), 0);
    }
  });
});
