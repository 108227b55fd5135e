import { compileModel, modelEntry, ModelConfig } from '../../src/config/models.js';
import { Prediction } from '../../src/models/model.js';

export const STEP = 5 * 60_000;
export const DAY = 86_400_000;

/** Deterministic bounded noise in [-1, 1] (an LCG), so "never above 1" is assertable. */
export function noise(n: number, seed = 1): Float64Array {
  const out = new Float64Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

export function config(raw: Record<string, unknown>): ModelConfig {
  return modelEntry.parse(raw) as ModelConfig;
}

/** Scores of one series (0 during warm-up or when the point is not fed). */
export function scores(cfg: ModelConfig, ts: ArrayLike<number>, ys: ArrayLike<number>): Float64Array {
  const scorer = compileModel(cfg);
  const state = new Float64Array(scorer.slots);
  scorer.init(state, 0);
  const out = new Prediction();
  const s = new Float64Array(ys.length);
  for (let i = 0; i < ys.length; i++) s[i] = scorer.update(state, 0, out.at(ts[i], ys[i])) && out.ready ? out.score : 0;
  return s;
}

export function regular(n: number, step = STEP, t0 = 0): Float64Array {
  const ts = new Float64Array(n);
  for (let i = 0; i < n; i++) ts[i] = t0 + i * step;
  return ts;
}

export function maxOf(a: Float64Array, from: number, to = a.length): number {
  let m = 0;
  for (let i = from; i < to; i++) if (a[i] > m) m = a[i];
  return m;
}

export function countAbove(a: Float64Array, from: number, to = a.length): number {
  let c = 0;
  for (let i = from; i < to; i++) if (a[i] > 1) c++;
  return c;
}
