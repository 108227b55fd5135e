/**
 * Issue 3 acceptance: VictoriaMetrics down -> anomstream answers 503 (senders retry 5xx);
 * VictoriaMetrics back on the same port and data dir -> vmagent's retries deliver everything.
 * Delivery is at-least-once, so distinct (series, timestamp) pairs are counted.
 *
 * vmagent 1.79 retries with a backoff doubling from 2 s: VictoriaMetrics is restarted as soon as
 * vmagent has seen a failure, so the outage lasts a few seconds and the deadline is generous.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VMAGENT_BIN, VM_BIN, buildWriteRequest, configYaml, distinctSamples, requireBinaries, seriesKey, waitFor } from './harness.js';
import { MODELS_YAML, QUERY_ALIAS, WARMUP, expectedGeneratedLabels, makeDataset } from './scenario.js';
import { withVmagent } from './stack.js';

test('VictoriaMetrics down: 503; back up: vmagent retries deliver every sample', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN, VMAGENT_BIN)) return;
  const config = (port: number, datasourceUrl: string): string => configYaml({ port, datasourceUrl, queries: { [QUERY_ALIAS]: 'outage_cpu{job="node"}' }, models: MODELS_YAML });
  await withVmagent(t, config, async (vm, anom, agent) => {
    const ds = makeDataset({ points: 120, spikeAt: 100, seed: 23, prefix: 'outage' });

    // Before the outage: the first third goes through.
    await agent.importJsonLines(ds.all, 0, 40);
    await waitFor('first third in VictoriaMetrics', async () => {
      const got = await vm.exportSeries('{__name__=~"outage_.*"}');
      return got.reduce((n, s) => n + distinctSamples(s).size, 0) >= 40 * ds.all.length ? true : undefined;
    });

    await vm.stop();
    const direct = await anom.write(buildWriteRequest([ds.calm], 0, 1));
    assert.equal(direct.status, 503, `direct POST while VictoriaMetrics is down: ${direct.status} ${direct.body.toString()}`);

    // vmagent sends the rest, gets refused, and must retry.
    const retriesBefore = await agent.metric('vmagent_remotewrite_retries_count_total');
    await agent.importJsonLines(ds.all, 40);
    await waitFor('vmagent to retry a refused block', async () => ((await agent.metric('vmagent_remotewrite_retries_count_total')) > retriesBefore ? true : undefined), 30_000);
    const refused = await agent.metric('vmagent_remotewrite_requests_total', (l) => l.includes('status_code="503"'));
    assert.ok(refused > 0, `vmagent saw 503 from anomstream while VictoriaMetrics was down (requests_total{status_code="503"} = ${refused})`);

    await vm.restart();
    const want = new Map(ds.all.map((s) => [seriesKey(s.labels), new Set(s.timestamps)]));
    const got = await waitFor(
      'every (series, timestamp) after VictoriaMetrics came back',
      async () => {
        const exp = await vm.exportSeries('{__name__=~"outage_.*"}');
        const total = exp.reduce((n, s) => n + distinctSamples(s).size, 0);
        return total >= ds.all.length * ds.points ? exp : undefined;
      },
      90_000,
      500,
    );
    const gotMap = new Map(got.map((s) => [seriesKey(s.metric), new Set(distinctSamples(s).keys())]));
    assert.deepEqual(gotMap, want, 'distinct series and timestamps in VictoriaMetrics = everything pushed into vmagent');
    for (const s of ds.all) {
      const exported = got.find((e) => seriesKey(e.metric) === seriesKey(s.labels))!;
      const values = distinctSamples(exported);
      s.timestamps.forEach((ts, i) => assert.equal(values.get(ts), s.values[i], `${seriesKey(s.labels)} @${ts}`));
    }

    // Points refused during the outage are scored once vmagent's retry gets through: anomstream
    // scores a request only after its raw data was accepted.
    await t.test('generated series cover the points refused during the outage', async () => {
      for (const s of ds.matched) {
        const key = seriesKey(expectedGeneratedLabels(s, 'anomaly_score'));
        const want = s.timestamps.slice(WARMUP);
        const have = await waitFor(
          `anomaly_score of ${seriesKey(s.labels)}`,
          async () => {
            const e = (await vm.exportSeries(key)).find((x) => seriesKey(x.metric) === key);
            const n = e ? distinctSamples(e).size : 0;
            return n >= want.length ? n : undefined;
          },
          10_000,
          500,
        ).catch(async () => {
          const e = (await vm.exportSeries(key)).find((x) => seriesKey(x.metric) === key);
          return e ? distinctSamples(e).size : 0;
        });
        assert.equal(have, want.length, `${key}: points after warm-up`);
      }
    });
  });
});
