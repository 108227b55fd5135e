/**
 * The one interface every online model implements.
 *
 * A model owns a fixed number of `Float64Array` slots per series (its state), laid out
 * columnar: the state of series k lives at `state[k * slots .. k * slots + slots)`.
 * Snapshots carry these slots: a change that gives a slot another meaning without changing
 * their count must bump the class' number in STATE_LAYOUT (config/models.ts).
 * `update` first predicts from the state *before* the point (no look-ahead), writes the
 * prediction and its band into `out`, then folds the point into the state. O(1) time.
 *
 * The point itself comes in `out` too (`out.t`, `out.y`), and on the per-point path no call takes or
 * returns a non-integer double: helpers read theirs from `out` and from fields (Surprise's w0, w, up,
 * lo, dt; Floor; Step.a; SeasonClock.at() and its `position`) and answer in fields. V8 boxes a double
 * argument or result (a ms timestamp, any non-integer value) in a new HeapNumber at every call it
 * does not inline, update() and the larger helpers are over its inlining budget, and which helpers
 * it inlines changes with the model and with when it compiles. As arguments they cost 4-11
 * HeapNumbers (64-180 bytes of garbage) per point, depending on the model; only functions V8 always
 * inlines (at most 27 bytes of bytecode, e.g. warm()) take doubles (bench/RESULTS.md, "Issue 20
 * (session 5): no boxed doubles").
 *
 * Models know nothing of scoring policy (warm-up, detection direction, data range, band
 * scale): `Scorer` in ./scorer.ts wraps any model with that, identically for all of them.
 * Models import nothing outside src/models/ so that `replay` and bench/nab run them as is.
 */
export interface Model {
  /** Float64 slots of state per series. */
  readonly slots: number;
  /** Put a fresh series' state in place (all slots start at 0; set what must differ). */
  init(state: Float64Array, offset: number): void;
  /**
   * Feed one point: `out.t` (ms, strictly increasing per series) and `out.y` (finite), which the
   * model only reads. Writes `out.yhat`, `out.lower`, `out.upper` (lower <= yhat <= upper,
   * upper > lower always) predicted before seeing y, then learns y. `n`: points this series has
   * fed the model before this one (for warm(): estimates from few points are plain averages, not
   * a slow start from 0).
   */
  update(state: Float64Array, offset: number, out: Prediction, n: number): void;
}

/**
 * Reused record of one point, in and out: one per pipeline, never one per sample. The caller sets
 * the point (`t`, `y`) before Scorer.update/predict (fields, not arguments: see Model).
 */
export class Prediction {
  /** The point's timestamp (ms): set by the caller. */
  t = 0;
  /** The point's value: set by the caller. */
  y = 0;
  yhat = 0;
  lower = 0;
  upper = 0;
  /** vmanomaly semantics: 0 at yhat, 1 at the band edge, > 1 outside; always finite. */
  score = 0;
  /**
   * False during warm-up (fewer than min_n_samples_seen points): nothing is written. Set by
   * the Scorer before it calls `Model.update`, so a model may read it (surprise.ts does).
   */
  ready = false;

  /** Sets the point (t, y); returns this. For tests and tools; the hot path sets the fields. */
  at(tsMs: number, y: number): this {
    this.t = tsMs;
    this.y = y;
    return this;
  }
}

/**
 * The weight of the (n+1)-th point: at least 1/(n+1), so that while a series has fewer points
 * than a half-life spans, an estimate is the plain average of what it has seen (as a debiased
 * exponential average would be) instead of creeping up from its zero start. Without it a
 * spread learnt with a 1-day half-life from a 15 s scrape is still ~0 after the warm-up, and
 * every new series scores far above 1 on its first scored points.
 *
 * A *warm start* is warm() for the first `points` points only, then the plain weight
 * (`n < points ? warm(a, n) : a`): for a spread, whose early residuals include what the model has
 * not learnt yet (a season): it starts as the average of the first residuals instead of 0, then
 * forgets them at its own half-life. Each model chooses `points` (the more, the closer the start to
 * the truth, the longer early seasonal residuals stay in the band). Written at the call site: as a
 * function around warm() it was over the size V8 always inlines (27 bytes of bytecode; warm() is
 * 26), was left out of line in auto, and boxed its argument and result (32 bytes per point).
 */
export function warm(a: number, n: number): number {
  const b = 1 / (n + 1);
  return a > b ? a : b;
}

/**
 * The smallest band half-width a model allows around `x`: max(rel·|x|, abs, step), where step
 * is the series' typical non-zero |Δy| (Step). Flat and quantised series then stay quiet on
 * a one-step move, and scores stay finite. One per model instance (rel, abs: its settings): the
 * point's `step` and `x` go in fields and set() answers in `f`, since V8 leaves it out of line in
 * some models (over their inlining budget) and boxes each double argument and result (see Model).
 */
export class Floor {
  step = 0;
  x = 0;
  /** set()'s answer. */
  f = 0;
  constructor(
    private readonly rel: number,
    private readonly abs: number,
  ) {}

  set(): void {
    const x = this.x;
    let f = this.rel * (x < 0 ? -x : x);
    if (f < this.abs) f = this.abs;
    this.f = f < this.step ? this.step : f;
  }
}

/** Smoothing weight of a new point after `dtMs` for a given half-life: 1 - 2^(-dt/h). */
export function alphaFor(dtMs: number, halfLifeMs: number): number {
  return -Math.expm1((-Math.LN2 * dtMs) / halfLifeMs);
}

/** Step.learn's two slots from its q (each model's STEP, then Y = STEP + 1). */
const enum StepSlot {
  STEP = 0,
  Y = 1,
}

/**
 * The series' typical step: EW mean of the non-zero |Δy| (slot q + STEP), last y in q + Y.
 * Models floor their band at a multiple of it so a quantised or flat series moving by one
 * step (e.g. a CPU gauge at 0.002 resolution, a counter rate of 0 then 1/15) stays below 1.
 * One per model instance: learn()'s weight is the field `a`, set right before the call (V8 leaves
 * learn() out of line in some models, and would box a double argument; see Model).
 */
export class Step {
  /** The weight of the next learn(). */
  a = 0;

  /** Learns out.y into the step at q with weight `a`. */
  learn(state: Float64Array, q: number, out: Prediction): void {
    const y = out.y;
    const dy = y - state[q + StepSlot.Y];
    if (dy !== 0 && dy === dy) state[q + StepSlot.STEP] += this.a * ((dy < 0 ? -dy : dy) - state[q + StepSlot.STEP]);
    state[q + StepSlot.Y] = y;
  }
}

/**
 * alphaFor(dt, h) for several half-lives, remembered for the last dt: consecutive points of a
 * scrape share one interval, so the exponentials are computed once per interval change, not once
 * per point, and a model checks one dt for all its weights (one small call: the hot path stays
 * within V8's inlining budget). One per model instance, never per series.
 */
export class Alphas {
  private dt = NaN;
  /** The weights for the last dt, in the order of the half-lives given. */
  readonly a: Float64Array;
  constructor(private readonly halfLivesMs: readonly number[]) {
    this.a = new Float64Array(halfLivesMs.length);
  }

  at(dtMs: number): Float64Array {
    if (dtMs !== this.dt) this.set(dtMs);
    return this.a;
  }

  private set(dtMs: number): void {
    this.dt = dtMs;
    for (let i = 0; i < this.a.length; i++) this.a[i] = alphaFor(dtMs, this.halfLivesMs[i]);
  }
}
