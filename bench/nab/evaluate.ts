import { NabFile } from './data.js';
import { FileScore, Profile, Sweep, normalise, scoreFile, sweep } from './score.js';

/**
 * Scores of one model on NAB files, and what bench/nab reports about them: the normalised score at
 * the fixed threshold 1 (detection = score > 1, the promise) or at a threshold optimised on the
 * labels (detection = score >= t, as NAB reports detectors), per profile, over any subset of files.
 */
export interface Scored {
  f: NabFile;
  s: Sweep;
  scores: Float64Array;
}

export function scored(f: NabFile, scores: Float64Array): Scored {
  return { f, s: sweep(f.ts.length, f.windows), scores };
}

/** Thresholds tried when optimising: a log grid from 0.05 to 1e4 (241 values, 1 among them). */
export const GRID: number[] = [];
for (let i = 0; i <= 240; i++) GRID.push(0.05 * Math.pow(10, (i * Math.log10(2e5)) / 240));

/** Per-file NAB scores; t = 1 is the strict promise (> 1), any other t is NAB's >= t. */
export function fileScores(items: readonly Scored[], p: Profile, t = 1): FileScore[] {
  return items.map((x) => scoreFile(x.s, x.scores, t, p, t === 1));
}

export function at(items: readonly Scored[], p: Profile, t = 1): number {
  return normalise(fileScores(items, p, t), p);
}

/** The threshold of GRID (detection >= t) with the best normalised score over `items`. */
export function optimise(items: readonly Scored[], p: Profile): { t: number; score: number } {
  let best = { t: Infinity, score: -Infinity };
  for (const t of GRID) {
    const s = normalise(
      items.map((x) => scoreFile(x.s, x.scores, t, p, false)),
      p,
    );
    if (s > best.score) best = { t, score: s };
  }
  return best;
}

export interface Counts {
  /** windows with a detection / windows counted */
  found: number;
  windows: number;
  /** detected rows outside every window (after probation) */
  fp: number;
}

export function counts(items: readonly Scored[], p: Profile, t = 1): Counts {
  const fs = fileScores(items, p, t);
  return { found: fs.reduce((a, f) => a + f.tp, 0), windows: fs.reduce((a, f) => a + f.windows, 0), fp: fs.reduce((a, f) => a + f.fp, 0) };
}

/**
 * Rows scoring > 1 per 1000 rows of artificialNoAnomaly after the warm-up (no label there: every
 * such row is a false alarm). NaN when the corpus has no such file.
 */
export function fa1000(items: readonly Scored[], warmup: number): number {
  let alarms = 0;
  let points = 0;
  for (const x of items) {
    if (x.f.category !== 'artificialNoAnomaly') continue;
    for (let i = warmup; i < x.scores.length; i++) if (x.scores[i] > 1) alarms++;
    points += Math.max(0, x.scores.length - warmup);
  }
  return points ? (1000 * alarms) / points : NaN;
}

export function categories(items: readonly Scored[]): string[] {
  return [...new Set(items.map((x) => x.f.category))];
}

/** Categories that hold labelled windows (every one but artificialNoAnomaly in NAB). */
export function labelledCategories(items: readonly Scored[]): string[] {
  return categories(items).filter((c) => items.some((x) => x.f.category === c && x.f.windows.length > 0));
}

export const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '-');

/** `--set key=value`: the value as JSON when it parses, else the string. */
export function parseSet(kv: string, into: Record<string, unknown>): void {
  const eq = kv.indexOf('=');
  const raw = kv.slice(eq + 1);
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    v = raw;
  }
  into[kv.slice(0, eq)] = v;
}
