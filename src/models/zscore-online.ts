import { Model, Prediction, alphaFor, learnStep, warm, bandFloor } from './model.js';
import { SurpriseParams, released, surprised } from './surprise.js';

/**
 * zscore_online: exponentially weighted mean and variance, band = mean ± z·σ.
 *
 * With a = 1 - 2^(-Δt/half_life) (Δt since the previous point, so a 15 s and a 1 s scrape
 * with the same half_life forget at the same rate in wall-clock time):
 *   d = y - m;   m ← m + a·d;   v ← (1 - a)·(v + a·d²)        (West/Finch EW variance)
 * Prediction before learning y: yhat = m, half-width w = z·max(√v, floor),
 *   floor = max(rel_floor·|m|, abs_floor, step)   (step: typical non-zero |Δy|, see learnStep)
 * so a flat series has a tiny but non-zero band: its score stays finite, and a change of
 * less than z·floor (e.g. one quantisation step) scores below 1.
 *
 * The band is then widened by the surprise envelope E (slot [5], see surprise.ts):
 * w = max(w, E), E ← γ·|d| when |d| > w, E halving every `release`.
 *
 * Slots: [0] m, [1] v, [2] timestamp of the last point (NaN before the first), [3] step,
 * [4] last y, [5] E.
 * After a level shift of size s the first point scores s/w and sets E = γ·s; the residual
 * then decays as s·2^(-t/half_life) and E as γ·s·2^(-t/release), so with release ≥ half_life
 * (the defaults: 2d and 1d) every later point scores ≤ 1/γ plus what the noise adds: the
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

export class ZscoreOnline implements Model {
  readonly slots = 6;
  constructor(readonly p: ZscoreParams) {}

  init(state: Float64Array, o: number): void {
    state[o] = 0;
    state[o + 1] = 0;
    state[o + 2] = NaN;
    state[o + 3] = 0;
    state[o + 4] = NaN;
    state[o + 5] = 0;
  }

  update(state: Float64Array, o: number, tsMs: number, y: number, out: Prediction, n: number): void {
    const p = this.p;
    if (state[o + 2] !== state[o + 2]) {
      state[o] = y;
      state[o + 1] = 0;
      state[o + 2] = tsMs;
    }
    const m = state[o];
    const v = state[o + 1];
    const dt = tsMs - state[o + 2];
    const floor = bandFloor(p.relFloor, p.absFloor, state[o + 3], m);
    const sd = Math.sqrt(v);
    const w0 = p.zThreshold * (sd > floor ? sd : floor);
    const env = released(state[o + 5], dt, p.releaseMs);
    const w = w0 > env ? w0 : env;
    out.yhat = m;
    out.lower = m - w;
    out.upper = m + w;
    const a = warm(alphaFor(dt, p.halfLifeMs), n);
    const d = y - m;
    const ad = d < 0 ? -d : d;
    state[o + 5] = surprised(env, ad, w, p.gamma, out.ready);
    state[o] = m + a * d;
    state[o + 1] = (1 - a) * (v + a * d * d);
    state[o + 2] = tsMs;
    learnStep(state, o + 3, y, a);
  }
}
