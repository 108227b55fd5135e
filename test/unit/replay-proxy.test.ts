/**
 * `anomstream replay` runs the proxy's scoring unit: for the same samples, the replay of a
 * counter query with `transform: rate` writes exactly the generated series the proxy writes
 * (anomaly_score, yhat, yhat_lower, yhat_upper, y), row for row, bit for bit.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { parse as parseYaml } from 'yaml';
import { startApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { runReplay } from '../../src/replay/replay.js';
import { CaptureServer, REMOTE_WRITE_HEADERS, buildWriteRequest, decodeWriteRequest, request, rng, type InputSeries } from '../e2e/harness.js';

const VARS = ['anomaly_score', 'yhat', 'yhat_lower', 'yhat_upper', 'y'] as const;

/** A request counter scraped every 15 s: ~100 requests a step, a restart (reset to 0) at row 150, a burst at row 220. */
function counter(): InputSeries {
  const r = rng(14);
  const timestamps: number[] = [];
  const values: number[] = [];
  let v = 5000;
  for (let i = 0; i < 300; i++) {
    if (i === 150) v = 40;
    else v += i === 220 ? 1500 : 90 + Math.round(20 * r());
    timestamps.push(1_790_000_000_000 + i * 15_000);
    values.push(v);
  }
  return { labels: { __name__: 'http_requests_total', job: 'api' }, timestamps, values };
}

test('replay with transform: rate writes what the proxy writes for the same samples', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'replay-proxy-'));
  const sink = await CaptureServer.start();
  try {
    const input = counter();
    const yaml = (url: string): string =>
      [
        'server: { listen: "127.0.0.1:0" }',
        'reader:',
        '  queries:',
        '    req: { expr: \'http_requests_total{job="api"}\', transform: rate }',
        'models:',
        '  m: { class: zscore_online, half_life: 30m }',
        `writer: { datasource_url: "${url}" }`,
        "state: { path: '' }",
        '',
      ].join('\n');

    // The proxy: the samples in 30 requests of 10, generated series captured by a real HTTP server.
    const app = await startApp(parseConfig(parseYaml(yaml(sink.url))), pino({ level: 'silent' }));
    try {
      const url = `http://127.0.0.1:${app.receiver.address().port}/api/v1/write`;
      for (let from = 0; from < 300; from += 10) {
        const res = await request(url, { method: 'POST', body: buildWriteRequest([input], from, from + 10), headers: REMOTE_WRITE_HEADERS });
        assert.equal(res.status, 204);
      }
      await app.drain();
    } finally {
      await app.close(1000);
    }
    const proxy = new Map<string, Map<number, number>>(VARS.map((v) => [v, new Map()]));
    for (const req of sink.requests) {
      if (req.method !== 'POST') continue;
      for (const ts of decodeWriteRequest(req.body).timeseries ?? []) {
        const labels = Object.fromEntries((ts.labels ?? []).map((l) => [l.name, l.value]));
        if (labels.for !== 'req') continue; // the raw data
        for (const s of ts.samples ?? []) proxy.get(labels.__name__)!.set(s.timestamp, s.value);
      }
    }

    // Replay: the same samples as a CSV, the same config.
    writeFileSync(join(dir, 'in.csv'), ['timestamp,value', ...input.timestamps.map((t, i) => `${t},${input.values[i]}`)].join('\n') + '\n');
    writeFileSync(join(dir, 'c.yaml'), yaml('http://127.0.0.1:1'));
    assert.equal(await runReplay(['--input', join(dir, 'in.csv'), '--config', join(dir, 'c.yaml'), '--output', join(dir, 'out.csv')]), 0);
    const lines = readFileSync(join(dir, 'out.csv'), 'utf8').trim().split('\n');
    assert.equal(lines[0], 'timestamp,value,yhat,yhat_lower,yhat_upper,anomaly_score,y');
    assert.equal(lines.length, 301);
    const replay = new Map<string, Map<number, number>>(VARS.map((v) => [v, new Map()]));
    for (const line of lines.slice(1)) {
      const [t, , yhat, lo, hi, score, y] = line.split(',');
      if (yhat === '') continue; // nothing written for this row
      const at = Number(t);
      for (const [v, x] of [
        ['yhat', yhat],
        ['yhat_lower', lo],
        ['yhat_upper', hi],
        ['anomaly_score', score],
        ['y', y],
      ] as const)
        replay.get(v)!.set(at, Number(x));
    }

    // The first sample only starts the rate, then 16 points of warm-up: rows 17..299 are written.
    assert.equal(proxy.get('anomaly_score')!.size, 300 - 1 - 16);
    for (const v of VARS)
      assert.deepEqual(
        [...replay.get(v)!].sort((a, b) => a[0] - b[0]),
        [...proxy.get(v)!].sort((a, b) => a[0] - b[0]),
        v,
      );
    // It is the rate that was scored: per second, a restart counted from 0, the burst flagged.
    const y = replay.get('y')!;
    assert.equal(y.get(input.timestamps[151]), (input.values[151] - input.values[150]) / 15);
    assert.equal(y.get(input.timestamps[150]), 40 / 15);
    assert.ok(replay.get('anomaly_score')!.get(input.timestamps[220])! > 1, 'the burst scores above 1');
  } finally {
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
