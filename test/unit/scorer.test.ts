/**
 * The Scorer's two-sided vmanomaly settings on known data: a fixed model predicts yhat = 100
 * with the band [90, 110], so every score is computable by hand.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileModel, modelEntry, type ModelConfig } from '../../src/config/models.js';
import { Model, Prediction } from '../../src/models/model.js';
import { Direction, Scorer, type ScorerParams } from '../../src/models/scorer.js';

const fixed: Model = {
  slots: 0,
  init() {},
  update(_s, _o, out) {
    out.yhat = 100;
    out.lower = 90;
    out.upper = 110;
  },
};

const BASE: ScorerParams = {
  minNSamplesSeen: 0,
  direction: Direction.Both,
  minDevLower: 0,
  minDevUpper: 0,
  minRelDevLower: 0,
  minRelDevUpper: 0,
  dataRangeLow: -Infinity,
  dataRangeHigh: Infinity,
  scoreOutsideDataRange: 1.01,
  scaleLower: 1,
  scaleUpper: 1,
  clipPredictions: false,
};

/** Score and band of one point y against the fixed prediction. */
function score(p: Partial<ScorerParams>, y: number): { score: number; lower: number; upper: number } {
  const s = new Scorer(fixed, { ...BASE, ...p });
  const state = new Float64Array(s.slots);
  s.init(state, 0);
  const out = new Prediction();
  assert.ok(s.update(state, 0, out.at(1000, y)));
  return { score: out.score, lower: out.lower, upper: out.upper };
}

test('scale [lower, upper]: each side of the band is scaled on its own', () => {
  // vmanomaly's example scale: [1.2, 0.75]: lower margin 10·1.2 = 12, upper 10·0.75 = 7.5.
  const r = score({ scaleLower: 1.2, scaleUpper: 0.75 }, 100);
  assert.deepEqual([r.lower, r.upper], [88, 107.5]);
  assert.equal(score({ scaleLower: 1.2, scaleUpper: 0.75 }, 115).score, 15 / 7.5);
  assert.equal(score({ scaleLower: 1.2, scaleUpper: 0.75 }, 82).score, 18 / 12);
});

test("min_dev_from_expected [lower, upper]: deviations below the side's threshold score 0", () => {
  const p = { minDevLower: 30, minDevUpper: 5 };
  assert.equal(score(p, 120).score, 2); // 20 above >= 5: scored as usual
  assert.equal(score(p, 104).score, 0); // 4 above < 5
  assert.equal(score(p, 75).score, 0); // 25 below < 30
  assert.equal(score(p, 65).score, 3.5); // 35 below >= 30
});

test('min_rel_dev_from_expected [lower, upper] in percent of |yhat|; combined with min_dev both must be exceeded', () => {
  const p = { minRelDevLower: 0.2, minRelDevUpper: 0.4 }; // vmanomaly's [20, 40]
  assert.equal(score(p, 139).score, 0); // +39 % < 40 %
  assert.equal(score(p, 141).score, 4.1);
  assert.equal(score(p, 81).score, 0); // -19 % < 20 %
  assert.equal(score(p, 79).score, 2.1);
  // Both filters: 25 above exceeds 20 % but not min_dev 30.
  assert.equal(score({ minRelDevUpper: 0.2, minDevUpper: 30 }, 125).score, 0);
});

test('config forms reach the Scorer: scalars broadcast, [a, b] keeps its order, percent becomes a fraction', () => {
  const m = (raw: Record<string, unknown>): ModelConfig => modelEntry.parse({ class: 'zscore_online', ...raw }) as ModelConfig;
  const s = compileModel(m({ scale: [1.2, 0.75], min_dev_from_expected: 0.5, min_rel_dev_from_expected: [10, 20] }));
  assert.deepEqual([s.p.scaleLower, s.p.scaleUpper], [1.2, 0.75]);
  assert.deepEqual([s.p.minDevLower, s.p.minDevUpper], [0.5, 0.5]);
  assert.deepEqual([s.p.minRelDevLower, s.p.minRelDevUpper], [0.1, 0.2]);
  const q = compileModel(m({ min_dev_from_expected: [1, 2] }), { min_dev_from_expected: [3, 4], data_range: [0, Infinity] });
  assert.deepEqual([q.p.minDevLower, q.p.minDevUpper, q.p.dataRangeLow, q.p.dataRangeHigh], [3, 4, 0, Infinity]);
  assert.deepEqual(m({ data_range: [0, 'inf'] }).data_range, [0, Infinity]);
  assert.deepEqual(m({ data_range: ['-inf', '100'] }).data_range, [-Infinity, 100]);
  assert.deepEqual(m({}).scale, [1, 1]);
  for (const bad of [{ scale: 0 }, { scale: [1, 2, 3] }, { min_dev_from_expected: -1 }, { data_range: [5, 1] }, { data_range: [0, 'lots'] }]) {
    assert.ok(!modelEntry.safeParse({ class: 'zscore_online', ...bad }).success, JSON.stringify(bad));
  }
});

test("a query's tz overrides a seasonal model's tz, and is ignored by models without a season", () => {
  const hw = modelEntry.parse({ class: 'holtwinters_online', tz: 'UTC' }) as ModelConfig;
  const pos = (s: Scorer, ts: number): number => (s.model as unknown as { clock: { pos(t: number): number } }).clock.pos(ts);
  const noonUtc = Date.UTC(2026, 6, 1, 12);
  // 24 hourly buckets: 12:00 UTC is bucket 12 in UTC and 14 in Berlin (CEST, UTC+2).
  assert.equal(pos(compileModel(hw), noonUtc), 12);
  assert.equal(pos(compileModel(hw, { tz: 'Europe/Berlin' }), noonUtc), 14);
  assert.doesNotThrow(() => compileModel(modelEntry.parse({ class: 'zscore_online' }) as ModelConfig, { tz: 'Europe/Berlin' }));
});

test('the default policy short path scores bit for bit as the full policy, on the default model and edge values', () => {
  // Scorer.update takes a short path when every policy parameter is at its default; the same
  // Scorer with that path turned off must give the same doubles (Object.is: NaN, -0 included).
  const auto = (raw: Record<string, unknown> = {}): Scorer => compileModel(modelEntry.parse({ class: 'auto', ...raw }) as ModelConfig);
  // auto's band is symmetric; this model's is not, and collapses to zero width on some points.
  const lopsided: Model = {
    slots: 0,
    init() {},
    update(_s, _o, out) {
      const k = out.t / 15_000;
      out.yhat = k % 11 === 0 ? NaN : 100 + (k % 7);
      out.lower = out.yhat - (k % 5);
      out.upper = out.yhat + 2 * (k % 3);
    },
  };
  for (const [short, full] of [
    [auto(), auto()],
    [new Scorer(lopsided, BASE), new Scorer(lopsided, BASE)],
  ])
    sameScores(short, full);
  // Any non-default parameter takes the full policy.
  for (const p of [{ scale: 2 }, { min_dev_from_expected: 1 }, { min_rel_dev_from_expected: 5 }, { data_range: [0, 'inf'] }, { detection_direction: 'above_expected' }, { clip_predictions: true }])
    assert.equal((auto(p) as unknown as { plain: boolean }).plain, false, JSON.stringify(p));
});

function sameScores(short: Scorer, full: Scorer): void {
  assert.equal((short as unknown as { plain: boolean }).plain, true, 'the defaults take the short path');
  (full as unknown as { plain: boolean }).plain = false;
  const a = new Float64Array(short.slots);
  const b = new Float64Array(full.slots);
  short.init(a, 0);
  full.init(b, 0);
  const pa = new Prediction();
  const pb = new Prediction();
  let seed = 7;
  const edges = [NaN, Infinity, -Infinity, 0, -0, 1e308, -1e308, 5e-324];
  for (let i = 0; i < 6000; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const r = seed / 2 ** 32;
    const base = i < 2000 ? 100 + 10 * Math.sin(i / 20) : i < 4000 ? 0 : 1e6 * (i % 7);
    const y = i % 97 === 0 ? edges[(i / 97) % edges.length] : i % 13 === 0 ? base * 5 : base + r;
    const ta = short.update(a, 0, pa.at(1_700_000_010_000 + i * 15_000, y));
    const tb = full.update(b, 0, pb.at(1_700_000_010_000 + i * 15_000, y));
    assert.equal(ta, tb);
    for (const k of ['score', 'yhat', 'lower', 'upper'] as const) assert.ok(Object.is(pa[k], pb[k]), `point ${i} y=${y}: ${k} ${pa[k]} vs ${pb[k]}`);
  }
  assert.deepEqual(a, b);
}
