/**
 * Issue 20 acceptance: a real vmagent (Debian 1.79.5) shards remote_write over two anomstream
 * instances with `hashmod` (one -remoteWrite.url per instance, each with its
 * -remoteWrite.urlRelabelConfig keeping its share: deploy/scale-out.md), both writing to one real
 * VictoriaMetrics. The series come from an HA pair (every series twice, `replica="a"` and
 * `replica="b"`, same timestamps and values), which the instances fold with
 * `reader.ignore_labels: [replica]`; the shard hash leaves `replica` out on both sides.
 *
 * Checked in VictoriaMetrics and on each instance's /metrics:
 * - every raw sample arrives exactly once (every copy, the unmatched series too);
 * - every matched series has exactly one set of score series, without `replica` and without
 *   anything naming the instance, one score per timestamp;
 * - each instance scored exactly its share (series and samples, computed here with our hashmod
 *   from the labels as sent), both non-empty, together all;
 * - a matched series written straight to the instance that does not own it is forwarded, counted
 *   in anomstream_series_not_owned_total and not scored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hashmod } from '../../src/scoring/hashmod.js';
import { Anomstream, VMAGENT_BIN, VM_BIN, buildWriteRequest, requireBinaries, seriesKey, waitFor, type InputSeries } from './harness.js';
import { SOURCE_LABELS, pushRounds, rawExactlyOnce, shardConfig, shardingVmAgent, shares, withShardStack } from './shard-support.js';

const BASE = 1000; // matched series, each sent by both replicas
const UNMATCHED = 100;
const POINTS = 8;
const WARMUP = 3; // min_n_samples_seen
const STEP = 15_000;
const T0 = Math.floor((Date.now() - 30 * 60_000) / STEP) * STEP;
const hashmod = new Hashmod({ sourceLabels: SOURCE_LABELS, count: 2 });

function points(i: number): Pick<InputSeries, 'timestamps' | 'values'> {
  return {
    timestamps: Array.from({ length: POINTS }, (_, k) => T0 + k * STEP),
    values: Array.from({ length: POINTS }, (_, k) => 50 + (i % 17) + Math.round(1000 * Math.sin(i + k)) / 1000), // 3 decimals: stored exactly
  };
}

/** node_exporter-like matched series (base labels, no replica). */
function baseSeries(): InputSeries[] {
  return Array.from({ length: BASE }, (_, i) => ({
    labels: { __name__: `shard_test_${i % 11}`, instance: `10.0.${i % 37}.${i % 5}:9100`, job: 'node', n: String(i) },
    ...points(i),
  }));
}

const replicaOf = (s: InputSeries, replica: string): InputSeries => ({ ...s, labels: { ...s.labels, replica } });

test('two instances behind a hashmod-sharding vmagent: each raw sample once, one score series set per series, each instance its share', { timeout: 240_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN, VMAGENT_BIN)) return;
  await withShardStack(t, 'shard-scale', async (st) => {
    const { vm, anoms } = st;
    for (const index of [0, 1]) anoms.push(await Anomstream.start((port) => shardConfig(port, { vm: vm.url, count: 2, index, warmup: WARMUP, expr: '{__name__=~"shard_test_.+"}', ignore: ['replica'] })));
    const agent = (st.agent = await shardingVmAgent(st.dir, anoms));

    const base = baseSeries();
    const unmatched: InputSeries[] = Array.from({ length: UNMATCHED }, (_, i) => ({ labels: { __name__: 'shard_other', instance: `h${i}:9100`, replica: 'a' }, ...points(i) }));
    const sent = [...base.map((s) => replicaOf(s, 'a')), ...base.map((s) => replicaOf(s, 'b')), ...unmatched];
    // One import per timestamp, as scrapes arrive; each waited for until vmagent has sent it to both instances.
    await pushRounds(agent, sent, 0, POINTS, 2);
    // A matched series that shard 1 owns, written straight to instance 0 (a misrouting sender).
    const stray: InputSeries = { labels: { __name__: 'shard_test_stray', instance: 'stray-0:9100' }, ...points(0) };
    for (let n = 1; hashmod.ofPairs(Object.entries(stray.labels)) !== 1; n++) stray.labels.instance = `stray-${n}:9100`;
    assert.equal((await anoms[0].write(buildWriteRequest([stray]))).status, 204);
    sent.push(stray);

    // Raw: every sample of every series (both copies, unmatched, stray), exactly once.
    await rawExactlyOnce(vm, '{__name__=~"shard_.+", for=""}', sent);

    // Scores: one set per base series, labels independent of the instance and of the replica.
    const scored = POINTS - WARMUP;
    const scores = await waitFor(
      'every score in VictoriaMetrics',
      async () => {
        const got = await vm!.exportSeries('anomaly_score{for="node"}');
        return got.reduce((n, s) => n + s.timestamps.length, 0) >= BASE * scored ? got : undefined;
      },
      60_000,
      500,
    );
    assert.equal(scores.length, BASE, 'exactly one anomaly_score series per matched series (the copies fold into one, the stray is not scored)');
    const want = new Map(
      base.map((s) => {
        const { __name__, ...rest } = s.labels;
        const labels = { __name__: 'anomaly_score', for: 'node', source_metric: __name__, ...rest };
        return [seriesKey(labels), s];
      }),
    );
    for (const s of scores) {
      const b = want.get(seriesKey(s.metric));
      assert.ok(b, `unexpected score series ${seriesKey(s.metric)} (an instance or replica label?)`);
      assert.deepEqual(s.timestamps, b.timestamps.slice(WARMUP), `${seriesKey(s.metric)}: one score per timestamp after warm-up`);
    }
    const all = await vm.exportSeries('{for="node"}');
    assert.equal(all.length, 4 * BASE, 'anomaly_score, yhat, yhat_lower, yhat_upper per series, no more');

    // Each instance: exactly its share, both non-empty, together all; the stray counted on instance 0.
    const owned = shares(base, 2);
    t.diagnostic(`shares ${owned.join(' / ')} of ${BASE} series`);
    for (const i of [0, 1]) {
      const a = anoms[i];
      assert.ok(owned[i] > BASE / 4, `shard ${i} owns a fair share: ${owned[i]}`);
      assert.equal(await a.metric('anomstream_scored_series'), owned[i], `instance ${i}: models for its share only`);
      assert.equal(await a.metric('anomstream_samples_scored_total'), owned[i] * POINTS, `instance ${i}: each of its series' timestamps learnt once`);
      assert.equal(await a.metric('anomstream_samples_not_learned_total{reason="duplicate"}'), owned[i] * POINTS, `instance ${i}: the other replica's copies not learnt`);
    }
    assert.equal(owned[0] + owned[1], BASE);
    assert.equal(await anoms[0].metric('anomstream_series_not_owned_total'), 1, 'the stray series is counted by the instance that does not own it');
    assert.equal(await anoms[1].metric('anomstream_series_not_owned_total'), 0, 'vmagent misrouted nothing');
  });
});
