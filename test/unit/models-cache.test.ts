/**
 * The models keep per-instance answers for the last timestamp or interval (SeasonClock.pos, Alphas,
 * auto's young-bucket weights): series sharing one model instance must score exactly as each
 * would alone, whatever their order, steps and ages.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileModel, MODEL_CLASSES } from '../../src/config/models.js';
import { Prediction } from '../../src/models/model.js';
import { SeasonClock } from '../../src/models/season.js';
import { config, DAY, noise } from './models-helpers.js';

test('SeasonClock.pos answers a repeated, earlier or later timestamp as a fresh clock does', () => {
  const t0 = Date.UTC(2026, 2, 28, 22); // the night of a DST change in Berlin
  const hour = 3_600_000;
  const ts = [t0, t0, t0 + 7 * hour, t0 + 7 * hour, t0 - 3 * DAY, t0 + 4 * hour + 1, t0 + 4 * hour + 1, t0 + 9 * DAY, t0];
  for (const tz of ['UTC', 'Europe/Berlin']) {
    const kept = new SeasonClock(DAY, 24, 0, tz);
    for (const t of ts) assert.equal(kept.pos(t), new SeasonClock(DAY, 24, 0, tz).pos(t), `${tz} ${new Date(t).toISOString()}`);
  }
});

test('every model scores series sharing its instance exactly as each alone', () => {
  // three series on one 60 s scrape (two started together, one 500 points later: same timestamps and
  // Δt, another n), one started a day later at 15 s, one at 5 min, fed interleaved through one
  // scorer, then each through a scorer of its own
  const series = [
    { t0: 0, step: 60_000, from: 0 },
    { t0: 0, step: 60_000, from: 0 },
    { t0: 0, step: 60_000, from: 500 },
    { t0: DAY, step: 15_000, from: 0 },
    { t0: 3 * DAY + 7_000, step: 300_000, from: 0 },
  ];
  const points = 6000;
  const ys = series.map((_, i) => {
    const z = noise(points, i + 1);
    for (let j = 0; j < points; j++) z[j] = 50 + 20 * Math.sin(j / (150 + 40 * i)) + 3 * z[j] + (j % 997 === 0 ? 40 : 0);
    return z;
  });
  for (const cls of MODEL_CLASSES) {
    const cfg = config({ class: cls });
    const shared = compileModel(cfg);
    const state = new Float64Array(shared.slots * series.length);
    for (let s = 0; s < series.length; s++) shared.init(state, s * shared.slots);
    const together = series.map((x) => new Array<number>(4 * x.from).fill(0));
    const out = new Prediction();
    for (let j = 0; j < points; j++) {
      for (let s = 0; s < series.length; s++) {
        if (j < series[s].from) continue;
        shared.update(state, s * shared.slots, out.at(series[s].t0 + j * series[s].step, ys[s][j]));
        together[s].push(out.score, out.yhat, out.lower, out.upper);
      }
    }
    for (let s = 0; s < series.length; s++) {
      const alone = compileModel(cfg);
      const st = new Float64Array(alone.slots);
      alone.init(st, 0);
      for (let j = series[s].from; j < points; j++) {
        alone.update(st, 0, out.at(series[s].t0 + j * series[s].step, ys[s][j]));
        const k = 4 * j;
        assert.deepEqual([out.score, out.yhat, out.lower, out.upper], together[s].slice(k, k + 4), `${cls} series ${s} point ${j}`);
      }
    }
  }
});
