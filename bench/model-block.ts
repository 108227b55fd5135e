/**
 * model-loop's loop for bench/model-ab.ts, one instance per build: Scorer.update over S series at fixed
 * steps (the same deterministic values as bench/model-loop.ts), run in blocks of rounds. model-ab imports
 * this file once per build under a different query string, so each build's loop has its own functions
 * and type feedback (one shared loop would see two Scorer classes and compile a polymorphic call).
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export interface Block {
  /** Runs the next `rounds` rounds; returns their CPU ns per update. */
  run(rounds: number): number;
  /** The sum of the scores so far (the same for two builds that give the same outputs). */
  sum(): number;
}

/**
 * `series` initialised states of `scorer`'s model and 16 values per series (a noisy sine, the same
 * for every run): the data of model-loop and model-ab.
 */
export function fixture(scorer: { slots: number; init(state: Float64Array, offset: number): void }, series: number): { state: Float64Array; vals: Float64Array } {
  const sl = scorer.slots;
  const state = new Float64Array(series * sl);
  for (let s = 0; s < series; s++) scorer.init(state, s * sl);
  const vals = new Float64Array(series * 16);
  let x = 12345;
  for (let i = 0; i < vals.length; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    vals[i] = 100 + Math.sin(i) * 10 + (x / 2147483648) * 5;
  }
  return { state, vals };
}

/** The loop over `build`'s models (a dist/ directory; '' for this checkout). */
export async function block(build: string, model: string, series: number, stepMs: number): Promise<Block> {
  const from = (rel: string): string => (build === '' ? `../src/${rel}` : pathToFileURL(path.resolve(build, 'src', rel)).href);
  const { compileModel, modelEntry } = (await import(from('config/models.js'))) as typeof import('../src/config/models.js');
  const { Prediction } = (await import(from('models/model.js'))) as typeof import('../src/models/model.js');
  const scorer = compileModel(modelEntry.parse({ class: model }));
  const sl = scorer.slots;
  const { state, vals } = fixture(scorer, series);
  const out = new Prediction();
  const t0 = 1764700000000;
  // the round and the score sum in typed arrays: doubles in closure variables would be boxed
  const round = new Int32Array(1);
  const acc = new Float64Array(1);
  return {
    run(rounds: number): number {
      const c0 = process.cpuUsage();
      for (let k = 0; k < rounds; k++) {
        const r = round[0]++;
        const ts = t0 + r * stepMs;
        for (let s = 0; s < series; s++) {
          out.t = ts;
          out.y = vals[s * 16 + (r & 15)];
          scorer.update(state, s * sl, out);
          acc[0] += out.score;
        }
      }
      const c = process.cpuUsage(c0);
      return ((c.user + c.system) * 1000) / (rounds * series);
    },
    sum: () => acc[0],
  };
}
