import { FileScore, Profile, scoreFile, sweep } from '../nab/score.js';

/**
 * What an operator alerting on `anomaly_score > 1` sees on one labelled series, counted in points
 * (rows) so that minute and hour data read alike:
 *
 * - segments: runs of labelled points, runs closer than `tol` points merged (one incident);
 *   counted only when they start after the warm-up (the first scored row);
 * - a segment is found when a row in [start, end + tol] scores above 1; delay = that row - start;
 * - an alarm onset is a row scoring above 1 whose previous row did not (a run of > 1 is one page);
 *   it is true when it falls in [start - tol, end + tol] of a segment, false otherwise;
 * - normal points: scored rows outside every [start - tol, end + tol]; false alarms per 1000 of them;
 * - NAB-like: NAB's scoring (bench/nab/score.ts, its probation and sigmoid) with a window per
 *   segment padded on both sides so that the windows fill about 10% of the series, as NAB's do.
 */
export interface SeriesEval {
  segments: number;
  found: number;
  /** Rows from each found segment's start to its first row above 1. */
  delays: number[];
  onsets: number;
  trueOnsets: number;
  normal: number;
  nab: FileScore;
}

/** Labelled runs as [first, last] rows, runs separated by fewer than `gap` unlabelled rows merged. */
export function segments(label: Uint8Array, gap: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < label.length; i++) {
    if (!label[i]) continue;
    let j = i;
    while (j + 1 < label.length && label[j + 1]) j++;
    const last = out[out.length - 1];
    if (last !== undefined && i - last[1] - 1 < gap) last[1] = j;
    else out.push([i, j]);
    i = j;
  }
  return out;
}

/** NAB-like windows: each segment padded by half of its share of 10% of the rows (minus its length), overlaps merged. */
export function nabWindows(segs: ReadonlyArray<readonly [number, number]>, n: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  if (segs.length === 0) return out;
  const share = (0.1 * n) / segs.length;
  for (const [a, b] of segs) {
    const pad = Math.max(0, Math.floor((share - (b - a + 1)) / 2));
    const w: [number, number] = [Math.max(0, a - pad), Math.min(n - 1, b + pad)];
    const last = out[out.length - 1];
    if (last !== undefined && w[0] <= last[1] + 1) last[1] = Math.max(last[1], w[1]);
    else out.push(w);
  }
  return out;
}

/** One series: `scored[i]` 0 where the proxy writes nothing (warm-up), `score` its anomaly_score. */
export function evaluateSeries(label: Uint8Array, scored: Uint8Array, score: Float64Array, tol: number, profile: Profile): SeriesEval {
  const n = label.length;
  let first = 0;
  while (first < n && !scored[first]) first++;
  const segs = segments(label, tol).filter(([a]) => a >= first);
  const near = new Uint8Array(n);
  for (const [a, b] of segs) near.fill(1, Math.max(0, a - tol), Math.min(n, b + tol + 1));
  const high = (i: number): boolean => scored[i] === 1 && score[i] > 1;
  const delays: number[] = [];
  for (const [a, b] of segs) {
    for (let i = a; i <= Math.min(n - 1, b + tol); i++) {
      if (high(i)) {
        delays.push(i - a);
        break;
      }
    }
  }
  let onsets = 0;
  let trueOnsets = 0;
  let normal = 0;
  for (let i = 0; i < n; i++) {
    if (scored[i] && !near[i]) normal++;
    if (high(i) && !(i > 0 && high(i - 1))) {
      onsets++;
      if (near[i]) trueOnsets++;
    }
  }
  const det = Float64Array.from(score, (x, i) => (scored[i] ? x : 0));
  const nab = scoreFile(sweep(n, nabWindows(segments(label, tol), n)), det, 1, profile, true);
  return { segments: segs.length, found: delays.length, delays, onsets, trueOnsets, normal, nab };
}
