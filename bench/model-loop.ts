/**
 * The model alone: Scorer.update over 10,000 series at 10 s steps (deterministic noisy sine values), CPU ns
 * per update after the warm rounds, and heap bytes allocated per update (bench/heap-bytes.ts). To compare two builds, run it from each checkout in turn (A/B pairs),
 * or run one checkout's loop against another build's model code with `--build` (the other checkout's
 * dist/ directory: the same loop, only the models differ):
 *
 *   node dist/bench/model-loop.js [--model auto] [--series 10000] [--rounds 500] [--warm 100] [--step 10000] [--build DIST]
 *
 * The default 500 rounds at 10 s are a young series' first day (auto's first-day guard and young-bucket
 * paths, as in bench/compare); `--rounds 600 --warm 300 --step 3600000` measures settled series older than
 * the bucket warm-up (auto's steady path).
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { HeapBytes } from './heap-bytes.js';
import { fixture } from './model-block.js';

const args = process.argv.slice(2);
const opt = (k: string, d: string): string => {
  const i = args.indexOf(k);
  return i >= 0 ? args[i + 1] : d;
};
const build = opt('--build', '');
const from = (rel: string): string => (build === '' ? `../src/${rel}` : pathToFileURL(path.resolve(build, 'src', rel)).href);
const { compileModel, modelEntry } = (await import(from('config/models.js'))) as typeof import('../src/config/models.js');
const { Prediction } = (await import(from('models/model.js'))) as typeof import('../src/models/model.js');
const scorer = compileModel(modelEntry.parse({ class: opt('--model', 'auto') }));
const S = Number(opt('--series', '10000'));
const R = Number(opt('--rounds', '500'));
const W = Number(opt('--warm', '100'));
const STEP = Number(opt('--step', '10000'));

/** A --build from before the point went into Prediction's fields (t, y) takes them as arguments. */
const fields = scorer.update.length === 3;
const old = scorer.update as unknown as (state: Float64Array, offset: number, tsMs: number, y: number, out: InstanceType<typeof Prediction>) => boolean;

/** The timed loop in a function (module-level variables would box every double stored into them). */
function run(): [number, number, number] {
  const sl = scorer.slots;
  const { state, vals } = fixture(scorer, S);
  const out = new Prediction();
  const t0 = 1764700000000;
  let c0 = 0;
  // the score sum in a typed array: a local double summed in the (on-stack replaced) loop was boxed
  // once per update, 16 bytes the models did not allocate
  const acc = new Float64Array(1);
  const heap = new HeapBytes();
  for (let r = 0; r < R; r++) {
    if (r === W) {
      heap.start();
      c0 = cpuNs();
    }
    const ts = t0 + r * STEP;
    for (let s = 0; s < S; s++) {
      if (fields) {
        out.t = ts;
        out.y = vals[s * 16 + (r & 15)];
        scorer.update(state, s * sl, out);
      } else old.call(scorer, state, s * sl, ts, vals[s * 16 + (r & 15)], out);
      acc[0] += out.score;
    }
  }
  const ns = (cpuNs() - c0) / ((R - W) * S);
  return [ns, heap.stop() / ((R - W) * S), acc[0]];
}

const [ns, bytes, acc] = run();
process.stdout.write(`${ns} ns per update, ${bytes.toFixed(1)} heap bytes allocated per update (score sum ${acc})\n`);

function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}
