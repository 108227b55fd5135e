import { Alphas, Prediction } from './model.js';

/**
 * What every model does with a surprise (a point scoring above 1): report it once, do not let one
 * blip blind the series, do not report what keeps happening, and report a value beyond anything
 * seen lately. Ten slots per series, the same for every model class: the model supplies yhat and
 * its own half-widths w0 (per side), this file turns them into the band the point is judged by.
 *
 * Slots (from q): [0] E, [1] R1, [2] R2, [3] P, [4] H, [5] W (NaN before the first point), [6] F
 * (the first timestamp; -inf once settled), [7] N, [8] D1, [9] D2.
 *
 * 1. Report once (envelope E, a half-width as of the last point). A point that falls outside its
 *    band sets E ← γ·|e| (γ = `surprise_cover`), so the same deviation next scores 1/γ: a change
 *    is reported once, and the model learns it meanwhile. E halves every `release` of time and
 *    also every `release_points` points that fall back inside the model's own band (|e| ≤ w0):
 *      E ← E·2^(-Δt/release),  then after the point  E ← E·2^(-1/release_points) if |e| ≤ w0.
 *    So E holds while a change persists (its residuals stay beyond w0 until the model has learnt
 *    it) and is gone soon after a blip: once the series is back to its previous normal for k
 *    points, a deviation d > γ·|e_blip|·2^(-k/release_points) scores above 1 again (γ 1.25 and 10
 *    points: after 40 points, any d > 0.08·|e_blip|). The old E, released by time only (1 day),
 *    let one 2-second burst on a 1 s scrape hide CPU saturation 40 s later.
 * 2. Recurrence (record). A run is a stretch of points beyond w0 on one side (N counts them,
 *    signed). A run that held an alarm enters the record when it ends, with its peak γ·|e| (P)
 *    and its length: R1 ≥ R2 are the two largest peaks, decaying with `record_half_life`, D1, D2
 *    their runs' lengths. The band is at least R2, so a deviation no larger than two recent
 *    reported ones is not news (a series with daily spikes stops alarming on them after the
 *    second; one alarm alone raises only R1), unless the run in progress has already lasted
 *    `record_points` points and longer than the R2 run did: a sustained deviation is news even
 *    after spikes of its size (cron spikes twice a day, then an hour of saturation).
 * 3. Range (H ≥ W): the series' recent high and low, H ← max(y, H + a_r·(yhat - H)) (and W
 *    alike), a_r = 1 - 2^(-Δt/range_half_life): they follow a new extreme at once and relax
 *    towards the prediction slowly. Once the series is settled (SETTLE_POINTS points over at least
 *    `settle_time`, a day: its daily swing has been seen), each edge of the band is pulled in to
 *    H + M above and W - M below, M = max(m·(H - W), rel_floor·|yhat|) (m = `range_margin`; a large
 *    value moving by a tiny fraction of itself stays quiet), never closer to yhat than a twentieth
 *    of the model's own width: a value clearly beyond the recent range is
 *    reported even where the model's band is wide (a noisy or oscillating series at a new
 *    extreme), as HTM's "spatial anomaly" in Numenta's NAB detector.
 * The judged half-widths max(w0, E, R2) (then narrowed by the range) stay finite and positive:
 * E, R1, R2 only ever hold γ·|e| of finite residuals, decayed. Surprises during warm-up (before
 * min_n_samples_seen points, `out.ready` false) raise neither E nor the record.
 * auto.ts runs this arithmetic written out in its own update() (age, firstDay, band, learn, learnAs):
 * a change here is a change there, and test/unit/auto-surprise.test.ts fails until both agree.
 */
export interface SurpriseParams {
  releaseMs: number;
  gamma: number;
  /** E's factor per point back inside the model's own band: 2^(-1/release_points). */
  keep: number;
  recordMs: number;
  rangeMargin: number;
  rangeMs: number;
  settleMs: number;
  runMax: number;
  /** The models' band floor relative to |yhat| (rel_floor): the range's margin is at least that. */
  relFloor: number;
}

export const SURPRISE_SLOTS = 10;
/** Points a series must have fed (over settle_time) before it is settled. */
export const enum Settle {
  POINTS = 128,
}

/** The slots from q (auto.ts reads them too: it runs this file's arithmetic in its own update()). */
export const enum Slot {
  E = 0,
  R1 = 1,
  R2 = 2,
  P = 3,
  H = 4,
  W = 5,
  F = 6,
  N = 7,
  D1 = 8,
  D2 = 9,
}

export class Surprise {
  // The doubles of the calls below go in these fields, set by the model right before each call, and
  // widen() answers in `w`: V8 boxes every double argument and result of a call it does not inline,
  // and which of these it inlines depends on the model and on when it compiles (learn() never is).
  /** The model's own half-width (widen(), bound(): the floor of the range's pull, learn(), learnAs()). */
  w0 = 0;
  /** widen()'s answer; learn()'s judged half-width on y's side before the range. */
  w = 0;
  /** bound()'s judged half-widths above and below yhat. */
  up = 0;
  lo = 0;
  /** band2()'s own half-widths above and below yhat (before widen()). */
  up0 = 0;
  lo0 = 0;
  /** age()'s Δt (ms) since the series' last point. */
  dt = 0;
  /** Weights over Δt at release, record_half_life and range_half_life. */
  private readonly alphas: Alphas;
  constructor(readonly p: SurpriseParams) {
    this.alphas = new Alphas([p.releaseMs, p.recordMs, p.rangeMs]);
  }

  init(state: Float64Array, q: number): void {
    state.fill(0, q, q + SURPRISE_SLOTS);
    state[q + Slot.H] = NaN;
    state[q + Slot.W] = NaN;
    state[q + Slot.F] = NaN;
  }

  /**
   * Ages the memories over Δt (the field `dt`) since the last point, before the point at out.t is
   * judged; out.yhat: its prediction (set by the model before the call).
   */
  age(state: Float64Array, q: number, out: Prediction): void {
    if (state[q + Slot.F] !== state[q + Slot.F]) state[q + Slot.F] = out.t;
    const dtMs = this.dt;
    if (!(dtMs > 0)) return;
    const yhat = out.yhat;
    const a = this.alphas.at(dtMs);
    const fr = 1 - a[1];
    state[q + Slot.E] *= 1 - a[0];
    state[q + Slot.R1] *= fr;
    state[q + Slot.R2] *= fr;
    const ar = a[2];
    state[q + Slot.H] += ar * (yhat - state[q + Slot.H]);
    state[q + Slot.W] += ar * (yhat - state[q + Slot.W]);
  }

  /**
   * Whether the series' first point is less than settle_time before out.t (after age(): the first
   * point's timestamp is known). A day is the range test's settle time: until then not every hour
   * of the day has been seen.
   */
  firstDay(state: Float64Array, q: number, out: Prediction): boolean {
    return out.t - state[q + Slot.F] < this.p.settleMs;
  }

  /** The report-once envelope E (after learn(): including this point's surprise). */
  envelope(state: Float64Array, q: number): number {
    return state[q + Slot.E];
  }

  /** Sets `w`, the half-width a side is judged by: the model's own `w0`, at least the envelope and the record. */
  widen(state: Float64Array, q: number): void {
    const w0 = this.w0;
    const e = state[q + Slot.E];
    const run = state[q + Slot.N];
    const len = run < 0 ? -run : run;
    // the record holds unless the deviation in progress already outlasts the recorded ones
    const r = len < this.p.runMax || len <= state[q + Slot.D2] ? state[q + Slot.R2] : 0;
    const w = w0 > e ? w0 : e;
    this.w = w > r ? w : r;
  }

  /**
   * The band of a model with one half-width `w0` for both sides: widen(), then bound() with `up` =
   * `lo` = the widened `w` (left in `w`, `up`, `lo`).
   */
  band(state: Float64Array, q: number, n: number, out: Prediction): void {
    this.widen(state, q);
    this.up = this.lo = this.w;
    this.bound(state, q, n, out);
  }

  /**
   * The band of a model with a half-width of its own on each side (the fields `up0`, `lo0`): each
   * widened (into `up`, `lo`), then bound() with the narrower of the two as `w0`.
   */
  band2(state: Float64Array, q: number, n: number, out: Prediction): void {
    const up0 = this.up0;
    const lo0 = this.lo0;
    this.w0 = up0;
    this.widen(state, q);
    const up = this.w;
    this.w0 = lo0;
    this.widen(state, q);
    this.up = up;
    this.lo = this.w;
    this.w0 = up0 < lo0 ? up0 : lo0;
    this.bound(state, q, n, out);
  }

  /** learn() after band2(): judged by the side of yhat out.y is on (its `up`/`up0` or `lo`/`lo0`). */
  learn2(state: Float64Array, q: number, out: Prediction): void {
    const above = out.y > out.yhat;
    this.w = above ? this.up : this.lo;
    this.w0 = above ? this.up0 : this.lo0;
    this.learn(state, q, out);
  }

  /**
   * Writes the band around out.yhat: yhat ± the judged half-widths (the fields `up`, `lo`), each
   * edge then pulled in to the recent range ± its margin (at least rel_floor·|yhat|, the models'
   * relative floor) once the series is settled (`n` points fed before out.t), never closer to yhat
   * than a twentieth of its own half-width `w0`.
   */
  bound(state: Float64Array, q: number, n: number, out: Prediction): void {
    const yhat = out.yhat;
    const w0 = this.w0;
    let up = this.up;
    let lo = this.lo;
    const f = state[q + Slot.F];
    if (f > -Infinity && n >= Settle.POINTS && out.t - f >= this.p.settleMs) state[q + Slot.F] = -Infinity;
    if (this.p.rangeMargin > 0 && state[q + Slot.F] === -Infinity) {
      const h = state[q + Slot.H];
      const l = state[q + Slot.W];
      // the margin: range_margin of the range, at least the model's relative floor (a move of a
      // large value by a tiny fraction of it is no news, even at a new extreme)
      let m = this.p.rangeMargin * (h - l);
      const rel = this.p.relFloor * (yhat < 0 ? -yhat : yhat);
      if (m < rel) m = rel;
      const min = 0.05 * w0;
      let r = h + m - yhat;
      if (r < min) r = min;
      if (up > r) up = r;
      r = yhat - l + m;
      if (r < min) r = min;
      if (lo > r) lo = r;
    }
    out.upper = yhat + up;
    out.lower = yhat - lo;
  }

  /**
   * Learns from the point out.y once judged (out holds its band): envelope, record, range.
   * Half-widths from the fields `w` (judged, y's side, before the range) and `w0` (the model's own).
   */
  learn(state: Float64Array, q: number, out: Prediction): void {
    const p = this.p;
    const y = out.y;
    const w = this.w;
    const w0 = this.w0;
    const e = y - out.yhat;
    const ae = e < 0 ? -e : e;
    const armed = out.ready;
    if (armed && ae > w) state[q + Slot.E] = p.gamma * ae;
    else if (ae <= w0) state[q + Slot.E] *= p.keep;
    // A run: points in a row beyond the model's own band on one side (N, signed). A run that held
    // an alarm enters the record when it ends, with its peak P and its length.
    const run = state[q + Slot.N];
    const beyond = ae > w0;
    const same = beyond && (run === 0 || run > 0 === e > 0);
    if (!same && state[q + Slot.P] > 0) record(state, q, run < 0 ? -run : run);
    state[q + Slot.N] = !beyond ? 0 : e > 0 ? (same ? run + 1 : 1) : same ? run - 1 : -1;
    if (armed && (y > out.upper || y < out.lower)) {
      const g = p.gamma * ae;
      if (g > state[q + Slot.P]) state[q + Slot.P] = g;
    }
    const h = state[q + Slot.H];
    if (!(y <= h)) state[q + Slot.H] = y; // NaN before the first point
    const l = state[q + Slot.W];
    if (!(y >= l)) state[q + Slot.W] = y;
  }

  /**
   * learn() as if the point had been judged by yhat ± widen(w0) (w0: the field), not by the band in
   * `out` (a model that wrote a wider band, auto's first-day guard): what would have been reported
   * is remembered (envelope, record), so the guard only delays the first report of a kind of surprise.
   */
  learnAs(state: Float64Array, q: number, out: Prediction): void {
    const up = out.upper;
    const lo = out.lower;
    this.widen(state, q);
    const w = this.w;
    out.upper = out.yhat + w;
    out.lower = out.yhat - w;
    this.learn(state, q, out);
    out.upper = up;
    out.lower = lo;
  }
}

/** A run that held an alarm ended after `len` points: its peak P enters the two largest (rare: off the hot path). */
export function record(state: Float64Array, q: number, len: number): void {
  const pk = state[q + Slot.P];
  const r1 = state[q + Slot.R1];
  if (pk > r1) {
    state[q + Slot.R2] = r1;
    state[q + Slot.D2] = state[q + Slot.D1];
    state[q + Slot.R1] = pk;
    state[q + Slot.D1] = len;
  } else if (pk > state[q + Slot.R2]) {
    state[q + Slot.R2] = pk;
    state[q + Slot.D2] = len;
  }
  state[q + Slot.P] = 0;
}
