/**
 * Issue 19: Prometheus as a second real sender. The Debian `prometheus` (2.42) scrapes a real
 * node_exporter and anomstream's own /metrics and remote-writes through anomstream (running
 * deploy/anomstream.yml); what VictoriaMetrics then holds is compared with what Prometheus
 * itself stored: the same raw samples, and scores whose `y` is the rate of Prometheus' samples.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Anomstream, VM_BIN, VictoriaMetrics, configYaml, distinctSamples, dumpProcesses, metricIn, request, requireBinaries, seriesKey, tempDir, waitFor, type ExportedSeries } from './harness.js';
import { NODE_EXPORTER_BIN, NodeExporter, PROMETHEUS_BIN, Prometheus, instantQuery } from './peers.js';
import { anomstreamConfig } from './deploy-stack.js';

const WARMUP = 5;

/** timestamp (ms) -> value of every series Prometheus stored for `selector` in the last 10 minutes, by series key. */
async function prometheusSamples(p: Prometheus, selector: string): Promise<Map<string, Map<number, number>>> {
  const out = new Map<string, Map<number, number>>();
  for (const s of await instantQuery(p.url, `${selector}[10m]`)) {
    out.set(seriesKey(s.metric), new Map((s.values ?? []).map(([t, v]) => [Math.round(t * 1000), Number(v)])));
  }
  return out;
}

function byKey(series: ExportedSeries[]): Map<string, Map<number, number>> {
  return new Map(series.map((s) => [seriesKey(s.metric), distinctSamples(s)]));
}

test('Prometheus remote-writes through anomstream: VictoriaMetrics holds the raw samples Prometheus stored, and their scores', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN, PROMETHEUS_BIN, NODE_EXPORTER_BIN)) return;
  let vm: VictoriaMetrics | undefined;
  let exporter: NodeExporter | undefined;
  let anom: Anomstream | undefined;
  let prom: Prometheus | undefined;
  try {
    vm = await VictoriaMetrics.start();
    const vmUrl = vm.url;
    exporter = await NodeExporter.start();
    anom = await Anomstream.start((port) => anomstreamConfig(port, vmUrl, { warmup: WARMUP }));
    prom = await Prometheus.start(
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1m }',
        'scrape_configs:',
        `  - { job_name: node-exporter, static_configs: [{ targets: ['${exporter.address}'] }] }`,
        `  - { job_name: anomstream, static_configs: [{ targets: ['127.0.0.1:${anom.port}'] }] }`,
        'remote_write:',
        `  - url: ${anom.url}/api/v1/write`,
        '    queue_config: { batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s }',
        '',
      ].join('\n'),
    );

    // The rate query (transform: rate) needs WARMUP + 1 scrapes before its first score.
    const cpu = 'node_cpu_seconds_total{mode="user"}';
    const y = await waitFor(
      'y and anomaly_score of node_cpu_rate in VictoriaMetrics',
      async () => {
        const got = await vm!.exportSeries(`{__name__=~"y|anomaly_score", for="node_cpu_rate", mode="user"}`);
        const ys = got.filter((s) => s.metric.__name__ === 'y');
        return ys.length > 0 && got.length === 2 * ys.length && ys.every((s) => s.values.length >= 3) ? ys : undefined;
      },
      60_000,
      250,
    );

    // Raw: for each series, VictoriaMetrics holds exactly what Prometheus stored, up to the last
    // timestamp it has (remote write trails the scrapes; each series is sent in order).
    let compared = 0;
    for (const selector of ['node_load1', cpu, 'node_memory_MemAvailable_bytes', 'anomstream_samples_received_total']) {
      const inVm = byKey(await vm.exportSeries(selector));
      const inProm = await prometheusSamples(prom, selector);
      assert.ok(inProm.size > 0, `Prometheus scraped ${selector}`);
      assert.deepEqual([...inVm.keys()].sort(), [...inProm.keys()].sort(), `${selector}: the same series, labels unchanged`);
      for (const [key, samples] of inVm) {
        const last = Math.max(...samples.keys());
        const want = new Map([...inProm.get(key)!].filter(([ts]) => ts <= last));
        assert.ok(samples.size >= 3, `${key}: several samples arrived`);
        assert.deepEqual(samples, want, `${key}: the samples Prometheus stored, up to ${last}`);
        compared += samples.size;
      }
    }

    t.diagnostic(`${compared} raw samples identical in Prometheus and VictoriaMetrics`);

    // Scores: y of the rate query is the per-second rate between Prometheus' consecutive samples.
    const raw = await prometheusSamples(prom, cpu);
    for (const s of y) {
      const { __name__: _y, for: _for, source_metric: source, ...labels } = s.metric;
      assert.equal(source, 'node_cpu_seconds_total');
      const samples = raw.get(seriesKey({ ...labels, __name__: source }));
      assert.ok(samples, `raw series of ${seriesKey(s.metric)}`);
      const times = [...samples.keys()].sort((a, b) => a - b);
      for (const [ts, v] of distinctSamples(s)) {
        const i = times.indexOf(ts);
        assert.ok(i > WARMUP, `y at a raw sample's timestamp, after the warm-up (index ${i})`);
        const rate = (samples.get(ts)! - samples.get(times[i - 1])!) / ((ts - times[i - 1]) / 1000);
        assert.ok(Math.abs(v - rate) <= 1e-9 * Math.max(1, Math.abs(rate)), `${seriesKey(s.metric)} @${ts}: y ${v}, rate of the raw samples ${rate}`);
      }
    }
    // Gauges are scored too (no transform: no y), under the example config's query names.
    const scored = await instantQuery(vm.url, 'count by (for) (anomaly_score)');
    assert.deepEqual(scored.map((s) => s.metric.for).sort(), ['node_cpu_rate', 'node_load', 'node_mem_available']);
  } catch (e) {
    dumpProcesses(t, [vm?.proc, exporter?.proc, anom?.proc, prom?.proc]);
    throw e;
  } finally {
    await prom?.close();
    await anom?.close();
    await exporter?.close();
    await vm?.close();
  }
});

// Issue 20 (session 10, audit7): Prometheus retries only 5xx and 429; a write refused for its
// credentials used to get 401, and Prometheus dropped the batch ("non-recoverable error",
// prometheus_remote_storage_samples_failed_total). A token rotated on anomstream before the
// sender (or a sender set up before anomstream's token) then lost every sample in between.
test('Prometheus with credentials anomstream does not accept yet keeps its samples and delivers them once the token is rotated', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN, PROMETHEUS_BIN)) return;
  let vm: VictoriaMetrics | undefined;
  let anom: Anomstream | undefined;
  let prom: Prometheus | undefined;
  try {
    vm = await VictoriaMetrics.start();
    const vmUrl = vm.url;
    const token = join(tempDir('prom-token'), 'token');
    writeFileSync(token, 'old-token\n');
    const server = `auth: { bearer_token_file: "${token}" }, metrics_auth: false`;
    anom = await Anomstream.start((port) => configYaml({ port, datasourceUrl: vmUrl, server, queries: { q: 'up' } }));
    prom = await Prometheus.start(
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1m }',
        'scrape_configs:',
        `  - { job_name: anomstream, static_configs: [{ targets: ['127.0.0.1:${anom.port}'] }] }`,
        'remote_write:',
        `  - url: ${anom.url}/api/v1/write`,
        '    authorization: { credentials: new-token }',
        '    queue_config: { batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s }',
        '',
      ].join('\n'),
    );
    const promMetric = async (name: string): Promise<number> => metricIn((await request(`${prom!.url}/metrics`)).body.toString(), name);
    // Prometheus sends with the new token while anomstream still has the old one: refused.
    await waitFor(
      'Prometheus to be refused a batch',
      async () => ((await promMetric('prometheus_remote_storage_samples_failed_total')) > 0 || (await promMetric('prometheus_remote_storage_samples_retried_total')) > 0 ? true : undefined),
      30_000,
      250,
    );
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(await promMetric('prometheus_remote_storage_samples_failed_total'), 0, 'Prometheus dropped no sample (it retries)');
    const refused = await instantQuery(prom.url, 'up{job="anomstream"}[5m]');
    const before = new Set((refused[0]?.values ?? []).map(([ts]) => Math.round(ts * 1000)));
    assert.ok(before.size >= 3, `Prometheus scraped ${before.size} samples while refused`);
    assert.equal((await vm.exportSeries('up')).length, 0, 'nothing reached VictoriaMetrics while refused');

    writeFileSync(token, 'new-token\n');
    // Every sample scraped while the token did not match arrives once it does.
    await waitFor(
      'the samples scraped while refused in VictoriaMetrics',
      async () => {
        const got = await vm!.exportSeries('up{job="anomstream"}');
        const have = got.length === 1 ? distinctSamples(got[0]) : new Map<number, number>();
        return [...before].every((ts) => have.has(ts)) ? true : undefined;
      },
      30_000,
      500,
    );
    assert.equal(await promMetric('prometheus_remote_storage_samples_failed_total'), 0, 'still none dropped');
  } catch (e) {
    dumpProcesses(t, [vm?.proc, anom?.proc, prom?.proc]);
    throw e;
  } finally {
    await prom?.close();
    await anom?.close();
    await vm?.close();
  }
});
