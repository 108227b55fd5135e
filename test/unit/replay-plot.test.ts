import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseWindows } from '../../src/replay/plot-output.js';
import { runReplay } from '../../src/replay/replay.js';
import { AnomstreamError } from '../../src/errors.js';
import { checkPicture, findAll, parseXml } from './plot-svg.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(REPO, 'dist', 'src', 'cli.js');
/** The model's default warm-up (min_n_samples_seen): replay's CSV writes score 0 there, the picture nothing. */
const WARM_UP = 16;

test('replay --plot: labels from NAB combined_windows.json or a plain list; errors are ANOM_USAGE', () => {
  const nab = JSON.stringify({
    'realTraffic/speed_7578.csv': [['2015-09-11 16:44:00.000000', '2015-09-12 04:44:00.000000']],
    'realTraffic/speed_6005.csv': [],
    'a/dup.csv': [],
    'b/dup.csv': [],
  });
  assert.deepEqual(parseWindows(nab, 'speed_7578.csv'), [[Date.UTC(2015, 8, 11, 16, 44), Date.UTC(2015, 8, 12, 4, 44)]]);
  assert.deepEqual(parseWindows(nab, 'speed_6005.csv'), []);
  assert.deepEqual(parseWindows('[["2024-01-01T00:00:00Z", 1704070800]]', 'x.csv'), [[1704067200000, 1704070800000]]);
  const code = (text: string, file = 'speed_7578.csv'): string => {
    try {
      parseWindows(text, file);
    } catch (e) {
      assert.ok(e instanceof AnomstreamError);
      return e.code;
    }
    return 'no error';
  };
  assert.equal(code(nab, 'other.csv'), 'ANOM_USAGE'); // no entry
  assert.equal(code(nab, 'dup.csv'), 'ANOM_USAGE'); // two entries
  assert.equal(code('{"a/speed_7578.csv": [["2015-09-12", "2015-09-11"]]}'), 'ANOM_USAGE'); // start after end
  assert.equal(code('[["2015-09-12"]]'), 'ANOM_USAGE');
  assert.equal(code('[["yesterday", "today"]]'), 'ANOM_USAGE');
  assert.equal(code('{not json'), 'ANOM_USAGE');
});

/** A NAB-like CSV: 5-minute steps, a daily cycle, a dip at `dip`, one NaN row at `gap`. */
function nabLike(n: number, dip: number, gap: number): string {
  const rows = ['timestamp,value'];
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const t = new Date(Date.UTC(2015, 8, 8, 11, 40) + i * 300_000).toISOString().slice(0, 19).replace('T', ' ');
    const v = i === gap ? 'NaN' : (60 + 8 * Math.sin((2 * Math.PI * i) / 288) + (s / 2 ** 32 - 0.5) * 4 - (i >= dip && i < dip + 3 ? 45 : 0)).toFixed(2);
    rows.push(`${t},${v}`);
  }
  return rows.join('\n') + '\n';
}

/**
 * Runs the CLI with --plot, --labels and --output, then checks the picture against the CSV it wrote
 * (NAB-style `YYYY-MM-DD HH:MM:SS` stamps). A NAB file of bench/nab/corpus can go through it as is.
 */
function plotThroughCli(dir: string, input: string, labels: string): void {
  const svgPath = join(dir, 'out.svg');
  const csvPath = join(dir, 'out.csv');
  const r = spawnSync(process.execPath, [CLI, 'replay', '--input', input, '--plot', svgPath, '--labels', labels, '--output', csvPath], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '');
  const rows = readFileSync(csvPath, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(','));
  const n = rows.length;
  const col = (k: number, warm: boolean): Float64Array => Float64Array.from(rows, (c, i) => (c[k] === '' || (warm && i < WARM_UP) ? NaN : Number(c[k])));
  const ts = Float64Array.from(rows, (c) => Date.parse(c[0].replace(' ', 'T') + 'Z'));
  const score = col(5, true);
  for (let i = 0; i < n; i++) if (rows[i][2] === '') score[i] = NaN;
  const windows = parseWindows(readFileSync(labels, 'utf8'), basename(input));
  const svg = readFileSync(svgPath, 'utf8');
  const root = checkPicture(svg, { title: basename(input), ts, y: col(1, false), yhat: col(2, true), lower: col(3, true), upper: col(4, true), score, windows });
  assert.equal(findAll(root, (e) => e.name === 'title')[0].text, basename(input));
  assert.ok(windows.length > 0, 'the input has labelled windows'); // checkPicture: each drawn in both panels
}

test('replay --plot --labels: the picture of a replayed file shows its CSV and its windows', () => {
  const dir = mkdtempSync(join(tmpdir(), 'replay-plot-'));
  try {
    const input = join(dir, 'generated_7578.csv');
    writeFileSync(input, nabLike(2500, 1700, 1200));
    const w = (i: number): string => new Date(Date.UTC(2015, 8, 8, 11, 40) + i * 300_000).toISOString().slice(0, 19).replace('T', ' ') + '.000000';
    const labels = join(dir, 'combined_windows.json');
    writeFileSync(
      labels,
      JSON.stringify(
        {
          'realTraffic/speed_7578.csv': [[w(10), w(20)]],
          'realTraffic/generated_7578.csv': [
            [w(1650), w(1750)],
            [w(2400), w(2600)],
          ],
        },
        null,
        2,
      ),
    );
    plotThroughCli(dir, input, labels);
    // The dip is found and marked.
    const svg = readFileSync(join(dir, 'out.svg'), 'utf8');
    const marked = findAll(parseXml(svg), (e) => e.attrs.class === 'mark' && e.attrs['as:rows'] !== undefined).flatMap((m) => m.attrs['as:rows'].split(',').map(Number));
    assert.ok(marked.includes(1700), `marked rows ${marked.join(',')}`);

    // --plot alone writes no CSV to stdout; without --plot, replay prints the CSV as before.
    const plain = execFileSync(process.execPath, [CLI, 'replay', '--input', input], { encoding: 'utf8' });
    assert.equal(plain, readFileSync(join(dir, 'out.csv'), 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('replay --plot --labels on a real NAB file (bench/nab/corpus): the picture matches the replayed CSV and its windows', () => {
  const dir = mkdtempSync(join(tmpdir(), 'replay-plot-nab-'));
  try {
    const corpus = join(REPO, 'bench', 'nab', 'corpus');
    plotThroughCli(dir, join(corpus, 'data', 'realTraffic', 'speed_7578.csv'), join(corpus, 'labels', 'combined_windows.json'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('replay --plot: usage errors exit 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'replay-plot-'));
  try {
    const input = join(dir, 'x.csv');
    writeFileSync(input, nabLike(100, 50, 60));
    writeFileSync(join(dir, 'w.json'), '{"a/other.csv": []}');
    assert.equal(await runReplay(['--input', input, '--labels', join(dir, 'w.json'), '--output', join(dir, 'o.csv')]), 2); // --labels without --plot
    assert.equal(await runReplay(['--input', input, '--plot', join(dir, 'p.svg'), '--labels', join(dir, 'w.json')]), 2); // no entry for x.csv
    assert.equal(await runReplay(['--input', input, '--plot', join(dir, 'p.svg'), '--labels', join(dir, 'missing.json')]), 2);
    assert.equal(await runReplay(['--input', input, '--plot', join(dir, 'no', 'such', 'dir.svg')]), 2);
    assert.equal(existsSync(join(dir, 'p.svg')), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
