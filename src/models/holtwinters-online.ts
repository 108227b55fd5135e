import { Alphas, Floor, Model, Prediction, Step, warm } from './model.js';
import { SeasonClock } from './season.js';
import { SURPRISE_SLOTS, Surprise, SurpriseParams } from './surprise.js';

/**
 * holtwinters_online: additive level + damped trend + seasonality indexed by timestamp.
 *
 * Seasonality is K buckets per period P, read with linear interpolation at the point's
 * position i + f in the period (see season.ts), so gaps and irregular steps simply land
 * in the right place: S(t) = (1-f)·S[i] + f·S[i+1].
 * With Δt since the previous point and a_x = 1 - 2^(-Δt/h_x):
 *   yhat = l + b·Δt + S(t);   e = y - yhat
 *   l ← l + b·Δt + a_l·e
 *   b ← (b + a_b·a_l·e/Δt)·2^(-Δt/trend_damping)      (trend per ms, decays towards 0)
 *   S[i] += a_s·(1-f)·e,  S[i+1] += a_s·f·e,  a_s = 1 - 2^(-Δt·K/h_s)
 * (a bucket is visited ~P/(K·Δt) times per period, so its memory is h_s in wall time).
 * Residual spread: v ← v + a_v·(|e'| - v) with e' = e clipped to ±4·v (one outlier
 * cannot blow the band up); half-width w = z·1.25·max(v, floor) (1.25·mean|e| ≈ σ for
 * Gaussian noise), floor = max(rel_floor·|l|, abs_floor, step) so a flat or
 * quantised series stays quiet (step: typical non-zero |Δy|, see Step).
 *
 * The band is then widened and narrowed by the shared surprise discipline (surprise.ts' slots:
 * report once with the envelope E, recurrence, range).
 *
 * Slots (`Slot`): L = l, B = b, V = v, T = last ts (NaN before the first point), STEP = typical
 * step, Y = last y, SURPRISE.. = surprise.ts' SURPRISE_SLOTS, SEASON..SEASON+K = the buckets S.
 * After a level shift of size s the first point scores s/w and sets E = γ·s; the level
 * absorbs the shift with half-life h_l (1h) while E holds (the residuals stay beyond w0 meanwhile),
 * so the later residuals stay under E: the change is reported once (without E the score
 * stayed above 1 for about h_l/Δt·log2(s/(z·1.25·v)) points).
 * Held by test/unit/models-behaviour.test.ts with the defaults: after a shift of 20× the noise
 * amplitude at 5-minute steps, at most 2 points after the shift score above 1.
 */
/**
 * Points over which the residual spread starts as a plain average (a warm start, see warm()). 8: at 4 a new
 * calm 15 s series scores up to 1.2 on three of its first scored points (models-warmstart), at 16
 * or more early residuals (season not learnt yet) keep the band wide enough to miss a flattened
 * daily peak on day 4 (models-behaviour); NAB unchanged (58.1 @1 at 4 and 8).
 */
const WARM_SPREAD_POINTS = 8;
const enum Slot {
  L = 0,
  B = 1,
  V = 2,
  T = 3,
  STEP = 4,
  /** Step keeps the last y right after the step. */
  Y = STEP + 1,
  SURPRISE = 6,
}
/** First seasonal bucket: after the surprise slots (config/models.ts caps `buckets` by it). */
export const SEASON = Slot.SURPRISE + SURPRISE_SLOTS;

export interface HoltWintersParams extends SurpriseParams {
  levelHalfLifeMs: number;
  trendHalfLifeMs: number;
  trendDampingMs: number;
  seasonHalfLifeMs: number;
  spreadHalfLifeMs: number;
  z: number;
  relFloor: number;
  absFloor: number;
}

export class HoltWintersOnline implements Model {
  readonly slots: number;
  private readonly k: number;
  private readonly surprise: Surprise;
  private readonly floor: Floor;
  private readonly alphas: Alphas;
  private readonly step = new Step();
  constructor(
    readonly p: HoltWintersParams,
    readonly clock: SeasonClock,
  ) {
    this.k = clock.buckets;
    this.slots = SEASON + this.k;
    this.surprise = new Surprise(p);
    this.floor = new Floor(p.relFloor, p.absFloor);
    // [level, trend, trend damping, bucket (dt·K at season_half_life = dt at season_half_life/K), spread]
    this.alphas = new Alphas([p.levelHalfLifeMs, p.trendHalfLifeMs, p.trendDampingMs, p.seasonHalfLifeMs / this.k, p.spreadHalfLifeMs]);
  }

  init(state: Float64Array, o: number): void {
    state.fill(0, o, o + this.slots);
    state[o + Slot.T] = NaN;
    state[o + Slot.Y] = NaN;
    this.surprise.init(state, o + Slot.SURPRISE);
  }

  update(state: Float64Array, o: number, out: Prediction, n: number): void {
    const p = this.p;
    const tsMs = out.t;
    const y = out.y;
    const k = this.k;
    const last = state[o + Slot.T];
    this.clock.at(out);
    const pos = this.clock.position;
    let i = pos | 0;
    const f = pos - i;
    let j = i + 1;
    if (j === k) j = 0;
    i += o + SEASON;
    j += o + SEASON;
    if (last !== last) {
      state[o + Slot.L] = y;
      state[o + Slot.T] = tsMs;
      state[o + Slot.V] = 0;
    }
    const dt = last === last ? tsMs - last : 0;
    let l = state[o + Slot.L];
    let b = state[o + Slot.B];
    let v = state[o + Slot.V];
    const seas = (1 - f) * state[i] + f * state[j];
    const yhat = l + b * dt + seas;
    const fl = this.floor;
    fl.step = state[o + Slot.STEP];
    fl.x = l;
    fl.set();
    const floor = fl.f;
    const w0 = p.z * 1.25 * (v > floor ? v : floor);
    // surprise.ts' doubles go in its fields and out (see Surprise): out.yhat is the prediction
    const s = this.surprise;
    const sp = o + Slot.SURPRISE;
    out.yhat = yhat;
    s.dt = dt;
    s.age(state, sp, out);
    s.w0 = w0;
    s.band(state, sp, n, out);
    const w = s.w;
    if (dt > 0) {
      const e = y - yhat;
      s.w = w;
      s.w0 = w0;
      s.learn(state, sp, out);
      const a = this.alphas.at(dt);
      const al = a[0];
      l = l + b * dt + al * e;
      b = (b + (a[1] * al * e) / dt) * (1 - a[2]);
      const as = a[3];
      const es = e * (1 - al);
      state[i] += as * (1 - f) * es;
      state[j] += as * f * es;
      const cap = 4 * (v > floor ? v : floor);
      let ae = e < 0 ? -e : e;
      if (ae > cap) ae = cap;
      // Spread: a warm start (the first residuals, then its half-life); typical step: plain (see auto).
      const av = a[4];
      v += (n < WARM_SPREAD_POINTS ? warm(av, n) : av) * (ae - v);
      this.step.a = av;
      this.step.learn(state, o + Slot.STEP, out);
    } else state[o + Slot.Y] = y;
    state[o + Slot.L] = l;
    state[o + Slot.B] = b;
    state[o + Slot.V] = v;
    state[o + Slot.T] = tsMs;
  }
}
