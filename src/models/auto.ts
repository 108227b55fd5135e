import { Alpha, Model, Prediction, warm, warmStart, bandFloor } from './model.js';
import { SeasonClock } from './season.js';
import { SurpriseParams, released, surprised } from './surprise.js';

/**
 * auto (the default): robust level + optional piecewise-constant seasonality + a band that
 * remembers the last surprise. Chosen on the NAB benchmark (bench/nab, bench/RESULTS.md).
 *
 * yhat = m + S[b] (b = floor(pos(t)), see season.ts; no season when K = 0), e = y - yhat.
 * Half-width w = max(z·1.25·max(v, floor), E):
 *   v      slow spread, EW mean of |e| clipped to 4·max(v, floor)  (1.25·mean|e| ≈ σ),
 *   E      surprise envelope (surprise.ts, shared by every model), a half-width: decays
 *          with half-life `release`; when |e| > w (a point scoring above 1) it jumps to
 *          γ·|e|, so the same deviation on the next point scores 1/γ < 1: a change is flagged
 *          once, then accepted as the new normal while the level catches up (the level,
 *          clipped at ±c·w, moves freely once w covers the change),
 *   floor  max(rel_floor·|yhat|, abs_floor, q_floor·q) with q the EW mean of the non-zero
 *          |Δy| (the series' step: quantised and flat series stay quiet on a one-step move).
 * With a_x = 1 - 2^(-Δt/h_x) (so every setting is a duration):
 *   m ← m + a_m·clip(e, ±c·w);   L ← L + a_L·(y - S[b] - L)  (slow level, half-life = one period)
 *   S[b] ← S[b] + a_s·clip(y - L - S[b], ±c·w), a_s from Δt·K: the season is learnt against
 *   the slow level L, so a fast level m cannot absorb the daily swing before S learns it
 *   v ← v + a_v·(min(|e|, 4·max(v, floor)) - v);  q ← q + a_q·(|Δy| - q) when Δy ≠ 0
 * Scores are finite: w ≥ z·1.25·floor > 0.
 *
 * Slots: [0] m, [1] v, [2] E (a half-width, as of the last point), [3] last ts (NaN before
 * the first point), [4] q, [5] last y, [6] L, [7..7+K) S.
 * After a level shift of size s: the first point scores s/w; E then holds γ·s
 * while the residual decays as s·2^(-t/h_m), so with release ≥ level half-life the score
 * stays ≤ 1/γ: at most 1 point after a clean shift scores above 1 (noise on top of the
 * shift may add one or two more when it pushes a residual past the envelope).
 * Held by test/unit/models-behaviour.test.ts with the defaults: after a shift of 20× the noise
 * amplitude at 5-minute steps, at most 1 point after the shift score above 1.
 */
/**
 * Points over which the residual spread starts as a plain average (see warmStart). Measured: 32,
 * 64 and 128 give the same NAB scores (66.4 @1, false alarms 0.15/1000); 128 keeps the first
 * scored points of new calm 15 s series lowest (max 0.56-1.09 vs 1.02-1.13 at 32, 14 cold).
 */
const WARM_SPREAD_POINTS = 128;

export interface AutoParams extends SurpriseParams {
  z: number;
  levelHalfLifeMs: number;
  spreadHalfLifeMs: number;
  seasonHalfLifeMs: number;
  clip: number;
  relFloor: number;
  absFloor: number;
  qFloor: number;
}

export class AutoModel implements Model {
  readonly slots: number;
  private readonly k: number;
  /** Smoothing weights per half-life, cached for the last interval (see Alpha). */
  private readonly aLevel: Alpha;
  private readonly aSpread: Alpha;
  /** A bucket is visited once per period: its weight over dt is that of dt·k at its half-life. */
  private readonly aSeason: Alpha;
  private readonly aPeriod: Alpha;
  constructor(
    readonly p: AutoParams,
    readonly clock: SeasonClock | null,
  ) {
    this.k = clock === null ? 0 : clock.buckets;
    this.slots = 7 + this.k;
    this.aLevel = new Alpha(p.levelHalfLifeMs);
    this.aSpread = new Alpha(p.spreadHalfLifeMs);
    this.aSeason = new Alpha(this.k > 0 ? p.seasonHalfLifeMs / this.k : Infinity);
    this.aPeriod = new Alpha(clock === null ? Infinity : clock.periodMs);
  }

  init(state: Float64Array, o: number): void {
    state.fill(0, o, o + this.slots);
    state[o + 3] = NaN;
  }

  update(state: Float64Array, o: number, tsMs: number, y: number, out: Prediction, n: number): void {
    const p = this.p;
    const last = state[o + 3];
    const b = this.clock === null ? -1 : o + 7 + (this.clock.pos(tsMs) | 0);
    if (last !== last) {
      state[o] = y;
      state[o + 5] = y;
      state[o + 6] = y;
    }
    const dt = last === last ? tsMs - last : 0;
    let m = state[o];
    let v = state[o + 1];
    const env = released(state[o + 2], dt, p.releaseMs);
    let q = state[o + 4];
    const seas = b < 0 ? 0 : state[b];
    const yhat = m + seas;
    const floor = bandFloor(p.relFloor, p.absFloor, p.qFloor * q, yhat);
    let w = p.z * 1.25 * (v > floor ? v : floor);
    if (w < env) w = env;
    out.yhat = yhat;
    out.lower = yhat - w;
    out.upper = yhat + w;
    state[o + 2] = env;
    if (last === last) {
      const e = y - yhat;
      const ae = e < 0 ? -e : e;
      const envNew = surprised(env, ae, w, p.gamma, out.ready);
      state[o + 2] = envNew;
      const c = p.clip * (w > envNew ? w : envNew);
      const ec = e > c ? c : e < -c ? -c : e;
      const am = warm(this.aLevel.at(dt), n);
      m += am * ec;
      if (b >= 0) {
        const L = state[o + 6];
        let es = y - L - seas;
        es = es > c ? c : es < -c ? -c : es;
        state[b] = seas + this.aSeason.at(dt) * es;
        state[o + 6] = L + this.aPeriod.at(dt) * (y - seas - L);
      }
      const vc = 4 * (v > floor ? v : floor);
      // The residual spread starts from the first residuals (warmStart), so a new series' band
      // is right from its first scored point, then forgets them at its half-life (early
      // residuals include the season not learnt yet). The typical step is not warmed: on a flat
      // series with spikes the only non-zero steps are the spikes.
      const as = this.aSpread.at(dt);
      v += warmStart(as, n, WARM_SPREAD_POINTS) * ((ae < vc ? ae : vc) - v);
      const dy = y - state[o + 5];
      if (dy !== 0) q += as * ((dy < 0 ? -dy : dy) - q);
    }
    state[o] = m;
    state[o + 1] = v;
    state[o + 3] = tsMs;
    state[o + 4] = q;
    state[o + 5] = y;
  }
}
