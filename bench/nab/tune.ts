/**
 * Leave-one-category-out check of the auto model's *defaults* (not only its threshold):
 * for each category with windows, pick the best of a small grid of auto settings on the
 * other categories (standard profile, fixed threshold 1) and score it on the one left out.
 *
 *   node dist/bench/nab/tune.js [--data DIR] [--labels FILE] [--profiles FILE]   (default: bench/nab/corpus)
 */
import { modelSchema, ModelConfig } from '../../src/config/models.js';
import { CORPUS, loadCorpus, loadProfiles } from './data.js';
import { normalise, scoreFile, sweep } from './score.js';
import { runFile } from './run-file.js';

const arg = (k: string): string | undefined => {
  const i = process.argv.indexOf(k);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const data = arg('--data') ?? CORPUS;
const files = loadCorpus(data, arg('--labels'));
const std = loadProfiles(data, arg('--profiles')).standard;
const sweeps = files.map((f) => sweep(f.ts.length, f.windows));
const grid: Record<string, unknown>[] = [];
for (const release of ['12h', '1d', '2d'])
  for (const z of [3.5, 4, 4.5, 5])
    for (const half_life of ['1h', '3h'])
      for (const buckets of [24, 48])
        for (const surprise_cover of [1.5, 2]) grid.push({ release, z_threshold: z, half_life, buckets, surprise_cover });
const def = modelSchema.parse({ class: 'auto' }) as { z_threshold: number; buckets: number; surprise_cover: number };

const results = grid.map((g) => {
  const cfg = modelSchema.parse({ class: 'auto', ...g }) as ModelConfig;
  return files.map((f, i) => {
    const sc = new Float64Array(f.ts.length);
    runFile(cfg, f, sc);
    return scoreFile(sweeps[i], sc, 1, std, true);
  });
});
const cats = [...new Set(files.map((f) => f.category))].filter((c) => files.some((f) => f.category === c && f.windows.length));
console.log('| left out | chosen on the others | score on the others | score left out | default auto left out |');
console.log('| --- | --- | --- | --- | --- |');
const defIdx = grid.findIndex(
  (g) =>
    g.release === '1d' &&
    g.z_threshold === def.z_threshold &&
    g.half_life === '3h' &&
    g.buckets === def.buckets &&
    g.surprise_cover === def.surprise_cover,
);
for (const c of cats) {
  const inC = files.map((f) => f.category === c);
  let best = -1;
  let bestScore = -Infinity;
  results.forEach((r, k) => {
    const s = normalise(
      r.filter((_, i) => !inC[i]),
      std,
    );
    if (s > bestScore) {
      bestScore = s;
      best = k;
    }
  });
  const held = (k: number): number =>
    normalise(
      results[k].filter((_, i) => inC[i]),
      std,
    );
  console.log(`| ${c} | ${JSON.stringify(grid[best])} | ${bestScore.toFixed(1)} | ${held(best).toFixed(1)} | ${held(defIdx).toFixed(1)} |`);
}
