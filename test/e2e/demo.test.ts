/**
 * `npm run demo`, the README's quick start (bench/demo.ts with its real VictoriaMetrics and
 * anomstream, on free ports): it ends with the troubled series scoring above 1 and the calm one
 * not, leaves nothing in the directory it runs in (before, anomstream's default state.path made
 * an `anomstream-state/` there, and the next run restored the last run's models, so its scores
 * differed), and a second run flags the same points. With its default ports taken (a system
 * victoria-metrics service on 8428, something on 8490) it takes free ones, says which, and still
 * comes up.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
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

/**
 * Holds 127.0.0.1:`port` with a server answering 200 "OK" to everything (/health included, as a
 * VictoriaMetrics would); null when something else holds it already (taken either way).
 */
function occupy(port: number): Promise<http.Server | null> {
  const s = http.createServer((_req, res) => res.end('OK'));
  return new Promise((resolve, reject) => {
    s.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' ? resolve(null) : reject(e)));
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

test('with 8428 and 8490 taken, the demo takes free ports, prints them, and still flags the troubled series', { timeout: 300_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN)) return;
  const held = await Promise.all([occupy(8428), occupy(8490)]);
  const cwd = tempDir('demo-ports');
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, DEMO_SECONDS: '0' };
    delete env.DEMO_VM;
    delete env.DEMO_LISTEN;
    // Not spawnSync: the server holding 8428 must answer while the demo runs (it asks /health).
    const child = spawn(process.execPath, [join(REPO_ROOT, 'dist', 'bench', 'demo.js')], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    clearTimeout(timer);
    assert.equal(code, 0, `demo exits 0\n${out}`);
    const used = /VictoriaMetrics on 127\.0\.0\.1:(\d+), anomstream on 127\.0\.0\.1:(\d+)/.exec(out);
    assert.ok(used, `the demo prints the addresses it uses\n${out}`);
    assert.notEqual(used[1], '8428', 'not the taken VictoriaMetrics port');
    assert.notEqual(used[2], '8490', 'not the taken anomstream port');
    assert.match(out, /127\.0\.0\.1:8428 is taken/);
    assert.match(out, /127\.0\.0\.1:8490 is taken/);
    assert.match(out, new RegExp(`open http://127\\.0\\.0\\.1:${used[1]}/vmui`), 'where to look is the VictoriaMetrics it started');
    const troubled = /troubled:8080: max anomaly_score [\d.]+, points above 1: (\d+)/.exec(out);
    assert.ok(troubled && Number(troubled[1]) >= 1, `the troubled series scores above 1\n${out}`);
  } finally {
    for (const s of held) s?.close();
    rmSync(cwd, { recursive: true, force: true });
  }
});
