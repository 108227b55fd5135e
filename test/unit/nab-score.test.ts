import test from 'node:test';
import assert from 'node:assert/strict';
import { normalise, probationLength, scaledSigmoid, scoreFile, sweep } from '../../bench/nab/score.js';

/**
 * Hand-computed cases: 1000 rows (probation = 150), one window at rows [400, 499] (W = 100).
 *   start: σ(-100/100)/σ(-1) = 1·tpWeight
 *   end:   σ(-1/100)/σ(-1) = (2/(1+e^-0.05) - 1)/0.986614 = 0.025/0.986614 = 0.025332
 *   just after (row 500): fp·σ(1/99) = fp·(2/(1+e^(5/99)) - 1) = -0.025245·fp
 *   far (row 900, 401 rows after: ≥ 3 widths): -fp;  before the window (row 200): -fp
 *   missed window: -fnWeight.
 */
const PROFILES = {
  standard: { tpWeight: 1, fnWeight: 1, fpWeight: 0.11 },
  reward_low_FP_rate: { tpWeight: 1, fnWeight: 1, fpWeight: 0.22 },
  reward_low_FN_rate: { tpWeight: 1, fnWeight: 2, fpWeight: 0.11 },
};
const s = sweep(1000, [[400, 499]]);
const at = (...rows: number[]): Float64Array => {
  const x = new Float64Array(1000);
  for (const r of rows) x[r] = 2;
  return x;
};
const close = (a: number, b: number): void => assert.ok(Math.abs(a - b) < 1e-5, `${a} vs ${b}`);

test('probation is 15% capped at 750 rows; sigmoid anchors', () => {
  assert.equal(probationLength(1000), 150);
  assert.equal(probationLength(10_000), 750);
  close(scaledSigmoid(-1), 0.986614);
  close(scaledSigmoid(0), 0);
  assert.equal(scaledSigmoid(3.01), -1); // NAB: -1 beyond 3 window widths, the sigmoid up to it
  close(scaledSigmoid(3), 2 / (1 + Math.exp(15)) - 1);
});

for (const [name, p] of Object.entries(PROFILES)) {
  test(`NAB rules, ${name} profile`, () => {
    const start = scoreFile(s, at(400), 1, p, true);
    close(start.raw, 1);
    assert.equal(normalise([start], p), 100);
    close(scoreFile(s, at(499), 1, p, true).raw, 0.025332);
    close(scoreFile(s, at(500), 1, p, true).raw, -p.fnWeight - 0.025245 * p.fpWeight);
    close(scoreFile(s, at(900), 1, p, true).raw, -p.fnWeight - p.fpWeight);
    close(scoreFile(s, at(200), 1, p, true).raw, -p.fnWeight - p.fpWeight);
    const missed = scoreFile(s, at(), 1, p, true);
    close(missed.raw, -p.fnWeight);
    assert.equal(normalise([missed], p), 0);
    // only the earliest detection in a window counts; probation rows are ignored
    close(scoreFile(s, at(100, 400, 450, 499), 1, p, true).raw, 1);
    // threshold: strict > 1 at the fixed threshold, >= t when optimising
    const one = new Float64Array(1000);
    one[400] = 1;
    close(scoreFile(s, one, 1, p, true).raw, -p.fnWeight);
    close(scoreFile(s, one, 1, p, false).raw, 1);
  });
}

test("loadCorpus: a separate labels file (e.g. NAB's full combined_windows.json) maps windows to rows", async () => {
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { loadCorpus } = await import('../../bench/nab/data.js');
  const dir = mkdtempSync(join(tmpdir(), 'nab-'));
  try {
    mkdirSync(join(dir, 'data/catA'), { recursive: true });
    const rows = ['timestamp,value'];
    for (let i = 0; i < 10; i++) rows.push(`2014-01-01 00:${String(5 * i).padStart(2, '0')}:00,${i}`);
    writeFileSync(join(dir, 'data/catA/f.csv'), rows.join('\n') + '\n');
    const labels = join(dir, 'windows.json');
    writeFileSync(labels, JSON.stringify({ 'catA/f.csv': [['2014-01-01 00:12:00.000000', '2014-01-01 00:25:00.000000']], 'other/g.csv': [] }));
    const [f] = loadCorpus(dir, labels);
    assert.equal(f.key, 'catA/f.csv');
    assert.deepEqual(f.windows, [[3, 5]]); // 00:15 .. 00:25
    assert.equal(f.value[9], 9);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("NAB's published detectors score what NAB publishes (final_results.json) through our sweeper", async () => {
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { CORPUS, loadCorpus, loadProfiles } = await import('../../bench/nab/data.js');
  const { scoreDetections } = await import('../../bench/nab/validate.js');
  type Fixture = import('../../bench/nab/validate.js').Fixture;
  const files = loadCorpus(CORPUS);
  assert.equal(files.length, 58);
  assert.equal(
    files.reduce((a, f) => a + f.windows.length, 0),
    116,
  );
  const profiles = loadProfiles(CORPUS);
  const fixture = JSON.parse(readFileSync(join(CORPUS, 'published-detections.json'), 'utf8')) as Fixture;
  let checked = 0;
  for (const [det, e] of Object.entries(fixture)) {
    for (const [p, t] of Object.entries(e.threshold)) {
      const ours = scoreDetections(files, e.detected[String(t)], profiles[p]);
      assert.ok(Math.abs(ours - e.published[p]) < 0.01, `${det} ${p}: ours ${ours}, NAB ${e.published[p]}`);
      checked++;
    }
  }
  assert.equal(checked, 9);
});
