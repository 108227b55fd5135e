import { compileModel, ModelConfig } from '../../src/config/models.js';
import { Prediction } from '../../src/models/model.js';
import { NabFile } from './data.js';

/** Scores of one NAB file through a fresh series state (compileModel + Scorer, as the proxy); 0 during warm-up. */
export function runFile(cfg: ModelConfig, f: NabFile, scores: Float64Array): void {
  const scorer = compileModel(cfg);
  const state = new Float64Array(scorer.slots);
  scorer.init(state, 0);
  const out = new Prediction();
  for (let i = 0; i < f.ts.length; i++) {
    scores[i] = scorer.update(state, 0, f.ts[i], f.value[i], out) && out.ready ? out.score : 0;
  }
}
