/**
 * `anomstream replay` reads a VictoriaMetrics /api/v1/export file as VictoriaMetrics writes it:
 * a series that ended has a stale marker, exported as `null`, and ±Inf are exported as bare
 * `+Inf` / `-Inf` (not JSON). Any series whose target went away once has the first; both used to
 * fail the whole line ("expected a JSON object" / "expected ... a number, got null").
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REMOTE_WRITE_HEADERS, VM_BIN, VictoriaMetrics, encodeWriteRequest, request, requireBinaries, runCli, snappyCompress, tempDir } from './harness.js';

const STALE = Buffer.from([2, 0, 0, 0, 0, 0, 0xf0, 0x7f]);
const SENTINEL = 123456.789; // replaced on the wire by the stale-marker bits

test('replay reads a real VictoriaMetrics export with a stale marker (null) and ±Inf (bare +Inf/-Inf): one row per sample, the rest scored', { timeout: 60_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN)) return;
  const vm = await VictoriaMetrics.start();
  const dir = tempDir('replay-export');
  try {
    const n = 40;
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
    const timestamps = Array.from({ length: n }, (_, i) => t0 + i * 15_000);
    const values = timestamps.map((_, i) => 10 + (i % 3));
    values[20] = Infinity;
    values[21] = -Infinity;
    values[n - 1] = SENTINEL; // the series ends: a stale marker
    const raw = Buffer.from(encodeWriteRequest([{ labels: { __name__: 'replay_export', job: 'a' }, timestamps, values }]));
    const sentinel = Buffer.alloc(8);
    sentinel.writeDoubleLE(SENTINEL);
    STALE.copy(raw, raw.indexOf(sentinel));
    const w = await request(`${vm.url}/api/v1/write`, { method: 'POST', body: snappyCompress(raw), headers: REMOTE_WRITE_HEADERS });
    assert.equal(w.status, 204);
    await vm.forceFlush();
    const exp = await request(`${vm.url}/api/v1/export?match[]=replay_export`);
    assert.equal(exp.status, 200);
    const text = exp.body.toString();
    assert.match(text, /null/, 'VictoriaMetrics exports the stale marker as null');
    assert.match(text, /[[,]\+Inf,-Inf[,\]]/, 'and ±Inf as bare +Inf / -Inf');
    const file = join(dir, 'export.jsonl');
    writeFileSync(file, text);
    const r = await runCli(['replay', '--input', file]);
    assert.equal(r.code, 0, r.output);
    const rows = r.output.trim().split('\n');
    assert.equal(rows[0], 'timestamp,value,yhat,yhat_lower,yhat_upper,anomaly_score');
    assert.equal(rows.length - 1, n, 'one row per exported sample');
    const scored = rows.slice(1).filter((l) => l.split(',')[2] !== '');
    assert.ok(scored.length >= n - 16 - 3, `the finite samples after the warm-up are scored (${scored.length})`);
    for (const i of [20, 21, n - 1]) assert.equal(rows[1 + i].split(',')[5], '0', `the non-finite sample ${i} is not scored`);
  } finally {
    await vm.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
