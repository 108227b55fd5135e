import { Model, Prediction, alphaFor, learnStep } from './model.js';

/**
 * mad_online: streaming median and median absolute deviation, band = median ± threshold·1.4826·MAD (1.4826·MAD = σ for Gaussian noise).
 *
 * Both are stochastic-approximation quantile trackers whose step is a fraction of the
 * current spread, so the rate of learning is a duration and no single outlier can move
 * them by more than a·MAD (robust to the very points they flag):
 *   a = 1 - 2^(-Δt/half_life)
 *   med ← med + 2a·max(mad, floor)·(½ - 1{y < med})          (stationary at P(y < med) = ½)
 *   mad ← mad · exp(2a·(1{|y - med| > mad} - ½))                  (stationary at the median of |y - med|)
 * floor = max(rel_floor·|med|, abs_floor, step) (step: typical non-zero |Δy|, see learnStep) keeps the band wider than zero on flat or
 * quantised series (a change below threshold·floor scores < 1; mad can never reach 0
 * because its update is multiplicative and bounded below by the floor).
 * The first point sets med = y and mad = floor.
 *
 * Slots: [0] med, [1] mad, [2] last timestamp (NaN before the first point), [3] step, [4] last y.
 * After a level shift of size s the median walks at ≤ a·mad per point, and the MAD grows
 * geometrically by e^a per point, so the score stays above 1 for about
 * log(s/(threshold·mad))/a points: ~half_life/Δt·log2(s/(threshold·mad))·1.0 at most.
 * Held by test/unit/models-behaviour.test.ts with the defaults: after a shift of 20× the noise
 * amplitude at 5-minute steps, at most 300 points after the shift score above 1.
 */
export interface MadParams {
  halfLifeMs: number;
  threshold: number;
  relFloor: number;
  absFloor: number;
}

export class MadOnline implements Model {
  readonly slots = 5;
  constructor(readonly p: MadParams) {}

  init(state: Float64Array, o: number): void {
    state[o] = 0;
    state[o + 1] = 0;
    state[o + 2] = NaN;
    state[o + 3] = 0;
    state[o + 4] = NaN;
  }

  update(state: Float64Array, o: number, tsMs: number, y: number, out: Prediction): void {
    const p = this.p;
    let med = state[o];
    let mad = state[o + 1];
    const last = state[o + 2];
    let floor = p.relFloor * Math.abs(med);
    if (floor < p.absFloor) floor = p.absFloor;
    if (floor < state[o + 3]) floor = state[o + 3];
    if (last !== last) {
      med = y;
      floor = Math.max(p.relFloor * Math.abs(y), p.absFloor);
      mad = floor;
    }
    const s = mad > floor ? mad : floor;
    const w = p.threshold * 1.4826 * s;
    out.yhat = med;
    out.lower = med - w;
    out.upper = med + w;
    if (last === last) {
      const a = alphaFor(tsMs - last, p.halfLifeMs);
      const r = y - med;
      med += 2 * a * s * (r > 0 ? 0.5 : r < 0 ? -0.5 : 0);
      mad *= Math.exp(2 * a * (Math.abs(r) > mad ? 0.5 : -0.5));
      if (mad < floor) mad = floor;
      learnStep(state, o + 3, y, a);
    } else state[o + 4] = y;
    state[o] = med;
    state[o + 1] = mad;
    state[o + 2] = tsMs;
  }
}
