/**
 * Leave-one-category-out check of the auto model's *defaults* (not only its threshold):
 * for each category with windows, pick the best of a small grid of auto settings on the
 * other categories (standard profile, fixed threshold 1) and score it on the one left out.
 *
 *   node dist/bench/nab/tune.js [--data /work/shared/nab]
 */
import { modelSchema, ModelConfig } from '../../src/config/models.js';
import { loadCorpus, loadProfiles } from './data.js';
import { normalise, scoreFile, sweep } from './score.js';
import { runFile } from './run-file.js';

const data = process.argv[2] === '--data' ? process.argv[3] : '/work/shared/nab';
const files = loadCorpus(data);
const std = loadProfiles(data).standard;
const sweeps = files.map((f) => sweep(f.ts.length, f.windows));
const grid: Record<string, unknown>[] = [];
for (const release of ['12h', '1d', '2d'])
  for (const z of [3, 4, 5])
    for (const half_life of ['1h', '3h'])
      for (const surprise_cover of [1.5, 2]) grid.push({ release, z_threshold: z, half_life, surprise_cover });

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
const defIdx = grid.findIndex((g) => g.release === '1d' && g.z_threshold === 4 && g.half_life === '3h' && g.surprise_cover === 1.5);
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
