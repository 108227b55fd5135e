/**
 * What a datasource without zstd does with VictoriaMetrics' remote write protocol, and the way
 * around it that ingest will take: the Debian VictoriaMetrics (1.79.5) reads every
 * /api/v1/write body as snappy whatever its Content-Encoding, so a zstd body made by the `zstd`
 * CLI gets 400 "snappy: corrupt input" (not 415); the same body decoded by wire/zstd and
 * re-encoded by wire/snappy-compress is accepted and every sample is stored.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { SnappyCompressor } from '../../src/wire/snappy-compress.js';
import { Zstd } from '../../src/wire/zstd.js';
import { encodeWriteRequest, REMOTE_WRITE_HEADERS, request, requireBinaries, VictoriaMetrics, VM_BIN, type InputSeries } from './harness.js';

const ZSTD_BIN = process.env.ZSTD_BIN ?? '/usr/bin/zstd';

test('VictoriaMetrics without zstd: 400 to a zstd body; the body re-encoded as snappy is stored', { timeout: 60_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN, ZSTD_BIN)) return;
  const now = Date.now() - 60_000;
  const series: InputSeries[] = Array.from({ length: 50 }, (_, i) => ({
    labels: { __name__: 'zstd_fallback_test', instance: `host-${i}:9100`, job: 'node' },
    timestamps: [now - 15_000, now],
    values: [i, i + 0.5],
  }));
  const raw = encodeWriteRequest(series);
  // As vmagent 1.116+ compresses it (zstd level 3, no checksum, content size in the header).
  const cli = spawnSync(ZSTD_BIN, ['-q', '-c', '-3', '--no-check', `--stream-size=${raw.length}`], { input: raw });
  assert.equal(cli.status, 0, String(cli.stderr));
  const zstdBody = cli.stdout;
  const vm = await VictoriaMetrics.start();
  try {
    const url = `${vm.url}/api/v1/write`;
    const vmHeaders = { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'zstd', 'X-VictoriaMetrics-Remote-Write-Version': '1' };
    for (const headers of [vmHeaders, REMOTE_WRITE_HEADERS]) {
      const r = await request(url, { method: 'POST', headers, body: zstdBody });
      assert.equal(r.status, 400, `zstd body with ${headers['Content-Encoding']}: ${r.status} ${r.body}`);
      assert.match(r.body.toString(), /snappy: corrupt input/);
    }
    const snappyBody = new SnappyCompressor().compress(new Zstd().decompress(zstdBody, 32 << 20));
    const ok = await request(url, { method: 'POST', headers: REMOTE_WRITE_HEADERS, body: snappyBody });
    assert.equal(ok.status, 204, `re-encoded body: ${ok.status} ${ok.body}`);
    const stored = await vm.exportSeries('zstd_fallback_test');
    assert.equal(stored.length, 50);
    for (const s of stored) {
      const i = Number(s.metric.instance.slice(5, -5));
      assert.deepEqual(s.timestamps, [now - 15_000, now]);
      assert.deepEqual(s.values, [i, i + 0.5]);
    }
  } finally {
    await vm.close();
  }
});
