/**
 * Issue 19 acceptance: GET /metrics passes `promtool check metrics` (Prometheus' own parser and
 * linter, Debian package `prometheus`), and after a known load of exactly 1,000 samples through a
 * real VictoriaMetrics the counters say exactly that: received, forwarded, and per query and model
 * what was scored, and how many samples scored above 1 (checked against the anomaly_score samples
 * VictoriaMetrics holds).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { Anomstream, VM_BIN, VictoriaMetrics, buildWriteRequest, configYaml, dumpProcesses, request, requireBinaries, waitFor, type InputSeries } from './harness.js';
import { documentedMetrics } from '../deploy/files.js';
import { parseMetrics, sumOf } from './metrics-text.js';
import { PROMTOOL_BIN } from './peers.js';

const T0 = Math.floor(Date.now() / 1000) * 1000 - 600_000;

/** 10 series x 100 samples at 1 s; `load{kind="scored"}` (4 series) is matched by the query, one with a spike at the end. */
function load(): InputSeries[] {
  const series: InputSeries[] = [];
  for (let i = 0; i < 10; i++) {
    const timestamps = Array.from({ length: 100 }, (_, j) => T0 + j * 1000);
    const values = timestamps.map((_, j) => 50 + ((j * 7 + i) % 5) * 0.1 + (i === 0 && j === 99 ? 40 : 0));
    series.push({ labels: { __name__: 'load', kind: i < 4 ? 'scored' : 'other', n: String(i) }, timestamps, values });
  }
  return series;
}

test('GET /metrics passes promtool check metrics; after exactly 1,000 samples the counters say 1,000', { timeout: 60_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN, PROMTOOL_BIN)) return;
  let vm: VictoriaMetrics | undefined;
  let anom: Anomstream | undefined;
  try {
    vm = await VictoriaMetrics.start();
    const vmUrl = vm.url;
    const models = '  a: { class: zscore_online, min_n_samples_seen: 16 }\n  b: { class: mad_online, min_n_samples_seen: 16 }';
    anom = await Anomstream.start((port) => configYaml({ port, datasourceUrl: vmUrl, queries: { scored: 'load{kind="scored"}' }, models }));
    const series = load();
    // Two requests of 500 samples each (samples 0-49 and 50-99 of every series).
    for (const [from, to] of [
      [0, 50],
      [50, 100],
    ]) {
      const r = await anom.write(buildWriteRequest(series, from, to));
      assert.equal(r.status, 204, r.body.toString());
    }
    const bad = await anom.write(Buffer.from('not snappy'));
    assert.equal(bad.status, 400);
    // Scoring runs after the answer: wait until VictoriaMetrics holds every generated series.
    await waitFor('the generated series of both requests in VictoriaMetrics', async () => {
      const got = await vm!.exportSeries('anomaly_score{for="scored"}');
      return got.reduce((n, s) => n + s.values.length, 0) === 2 * 4 * (100 - 16) ? true : undefined;
    });
    const scrape = async (): Promise<string> => (await request(`${anom!.url}/metrics`)).body.toString('utf8');
    await waitFor('the generated writes counted', async () => (sumOf(parseMetrics(await scrape()), 'anomstream_generated_writes_total') >= 1 ? true : undefined));

    const text = await scrape();
    const check = spawnSync(PROMTOOL_BIN, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
    assert.equal(check.status, 0, `promtool check metrics: ${check.stdout}${check.stderr}`);
    const broken = spawnSync(PROMTOOL_BIN, ['check', 'metrics'], { input: text.replace('# TYPE anomstream_samples_received_total counter', '# TYPE anomstream_samples_received_total gauge'), encoding: 'utf8' });
    assert.notEqual(broken.status, 0, 'promtool does object to a counter typed as a gauge');

    // Every family exposed is in the README's metrics table (and so may be used by rules and dashboards).
    const documented = documentedMetrics();
    for (const [, name] of text.matchAll(/^# TYPE (\S+) /gm)) assert.ok(documented.has(name), `${name} is exposed but not documented in the README`);

    const m = parseMetrics(text);
    assert.equal(sumOf(m, 'anomstream_samples_received_total'), 1000);
    assert.equal(sumOf(m, 'anomstream_samples_received_total', 'path="/api/v1/write"', 'code="204"'), 1000);
    assert.equal(sumOf(m, 'anomstream_forward_samples_total', 'result="accepted"'), 1000);
    assert.equal(sumOf(m, 'anomstream_forward_samples_total'), 1000);
    const raw = await vm.exportSeries('load');
    assert.equal(
      raw.reduce((n, s) => n + s.values.length, 0),
      1000,
      'and VictoriaMetrics holds exactly those 1,000 samples',
    );
    assert.equal(sumOf(m, 'anomstream_forward_requests_total', 'result="accepted"'), 2);
    assert.ok(sumOf(m, 'anomstream_forward_bytes_total', 'result="accepted"') > 0);
    assert.equal(sumOf(m, 'anomstream_http_requests_total', 'path="/api/v1/write"', 'code="204"'), 2);
    assert.equal(sumOf(m, 'anomstream_http_requests_total', 'path="/api/v1/write"', 'code="400"'), 1);
    assert.equal(sumOf(m, 'anomstream_decode_errors_total', 'reason="snappy"'), 1);
    assert.equal(sumOf(m, 'anomstream_http_request_duration_seconds_count', 'path="/api/v1/write"'), 3);

    // Per query and model: 4 series x 100 samples learnt by each model; the first 16 of each warm up.
    for (const model of ['a', 'b']) {
      const l = [`query="scored"`, `model_alias="${model}"`];
      assert.equal(sumOf(m, 'anomstream_samples_scored_total', ...l), 400, `samples scored by ${model}`);
      assert.equal(sumOf(m, 'anomstream_scored_series', ...l), 4);
      assert.equal(sumOf(m, 'anomstream_series_warmed_up_total', ...l), 4);
      assert.equal(sumOf(m, 'anomstream_series_warming_up', ...l), 0);
      // Samples above 1: exactly the anomaly_score samples above 1 that VictoriaMetrics holds.
      const scores = await vm.exportSeries(`anomaly_score{for="scored", model_alias="${model}"}`);
      assert.equal(scores.length, 4);
      assert.equal(
        scores.reduce((n, s) => n + s.values.length, 0),
        4 * (100 - 16),
        `${model}: a score per sample after warm-up`,
      );
      const above = scores.reduce((n, s) => n + s.values.filter((v) => v > 1).length, 0);
      assert.ok(above >= 1, `${model}: the spike scores above 1`);
      assert.equal(sumOf(m, 'anomstream_samples_anomalous_total', ...l), above, `samples above 1 by ${model}`);
    }
    assert.equal(sumOf(m, 'anomstream_series'), 10);
    assert.equal(sumOf(m, 'anomstream_scoring_duration_seconds_count'), 2);
    assert.equal(sumOf(m, 'anomstream_generated_samples_total'), 2 * 4 * 4 * (100 - 16), 'four variables per scored sample after warm-up, two models');
    assert.equal(sumOf(m, 'anomstream_build_info', 'version="'), 1);
    assert.ok(sumOf(m, 'nodejs_eventloop_delay_seconds_count') > 0);
    assert.ok(sumOf(m, 'process_open_fds') > 0 && sumOf(m, 'process_max_fds') >= sumOf(m, 'process_open_fds'));
  } catch (e) {
    dumpProcesses(t, [anom?.proc, vm?.proc]);
    throw e;
  } finally {
    await anom?.close();
    await vm?.close();
  }
});
