import { Alphas, Model, Prediction, warm } from './model.js';
import { SeasonClock } from './season.js';
import { Settle, SURPRISE_SLOTS, Slot as Sp, Surprise, SurpriseParams, record } from './surprise.js';

/**
 * auto (the default): robust level, a daily and a weekly profile used only where they predict
 * better (seasonality detected, not assumed), a spread band, and the shared surprise discipline
 * (surprise.ts: report once, recurrence, range). Its settings chosen by leave-one-category-out on
 * NAB (bench/nab/tune.ts, bench/RESULTS.md).
 *
 * Three predictions, with a_x = 1 - 2^(-Δt/h_x) (every setting is a duration):
 *   p_N = m0                         (no season)
 *   p_D = m + S[b]                   (daily profile: K buckets, b = floor(pos(t)), see season.ts)
 *   p_W = m + S[b] + U[c]            (plus the weekly profile: KW buckets of the week)
 * yhat = the one with the smallest D_x, the EW mean of its |error| (half-life SEASON_TEST):
 * a series without a daily or weekly pattern is predicted by its level alone, one with a
 * pattern by the profile that explains it, and the choice follows the series.
 * With e = y - p_W (the full model's residual) clipped at ±c·w (c = `clip`, w the judged band):
 *   m ← m + a_m·clip(e);   m0 ← m0 + a_m·clip(y - m0)
 *   S[b] ← S[b] + a_s·clip(y - L - S[b] - U[c]),  U[c] ← U[c] + a_u·(same),  a_s from Δt·K at
 *   `season_half_life`, a_u from Δt·KW at `weekly_half_life` (a bucket's memory in wall time),
 *   each at least the plain-average weight of the points the bucket has seen (warmBucket), so a
 *   new series' profiles are right after a few periods. The daily memory (7d) spans the week: the
 *   daily profile is the week's average day and the weekly one holds what differs (with a 1-day
 *   memory the daily profile chased the week and a weekday-level Saturday went unnoticed)
 *   L ← L + a_L·(y - S[b] - U[c] - L)   (slow level, half-life = the longest period: the
 *   profiles are learnt against it, so the fast level m cannot absorb the daily swing first)
 * Band: half-width w0 = z·1.25·max(v, floor), v the EW mean of |y - yhat| clipped at 4·max(v,
 * floor) (1.25·mean|e| ≈ σ), floor = max(rel_floor·|yhat|, abs_floor, step_floor·q), q the EW
 * mean of the non-zero |Δy| (quantised and flat series stay quiet on a one-step move); then
 * widened and narrowed by surprise.ts. Scores are finite: w0 ≥ z·1.25·floor > 0.
 * First day: until settle_time (1 day) has passed since the series' first point, the band is
 * judged with w0 = g·z·1.25·max(v, floor), g = `first_day_scale` (3), while the surprise memories
 * (envelope, record) learn each point as if it had been judged with g = 1 (surprise.ts' learnAs): a
 * kind of spike the first day shows twice is a recurrence afterwards, as it would have been, but
 * it pages nobody before the daily swing has been seen once (held-out CMD minute data: false
 * onsets on the first day 42 → 4, later days unchanged; bench/RESULTS.md "Held-out real metrics").
 * A series' first-day incident must be g times as large to score above 1.
 *
 * Slots (`Slot`): M = m, V = v, T = last ts (NaN before the first point), Q = q, Y = last y, L = L,
 * M0 = m0, DN/DD/DW = D_N/D_D/D_W, SURPRISE.. = surprise.ts' SURPRISE_SLOTS, SEASON..SEASON+K = S,
 * then KW of U.
 * After a level shift of size s: the first point scores s/w; E then holds γ·s while the
 * residual decays as s·2^(-t/h_m) (E does not release while the residuals stay beyond w0),
 * so the change is reported once. Held by test/unit/models-behaviour.test.ts: after a shift
 * of 20× the noise at 5-minute steps, at most 1 later point scores above 1.
 */

/**
 * Points over which the residual spread starts as a plain average (a warm start, see warm()): 128 keeps the
 * first scored points of new calm 15 s series quiet (test/unit/models-warmstart.test.ts).
 */
const enum Warm {
  SPREAD_POINTS = 128,
}
/**
 * Memory of the three predictions' |error| that picks yhat: long enough to span a few periods of
 * a daily pattern. Measured on all 58 NAB files at an earlier stage: 1d 65.3, 3d 67.1, 7d 64.5.
 */
const SEASON_TEST_MS = 3 * 86_400_000;

export interface AutoParams extends SurpriseParams {
  z: number;
  levelHalfLifeMs: number;
  spreadHalfLifeMs: number;
  seasonHalfLifeMs: number;
  weekHalfLifeMs: number;
  clip: number;
  relFloor: number;
  absFloor: number;
  qFloor: number;
  firstDayScale: number;
}

export const enum Slot {
  M = 0,
  V = 1,
  T = 2,
  Q = 3,
  Y = 4,
  L = 5,
  M0 = 6,
  DN = 7,
  DD = 8,
  DW = 9,
  SURPRISE = 10,
}
/** AutoModel.alphas' weights (the last three: surprise.ts' release, record_half_life, range_half_life). */
const enum A {
  RELEASE = 6,
  RECORD = 7,
  RANGE = 8,
}
/** AutoModel.warmed's slots. */
const enum WarmSlot {
  DT = 0,
  N = 1,
  D = 2,
  U = 3,
}
/** First daily bucket: after the surprise slots (config/models.ts caps the buckets by it). */
export const SEASON = Slot.SURPRISE + SURPRISE_SLOTS;

export class AutoModel implements Model {
  readonly slots: number;
  private readonly k: number;
  private readonly kw: number;
  /** SEASON and the first weekly bucket, in fields: a module constant is a context load and a hole check per use. */
  private readonly dayAt: number;
  private readonly weekAt: number;
  private readonly surprise: Surprise;
  /**
   * Smoothing weights over Δt, cached for the last interval (see Alphas): [level, spread, daily
   * bucket, weekly bucket, slow level, season test]. A bucket is visited once per period: its
   * weight over dt is that of dt·k at its half-life, i.e. dt at half-life/k.
   */
  private readonly alphas: Alphas;
  /**
   * Series age (≈ points·Δt) under which warmBucket can exceed a bucket's own weight: its mean
   * life h/ln 2 at the longer of the two bucket half-lives.
   */
  private readonly warmMs: number;
  /**
   * The young path's bucket weights for the last (Δt, n) (WarmSlot): the series of one scrape
   * share Δt and, started together, n, so warmBucket's divisions run once per scrape, not per point.
   */
  private readonly warmed = new Float64Array([NaN, NaN, 0, 0]);
  constructor(
    readonly p: AutoParams,
    readonly clock: SeasonClock | null,
    readonly week: SeasonClock | null,
  ) {
    this.k = clock === null ? 0 : clock.buckets;
    this.kw = clock === null || week === null ? 0 : week.buckets;
    this.slots = SEASON + this.k + this.kw;
    this.dayAt = SEASON;
    this.weekAt = SEASON + this.k;
    this.surprise = new Surprise(p);
    this.warmMs = Math.max(p.seasonHalfLifeMs, this.kw > 0 ? p.weekHalfLifeMs : 0) / Math.LN2;
    this.alphas = new Alphas([
      p.levelHalfLifeMs,
      p.spreadHalfLifeMs,
      this.k > 0 ? p.seasonHalfLifeMs / this.k : Infinity,
      this.kw > 0 ? p.weekHalfLifeMs / this.kw : Infinity,
      clock === null ? Infinity : this.kw > 0 ? week!.periodMs : clock.periodMs,
      SEASON_TEST_MS,
      p.releaseMs,
      p.recordMs,
      p.rangeMs,
    ]);
  }

  /**
   * warmBucket's daily and weekly weights for one Δt and n (see warmed), from the bucket weights
   * alphas.at(dt) holds: not passed as arguments, since V8 boxes a non-integer argument of a call
   * it does not inline, and may place the box where it runs on every point.
   */
  private warmBuckets(dt: number, n: number): void {
    const a = this.alphas.a;
    const ad = a[2];
    const au = a[3];
    const wb = this.warmed;
    wb[WarmSlot.DT] = dt;
    wb[WarmSlot.N] = n;
    wb[WarmSlot.D] = warmBucket(ad, this.k, this.clock!.periodMs, dt, n);
    wb[WarmSlot.U] = this.kw > 0 ? warmBucket(au, this.kw, this.week!.periodMs, dt, n) : au;
  }

  init(state: Float64Array, o: number): void {
    state.fill(0, o, o + this.slots);
    state[o + Slot.T] = NaN;
    this.surprise.init(state, o + Slot.SURPRISE);
  }

  update(state: Float64Array, o: number, out: Prediction, count: number): void {
    // the count converted once (a tagged number): its uses below sit on different branches
    const n = +count;
    const p = this.p;
    const tsMs = out.t;
    const y = out.y;
    const last = state[o + Slot.T];
    const clock = this.clock;
    if (clock !== null) clock.at(out);
    if (this.kw > 0) this.week!.at(out);
    const b = clock === null ? -1 : o + this.dayAt + (clock.position | 0);
    const c = this.kw === 0 ? -1 : o + this.weekAt + (this.week!.position | 0);
    if (last !== last) {
      state[o + Slot.M] = y;
      state[o + Slot.Y] = y;
      state[o + Slot.L] = y;
      state[o + Slot.M0] = y;
    }
    const dt = last === last ? tsMs - last : 0;
    let m = state[o + Slot.M];
    let v = state[o + Slot.V];
    let q = state[o + Slot.Q];
    const sd = b < 0 ? 0 : state[b];
    const sw = c < 0 ? 0 : state[c];
    const pFull = m + sd + sw;
    const m0 = state[o + Slot.M0];
    let yhat = pFull;
    // D_N, D_D, D_W (0 without a daily profile: not used then)
    const dN = b < 0 ? 0 : state[o + Slot.DN];
    const dD = b < 0 ? 0 : state[o + Slot.DD];
    const dW = b < 0 ? 0 : state[o + Slot.DW];
    if (b >= 0) {
      // without a weekly profile D_W is out of the choice: dD in its place picks exactly as ∞ would
      // (NaN included), and keeps the choice on plain doubles (a never-taken `Infinity` made V8 box it)
      const dU = c < 0 ? dD : dW;
      if (dN <= dD && dN <= dU) yhat = m0;
      else if (dD <= dU) yhat = m + sd;
    }
    // floor = max(rel_floor·|yhat|, abs_floor, step_floor·q), as model.ts' Floor.set() but in
    // locals: auto is over V8's inlining budget, so set() stayed a call (model-loop 0.84x young)
    const rel = p.relFloor * (yhat < 0 ? -yhat : yhat);
    let floor = rel;
    if (floor < p.absFloor) floor = p.absFloor;
    const qf = p.qFloor * q;
    if (floor < qf) floor = qf;
    const sc = v > floor ? v : floor;
    const sp = o + Slot.SURPRISE;
    out.yhat = yhat;
    // surprise.ts' age(), firstDay(), band() and learn() (learnAs() on the first day) for auto's one
    // half-width, written out in locals: the same arithmetic in the same order, so the same bits
    // (test/unit/auto-surprise.test.ts). As calls, learn() stayed out of line (V8's inlining budget
    // for update() was spent first) and every double went through Surprise's fields: written out,
    // the model costs ~0.8x (bench/RESULTS.md, issue 20 session 10).
    const a = last === last ? this.alphas.at(dt) : this.alphas.a;
    // age(): the memories decay over Δt; F is the series' first timestamp (-inf once settled)
    let f = state[sp + Sp.F];
    if (f !== f) f = tsMs;
    let env = state[sp + Sp.E];
    let r2 = state[sp + Sp.R2];
    let hi = state[sp + Sp.H];
    let lw = state[sp + Sp.W];
    if (dt > 0) {
      env *= 1 - a[A.RELEASE];
      const fr = 1 - a[A.RECORD];
      state[sp + Sp.R1] *= fr;
      r2 *= fr;
      state[sp + Sp.R2] = r2;
      const ar = a[A.RANGE];
      hi += ar * (yhat - hi);
      lw += ar * (yhat - lw);
    }
    const w1 = p.z * 1.25 * sc;
    const guard = p.firstDayScale !== 1 && tsMs - f < p.settleMs;
    const w0 = guard ? w1 * p.firstDayScale : w1;
    // widen(): at least the envelope and the record (unless the run in progress outlasts it)
    const run = state[sp + Sp.N];
    const len = run < 0 ? -run : run;
    const rec = len < p.runMax || len <= state[sp + Sp.D2] ? r2 : 0;
    const we = w0 > env ? w0 : env;
    const w = we > rec ? we : rec;
    // bound(): once settled, each edge pulled in to the recent range ± its margin
    let up = w;
    let lo = w;
    if (f > -Infinity && n >= Settle.POINTS && tsMs - f >= p.settleMs) f = -Infinity;
    state[sp + Sp.F] = f;
    if (p.rangeMargin > 0 && f === -Infinity) {
      let mg = p.rangeMargin * (hi - lw);
      if (mg < rel) mg = rel;
      const min = 0.05 * w0;
      let r = hi + mg - yhat;
      if (r < min) r = min;
      if (up > r) up = r;
      r = yhat - lw + mg;
      if (r < min) r = min;
      if (lo > r) lo = r;
    }
    const upper = yhat + up;
    const lower = yhat - lo;
    out.upper = upper;
    out.lower = lower;
    if (last === last) {
      const e = y - yhat;
      const ae = e < 0 ? -e : e;
      // learn(), judged by w, w0 and the band written; on the first day (learnAs()) as if judged by
      // yhat ± widen(w1), the band without the guard
      let wj = w;
      let w0j = w0;
      let uj = upper;
      let lj = lower;
      if (guard) {
        const wa = w1 > env ? w1 : env;
        wj = wa > rec ? wa : rec;
        w0j = w1;
        uj = yhat + wj;
        lj = yhat - wj;
      }
      const armed = out.ready === true; // a boolean: a pointer compare instead of ToBoolean
      if (armed && ae > wj) env = p.gamma * ae;
      else if (ae <= w0j) env *= p.keep;
      const beyond = ae > w0j;
      const same = beyond && (run === 0 || run > 0 === e > 0);
      if (!same && state[sp + Sp.P] > 0) record(state, sp, len);
      state[sp + Sp.N] = !beyond ? 0 : e > 0 ? (same ? run + 1 : 1) : same ? run - 1 : -1;
      if (armed && (y > uj || y < lj)) {
        const g = p.gamma * ae;
        if (g > state[sp + Sp.P]) state[sp + Sp.P] = g;
      }
      if (!(y <= hi)) hi = y; // NaN before the first point
      if (!(y >= lw)) lw = y;
      state[sp + Sp.E] = env;
      state[sp + Sp.H] = hi;
      state[sp + Sp.W] = lw;
      // Learning steps are clipped at the band, widened by a surprise just reported, so a change
      // is learnt quickly once reported while an ordinary outlier moves nothing much.
      const cl = p.clip * (w > env ? w : env);
      const eF = y - pFull;
      const am = warm(a[0], n);
      m += am * (eF > cl ? cl : eF < -cl ? -cl : eF);
      if (b >= 0) {
        const e0 = y - m0;
        state[o + Slot.M0] = m0 + am * (e0 > cl ? cl : e0 < -cl ? -cl : e0);
        const at = a[5];
        const eD = y - (pFull - sw);
        state[o + Slot.DN] = dN + at * ((e0 < 0 ? -e0 : e0) - dN);
        state[o + Slot.DD] = dD + at * ((eD < 0 ? -eD : eD) - dD);
        state[o + Slot.DW] = dW + at * ((eF < 0 ? -eF : eF) - dW);
        const L = state[o + Slot.L];
        let es = y - L - sd - sw;
        es = es > cl ? cl : es < -cl ? -cl : es;
        // A bucket starts as about the plain average of its first visits (a visit brings
        // period/(K·Δt) points), then forgets at its half-life: a new series' profile is right
        // after a few periods instead of creeping up over several half-lives.
        let ad = a[2];
        let au = a[3];
        if (n * dt < this.warmMs) {
          // young series: buckets start as plain averages (weights kept for the last Δt and n)
          const wb = this.warmed;
          if (dt !== wb[WarmSlot.DT] || n !== wb[WarmSlot.N]) this.warmBuckets(dt, n);
          ad = wb[WarmSlot.D];
          au = wb[WarmSlot.U];
        }
        state[b] = sd + ad * es;
        if (c >= 0) state[c] = sw + au * es;
        state[o + Slot.L] = L + a[4] * (y - sd - sw - L);
      }
      // The residual spread starts from the first residuals (a warm start), so a new series' band
      // is right from its first scored point, then forgets them at its half-life (early
      // residuals include the season not learnt yet). The typical step is not warmed: on a flat
      // series with spikes the only non-zero steps are the spikes.
      const as = a[1];
      const vc = 4 * sc;
      v += (n < Warm.SPREAD_POINTS ? warm(as, n) : as) * ((ae < vc ? ae : vc) - v);
      const dy = y - state[o + Slot.Y];
      if (dy !== 0) q += as * ((dy < 0 ? -dy : dy) - q);
    }
    state[o + Slot.M] = m;
    state[o + Slot.V] = v;
    state[o + Slot.T] = tsMs;
    state[o + Slot.Q] = q;
    state[o + Slot.Y] = y;
  }
}

/**
 * A bucket's learning weight for a point: at least 1/(points it has seen + 1), so a new series'
 * profile starts as about the plain average of its first visits (a visit of one of K buckets of a
 * period P brings P/(K·Δt) points; the series has seen floor(n·Δt/P) periods) instead of creeping
 * up from 0 over several half-lives.
 */
function warmBucket(a: number, k: number, periodMs: number, dtMs: number, n: number): number {
  const w = (k * dtMs) / periodMs / (Math.floor((n * dtMs) / periodMs) + 1);
  return a > w ? a : w < 1 ? w : 1;
}
