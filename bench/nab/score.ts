/**
 * The NAB scoring rules (our implementation of numenta/NAB's nab/sweeper.py and the
 * normalisation of nab/runner.py), per file and per profile:
 *
 * - probationary period: the first min(floor(0.15·n), 750) rows are ignored;
 * - a row at index i inside window [s, e] (row indices, inclusive, width W = e - s + 1)
 *   is worth tpWeight·σ(-(e - i + 1)/W)/σ(-1) where σ(x) = 2/(1 + e^(5x)) - 1 is NAB's
 *   scaled sigmoid: 1 at the window's first row, falling to about 0 at its end;
 *   only the best (earliest) detected row of a window counts; an undetected window
 *   costs -fnWeight;
 * - a detected row outside every window costs fpWeight·σ(|i - e_prev|/(W_prev - 1)) (from
 *   -1 to 0: about 0 just after a window, -fpWeight far from it; σ = -1 at ≥ 3 window
 *   widths, and -fpWeight before the first window);
 * - normalised over a set of files: 100·(raw - null)/(perfect - null) with null = the
 *   detector that never fires (-fnWeight per window) and perfect = +tpWeight per window.
 * Windows with no row after the probationary period are not counted (as NAB).
 * Checked against NAB's published results: the raw scores of numenta, ARTime, windowedGaussian,
 * contextOSE, knncad and randomCutForest at their thresholds give final_results.json to 0.001
 * (bench/nab/validate.ts; test/unit/nab-score.test.ts on the committed detections).
 */
export interface Profile {
  tpWeight: number;
  fpWeight: number;
  fnWeight: number;
}

export function scaledSigmoid(x: number): number {
  if (x > 3) return -1;
  return 2 / (1 + Math.exp(5 * x)) - 1;
}

export function probationLength(n: number): number {
  return Math.min(Math.floor(0.15 * n), 750);
}

/** Per-row weights of one file: what a detection there is worth (before profile weights). */
export interface Sweep {
  n: number;
  /** window id of each row, -1 outside windows, -2 probationary. */
  windowOf: Int32Array;
  /** unweighted sigmoid value of a detection at the row (TP value inside, FP value outside). */
  value: Float64Array;
  /** windows counted (with at least one row after probation). */
  windows: number;
}

/** windows: [firstRow, lastRow] inclusive, sorted, non-overlapping. */
export function sweep(n: number, windows: ReadonlyArray<readonly [number, number]>): Sweep {
  const windowOf = new Int32Array(n).fill(-1);
  const value = new Float64Array(n);
  const prob = probationLength(n);
  const maxTP = scaledSigmoid(-1);
  let w = 0;
  let prevEnd = -1;
  let prevWidth = 0;
  const counted = new Set<number>();
  for (let i = 0; i < n; i++) {
    while (w < windows.length && windows[w][1] < i) {
      prevEnd = windows[w][1];
      prevWidth = windows[w][1] - windows[w][0] + 1;
      w++;
    }
    const inWin = w < windows.length && windows[w][0] <= i;
    if (inWin) {
      const width = windows[w][1] - windows[w][0] + 1;
      value[i] = scaledSigmoid(-(windows[w][1] - i + 1) / width) / maxTP;
      windowOf[i] = w;
    } else {
      value[i] = prevEnd < 0 ? -1 : scaledSigmoid(Math.abs(prevEnd - i) / (prevWidth - 1));
      windowOf[i] = -1;
    }
    if (i < prob) windowOf[i] = -2;
    else if (inWin) counted.add(w);
  }
  return { n, windowOf, value, windows: counted.size };
}

export interface FileScore {
  raw: number;
  tp: number;
  fp: number;
  fn: number;
  windows: number;
}

/** Raw NAB score of one file for detections `score > threshold` (strict) or `>=`. */
export function scoreFile(s: Sweep, scores: ArrayLike<number>, threshold: number, profile: Profile, strict: boolean): FileScore {
  const best = new Map<number, number>();
  let fpCost = 0;
  let fp = 0;
  for (let i = 0; i < s.n; i++) {
    const win = s.windowOf[i];
    if (win === -2) continue;
    const x = scores[i];
    if (!(strict ? x > threshold : x >= threshold)) continue;
    if (win === -1) {
      fp++;
      fpCost += profile.fpWeight * s.value[i];
    } else {
      const v = profile.tpWeight * s.value[i];
      const b = best.get(win);
      if (b === undefined || v > b) best.set(win, v);
    }
  }
  let tpScore = 0;
  for (const v of best.values()) tpScore += v;
  const fn = s.windows - best.size;
  return { raw: tpScore + fpCost - fn * profile.fnWeight, tp: best.size, fp, fn, windows: s.windows };
}

/** Normalised score of a set of file scores: null detector 0, perfect 100. */
export function normalise(files: ReadonlyArray<FileScore>, profile: Profile): number {
  let raw = 0;
  let windows = 0;
  for (const f of files) {
    raw += f.raw;
    windows += f.windows;
  }
  const nul = -profile.fnWeight * windows;
  const perfect = profile.tpWeight * windows;
  if (perfect === nul) return 0;
  return (100 * (raw - nul)) / (perfect - nul);
}
