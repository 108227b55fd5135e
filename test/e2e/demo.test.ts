/**
 * `npm run demo`, the README's quick start (bench/demo.ts with its real VictoriaMetrics and
 * anomstream, on free ports): it ends with the troubled series scoring above 1 and the calm one
 * not, leaves nothing in the directory it runs in (before, anomstream's default state.path made
 * an `anomstream-state/` there, and the next run restored the last run's models, so its scores
 * differed), and a second run flags the same points.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT, VM_BIN, freePort, requireBinaries, tempDir } from './harness.js';

function demo(cwd: string, vmPort: number, port: number): string {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'dist', 'bench', 'demo.js')], {
    cwd,
    env: { ...process.env, DEMO_SECONDS: '0', DEMO_VM: `127.0.0.1:${vmPort}`, DEMO_LISTEN: `127.0.0.1:${port}` },
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, `demo exits 0\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * `<instance>: points above 1: N` of each score line (`<instance>: max anomaly_score X, points above
 * 1: N`; X moves a little with the wall clock the demo's timestamps start from).
 */
const scores = (out: string): string[] =>
  out
    .split('\n')
    .filter((l) => / max anomaly_score /.test(l))
    .map((l) => l.replace(/max anomaly_score [\d.]+, /, ''));

test('the demo flags the troubled series, leaves nothing behind, and scores the same on a second run', { timeout: 300_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN)) return;
  const cwd = tempDir('demo');
  try {
    const first = demo(cwd, await freePort(), await freePort());
    t.diagnostic(scores(first).join('\n'));
    const troubled = /troubled:8080: max anomaly_score [\d.]+, points above 1: (\d+)/.exec(first);
    assert.ok(troubled && Number(troubled[1]) >= 1, `the troubled series scores above 1\n${first}`);
    assert.match(first, /calm:8080: max anomaly_score [\d.]+, points above 1: 0\b/);
    assert.deepEqual(readdirSync(cwd), [], 'nothing left in the working directory (no anomstream-state/)');
    const second = demo(cwd, await freePort(), await freePort());
    assert.deepEqual(scores(second), scores(first), 'a second run starts from cold models, as the first did');
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});
