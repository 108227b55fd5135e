import { Alphas, Floor, Model, Prediction, Step, warm } from './model.js';
import { SURPRISE_SLOTS, Surprise, SurpriseParams } from './surprise.js';

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
 * around q_mid on each side (step: typical non-zero |Δy|, see Step), so flat or quantised series score 0 on repeats and < 1 on
 * changes under floor.
 *
 * Each side is then widened and narrowed by the shared surprise discipline (surprise.ts' slots:
 * report once with the envelope E, recurrence, range), and the trackers' step
 * scale s is the band widened by E, max(w_up, E) + max(w_lo, E), so after a
 * reported change they move to the new level at a pace set by the change itself.
 *
 * Slots (`Slot`): LO = q_lo, MID = q_mid, HI = q_hi, T = last timestamp (NaN before the first
 * point), STEP = typical step, Y = last y, SURPRISE.. = surprise.ts' SURPRISE_SLOTS.
 * After a level shift of size s the first point scores s/w and sets E = γ·s; q_mid then
 * steps by ~a·2γs per point and the violated tail by 1/(2·min(τ,1-τ)) times that, so the
 * band covers the new level long before E is released: the change is reported once
 * (without E the score stayed above 1 for ~2·min(τ,1-τ)/a·log(s/s_band) points).
 * Held by test/unit/models-behaviour.test.ts with the defaults: after a shift of 20× the noise
 * amplitude at 5-minute steps, at most 2 points after the shift score above 1.
 */
export interface QuantileParams extends SurpriseParams {
  halfLifeMs: number;
  qLo: number;
  qMid: number;
  qHi: number;
  relFloor: number;
  absFloor: number;
}

const enum Slot {
  LO = 0,
  MID = 1,
  HI = 2,
  T = 3,
  STEP = 4,
  /** Step keeps the last y right after the step. */
  Y = STEP + 1,
  SURPRISE = 6,
}

export class QuantileOnline implements Model {
  readonly slots = Slot.SURPRISE + SURPRISE_SLOTS;
  private readonly surprise: Surprise;
  private readonly floor: Floor;
  private readonly kLo: number;
  private readonly kMid: number;
  private readonly kHi: number;
  private readonly alphas: Alphas;
  private readonly step = new Step();
  constructor(readonly p: QuantileParams) {
    this.surprise = new Surprise(p);
    this.floor = new Floor(p.relFloor, p.absFloor);
    this.alphas = new Alphas([p.halfLifeMs]);
    this.kLo = 0.5 / Math.min(p.qLo, 1 - p.qLo);
    this.kMid = 0.5 / Math.min(p.qMid, 1 - p.qMid);
    this.kHi = 0.5 / Math.min(p.qHi, 1 - p.qHi);
  }

  init(state: Float64Array, o: number): void {
    state[o + Slot.LO] = 0;
    state[o + Slot.MID] = 0;
    state[o + Slot.HI] = 0;
    state[o + Slot.T] = NaN;
    state[o + Slot.STEP] = 0;
    state[o + Slot.Y] = NaN;
    this.surprise.init(state, o + Slot.SURPRISE);
  }

  update(state: Float64Array, o: number, out: Prediction, n: number): void {
    const p = this.p;
    const tsMs = out.t;
    const y = out.y;
    const last = state[o + Slot.T];
    if (last !== last) {
      state[o + Slot.LO] = y;
      state[o + Slot.MID] = y;
      state[o + Slot.HI] = y;
    }
    let lo = state[o + Slot.LO];
    let mid = state[o + Slot.MID];
    let hi = state[o + Slot.HI];
    const fl = this.floor;
    fl.step = state[o + Slot.STEP];
    fl.x = mid;
    fl.set();
    const floor = fl.f;
    const dt = last === last ? tsMs - last : 0;
    // Each side: the quantile's distance, at least the floor, widened by surprise.ts.
    const wUp0 = Math.max(hi - mid, floor);
    const wLo0 = Math.max(mid - lo, floor);
    // surprise.ts' doubles go in its fields and out (see Surprise): out.yhat is the prediction
    const s = this.surprise;
    const sp = o + Slot.SURPRISE;
    out.yhat = mid;
    s.dt = dt;
    s.age(state, sp, out);
    const env = s.envelope(state, sp);
    s.up0 = wUp0;
    s.lo0 = wLo0;
    s.band2(state, sp, n, out);
    if (last === last) {
      const a = this.alphas.at(dt)[0];
      s.learn2(state, sp, out);
      const as = a * ((wUp0 > env ? wUp0 : env) + (wLo0 > env ? wLo0 : env));
      lo += as * this.kLo * (p.qLo - (y < lo ? 1 : 0));
      mid += as * this.kMid * (p.qMid - (y < mid ? 1 : 0));
      hi += as * this.kHi * (p.qHi - (y < hi ? 1 : 0));
      if (mid < lo) mid = lo;
      if (hi < mid) hi = mid;
      this.step.a = warm(a, n); // the typical step (band floor) is known from the first points
      this.step.learn(state, o + Slot.STEP, out);
    } else state[o + Slot.Y] = y;
    state[o + Slot.LO] = lo;
    state[o + Slot.MID] = mid;
    state[o + Slot.HI] = hi;
    state[o + Slot.T] = tsMs;
  }
}
