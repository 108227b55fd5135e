import { Alphas, Floor, Model, Prediction, Step, warm } from './model.js';
import { SeasonClock } from './season.js';
import { SURPRISE_SLOTS, Surprise, SurpriseParams } from './surprise.js';

/**
 * seasonal_quantile_online: quantile_online per time-of-day / day-of-week bucket.
 *
 * The season (`seasonality`, e.g. 1d or 7d, starting at `season_starts_from` in `tz`) is
 * cut into K buckets; a point updates and is judged by bucket i = floor(pos(t)) only
 * (see season.ts). Each bucket holds three stochastic-approximation quantile trackers
 * (as quantile_online):
 *   q_τ ← q_τ + min(a·½/min(τ, 1-τ), ½)·s·(τ - 1{y < q_τ}),   s = max(q_hi - q_lo, floor)
 * (the cap at ½, MAX_STEP, matters because a bucket learns K times faster per visit than
 * the series: with hourly points, 24 buckets and a 7d memory a·50 ≈ 4.7, and an uncapped
 * 1% tail, and with it the band, would be thrown far past every point)
 * with a = 1 - 2^(-Δt·K/half_life): a bucket is visited ~P/(K·Δt) times per period, so
 * half_life is its memory in wall-clock time. A series-wide tracker (same update, memory
 * half_life/K) seeds each bucket the first time it is visited, so a new bucket starts
 * from the series' overall distribution instead of from nothing.
 * Band: [q_lo, q_hi] of the bucket, at least floor = max(rel_floor·|q_mid|, abs_floor, step)
 * on each side of yhat = q_mid (step: typical non-zero |Δy|, see Step), so flat and
 * quantised series stay below 1.
 *
 * Each side is then widened and narrowed by the shared surprise discipline (surprise.ts' slots:
 * report once with the envelope E, recurrence, range); the bucket's q_mid steps by
 * min(a, ½)·max(q_hi - q_lo, floor, max(w_up, E) + max(w_lo, E)), so it
 * learns a reported change at a pace set by the change (the tails keep their own scale,
 * so a wide envelope cannot throw them far out).
 *
 * Slots (`Slot`): TRACKER.. = the series-wide tracker, T = last ts (NaN before the first point),
 * STEP = typical step, Y = last y, SURPRISE.. = surprise.ts' SURPRISE_SLOTS, SEASON + 3i.. =
 * bucket i's tracker (q_mid NaN until first visited). A tracker's slots (`Tracker`): LO = q_lo,
 * MID = q_mid, HI = q_hi (Tracker.SLOTS = 3).
 * After a level shift of size s the first point scores s/w and sets E = γ·s: each bucket
 * still learns the new level on its own visits, but it is judged by a band at least E wide
 * meanwhile, so the change is reported about once rather than for up to a period (as it
 * was without E); a bucket that has not learnt it within ~`release` may report it again.
 * Held by test/unit/models-behaviour.test.ts with the defaults: after a shift of 20× the noise
 * amplitude at 5-minute steps, at most 2 points after the shift score above 1.
 */
/** Largest step of a tracker, in units of its step scale (see the header). */
const MAX_STEP = 0.5;
/** A tracker's slots, from its first (the series-wide tracker's and each bucket's). */
const enum Tracker {
  LO = 0,
  MID = 1,
  HI = 2,
  SLOTS = 3,
}
const enum Slot {
  /** The series-wide tracker: Tracker.SLOTS slots. */
  TRACKER = 0,
  T = TRACKER + Tracker.SLOTS,
  STEP = 4,
  /** Step keeps the last y right after the step. */
  Y = STEP + 1,
  SURPRISE = 6,
}
/** First bucket: after the surprise slots (config/models.ts caps `buckets` by it). */
export const SEASON = Slot.SURPRISE + SURPRISE_SLOTS;
/** Slots per bucket. */
export const BUCKET_SLOTS = Tracker.SLOTS;

export interface SeasonalQuantileParams extends SurpriseParams {
  halfLifeMs: number;
  qLo: number;
  qMid: number;
  qHi: number;
  relFloor: number;
  absFloor: number;
}

export class SeasonalQuantileOnline implements Model {
  readonly slots: number;
  private readonly k: number;
  private readonly kLo: number;
  private readonly kMid: number;
  private readonly kHi: number;
  private readonly surprise: Surprise;
  private readonly floor: Floor;
  private readonly alphas: Alphas;
  private readonly step = new Step();
  /**
   * track()'s weight, band floor and middle band for the next call: fields, not arguments (V8
   * leaves track() out of line and would box each double argument; see Model).
   */
  private trackA = 0;
  private trackFloor = 0;
  private trackBand = 0;
  constructor(
    readonly p: SeasonalQuantileParams,
    readonly clock: SeasonClock,
  ) {
    this.k = clock.buckets;
    this.slots = SEASON + Tracker.SLOTS * this.k;
    this.surprise = new Surprise(p);
    this.floor = new Floor(p.relFloor, p.absFloor);
    // the series-wide trackers' memory half_life/K; a bucket's, dt·K at half_life: the same weight
    this.alphas = new Alphas([p.halfLifeMs / this.k]);
    this.kLo = 0.5 / Math.min(p.qLo, 1 - p.qLo);
    this.kMid = 0.5 / Math.min(p.qMid, 1 - p.qMid);
    this.kHi = 0.5 / Math.min(p.qHi, 1 - p.qHi);
  }

  init(state: Float64Array, o: number): void {
    state.fill(NaN, o, o + this.slots);
    state[o + Slot.STEP] = 0;
    this.surprise.init(state, o + Slot.SURPRISE);
  }

  update(state: Float64Array, o: number, out: Prediction, n: number): void {
    const tsMs = out.t;
    const y = out.y;
    const last = state[o + Slot.T];
    if (last !== last) {
      state[o + Slot.TRACKER + Tracker.LO] = y;
      state[o + Slot.TRACKER + Tracker.MID] = y;
      state[o + Slot.TRACKER + Tracker.HI] = y;
    }
    this.clock.at(out);
    const b = o + SEASON + Tracker.SLOTS * (this.clock.position | 0);
    if (state[b + Tracker.MID] !== state[b + Tracker.MID]) {
      state[b + Tracker.LO] = state[o + Slot.TRACKER + Tracker.LO];
      state[b + Tracker.MID] = state[o + Slot.TRACKER + Tracker.MID];
      state[b + Tracker.HI] = state[o + Slot.TRACKER + Tracker.HI];
    }
    const mid = state[b + Tracker.MID];
    const fl = this.floor;
    fl.step = state[o + Slot.STEP];
    fl.x = mid;
    fl.set();
    const floor = fl.f;
    const dt = last === last ? tsMs - last : 0;
    // Each side: the quantile's distance, at least the floor, widened by surprise.ts.
    const wUp0 = Math.max(state[b + Tracker.HI] - mid, floor);
    const wLo0 = Math.max(mid - state[b + Tracker.LO], floor);
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
      s.learn2(state, sp, out);
      const a0 = this.alphas.at(dt)[0];
      const a = warm(a0, n);
      this.trackA = a;
      this.trackFloor = floor;
      this.trackBand = 0;
      this.track(state, o + Slot.TRACKER, out);
      this.trackA = warm(a0, Math.floor(n / this.k));
      this.trackBand = (wUp0 > env ? wUp0 : env) + (wLo0 > env ? wLo0 : env);
      this.track(state, b, out);
      this.step.a = a;
      this.step.learn(state, o + Slot.STEP, out);
    } else state[o + Slot.Y] = y;
    state[o + Slot.T] = tsMs;
  }

  /**
   * One tracker step towards out.y (the fields trackA, trackFloor, trackBand set before); the tails step by
   * min(a·k_τ, MAX_STEP)·max(q_hi - q_lo, floor), the middle by min(a·k_mid, MAX_STEP)·max(that, band).
   */
  private track(state: Float64Array, q: number, out: Prediction): void {
    const p = this.p;
    const y = out.y;
    const a = this.trackA;
    const floor = this.trackFloor;
    const band = this.trackBand;
    let lo = state[q + Tracker.LO];
    let mid = state[q + Tracker.MID];
    let hi = state[q + Tracker.HI];
    let s = hi - lo;
    if (s < floor) s = floor;
    const fLo = a * this.kLo < MAX_STEP ? a * this.kLo : MAX_STEP;
    const fMid = a * this.kMid < MAX_STEP ? a * this.kMid : MAX_STEP;
    const fHi = a * this.kHi < MAX_STEP ? a * this.kHi : MAX_STEP;
    lo += fLo * s * (p.qLo - (y < lo ? 1 : 0));
    mid += fMid * (s > band ? s : band) * (p.qMid - (y < mid ? 1 : 0));
    hi += fHi * s * (p.qHi - (y < hi ? 1 : 0));
    if (mid < lo) mid = lo;
    if (hi < mid) hi = mid;
    state[q + Tracker.LO] = lo;
    state[q + Tracker.MID] = mid;
    state[q + Tracker.HI] = hi;
  }
}
