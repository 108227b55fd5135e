import { Model, Prediction, alphaFor, learnStep } from './model.js';

/**
 * quantile_online: band from three streaming quantiles, yhat = q_mid, [q_lo, q_hi] the band.
 *
 * Each quantile τ is a stochastic-approximation tracker whose step is a fraction of the
 * current spread (q_hi - q_lo), so learning speed is a duration and scale-free:
 *   a = 1 - 2^(-Δt/half_life),  s = max(q_hi - q_lo, floor)
 *   q_τ ← q_τ + a·s·(τ - 1{y < q_τ}) / min(τ, 1-τ)·½
 * (stationary where P(y < q_τ) = τ; the 1/min(τ,1-τ) factor makes tail quantiles move as
 * fast as the median when they are wrong). Order q_lo ≤ q_mid ≤ q_hi is restored after
 * each step, and the band is kept at least floor = max(rel_floor·|q_mid|, abs_floor, step) wide
 * around q_mid on each side (step: typical non-zero |Δy|, see learnStep), so flat or quantised series score 0 on repeats and < 1 on
 * changes under floor.
 *
 * Slots: [0] q_lo, [1] q_mid, [2] q_hi, [3] last timestamp (NaN before the first point), [4] step, [5] last y.
 * After a level shift of size s the violated tail quantile moves by ~a·s_band/(2·min(τ,1-τ))
 * per point and the band widens geometrically, so the score stays above 1 for about
 * 2·min(τ,1-τ)/a·log(s/s_band) points (with the default 0.01 tail, ~half_life/Δt points
 * per doubling of s/s_band, times 0.03).
 * Held by test/unit/models-behaviour.test.ts with the defaults: after a shift of 20× the noise
 * amplitude at 5-minute steps, at most 30 points after the shift score above 1.
 */
export interface QuantileParams {
  halfLifeMs: number;
  qLo: number;
  qMid: number;
  qHi: number;
  relFloor: number;
  absFloor: number;
}

export class QuantileOnline implements Model {
  readonly slots = 6;
  private readonly kLo: number;
  private readonly kMid: number;
  private readonly kHi: number;
  constructor(readonly p: QuantileParams) {
    this.kLo = 0.5 / Math.min(p.qLo, 1 - p.qLo);
    this.kMid = 0.5 / Math.min(p.qMid, 1 - p.qMid);
    this.kHi = 0.5 / Math.min(p.qHi, 1 - p.qHi);
  }

  init(state: Float64Array, o: number): void {
    state[o] = 0;
    state[o + 1] = 0;
    state[o + 2] = 0;
    state[o + 3] = NaN;
    state[o + 4] = 0;
    state[o + 5] = NaN;
  }

  update(state: Float64Array, o: number, tsMs: number, y: number, out: Prediction): void {
    const p = this.p;
    const last = state[o + 3];
    if (last !== last) {
      state[o] = y;
      state[o + 1] = y;
      state[o + 2] = y;
    }
    let lo = state[o];
    let mid = state[o + 1];
    let hi = state[o + 2];
    let floor = p.relFloor * Math.abs(mid);
    if (floor < p.absFloor) floor = p.absFloor;
    if (floor < state[o + 4]) floor = state[o + 4];
    out.yhat = mid;
    out.lower = lo < mid - floor ? lo : mid - floor;
    out.upper = hi > mid + floor ? hi : mid + floor;
    if (last === last) {
      const a = alphaFor(tsMs - last, p.halfLifeMs);
      let s = hi - lo;
      if (s < floor) s = floor;
      const as = a * s;
      lo += as * this.kLo * (p.qLo - (y < lo ? 1 : 0));
      mid += as * this.kMid * (p.qMid - (y < mid ? 1 : 0));
      hi += as * this.kHi * (p.qHi - (y < hi ? 1 : 0));
      if (mid < lo) mid = lo;
      if (hi < mid) hi = mid;
      learnStep(state, o + 4, y, a);
    } else state[o + 5] = y;
    state[o] = lo;
    state[o + 1] = mid;
    state[o + 2] = hi;
    state[o + 3] = tsMs;
  }
}
