/**
 * vmanomaly's queries are MetricsQL, whose metric and label names may hold dots, letters of any
 * script and backslash escapes: VictoriaMetrics keeps OpenTelemetry's dotted names
 * (`system.cpu.utilization`, `host.name`) as they are. A vmanomaly query written that way must
 * load and select those series, here sent by a real vmagent (its /api/v1/import) into a real
 * VictoriaMetrics; Prometheus 3's quoted form (`{"name.with.dots", "label.x"="v"}`) too.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VMAGENT_BIN, VM_BIN, requireBinaries, runCli, tempDir, waitFor, type InputSeries } from './harness.js';
import { withVmagent } from './stack.js';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';

const QUERIES = {
  otel: 'system.cpu.utilization{host.name="a"}',
  quoted: '{"http.server.duration", "service.name"="api"}',
  unicode: 'température{pièce="salon"}',
  escaped: 'disk\\-io{dev="sda"}',
};

const queriesYaml = Object.entries(QUERIES)
  .map(([k, v]) => `    ${k}: '${v.replace(/'/g, "''")}'`)
  .join('\n');

test("MetricsQL names in vmanomaly queries (dots, any script, escapes, Prometheus 3's quoted names): --check-config accepts them", async () => {
  const file = join(tempDir('metricsql-names'), 'anomstream.yaml');
  writeFileSync(file, `reader:\n  queries:\n${queriesYaml}\nwriter: { datasource_url: "http://127.0.0.1:8428" }\n`);
  const r = await runCli(['--check-config', file]);
  assert.equal(r.code, 0, r.output);
});

test('MetricsQL names: series with dotted, non-ASCII and escaped names sent by vmagent are scored, the others are not', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN, VMAGENT_BIN)) return;
  const config = (port: number, datasourceUrl: string): string =>
    [
      `server: { listen: "127.0.0.1:${port}" }`,
      'reader:',
      '  queries:',
      queriesYaml,
      'models: { m: { class: zscore_online, min_n_samples_seen: 4 } }',
      `writer: { datasource_url: "${datasourceUrl}" }`,
      'state: { path: "" }',
      '',
    ].join('\n');
  await withVmagent(t, config, async (vm, _anom, agent) => {
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 600_000;
    const n = 12;
    const timestamps = Array.from({ length: n }, (_, i) => t0 + i * 15_000);
    const values = timestamps.map((_, i) => 10 + (i % 3));
    const series = (labels: Record<string, string>): InputSeries => ({ labels, timestamps, values });
    const selected: [string, InputSeries][] = [
      ['otel', series({ __name__: 'system.cpu.utilization', 'host.name': 'a' })],
      ['quoted', series({ __name__: 'http.server.duration', 'service.name': 'api' })],
      ['unicode', series({ __name__: 'température', pièce: 'salon' })],
      ['escaped', series({ __name__: 'disk-io', dev: 'sda' })],
    ];
    const others = [series({ __name__: 'system.cpu.utilization', 'host.name': 'b' }), series({ __name__: 'system_cpu_utilization', host_name: 'a' })];
    await agent.importJsonLines([...selected.map(([, s]) => s), ...others]);
    const want = n - 4; // every point after the warm-up
    for (const [alias, s] of selected) {
      const got = await waitFor(
        `anomaly_score of query ${alias}`,
        async () => {
          const found = await vm.exportSeries(`anomaly_score{for="${alias}"}`);
          return found.length === 1 && found[0].values.length >= want ? found[0] : undefined;
        },
        60_000,
        500,
      );
      assert.equal(got.metric.source_metric, s.labels.__name__, alias);
      assert.equal(got.values.length, want, alias);
    }
    const all = await vm.exportSeries('anomaly_score');
    assert.equal(all.length, selected.length, `only the selected series are scored: ${JSON.stringify(all.map((s) => s.metric))}`);
  });
});

test('OpenTelemetry label names in the config: reader.ignore_labels folds an HA pair told apart by service.instance.id, metric_format adds service.name', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN, VMAGENT_BIN)) return;
  const config = (port: number, datasourceUrl: string): string =>
    [
      `server: { listen: "127.0.0.1:${port}" }`,
      'reader:',
      `  queries: { otel: 'system.cpu.utilization{host.name="a"}' }`,
      '  ignore_labels: [service.instance.id]',
      'models: { m: { class: zscore_online, min_n_samples_seen: 4 } }',
      'writer:',
      `  datasource_url: "${datasourceUrl}"`,
      '  metric_format: { __name__: $VAR, for: $QUERY_KEY, service.name: anomstream }',
      'state: { path: "" }',
      '',
    ].join('\n');
  await withVmagent(t, config, async (vm, anom, agent) => {
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 600_000;
    const n = 12;
    const timestamps = Array.from({ length: n }, (_, i) => t0 + i * 15_000);
    const values = timestamps.map((_, i) => 10 + (i % 3));
    // The two members of an HA pair: the same series but for the collector's instance id.
    const copy = (id: string): InputSeries => ({ labels: { __name__: 'system.cpu.utilization', 'host.name': 'a', 'service.instance.id': id }, timestamps, values });
    // Round by round, as two collectors send: the second copy of a timestamp is a duplicate.
    for (let k = 0; k < n; k++) await agent.importJsonLines([copy('collector-1'), copy('collector-2')], k, k + 1);
    const want = n - 4;
    const got = await waitFor(
      'one anomaly_score series for the pair',
      async () => {
        const found = await vm.exportSeries('anomaly_score');
        return found.length === 1 && found[0].values.length >= want ? found[0] : undefined;
      },
      60_000,
      500,
    );
    assert.deepEqual(got.metric, { __name__: 'anomaly_score', for: 'otel', 'service.name': 'anomstream', source_metric: 'system.cpu.utilization', 'host.name': 'a' });
    assert.equal(got.values.length, want, 'each timestamp scored once, not once per copy');
    assert.equal((await vm.exportSeries('anomaly_score')).length, 1, 'one model for both copies');
    assert.equal((await vm.exportSeries('{__name__="system.cpu.utilization"}')).length, 2, 'both raw copies are forwarded');
    assert.equal(await anom.metric('anomstream_scored_series'), 1);
  });
});
