/**
 * deploy/alerts.yml loads in vmalert and in Prometheus (their own checkers, Debian packages
 * victoria-metrics and prometheus), names only metrics that exist, and its anomaly rule keeps
 * the invariants its comment states. test/e2e/operate.test.ts fires it in a real vmalert.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { parseDurationMs } from '../../src/config/duration.js';
import { requireBinaries, tempDir } from '../e2e/harness.js';
import { PROMTOOL_BIN, VMALERT_BIN } from '../e2e/peers.js';
import { DEPLOY, documentedMetrics, metricNames } from './files.js';

const RULES = join(DEPLOY, 'alerts.yml');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const groups = (parseYaml(readFileSync(RULES, 'utf8')) as { groups: { name: string; rules: Rule[] }[] }).groups;
const rules = groups.flatMap((g) => g.rules);

function run(bin: string, args: string[]): { code: number | null; output: string } {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

/** The rule file with the anomaly rule's expression broken, to show that a checker does fail. */
function brokenCopy(): { file: string; dir: string } {
  const dir = tempDir('rules');
  const file = join(dir, 'broken.yml');
  writeFileSync(file, readFileSync(RULES, 'utf8').replace('max_over_time(anomaly_score[2m]) > 1', 'max_over_time(anomaly_score[2m] > 1'));
  return { file, dir };
}

test('vmalert -dryRun accepts deploy/alerts.yml (expressions and annotation templates), and rejects a broken copy', (t) => {
  if (!requireBinaries(t, VMALERT_BIN)) return;
  const ok = run(VMALERT_BIN, ['-dryRun', `-rule=${RULES}`, '-loggerLevel=ERROR']);
  assert.equal(ok.code, 0, ok.output);
  const { file, dir } = brokenCopy();
  try {
    const bad = run(VMALERT_BIN, ['-dryRun', `-rule=${file}`, '-loggerLevel=ERROR']);
    assert.notEqual(bad.code, 0, 'a broken expression fails the check');
    assert.match(bad.output, /bad prometheus expr/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('promtool check rules accepts deploy/alerts.yml (Prometheus loads it too), and rejects a broken copy', (t) => {
  if (!requireBinaries(t, PROMTOOL_BIN)) return;
  const ok = run(PROMTOOL_BIN, ['check', 'rules', RULES]);
  assert.equal(ok.code, 0, ok.output);
  assert.match(ok.output, new RegExp(`SUCCESS: ${rules.length} rules found`));
  const { file, dir } = brokenCopy();
  try {
    assert.notEqual(run(PROMTOOL_BIN, ['check', 'rules', file]).code, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every metric a rule selects is one anomstream writes or documents (a misspelt name would never fire)', () => {
  const documented = documentedMetrics();
  for (const r of rules) {
    const names = metricNames(r.expr);
    assert.ok(names.length > 0, `${r.alert}: selects a metric`);
    for (const n of names) assert.ok(documented.has(n), `${r.alert}: ${n} is not a metric anomstream writes or documents`);
  }
});

test('the Anomaly rule: one rule on anomaly_score > 1 over a window, labels carried through (no aggregation), for: below the window', () => {
  const a = rules.find((r) => r.alert === 'Anomaly');
  assert.ok(a, 'an Anomaly rule');
  const m = /^max_over_time\(anomaly_score\[(\w+)\]\) > 1$/.exec(a.expr);
  assert.ok(m, `expr: ${a.expr}`);
  const windowMs = parseDurationMs(m[1])!;
  assert.ok(parseDurationMs(a.for ?? '0s')! < windowMs, 'for: shorter than the window, or the alert could never fire for a one-point anomaly');
  for (const k of ['summary', 'description', 'vmui']) assert.ok(a.annotations?.[k], `annotation ${k}`);
  assert.match(a.annotations!.vmui, /^\{\{ \$externalURL \}\}\/vmui\/#\/\?/);
  for (const r of rules) assert.ok(['warning', 'critical'].includes(r.labels?.severity ?? ''), `${r.alert}: severity warning or critical`);
});
