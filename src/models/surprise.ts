/**
 * The surprise envelope, shared by every model: the band remembers the last surprise.
 *
 * One slot E per series holds a half-width, as of the last point's timestamp. For a point
 * Δt after it, with the model's own half-widths w_up, w_lo around yhat:
 *   E ← E·2^(-Δt/release)                      (shrinks back with half-life `release`)
 *   w_up ← max(w_up, E),  w_lo ← max(w_lo, E)   (the band the point is judged by)
 * and when the point falls outside that band (|e| = |y - yhat| > w on its side, i.e. it
 * scores above 1):
 *   E ← γ·|e|        (γ = `surprise_cover` ≥ 1)
 * so the same deviation on the next point scores 1/γ < 1. A change is flagged once; the
 * model then has about `release` of wall-clock time to learn the new normal before its band
 * is back to its own width, instead of firing on every point until it has. Models also use
 * the widened band as the scale of their learning steps and residual clips, so they learn
 * a change they have already reported quickly (the plain band would hold them back).
 * A spike is flagged, then widens the band for a while: a second deviation of the same
 * size within release·log2(γ) (0.58·release for γ = 1.5) scores below 1 (it is the same
 * news), one γ times larger still scores above 1. So a change that recurs every P with
 * P < release·log2(γ) is reported once; the default release (2d; 1d for the models that
 * learn a daily season) is chosen with that in mind for daily patterns.
 * Surprises during warm-up (before min_n_samples_seen points) do not raise E.
 * E only ever holds γ·|e| of a finite residual or a decayed value of it, so it stays finite.
 */

/**
 * E decayed over Δt: the envelope a point at Δt after the last one is judged by. The factor is
 * kept for the last (Δt, release): the series of a scrape share both, so exp() runs once per
 * interval, not per point.
 */
export function released(env: number, dtMs: number, releaseMs: number): number {
  if (env === 0) return 0;
  if (dtMs !== keptDt || releaseMs !== keptRelease) {
    keptDt = dtMs;
    keptRelease = releaseMs;
    kept = Math.exp((-Math.LN2 * dtMs) / releaseMs);
  }
  return env * kept;
}
let keptDt = NaN;
let keptRelease = NaN;
let kept = 1;

/**
 * New envelope after a residual of absolute size `ae` judged by half-width `w`. `armed` is
 * the Scorer's `out.ready`: during warm-up (min_n_samples_seen) nothing raises E, so a wild
 * first point, judged by a band that has not learnt anything yet, cannot blind the model
 * for days after it starts reporting.
 */
export function surprised(env: number, ae: number, w: number, gamma: number, armed: boolean): number {
  return armed && ae > w ? gamma * ae : env;
}

/** Settings shared by every model (durations in ms). */
export interface SurpriseParams {
  releaseMs: number;
  gamma: number;
}
