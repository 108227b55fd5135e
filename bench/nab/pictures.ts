import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelConfig } from '../../src/config/models.js';
import { renderPlot } from '../../src/replay/plot.js';
import { fileScores, type Scored } from './evaluate.js';
import { runFileRows } from './run-file.js';
import type { Profile } from './score.js';

/** Where `npm run bench:nab` puts the pictures it draws (committed, linked from bench/RESULTS.md). */
export const PICTURES = fileURLToPath(new URL('../../../bench/nab/pictures', import.meta.url));

/**
 * What a file costs the model under `p` at threshold 1: the perfect raw score (tpWeight per
 * window, a detection at each window's first row) minus the raw score it got. A file without
 * windows loses what its false positives cost.
 */
export function loss(x: Scored, p: Profile): number {
  const fs = fileScores([x], p)[0];
  return fs.windows * p.tpWeight - fs.raw;
}

/**
 * Draw the `n` files where the model loses most (standard profile, threshold 1): y, yhat and the
 * band, anomaly_score beneath, labelled windows shaded (src/replay/plot.ts, as `replay --plot`).
 * Returns the written paths, worst first.
 */
export function drawWorst(cfg: ModelConfig, items: readonly Scored[], p: Profile, n: number, dir = PICTURES): Array<{ path: string; key: string; loss: number }> {
  const worst = [...items]
    .map((x) => ({ x, loss: loss(x, p) }))
    .sort((a, b) => b.loss - a.loss)
    .slice(0, n);
  mkdirSync(dir, { recursive: true });
  return worst.map(({ x, loss }) => {
    const path = join(dir, basename(x.f.key, '.csv') + '.svg');
    drawSeries(cfg, x.f.key, x.f, x.f.windows, path);
    return { path, key: x.f.key, loss };
  });
}

/** One series through the model, drawn as `replay --plot` draws it, its windows (row ranges) shaded. */
export function drawSeries(cfg: ModelConfig, title: string, f: { ts: Float64Array; value: Float64Array }, windows: ReadonlyArray<readonly [number, number]>, path: string): void {
  const r = runFileRows(cfg, f);
  const col = (c: Float64Array): Float64Array => Float64Array.from(c.subarray(0, f.ts.length), (v, i) => (r.scored[i] ? v : NaN));
  const svg = renderPlot({
    title,
    ts: f.ts,
    y: f.value,
    yhat: col(r.yhat),
    lower: col(r.lower),
    upper: col(r.upper),
    score: col(r.score),
    windows: windows.map(([a, b]) => [f.ts[a], f.ts[b]] as const),
  });
  writeFileSync(path, svg);
}
