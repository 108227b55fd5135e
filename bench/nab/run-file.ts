import type { ModelConfig } from '../../src/config/models.js';
import { scoreSeries } from '../../src/replay/offline.js';
import { compileScoring } from '../../src/scoring/instances.js';
import { NabFile } from './data.js';

/** Scores of one NAB file through the scoring unit (scoring/scoring.ts, a new series, as the proxy sees it); 0 where the proxy writes none (warm-up). */
export function runFile(cfg: ModelConfig, f: NabFile, scores: Float64Array): void {
  const spec = compileScoring({ nab: { expr: '{__name__=~".+"}', transform: 'none' } }, { nab: { ...cfg, queries: undefined } });
  const r = scoreSeries(spec, { __name__: 'nab' }, f.ts, f.value);
  for (let i = 0; i < f.ts.length; i++) scores[i] = r.scored[i] ? r.score[i] : 0;
}
