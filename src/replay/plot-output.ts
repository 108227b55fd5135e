import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { UsageError } from '../errors.js';
import { parseTimestamp, Series } from './input.js';
import type { OfflineScores } from './offline.js';
import { renderPlot } from './plot.js';

/**
 * `replay --plot OUT.svg [--labels WINDOWS.json]`: the first series' output rows as replay scored
 * them, drawn by ./plot.ts with the labelled windows of the input file. Rows without output
 * (warm-up, NaN, repeated timestamps) are NaN: gaps in the lines.
 */
function scoredOnly(r: OfflineScores, col: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = r.scored[i] ? col[i] : NaN;
  return out;
}

/** Writes the picture; throws UsageError (ANOM_USAGE) when the labels cannot be used or the file cannot be written. */
export function writePlot(path: string, labelsPath: string | undefined, inputPath: string, s: Series, r: OfflineScores, modelY: boolean): void {
  let windows: Array<[number, number]> = [];
  if (labelsPath !== undefined) {
    let text: string;
    try {
      text = readFileSync(labelsPath, 'utf8');
    } catch (e) {
      throw new UsageError('ANOM_USAGE', `replay: --labels: cannot read '${labelsPath}': ${(e as Error).message}`);
    }
    windows = parseWindows(text, basename(inputPath), labelsPath);
  }
  const n = s.ts.length;
  // Under a transform the model saw (and the band is about) the rate, not the counter.
  const y = modelY ? scoredOnly(r, r.y, n) : s.value;
  const svg = renderPlot({
    title: basename(inputPath),
    ts: s.ts,
    y,
    yhat: scoredOnly(r, r.yhat, n),
    lower: scoredOnly(r, r.lower, n),
    upper: scoredOnly(r, r.upper, n),
    score: scoredOnly(r, r.score, n),
    windows,
  });
  try {
    writeFileSync(path, svg);
  } catch (e) {
    throw new UsageError('ANOM_USAGE', `replay: --plot: cannot write '${path}': ${(e as Error).message}`);
  }
}

/**
 * Labelled windows as [startMs, endMs]: NAB's combined_windows.json (`{"<category>/<file>.csv":
 * [["2014-02-19 10:50:00.000000", "..."], ...]}`, the entry whose key is `fileName` or ends with
 * `/fileName`), or a plain `[[start, end], ...]` list. Timestamps as replay's input reads them
 * (ISO 8601, UTC when no zone is written, or Unix seconds/milliseconds; strings or numbers).
 */
export function parseWindows(text: string, fileName: string, source = 'labels'): Array<[number, number]> {
  const bad = (msg: string): UsageError => new UsageError('ANOM_USAGE', `replay: --labels: ${source}: ${msg}`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw bad(`expected JSON, ${(e as Error).message}`);
  }
  let list: unknown = doc;
  if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) {
    const keys = Object.keys(doc).filter((k) => k === fileName || k.endsWith('/' + fileName));
    if (keys.length !== 1) {
      throw bad(keys.length === 0 ? `no entry for '${fileName}' (keys are '<category>/<file>.csv')` : `several entries for '${fileName}': ${keys.join(', ')}`);
    }
    list = (doc as Record<string, unknown>)[keys[0]];
  }
  if (!Array.isArray(list)) throw bad(`expected a list of [start, end] pairs, got ${JSON.stringify(list)?.slice(0, 80)}`);
  return list.map((w: unknown, k): [number, number] => {
    const pair = Array.isArray(w) && w.length === 2 ? w.map((x) => (typeof x === 'number' || typeof x === 'string' ? parseTimestamp(String(x)) : NaN)) : [];
    if (pair.length !== 2 || !Number.isFinite(pair[0]) || !Number.isFinite(pair[1]) || pair[0] > pair[1]) {
      throw bad(`window ${k}: expected [start, end] timestamps with start <= end, got ${JSON.stringify(w)}`);
    }
    return [pair[0], pair[1]];
  });
}
