/**
 * Issue 17 item 3, per-series limits (limits.max_labels_per_series, max_label_name_len,
 * max_label_value_len, as VictoriaMetrics applies them): a series over one is forwarded byte for
 * byte but not scored, counted by reason; a generated series that would break one (its
 * metric_format labels plus the input's) is not written, counted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { parse as parseYaml } from 'yaml';
import { startApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { CaptureServer, REMOTE_WRITE_HEADERS, buildWriteRequest, decodeWriteRequest, metricIn, request, sleep, type InputSeries } from './harness.js';

const N = 40;

/** N samples a minute apart, ending a minute ago: enough for a zscore_online warm-up of 4. */
function series(labels: Record<string, string>): InputSeries {
  const t0 = Date.now() - (N + 1) * 60_000;
  return { labels, timestamps: Array.from({ length: N }, (_, i) => t0 + i * 60_000), values: Array.from({ length: N }, (_, i) => 10 + (i % 3)) };
}

/** `name{reason="..."}`, or a bare name summed over its label sets (per query and model). */
function metric(text: string, name: string, reason?: string): number {
  return metricIn(text, reason ? `${name}{reason="${reason}"}` : name);
}

test('a series over a per-series limit is forwarded unchanged, not scored, counted by reason; a generated series over a limit is not written', { timeout: 60_000 }, async () => {
  const sink = await CaptureServer.start(204);
  const cfg = parseConfig(
    parseYaml(
      [
        'server: { listen: "127.0.0.1:0" }',
        "reader: { queries: { q: 'up' } }",
        `writer: { datasource_url: "${sink.url}", metric_format: { __name__: '$VAR', for: '$QUERY_KEY', team: 'sre' } }`,
        'models: { z: { class: zscore_online, min_n_samples_seen: 4 } }',
        'limits: { max_labels_per_series: 8, max_label_name_len: 20, max_label_value_len: 30 }',
        "state: { path: '' }",
        '',
      ].join('\n'),
    ),
  );
  const app = await startApp(cfg, pino({ level: 'silent' }));
  const url = `http://127.0.0.1:${app.receiver.address().port}/api/v1/write`;
  const extra = (n: number): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`l${i}`, 'v']));
  try {
    const inputs: InputSeries[] = [
      series({ __name__: 'up', job: 'ok' }), // generated: __name__, for, team, source_metric, job: 5 labels
      series({ __name__: 'up', job: 'labels', ...extra(8) }), // 9 labels > 8: not scored
      series({ __name__: 'up', job: 'name', ['n'.repeat(21)]: 'v' }), // a 21-byte name > 20
      series({ __name__: 'up', job: 'value', v: 'é'.repeat(16) }), // 32 bytes (16 characters) > 30
      series({ __name__: 'up', job: 'generated', ...extra(4) }), // 6 labels: within; generated 3 + 1 + 5 = 9 > 8
    ];
    const body = buildWriteRequest(inputs);
    const r = await request(url, { method: 'POST', body, headers: REMOTE_WRITE_HEADERS });
    assert.equal(r.status, 204, r.body.toString());
    assert.ok(
      sink.requests.some((q) => q.method === 'POST' && Buffer.compare(q.body, Buffer.from(body)) === 0),
      'the request, over-limit series included, was forwarded byte for byte',
    );
    await sleep(500);
    const generated = sink.requests
      .filter((q) => q.method === 'POST' && Buffer.compare(q.body, Buffer.from(body)) !== 0)
      .flatMap((q) => decodeWriteRequest(q.body).timeseries ?? [])
      .map((s) => Object.fromEntries((s.labels ?? []).map((l) => [l.name, l.value])) as Record<string, string>);
    const jobs = new Set(generated.map((l) => l.job));
    assert.deepEqual([...jobs], ['ok'], `generated series only for the series within every limit (got ${[...jobs].join(', ')})`);
    assert.ok(
      generated.every((l) => Object.keys(l).length <= 8),
      'no generated series has more than 8 labels',
    );
    const m = (await request(`http://127.0.0.1:${app.receiver.address().port}/metrics`)).body.toString();
    assert.equal(metric(m, 'anomstream_series_over_label_limits_total', 'limits.max_labels_per_series'), 1);
    assert.equal(metric(m, 'anomstream_series_over_label_limits_total', 'limits.max_label_name_len'), 1);
    assert.equal(metric(m, 'anomstream_series_over_label_limits_total', 'limits.max_label_value_len'), 1);
    assert.equal(metric(m, 'anomstream_scored_series'), 2, 'only the two series within the limits have model state');
    assert.ok(metric(m, 'anomstream_generated_samples_over_label_limits_total') > 0, 'the generated samples not written are counted');
  } finally {
    await app.close(1000);
    await sink.close();
  }
});
