import { Model, Prediction } from './model.js';

/**
 * vmanomaly's scoring policy around any Model, identical for all of them.
 *
 * Slots (`Slot`): N = points seen, T = last timestamp (ms), MODEL.. = the model's own slots.
 *
 *   score = |y - yhat| / (edge - yhat), edge = yhat_upper above yhat, yhat_lower below it,
 * so 0 at yhat, exactly 1 at the band's edge, > 1 beyond it and growing with the distance.
 * Models keep their band from collapsing; each side is floored here at a tiny positive
 * width as a last guard, so the score is always finite.
 *
 * Then, in vmanomaly's order: y outside `data_range` scores `anomaly_score_outside_data_range`;
 * `detection_direction` forces 0 on the ignored side; a deviation below `min_dev_from_expected`
 * (absolute) or below `min_rel_dev_from_expected` (a fraction of |yhat|) forces 0, each with
 * its own value below and above yhat (vmanomaly's two-sided [lower, upper] forms). `scale`
 * multiplies the band's half-widths, [lower, upper] too; `clip_predictions` clips yhat and the
 * band to `data_range`. Points with a timestamp not after the last one are not learned
 * (`update` returns false) so duplicates and out-of-order samples cannot corrupt the state;
 * `predict` judges such a point by the current state without learning it.
 */
export const enum Direction {
  Both = 0,
  Above = 1,
  Below = 2,
}

export interface ScorerParams {
  minNSamplesSeen: number;
  direction: Direction;
  /** min_dev_from_expected [lower, upper]: |y - yhat| below it scores 0 (y below / above yhat). */
  minDevLower: number;
  minDevUpper: number;
  /** min_rel_dev_from_expected / 100 [lower, upper]: |y - yhat| below it·|yhat| scores 0. */
  minRelDevLower: number;
  minRelDevUpper: number;
  dataRangeLow: number;
  dataRangeHigh: number;
  scoreOutsideDataRange: number;
  /** scale [lower, upper]: multipliers of the band's half-widths below and above yhat. */
  scaleLower: number;
  scaleUpper: number;
  clipPredictions: boolean;
}

const enum Slot {
  N = 0,
  T = 1,
  MODEL = 2,
}
/** The scorer's own slots, before the model's. */
export const SCORER_SLOTS = Slot.MODEL;
const MIN_WIDTH = 1e-12;

export class Scorer {
  readonly slots: number;
  /** predict()'s copy of one series' slots. */
  private readonly scratch: Float64Array;
  /**
   * Every policy parameter at its default (no direction, no minimum deviations, no data range, no
   * scale, no clipping): update() then scores in a few lines and the rest of the policy, in
   * policy(), is not called. Keeps update() small enough for V8 to inline into the scoring loop;
   * the scores are bit for bit the full policy's (test/unit/scorer-plain.test.ts).
   */
  private readonly plain: boolean;
  constructor(
    readonly model: Model,
    readonly p: ScorerParams,
  ) {
    this.slots = SCORER_SLOTS + model.slots;
    this.scratch = new Float64Array(this.slots);
    this.plain =
      p.direction === Direction.Both &&
      p.minDevLower === 0 &&
      p.minDevUpper === 0 &&
      p.minRelDevLower === 0 &&
      p.minRelDevUpper === 0 &&
      p.dataRangeLow === -Infinity &&
      p.dataRangeHigh === Infinity &&
      p.scaleLower === 1 &&
      p.scaleUpper === 1 &&
      !p.clipPredictions;
  }

  init(state: Float64Array, offset: number): void {
    state[offset + Slot.N] = 0;
    state[offset + Slot.T] = -Infinity;
    this.model.init(state, offset + Slot.MODEL);
  }

  /** Past warm-up: generated series are being written for this series. */
  isReady(state: Float64Array, offset: number): boolean {
    return state[offset + Slot.N] > this.p.minNSamplesSeen;
  }

  /** Timestamp (ms) of the newest point learned (-Infinity before the first). */
  lastTs(state: Float64Array, offset: number): number {
    return state[offset + Slot.T];
  }

  /**
   * Judge a point older than the newest learned one (a backlog replayed out of order) by the
   * current state, without learning it: the model's own update() run on a copy of the slots,
   * so every model predicts exactly as it would have for a point at `out.t` now (its seasonal
   * bucket at that time, its level and band as they are). The point is `out.t`, `out.y`; fills
   * `out` like update(); `out.ready` says whether the series is past its warm-up. `state` is not
   * changed. Only for points that update() refused: an allocation-free copy of `slots` doubles,
   * nothing on the normal path.
   */
  predict(state: Float64Array, offset: number, out: Prediction): void {
    const s = this.scratch;
    for (let i = 0; i < s.length; i++) s[i] = state[offset + i];
    s[Slot.T] = -Infinity; // "no point yet", so update() takes it
    this.update(s, 0, out);
    out.ready = this.isReady(state, offset); // on the points learned, not one more
  }

  /**
   * Learns and scores the point `out.t` (ms), `out.y` (set by the caller: fields, not arguments,
   * see Model). Returns false (and leaves the rest of `out` untouched) when the point is not
   * after the last one.
   */
  update(state: Float64Array, offset: number, out: Prediction): boolean {
    const tsMs = out.t;
    if (!(tsMs > state[offset + Slot.T])) return false;
    state[offset + Slot.T] = tsMs;
    const n = state[offset + Slot.N] + 1;
    state[offset + Slot.N] = n;
    const p = this.p;
    out.ready = n > p.minNSamplesSeen; // set first: models read it (see surprise.ts)
    this.model.update(state, offset + Slot.MODEL, out, n - 1);
    if (!this.plain) {
      this.policy(out);
      return true;
    }
    // The policy below with its defaults: scale 1 and a zero minimum deviation change nothing, an
    // infinite data range admits every y (NaN too), clipping is off.
    const yhat = out.yhat;
    let up = out.upper - yhat;
    let lo = yhat - out.lower;
    if (!(up > MIN_WIDTH)) up = MIN_WIDTH;
    if (!(lo > MIN_WIDTH)) lo = MIN_WIDTH;
    out.upper = yhat + up;
    out.lower = yhat - lo;
    const d = out.y - yhat;
    const score = d >= 0 ? d / up : -d / lo;
    out.score = score < Number.MAX_VALUE ? score : Number.MAX_VALUE;
    return true;
  }

  /** vmanomaly's scoring policy with any parameters (update() with `plain` false). */
  private policy(out: Prediction): void {
    const p = this.p;
    const y = out.y;
    const yhat = out.yhat;
    let up = (out.upper - yhat) * p.scaleUpper;
    let lo = (yhat - out.lower) * p.scaleLower;
    if (!(up > MIN_WIDTH)) up = MIN_WIDTH;
    if (!(lo > MIN_WIDTH)) lo = MIN_WIDTH;
    out.upper = yhat + up;
    out.lower = yhat - lo;
    const d = y - yhat;
    let score: number;
    if (y < p.dataRangeLow || y > p.dataRangeHigh) score = p.scoreOutsideDataRange;
    else if ((p.direction === Direction.Above && d < 0) || (p.direction === Direction.Below && d > 0)) score = 0;
    else if (d >= 0 ? d < p.minDevUpper || d < p.minRelDevUpper * Math.abs(yhat) : -d < p.minDevLower || -d < p.minRelDevLower * Math.abs(yhat)) score = 0;
    else score = d >= 0 ? d / up : -d / lo;
    if (!(score < Number.MAX_VALUE)) score = Number.MAX_VALUE; // finite even for absurd y
    out.score = score;
    if (p.clipPredictions) {
      out.yhat = clamp(out.yhat, p.dataRangeLow, p.dataRangeHigh);
      out.lower = clamp(out.lower, p.dataRangeLow, p.dataRangeHigh);
      out.upper = clamp(out.upper, p.dataRangeLow, p.dataRangeHigh);
    }
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
