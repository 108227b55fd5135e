import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runReplay } from '../../src/replay/replay.js';
import { parseTimestamp } from '../../src/replay/input.js';

test('replay: timestamps as ISO 8601, Unix seconds and milliseconds', () => {
  assert.equal(parseTimestamp('2024-01-01T00:00:00Z'), 1704067200000);
  assert.equal(parseTimestamp('2024-01-01 00:00:00'), 1704067200000);
  assert.equal(parseTimestamp('1704067200'), 1704067200000);
  assert.equal(parseTimestamp('1704067200000'), 1704067200000);
  assert.ok(Number.isNaN(parseTimestamp('yesterday')));
});

test('replay: CSV in, one row per input row, score 0 during warm-up, spike flagged', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'replay-'));
  try {
    const rows = ['timestamp,value'];
    for (let i = 0; i < 200; i++) rows.push(`${1704067200 + i * 60},${i === 150 ? 500 : 10 + (i % 3)}`);
    writeFileSync(join(dir, 'in.csv'), rows.join('\n') + '\n');
    const code = await runReplay(['--input', join(dir, 'in.csv'), '--output', join(dir, 'out.csv')]);
    assert.equal(code, 0);
    const out = readFileSync(join(dir, 'out.csv'), 'utf8').trim().split('\n');
    assert.equal(out[0], 'timestamp,value,yhat,yhat_lower,yhat_upper,anomaly_score');
    assert.equal(out.length, 201);
    assert.equal(Number(out[1].split(',')[5]), 0);
    assert.ok(Number(out[151].split(',')[5]) > 1);
    assert.equal(out[151].split(',')[0], String(1704067200 + 150 * 60));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('replay: VictoriaMetrics export JSON lines; bad rows give their line number and exit 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'replay-'));
  try {
    const ts = Array.from({ length: 30 }, (_, i) => 1704067200000 + i * 15000);
    writeFileSync(join(dir, 'in.jsonl'), JSON.stringify({ metric: { __name__: 'x' }, values: ts.map(() => 1), timestamps: ts }) + '\n');
    assert.equal(await runReplay(['--input', join(dir, 'in.jsonl'), '--model', 'zscore_online', '--output', join(dir, 'o.csv')]), 0);
    assert.equal(readFileSync(join(dir, 'o.csv'), 'utf8').trim().split('\n').length, 31);
    writeFileSync(join(dir, 'bad.csv'), 'timestamp,value\n2024-01-01T00:00:00Z,1\nnot-a-time,2\n');
    assert.equal(await runReplay(['--input', join(dir, 'bad.csv'), '--output', join(dir, 'o2.csv')]), 1);
    writeFileSync(join(dir, 'c.yaml'), 'models:\n  m:\n    class: nope\n');
    assert.equal(await runReplay(['--input', join(dir, 'in.jsonl'), '--config', join(dir, 'c.yaml')]), 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
