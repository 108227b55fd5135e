import { Model, Prediction, alphaFor, learnStep } from './model.js';

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
 * Slots: [0] m, [1] v, [2] timestamp of the last point (NaN before the first), [3] step, [4] last y.
 * After a level shift of size s the score stays above 1 while the decaying residual
 * s·(1-a)^k exceeds z·σ_k; σ grows with the shift itself, so this plain model keeps
 * scoring above 1 for roughly half_life·log2(s/(zσ0))/Δt points at most.
 * Held by test/unit/models-behaviour.test.ts with the defaults: after a shift of 20× the noise
 * amplitude at 5-minute steps, at most 70 points after the shift score above 1.
 */
export interface ZscoreParams {
  halfLifeMs: number;
  zThreshold: number;
  relFloor: number;
  absFloor: number;
}

export class ZscoreOnline implements Model {
  readonly slots = 5;
  constructor(readonly p: ZscoreParams) {}

  init(state: Float64Array, o: number): void {
    state[o] = 0;
    state[o + 1] = 0;
    state[o + 2] = NaN;
    state[o + 3] = 0;
    state[o + 4] = NaN;
  }

  update(state: Float64Array, o: number, tsMs: number, y: number, out: Prediction): void {
    const p = this.p;
    if (state[o + 2] !== state[o + 2]) {
      state[o] = y;
      state[o + 1] = 0;
      state[o + 2] = tsMs;
    }
    const m = state[o];
    const v = state[o + 1];
    const floor = Math.max(p.relFloor * Math.abs(m), p.absFloor, state[o + 3]);
    const sd = Math.sqrt(v);
    const w = p.zThreshold * (sd > floor ? sd : floor);
    out.yhat = m;
    out.lower = m - w;
    out.upper = m + w;
    const a = alphaFor(tsMs - state[o + 2], p.halfLifeMs);
    const d = y - m;
    state[o] = m + a * d;
    state[o + 1] = (1 - a) * (v + a * d * d);
    state[o + 2] = tsMs;
    learnStep(state, o + 3, y, a);
  }
}
