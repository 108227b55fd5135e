import type { ModelConfig } from '../../src/config/models.js';
import { OfflineScorer, offlineScores, seriesBatch, type OfflineScores, type SeriesBatch } from '../../src/replay/offline.js';
import { compileScoring } from '../../src/scoring/instances.js';
import { NabFile } from './data.js';

/** A series to score: a NAB file, or any other (bench/external). */
type Points = Pick<NabFile, 'ts' | 'value'>;
/** Each file as the proxy would receive it, made once (run and tune score every file many times). */
const batches = new WeakMap<Points, SeriesBatch>();
/** One scoring unit per model config (each file is a new series in it). */
const scorers = new WeakMap<ModelConfig, OfflineScorer>();
/** Output rows, reused from file to file. */
let rows: OfflineScores = offlineScores(0);

/** Scores of one NAB file through the scoring unit (scoring/scoring.ts, a new series, as the proxy sees it); 0 where the proxy writes none (warm-up). */
export function runFile(cfg: ModelConfig, f: NabFile, scores: Float64Array): void {
  const r = runFileRows(cfg, f);
  for (let i = 0; i < f.ts.length; i++) scores[i] = r.scored[i] ? r.score[i] : 0;
}

/** Every output column of one series (score, yhat, band, y by row; `scored` 0 where the proxy writes none); valid until the next call. */
export function runFileRows(cfg: ModelConfig, f: Points): OfflineScores {
  let b = batches.get(f);
  if (b === undefined) batches.set(f, (b = seriesBatch({ __name__: 'nab' }, f.ts, f.value)));
  let scorer = scorers.get(cfg);
  if (scorer === undefined) scorers.set(cfg, (scorer = new OfflineScorer(compileScoring({ nab: { expr: '{__name__=~".+"}', transform: 'none' } }, { nab: { ...cfg, queries: undefined } }))));
  if (rows.scored.length < f.ts.length) rows = offlineScores(f.ts.length);
  return scorer.score(b, rows);
}
