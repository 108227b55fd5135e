/**
 * The model alone: Scorer.update over 10,000 series at 10 s steps (deterministic noisy sine values), CPU ns
 * per update after the warm rounds. To compare two builds, run it from each checkout in turn (A/B pairs):
 *
 *   node dist/bench/model-loop.js [--model auto] [--series 10000] [--rounds 500] [--warm 100]
 */
import { compileModel, modelEntry } from '../src/config/models.js';
import { Prediction } from '../src/models/model.js';

const args = process.argv.slice(2);
const opt = (k: string, d: string): string => {
  const i = args.indexOf(k);
  return i >= 0 ? args[i + 1] : d;
};
const scorer = compileModel(modelEntry.parse({ class: opt('--model', 'auto') }));
const S = Number(opt('--series', '10000'));
const R = Number(opt('--rounds', '500'));
const W = Number(opt('--warm', '100'));
const sl = scorer.slots;
const state = new Float64Array(S * sl);
for (let s = 0; s < S; s++) scorer.init(state, s * sl);
const vals = new Float64Array(S * 16);
let x = 12345;
for (let i = 0; i < vals.length; i++) {
  x = (x * 1103515245 + 12345) % 2147483648;
  vals[i] = 100 + Math.sin(i) * 10 + (x / 2147483648) * 5;
}
const out = new Prediction();
const t0 = 1764700000000;
let c0 = 0;
let acc = 0;
for (let r = 0; r < R; r++) {
  if (r === W) c0 = cpuNs();
  const ts = t0 + r * 10_000;
  for (let s = 0; s < S; s++) {
    scorer.update(state, s * sl, ts, vals[s * 16 + (r & 15)], out);
    acc += out.score;
  }
}
process.stdout.write(`${(cpuNs() - c0) / ((R - W) * S)} ns per update (score sum ${acc})\n`);

function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}
