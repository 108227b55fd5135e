/**
 * Checks bench/nab/score.ts against NAB's own published numbers: the raw per-row scores that
 * numenta/NAB publishes for its detectors (results/<detector>/<category>/<detector>_<file>.csv),
 * thresholded at the detector's threshold from config/thresholds.json, scored with our sweeper and
 * normalised, must give results/final_results.json.
 *
 *   node dist/bench/nab/validate.js --nab DIR [--detector numenta]... [--fixture OUT.json]
 *
 * DIR is an extracted numenta/NAB tree (results/, config/thresholds.json), e.g.
 *   git --git-dir=<NAB clone> archive HEAD results config | tar -x -C DIR
 * --fixture writes, per detector and profile, only the rows each file detects at that threshold
 * (compact: row ranges), which test/unit/nab-score.test.ts scores against the published figures
 * without NAB's 300 MB of results.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCorpus, loadProfiles, NabFile, CORPUS } from './data.js';
import { FileScore, normalise, scoreFile, sweep } from './score.js';

export const PROFILES = ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'] as const;

/** Detected rows of one file as [first, last] ranges (inclusive). */
export type Ranges = Array<[number, number]>;

/**
 * Fixture: per detector, per profile its threshold and published score, and per distinct
 * threshold the detected ranges of every file (file key -> ranges).
 */
export type Fixture = Record<string, { threshold: Record<string, number>; published: Record<string, number>; detected: Record<string, Record<string, Ranges>> }>;

function column(path: string, name: string): Float64Array {
  const lines = readFileSync(path, 'utf8').split('\n');
  const k = lines[0].split(',').indexOf(name);
  if (k < 0) throw new Error(`${path}: no column '${name}'`);
  const out: number[] = [];
  for (let i = 1; i < lines.length; i++) if (lines[i].trim() !== '') out.push(Number(lines[i].split(',')[k]));
  return Float64Array.from(out);
}

function ranges(scores: Float64Array, threshold: number): Ranges {
  const out: Ranges = [];
  for (let i = 0; i < scores.length; i++) {
    if (!(scores[i] >= threshold)) continue;
    const last = out[out.length - 1];
    if (last && last[1] === i - 1) last[1] = i;
    else out.push([i, i]);
  }
  return out;
}

/** Normalised score of a fixture entry on the corpus (detection = the listed rows). */
export function scoreDetections(files: NabFile[], detected: Record<string, Ranges>, profile: { tpWeight: number; fpWeight: number; fnWeight: number }): number {
  const scored: FileScore[] = files.map((f) => {
    const x = new Float64Array(f.ts.length);
    for (const [a, b] of detected[f.key] ?? []) x.fill(1, a, b + 1);
    return scoreFile(sweep(f.ts.length, f.windows), x, 1, profile, false);
  });
  return normalise(scored, profile);
}

function main(): void {
  const arg = (k: string): string[] => process.argv.flatMap((v, i, a) => (a[i - 1] === k ? [v] : []));
  const nab = arg('--nab')[0];
  if (!nab) throw new Error('--nab DIR (an extracted numenta/NAB tree) is required');
  const detectors = arg('--detector').length ? arg('--detector') : ['numenta', 'ARTime', 'windowedGaussian', 'contextOSE'];
  const files = loadCorpus(CORPUS);
  const profiles = loadProfiles(CORPUS);
  const thresholds = JSON.parse(readFileSync(join(nab, 'config/thresholds.json'), 'utf8'));
  const published = JSON.parse(readFileSync(join(nab, 'results/final_results.json'), 'utf8'));
  const fixture: Fixture = {};
  console.log('| detector | profile | threshold | published | ours | difference |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const det of detectors) {
    const raw = files.map((f) => {
      const [cat, name] = f.key.split('/');
      const s = column(join(nab, 'results', det, cat, `${det}_${name}`), 'anomaly_score');
      if (s.length !== f.ts.length) throw new Error(`${det} ${f.key}: ${s.length} rows, data has ${f.ts.length}`);
      return s;
    });
    const entry: Fixture[string] = (fixture[det] = { threshold: {}, published: {}, detected: {} });
    for (const p of PROFILES) {
      const t = thresholds[det][p].threshold as number;
      const detected: Record<string, Ranges> = {};
      files.forEach((f, i) => (detected[f.key] = ranges(raw[i], t)));
      const ours = scoreDetections(files, detected, profiles[p]);
      const pub = published[det][p] as number;
      entry.threshold[p] = t;
      entry.published[p] = pub;
      entry.detected[String(t)] = detected;
      console.log(`| ${det} | ${p} | ${t.toPrecision(6)} | ${pub.toFixed(3)} | ${ours.toFixed(3)} | ${(ours - pub).toFixed(3)} |`);
    }
  }
  const out = arg('--fixture')[0];
  if (out) writeFileSync(out, JSON.stringify(fixture) + '\n');
}

if (process.argv[1]?.endsWith('validate.js')) main();
