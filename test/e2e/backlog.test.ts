/**
 * Issue 16 acceptance: a backlog replayed out of order still gets its scores. A real vmagent
 * with its default -remoteWrite.queues (2 x CPUs: blocks sent concurrently) sends a steady load
 * through anomstream; VictoriaMetrics is stopped for 60 s and started again; vmagent then
 * replays what it kept, its queues racing each other, so a series' samples arrive out of time
 * order. Every raw sample must arrive, and >= 99% of the samples of the scored series (distinct
 * timestamps, after the warm-up) must have an anomaly_score with the same timestamp (before
 * issue 16 a sample older than the newest one seen was not scored: 96.3% in the same setup).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VMAGENT_BIN, VM_BIN, configYaml, distinctSamples, requireBinaries, sleep, waitFor, type InputSeries } from './harness.js';
import { withVmagent } from './stack.js';

const WARMUP = 16;
const SCORED = 20;
const STEP = 250;
const OUTAGE_MS = 60_000;

test('vmagent with its default queues, VictoriaMetrics stopped 60 s under load and back: every raw sample arrives, >= 99% of the scored samples have an anomaly_score', { timeout: 300_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN, VMAGENT_BIN)) return;
  const config = (port: number, url: string): string =>
    configYaml({ port, datasourceUrl: url, queries: { cpu: 'bl_cpu{job="node"}' }, models: `  m: { class: zscore_online, min_n_samples_seen: ${WARMUP}, half_life: 2m }` });
  await withVmagent(
    t,
    config,
    async (vm, anom, agent) => {
      // A steady load: one point per series every 250 ms (timestamps on the wall clock), 10 s before
      // the outage, 60 s during it, 10 s after; 20 scored series and 20 others.
      const t0 = Math.floor(Date.now() / STEP) * STEP;
      const series: InputSeries[] = [];
      for (let i = 0; i < SCORED; i++) series.push({ labels: { __name__: 'bl_cpu', job: 'node', i: String(i) }, timestamps: [], values: [] });
      for (let i = 0; i < SCORED; i++) series.push({ labels: { __name__: 'bl_mem', job: 'node', i: String(i) }, timestamps: [], values: [] });
      let k = 0;
      const feed = async (untilMs: number): Promise<void> => {
        while (Date.now() < untilMs) {
          const ts = t0 + k * STEP;
          const batch = series.map((s, i) => ({ labels: s.labels, timestamps: [ts], values: [40 + (i % SCORED) + ((k * 7 + i) % 5) * 0.25] }));
          for (let i = 0; i < series.length; i++) {
            series[i].timestamps.push(ts);
            series[i].values.push(batch[i].values[0]);
          }
          await agent.importJsonLines(batch);
          k++;
          await sleep(Math.max(0, t0 + k * STEP - Date.now()));
        }
      };
      await feed(Date.now() + 10_000);
      await vm.stop();
      await feed(Date.now() + OUTAGE_MS);
      await vm.restart();
      await feed(Date.now() + 10_000);
      const points = k;
      t.diagnostic(`${points} points x ${series.length} series sent`);

      const raw = await waitFor(
        'every raw sample in VictoriaMetrics (vmagent backs off up to a minute)',
        async () => {
          const e = await vm.exportSeries('{__name__=~"bl_.*"}');
          return e.reduce((n, s) => n + distinctSamples(s).size, 0) >= series.length * points ? e : undefined;
        },
        150_000,
        1000,
      );
      const rawByI = new Map(raw.filter((s) => s.metric.__name__ === 'bl_cpu').map((s) => [s.metric.i, [...distinctSamples(s).keys()].sort((a, b) => a - b)]));
      assert.equal(raw.length, series.length, 'every series');
      // Every sample after the series' warm-up, whatever order it came in. The warm-up is up to the
      // series' first anomaly_score: with vmagent's queues racing even while everything is up, a
      // sample that arrives after a newer one during the warm-up is neither learned nor scored, so
      // the warm-up may take more than WARMUP samples (counted apart below).
      let want = 0;
      let have = 0;
      let warmup = 0;
      let longestWarmup = 0;
      const missing: string[] = [];
      const scored = async (): Promise<void> => {
        const scores = new Map<string, Set<number>>();
        for (const s of await vm.exportSeries('anomaly_score{source_metric="bl_cpu"}')) {
          const set = scores.get(s.metric.i) ?? new Set<number>();
          for (const x of s.timestamps) set.add(x);
          scores.set(s.metric.i, set);
        }
        want = have = warmup = longestWarmup = 0;
        missing.length = 0;
        for (const [i, ts] of rawByI) {
          const mine = scores.get(i) ?? new Set<number>();
          const first = Math.min(...mine);
          const w = ts.filter((x) => x < first).length;
          warmup += w;
          longestWarmup = Math.max(longestWarmup, w);
          for (const x of ts) {
            if (x < first) continue;
            want++;
            if (mine.has(x)) have++;
            else if (missing.length < 10) missing.push(`i=${i}@${x}`);
          }
        }
      };
      await waitFor(
        'anomaly_score for every scored sample (generated writes refused during the outage are retried with a backoff of up to 30 s)',
        async () => {
          await scored();
          return have === want ? true : undefined;
        },
        45_000,
        1000,
      ).catch(() => undefined);
      t.diagnostic(
        `scored ${have} of ${want} samples after the warm-up; warm-up samples ${warmup} (${SCORED} x ${WARMUP} = ${SCORED * WARMUP} in time order); ` +
          `out of order (scored, not learned): ${await anom.metric('anomstream_samples_not_learned_total{reason="out_of_order"}')}; ` +
          `generated retries ${await anom.metric('anomstream_generated_retries_total')}, dropped ${await anom.metric('anomstream_generated_dropped_total{reason="buffer_full"}')}`,
      );
      assert.ok(longestWarmup <= 4 * WARMUP, `every series scored after at most ${4 * WARMUP} samples (longest warm-up: ${longestWarmup})`);
      assert.ok(have >= 0.99 * want, `${have} of ${want} samples (${((100 * have) / want).toFixed(2)}%) have an anomaly_score; missing e.g. ${missing.join(', ')}`);
    },
    { defaultQueues: true },
  );
});
