import { Alphas, Floor, Model, Prediction, Step, warm } from './model.js';
import { SURPRISE_SLOTS, Surprise, SurpriseParams } from './surprise.js';

/**
 * zscore_online: exponentially weighted mean and variance, band = mean ± z·σ.
 *
 * With a = 1 - 2^(-Δt/half_life) (Δt since the previous point, so a 15 s and a 1 s scrape
 * with the same half_life forget at the same rate in wall-clock time):
 *   d = y - m;   m ← m + a·d;   v ← (1 - a)·(v + a·d²)        (West/Finch EW variance)
 * Prediction before learning y: yhat = m, half-width w = z·max(√v, floor),
 *   floor = max(rel_floor·|m|, abs_floor, step)   (step: typical non-zero |Δy|, see Step)
 * so a flat series has a tiny but non-zero band: its score stays finite, and a change of
 * less than z·floor (e.g. one quantisation step) scores below 1.
 *
 * The band is then widened and narrowed by the shared surprise discipline (surprise.ts' slots:
 * report once, recurrence, range).
 *
 * Slots (`Slot`): M = m, V = v, T = timestamp of the last point (NaN before the first), STEP =
 * typical step, Y = last y, SURPRISE.. = surprise.ts' SURPRISE_SLOTS.
 * After a level shift of size s the first point scores s/w and sets E = γ·s; the residual
 * then decays as s·2^(-t/half_life) while E holds (its residuals stay beyond the model's own band
 * until the mean has caught up), so every later point scores ≤ 1/γ plus what the noise adds: the
 * change is reported once, not for the ~half_life·log2(s/(zσ0))/Δt points the plain
 * recurrence would need to absorb it.
 * Held by test/unit/models-behaviour.test.ts with the defaults: after a shift of 20× the noise
 * amplitude at 5-minute steps, at most 2 points after the shift score above 1.
 */
export interface ZscoreParams extends SurpriseParams {
  halfLifeMs: number;
  zThreshold: number;
  relFloor: number;
  absFloor: number;
}

const enum Slot {
  M = 0,
  V = 1,
  T = 2,
  STEP = 3,
  /** Step keeps the last y right after the step. */
  Y = STEP + 1,
  SURPRISE = 5,
}

export class ZscoreOnline implements Model {
  readonly slots = Slot.SURPRISE + SURPRISE_SLOTS;
  private readonly surprise: Surprise;
  private readonly floor: Floor;
  private readonly alphas: Alphas;
  private readonly step = new Step();
  constructor(readonly p: ZscoreParams) {
    this.surprise = new Surprise(p);
    this.floor = new Floor(p.relFloor, p.absFloor);
    this.alphas = new Alphas([p.halfLifeMs]);
  }

  init(state: Float64Array, o: number): void {
    state[o + Slot.M] = 0;
    state[o + Slot.V] = 0;
    state[o + Slot.T] = NaN;
    state[o + Slot.STEP] = 0;
    state[o + Slot.Y] = NaN;
    this.surprise.init(state, o + Slot.SURPRISE);
  }

  update(state: Float64Array, o: number, out: Prediction, n: number): void {
    const p = this.p;
    const tsMs = out.t;
    const y = out.y;
    if (state[o + Slot.T] !== state[o + Slot.T]) {
      state[o + Slot.M] = y;
      state[o + Slot.V] = 0;
      state[o + Slot.T] = tsMs;
    }
    const m = state[o + Slot.M];
    const v = state[o + Slot.V];
    const dt = tsMs - state[o + Slot.T];
    const fl = this.floor;
    fl.step = state[o + Slot.STEP];
    fl.x = m;
    fl.set();
    const floor = fl.f;
    const sd = Math.sqrt(v);
    const w0 = p.zThreshold * (sd > floor ? sd : floor);
    // surprise.ts' doubles go in its fields and out (see Surprise): out.yhat is the prediction
    const s = this.surprise;
    const sp = o + Slot.SURPRISE;
    out.yhat = m;
    s.dt = dt;
    s.age(state, sp, out);
    s.w0 = w0;
    s.band(state, sp, n, out);
    const w = s.w;
    const a = warm(this.alphas.at(dt)[0], n);
    const d = y - m;
    if (dt > 0) {
      s.w = w;
      s.w0 = w0;
      s.learn(state, sp, out);
    }
    state[o + Slot.M] = m + a * d;
    state[o + Slot.V] = (1 - a) * (v + a * d * d);
    state[o + Slot.T] = tsMs;
    this.step.a = a;
    this.step.learn(state, o + Slot.STEP, out);
  }
}
