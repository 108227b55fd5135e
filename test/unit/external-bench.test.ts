import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCsv, loadSmd, SMD_START_MS } from '../../bench/external/data.js';
import { evaluateSeries, nabWindows, segments } from '../../bench/external/evaluate.js';

const STD = { tpWeight: 1, fnWeight: 1, fpWeight: 0.11 };

test('loadCsv: quoted ISO stamps, a label column, the domain directory as dataset, an id column splits series', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ext-csv-'));
  try {
    mkdirSync(join(dir, 'latency'));
    writeFileSync(join(dir, 'latency', 'a.csv'), 'TimeStamp,Value,Label\n"2018-06-17T00:00:00Z",83.5,0\n"2018-06-17T01:00:00Z",90,1\n');
    writeFileSync(join(dir, 'kpi.csv'), 'timestamp,value,label,KPI ID\n120,2,0,k2\n60,1,1,k1\n0,0,0,k1\n');
    const s = loadCsv(dir);
    assert.deepEqual(
      s.map((x) => [x.dataset, x.key]),
      [
        [dir.split('/').pop(), 'kpi.csv#k2'],
        [dir.split('/').pop(), 'kpi.csv#k1'],
        ['latency', 'latency/a.csv'],
      ],
    );
    // rows sorted by time within a series
    assert.deepEqual([...s[1].ts], [0, 60_000]);
    assert.deepEqual([...s[1].label], [0, 1]);
    assert.deepEqual([...s[2].ts], [Date.UTC(2018, 5, 17, 0), Date.UTC(2018, 5, 17, 1)]);
    assert.deepEqual([...s[2].value], [83.5, 90]);
    assert.throws(() => loadCsv(join(dir, 'missing.csv')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loadSmd: one series per non-constant metric, labelled over the machine run its interpretation names', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ext-smd-'));
  try {
    for (const d of ['test', 'test_label', 'interpretation_label']) mkdirSync(join(dir, d));
    // 6 rows, 3 metrics (the second constant); the machine is anomalous at rows 2-4, the
    // interpretation names metric 3 from row 3 to 3 (the run's rows 2-4 are used)
    writeFileSync(join(dir, 'test', 'machine-9-9.txt'), ['1,0,5', '2,0,5', '3,0,9', '4,0,9', '5,0,9', '6,0,5'].join('\n'));
    writeFileSync(join(dir, 'test_label', 'machine-9-9.txt'), '0\n0\n1\n1\n1\n0\n');
    writeFileSync(join(dir, 'interpretation_label', 'machine-9-9.txt'), '3-3:3\n');
    const s = loadSmd(dir, 60_000);
    assert.deepEqual(
      s.map((x) => x.key),
      ['machine-9-9/m1', 'machine-9-9/m3'],
    );
    assert.deepEqual([...s[0].label], [0, 0, 0, 0, 0, 0]);
    assert.deepEqual([...s[1].label], [0, 0, 1, 1, 1, 0]);
    assert.equal(s[1].ts[5], SMD_START_MS + 5 * 60_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('segments merge runs closer than the tolerance; NAB-like windows pad them to ~10% of the rows', () => {
  const label = new Uint8Array(1000);
  label.fill(1, 100, 103);
  label.fill(1, 104, 106); // 1 row apart: merged at gap 3
  label[500] = 1;
  assert.deepEqual(segments(label, 3), [
    [100, 105],
    [500, 500],
  ]);
  assert.deepEqual(segments(label, 0), [
    [100, 102],
    [104, 105],
    [500, 500],
  ]);
  // share 50 rows per segment: [100, 105] padded by 22, [500, 500] by 24
  assert.deepEqual(nabWindows(segments(label, 3), 1000), [
    [78, 127],
    [476, 524],
  ]);
});

test('evaluateSeries: found segments, delays, onsets true and false, normal points', () => {
  const n = 1000;
  const label = new Uint8Array(n);
  label.fill(1, 300, 310); // found at 302
  label.fill(1, 600, 605); // missed
  label.fill(1, 5, 8); // before the warm-up: not counted
  const scored = new Uint8Array(n).fill(1);
  scored.fill(0, 0, 16);
  const score = new Float64Array(n);
  score[302] = 2;
  score[303] = 3; // same onset
  score[312] = 1.5; // within tolerance after the end: a true onset of its own
  score[800] = 1.01; // false
  score[801] = 1; // not above 1
  score[802] = 4; // false again
  score[900] = 5;
  scored[900] = 0; // not written: no alarm
  const e = evaluateSeries(label, scored, score, 3, STD);
  assert.equal(e.segments, 2);
  assert.equal(e.found, 1);
  assert.deepEqual(e.delays, [2]);
  assert.equal(e.onsets, 4);
  assert.equal(e.trueOnsets, 2);
  // scored rows (984 - the unscored row 900) minus [297, 312] and [597, 607]
  assert.equal(e.normal, 984 - 1 - 16 - 11);
  assert.equal(e.nab.windows, 2);
  assert.equal(e.nab.tp, 1);
});
