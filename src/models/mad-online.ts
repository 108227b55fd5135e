import { Alphas, Floor, Model, Prediction, Step, warm } from './model.js';
import { SURPRISE_SLOTS, Surprise, SurpriseParams } from './surprise.js';

/**
 * mad_online: streaming median and median absolute deviation, band = median ± threshold·1.4826·MAD (1.4826·MAD = σ for Gaussian noise).
 *
 * Both are stochastic-approximation quantile trackers whose step is a fraction of the
 * current spread, so the rate of learning is a duration and no single outlier can move
 * them by more than a·MAD (robust to the very points they flag):
 *   a = 1 - 2^(-Δt/half_life)
 *   med ← med + 2a·max(mad, floor)·(½ - 1{y < med})          (stationary at P(y < med) = ½)
 *   mad ← mad · exp(2a·(1{|y - med| > mad} - ½))                  (stationary at the median of |y - med|)
 * floor = max(rel_floor·|med|, abs_floor, step) (step: typical non-zero |Δy|, see Step) keeps the band wider than zero on flat or
 * quantised series (a change below threshold·floor scores < 1; mad can never reach 0
 * because its update is multiplicative and bounded below by the floor).
 * The first point sets med = y and mad = floor.
 * Band half-width w0 = threshold·1.4826·max(mad, floor), widened and narrowed by the shared
 * surprise discipline (surprise.ts' slots: report once with the envelope E, recurrence, range);
 * the median's step uses max(w0, E): med moves by a·max(w0, E)/(threshold·1.4826) instead of
 * a·mad, so after a change it has already reported it walks to the new level quickly; one outlier
 * still moves it by at most a·max(w0, E)/(threshold·1.4826).
 *
 * Slots (`Slot`): MED = med, MAD = mad, T = last timestamp (NaN before the first point), STEP =
 * typical step, Y = last y, SURPRISE.. = surprise.ts' SURPRISE_SLOTS.
 * After a level shift of size s the first point scores s/w and sets E = γ·s, so the next
 * points score about 1/γ while the median, stepping by ~a·γ·s/(threshold·1.4826) per
 * point, closes the gap faster than E releases it (the plain median, stepping by a·mad,
 * would keep scoring above 1 for hundreds of points).
 * Held by test/unit/models-behaviour.test.ts with the defaults: after a shift of 20× the noise
 * amplitude at 5-minute steps, at most 2 points after the shift score above 1.
 */
export interface MadParams extends SurpriseParams {
  halfLifeMs: number;
  threshold: number;
  relFloor: number;
  absFloor: number;
}

const enum Slot {
  MED = 0,
  MAD = 1,
  T = 2,
  STEP = 3,
  /** Step keeps the last y right after the step. */
  Y = STEP + 1,
  SURPRISE = 5,
}

export class MadOnline implements Model {
  readonly slots = Slot.SURPRISE + SURPRISE_SLOTS;
  private readonly surprise: Surprise;
  private readonly floor: Floor;
  private readonly alphas: Alphas;
  private readonly step = new Step();
  constructor(readonly p: MadParams) {
    this.surprise = new Surprise(p);
    this.floor = new Floor(p.relFloor, p.absFloor);
    this.alphas = new Alphas([p.halfLifeMs]);
  }

  init(state: Float64Array, o: number): void {
    state[o + Slot.MED] = 0;
    state[o + Slot.MAD] = 0;
    state[o + Slot.T] = NaN;
    state[o + Slot.STEP] = 0;
    state[o + Slot.Y] = NaN;
    this.surprise.init(state, o + Slot.SURPRISE);
  }

  update(state: Float64Array, o: number, out: Prediction, n: number): void {
    const p = this.p;
    const tsMs = out.t;
    const y = out.y;
    let med = state[o + Slot.MED];
    let mad = state[o + Slot.MAD];
    const last = state[o + Slot.T];
    const first = last !== last;
    if (first) med = y;
    const fl = this.floor;
    fl.step = first ? 0 : state[o + Slot.STEP];
    fl.x = med;
    fl.set();
    const floor = fl.f;
    if (first) mad = floor;
    const dt = last === last ? tsMs - last : 0;
    const k = p.threshold * 1.4826;
    const w0 = k * (mad > floor ? mad : floor);
    // surprise.ts' doubles go in its fields and out (see Surprise): out.yhat is the prediction
    const s = this.surprise;
    const sp = o + Slot.SURPRISE;
    out.yhat = med;
    s.dt = dt;
    s.age(state, sp, out);
    const env = s.envelope(state, sp);
    s.w0 = w0;
    s.band(state, sp, n, out);
    const w = s.w;
    if (last === last) {
      const a = warm(this.alphas.at(dt)[0], n);
      const r = y - med;
      s.w = w;
      s.w0 = w0;
      s.learn(state, sp, out);
      const ws = w0 > env ? w0 : env;
      med += ((2 * a * ws) / k) * (r > 0 ? 0.5 : r < 0 ? -0.5 : 0);
      mad *= Math.exp(2 * a * (Math.abs(r) > mad ? 0.5 : -0.5));
      if (mad < floor) mad = floor;
      this.step.a = a;
      this.step.learn(state, o + Slot.STEP, out);
    } else state[o + Slot.Y] = y;
    state[o + Slot.MED] = med;
    state[o + Slot.MAD] = mad;
    state[o + Slot.T] = tsMs;
  }
}
