import test from 'node:test';
import assert from 'node:assert/strict';
import { renderPlot, PlotInput } from '../../src/replay/plot.js';
import { checkPicture, findAll, hasClass, num, parseXml } from './plot-svg.js';

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * A daily cycle at 5-minute steps crossing zero, with its prediction and band (yhat ± 8) and the
 * score |y - yhat| / 8 (vmanomaly's: 1 at the band edge); 16 rows of warm-up (NaN), a one-point
 * spike up and one down, a stale marker (NaN row), and occasional moderate anomalies.
 */
function dataset(n: number, seed = 1): PlotInput & { spike: number } {
  const r = rng(seed);
  const t0 = Date.UTC(2015, 8, 1, 12, 0);
  const ts = new Float64Array(n);
  const y = new Float64Array(n);
  const yhat = new Float64Array(n);
  const lower = new Float64Array(n);
  const upper = new Float64Array(n);
  const score = new Float64Array(n);
  const spike = Math.floor(n * 0.61) + 3;
  for (let i = 0; i < n; i++) {
    ts[i] = t0 + i * 300_000;
    const base = 10 + 40 * Math.sin((2 * Math.PI * i) / 288);
    yhat[i] = base + (r() - 0.5) * 2;
    y[i] = base + (r() - 0.5) * 10 + (r() < 0.004 ? 25 * (r() < 0.5 ? -1 : 1) : 0);
    if (i === spike) y[i] = 900;
    if (i === Math.floor(n * 0.3)) y[i] = -700;
    lower[i] = yhat[i] - 8;
    upper[i] = yhat[i] + 8;
    score[i] = Math.abs(y[i] - yhat[i]) / 8;
    if (i < 16 || i === Math.floor(n / 2)) {
      yhat[i] = lower[i] = upper[i] = score[i] = NaN;
      if (i === Math.floor(n / 2)) y[i] = NaN; // a stale marker
    }
  }
  const windows: Array<[number, number]> = [
    [ts[spike - 20], ts[spike + 40]],
    [ts[Math.floor(n * 0.1)], ts[Math.floor(n * 0.12)]],
    [ts[n - 5], ts[n - 1] + 3_600_000], // runs past the end: clipped
  ];
  return { title: 'generated.csv', ts, y, yhat, lower, upper, score, windows, spike };
}

for (const n of [1000, 25000]) {
  test(`plot: ${n} points: marks, extremes, windows and ticks match the data`, () => {
    const d = dataset(n);
    const svg = renderPlot(d);
    checkPicture(svg, d);
    const root = parseXml(svg);
    // The one-point spike reaches its true height in the y line (checked above) and is marked.
    const marked = findAll(root, hasClass('mark')).flatMap((m) => (m.attrs['as:rows'] ?? '').split(',').map(Number));
    assert.ok(marked.includes(d.spike));
    if (n === 25000) assert.ok(svg.length < 1_000_000, `${svg.length} bytes`);
  });
}

test('plot: a score of Number.MAX_VALUE: log score axis capped at 1000, drawn at the top, noted', () => {
  const d = dataset(2000, 7);
  const s = d.score as Float64Array;
  s[500] = Number.MAX_VALUE;
  s[900] = 42;
  const svg = renderPlot(d);
  const root = checkPicture(svg, d);
  const panel = findAll(root, (e) => e.attrs.id === 'score')[0];
  assert.equal(num(panel, 'as:hi'), 1000);
  assert.equal(num(panel, 'as:log-from'), 1);
  const mark = findAll(panel, (e) => (e.attrs['as:rows'] ?? '').split(',').includes('500'))[0];
  assert.equal(num(mark, 'cy'), num(panel, 'as:px1'));
  const note = findAll(panel, hasClass('note'))[0];
  assert.match(note.text, /^▲ 1 score above 1k .*1\.8e308/);
  // 42 sits between the 10 and 100 ticks.
  const at = (v: number): number => num(findAll(panel, (e) => e.attrs['as:v'] === String(v))[0], 'y');
  const m42 = findAll(panel, (e) => e.attrs['as:rows'] === '900')[0];
  assert.ok(num(m42, 'cy') < at(10) - 4 && num(m42, 'cy') > at(100) - 4);
});

test('plot: flat, huge, negative and gappy series', () => {
  const cases: Array<[string, (i: number) => number]> = [
    ['flat', () => 5],
    ['zero', () => 0],
    ['huge', (i) => 3e15 + (i % 7) * 1e13],
    ['tiny', (i) => 2e-7 + (i % 5) * 1e-8],
    ['negative', (i) => -1e6 - (i % 11) * 3e4],
    ['lone points', (i) => (i % 3 === 0 ? i : NaN)],
  ];
  for (const [name, f] of cases) {
    const n = 1500;
    const ts = Float64Array.from({ length: n }, (_, i) => Date.UTC(2020, 0, 1) + i * 15_000);
    const y = Float64Array.from({ length: n }, (_, i) => f(i));
    const nan = (): Float64Array => new Float64Array(n).fill(NaN);
    const p: PlotInput = { title: `${name} <&> "series"`, ts, y, yhat: y, lower: nan(), upper: nan(), score: nan() };
    const root = checkPicture(renderPlot(p), p);
    assert.equal(findAll(root, (e) => e.name === 'title')[0]?.text ?? root.children[0].text, `${name} <&> "series"`);
  }
});

test('plot: time ticks by span: seconds, minutes, hours, days, months', () => {
  for (const [stepMs, want] of [
    [100, /^\d\d:\d\d:\d\d$/],
    [1000, /^\d\d:\d\d$/],
    [15_000, /^\d\d:\d\d$/],
    [1_800_000, /^\d{4}-\d\d-\d\d$/],
    [14_400_000, /^\d{4}-\d\d$/],
    [5 * 86_400_000, /^\d{4}$/],
  ] as const) {
    const n = 1000;
    const ts = Float64Array.from({ length: n }, (_, i) => Date.UTC(2015, 8, 1, 12) + i * stepMs);
    const y = Float64Array.from({ length: n }, (_, i) => Math.sin(i / 30));
    const p: PlotInput = { title: 't', ts, y, yhat: y, lower: y, upper: y, score: new Float64Array(n) };
    const root = checkPicture(renderPlot(p), p);
    const labels = findAll(root, hasClass('xtick')).map((g) => g.children.find((e) => e.name === 'text')?.text ?? '');
    assert.ok(
      labels.every((l) => want.test(l)),
      `${stepMs} ms steps: ${labels.join(' | ')}`,
    );
  }
});
