/**
 * Leave-one-category-out selection of a model's settings over NAB's 7 categories: for each
 * category, the candidate with the best score on the *other six* (standard profile, fixed
 * threshold 1, files pooled as NAB pools them) is chosen and scored on the one left out. A default
 * is only a default if this table holds: a setting that wins on one category and loses on the
 * others is not chosen for the others' folds.
 *
 *   node dist/bench/nab/tune.js [--model auto] [--grid JSON]... [--set key=json]... [--workers 2]
 *        [--objective pooled|mean|robust] [--max-fa X] [--top 10] [--data DIR] [--labels FILE] [--profiles FILE]
 *
 * --grid '{"z_threshold":[4,4.5],"release":["12h","1d"]}' adds the cartesian product of the listed
 * values (several --grid options add several products; --set values apply to every candidate);
 * the class's schema defaults are always candidate 0. --objective mean selects on the mean of the
 * six categories' scores instead of the pooled score (small categories weigh as much as large
 * ones; artificialNoAnomaly, without windows, then does not count); --objective robust takes, among
 * the candidates within 1 point of the best pooled score on the six, the one whose worst category
 * of the six is best ("a setting that wins on one category and loses on the others is not a
 * default"). --max-fa X leaves out candidates with X or more false alarms per 1000 points on
 * artificialNoAnomaly (an acceptance bar, like a unit test, not a score). Candidates are spread over --workers worker threads (default 2: the machine is shared).
 *
 * Reported: per left-out category the candidate chosen on the others, its score there and on the
 * one left out (artificialNoAnomaly has no windows: its false-positive rows are shown), the
 * defaults' score there; the all-files score when every category is scored by the candidate chosen
 * without it ("LOCO, pooled"), and the best candidates on all files.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { modelSchema, ModelConfig } from '../../src/config/models.js';
import { CORPUS, loadCorpus, loadProfiles, NabFile } from './data.js';
import { FileScore, normalise, scoreFile } from './score.js';
import { fa1000, parseSet, scored } from './evaluate.js';
import { runFile } from './run-file.js';

interface Options {
  data: string;
  labels?: string;
  profiles?: string;
}

/**
 * Per candidate: per file the standard, low_FP and low_FN file scores at threshold 1, and the false
 * alarms per 1000 rows of artificialNoAnomaly after warm-up (run.ts' FA/1000).
 */
interface Result {
  files: FileScore[][];
  fa: number;
}

const PROFILE_NAMES = ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'] as const;

function load(o: Options): { files: NabFile[]; profiles: ReturnType<typeof loadProfiles> } {
  return { files: loadCorpus(o.data, o.labels), profiles: loadProfiles(o.data, o.profiles) };
}

/** Scores one candidate on every file (in a worker). */
function evaluate(cfg: ModelConfig, files: NabFile[], profiles: ReturnType<typeof loadProfiles>): Result {
  const items = files.map((f) => {
    const sc = new Float64Array(f.ts.length);
    runFile(cfg, f, sc);
    return scored(f, sc);
  });
  return {
    files: items.map((x) => PROFILE_NAMES.map((p) => scoreFile(x.s, x.scores, 1, profiles[p], true))),
    fa: fa1000(items, cfg.min_n_samples_seen),
  };
}

function product(grid: Record<string, unknown[]>): Record<string, unknown>[] {
  let out: Record<string, unknown>[] = [{}];
  for (const [k, vs] of Object.entries(grid)) out = out.flatMap((c) => vs.map((v) => ({ ...c, [k]: v })));
  return out;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const o: Options = { data: CORPUS };
  let model = 'auto';
  let workers = 2;
  let objective = 'pooled';
  let top = 10;
  let maxFa = Infinity;
  const set: Record<string, unknown> = {};
  const grids: Record<string, unknown[]>[] = [];
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--data') o.data = argv[++i];
    else if (k === '--labels') o.labels = argv[++i];
    else if (k === '--profiles') o.profiles = argv[++i];
    else if (k === '--model') model = argv[++i];
    else if (k === '--grid') grids.push(JSON.parse(argv[++i]));
    else if (k === '--set') parseSet(argv[++i], set);
    else if (k === '--workers') workers = Number(argv[++i]);
    else if (k === '--objective') objective = argv[++i];
    else if (k === '--top') top = Number(argv[++i]);
    else if (k === '--max-fa') maxFa = Number(argv[++i]);
    else throw new Error(`unknown argument '${k}'`);
  }
  const seen = new Set<string>();
  const cands: Record<string, unknown>[] = [];
  for (const c of [{}, ...grids.flatMap(product)]) {
    const key = JSON.stringify(modelSchema.parse({ class: model, ...set, ...c })); // fails early on a bad candidate
    if (seen.has(key)) continue; // a candidate equal to the defaults (or to an earlier one)
    seen.add(key);
    cands.push(c);
  }
  const { files, profiles } = load(o);
  const t0 = Date.now();
  const results: Result[] = new Array(cands.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(workers, cands.length)) }, () => {
      const w = new Worker(fileURLToPath(import.meta.url), { workerData: { o, model, set } });
      return new Promise<void>((resolve, reject) => {
        const feed = (): void => {
          if (next >= cands.length) {
            void w.terminate().then(() => resolve());
            return;
          }
          const k = next++;
          w.once('message', (r: Result) => {
            results[k] = r;
            feed();
          });
          w.postMessage({ k, cand: cands[k] });
        };
        w.once('error', reject);
        feed();
      });
    }),
  );
  const secs = (Date.now() - t0) / 1000;
  report(cands, results, files, profiles, objective, top, maxFa);
  console.log(`\n${cands.length} candidates x ${files.length} files in ${secs.toFixed(1)} s (${workers} workers); model ${model}, --set ${JSON.stringify(set)}, objective ${objective}`);
}

/**
 * The candidate with the best objective; with a tie-break (--objective robust) the best worst
 * category among those within NEAR_TIE points of the best objective (candidate 0 on exact ties).
 */
function choose(n: number, objective: (k: number) => number, worst: (k: number) => number): number {
  let top = -Infinity;
  for (let k = 0; k < n; k++) top = Math.max(top, objective(k));
  let best = -1;
  let bestKey = -Infinity;
  for (let k = 0; k < n; k++) {
    const o = objective(k);
    if (o < top - NEAR_TIE) continue;
    const key = worst(k) * 1e3 + o;
    if (key > bestKey + 1e-9) {
      bestKey = key;
      best = k;
    }
  }
  return best;
}

/** Points of the objective within which --objective robust prefers the better worst category. */
const NEAR_TIE = 1;

function report(cands: Record<string, unknown>[], results: Result[], files: NabFile[], profiles: ReturnType<typeof loadProfiles>, objective: string, top: number, maxFa: number): void {
  const cats = [...new Set(files.map((f) => f.category))];
  const score = (k: number, keep: (i: number) => boolean, p = 0): number =>
    normalise(
      results[k].files.filter((_, i) => keep(i)).map((r) => r[p]),
      PROFILE_NAMES.map((n) => profiles[n])[p],
    );
  const catScore = (k: number, c: string): number => score(k, (i) => files[i].category === c);
  const labelled = cats.filter((c) => files.some((f) => f.category === c && f.windows.length > 0));
  // mean: of the labelled categories' scores (artificialNoAnomaly, without windows, has none)
  const objectiveOf = (k: number, out: string): number => {
    if (objective !== 'mean') return score(k, (i) => files[i].category !== out);
    const six = labelled.filter((c) => c !== out);
    return six.reduce((a, c) => a + catScore(k, c), 0) / six.length;
  };
  // the lowest score of a labelled category other than `out` (the tie-break of --objective robust)
  const worstOf = (k: number, out: string): number => (objective === 'robust' ? Math.min(...labelled.filter((x) => x !== out).map((x) => catScore(k, x))) : 0);
  const fpOf = (k: number, c: string): number => results[k].files.reduce((a, r, i) => a + (files[i].category === c ? r[0].fp : 0), 0);
  console.log('| left out | chosen on the other six | score on the six | left out: standard / low_FP / low_FN @1 | windows found, FP rows | defaults on the six | defaults left out @1 |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  const pooled: FileScore[][] = [[], [], []];
  for (const c of cats) {
    const best = choose(
      cands.length,
      (k) => (results[k].fa < maxFa ? objectiveOf(k, c) : -Infinity),
      (k) => worstOf(k, c),
    );
    const bestScore = objectiveOf(best, c);
    results[best].files.forEach((r, i) => {
      if (files[i].category === c) for (let p = 0; p < 3; p++) pooled[p].push(r[p]);
    });
    const held = (k: number): string => (labelled.includes(c) ? catScore(k, c).toFixed(1) : `${fpOf(k, c)} FP rows`);
    const heldAll = labelled.includes(c) ? PROFILE_NAMES.map((_, p) => score(best, (i) => files[i].category === c, p).toFixed(1)).join(' / ') : '-';
    const found = results[best].files.reduce((a, r, i) => a + (files[i].category === c ? r[0].tp : 0), 0);
    const wins = results[best].files.reduce((a, r, i) => a + (files[i].category === c ? r[0].windows : 0), 0);
    console.log(`| ${c} | ${best === 0 ? 'defaults' : JSON.stringify(cands[best])} | ${bestScore.toFixed(1)} | ${heldAll} | ${found}/${wins}, ${fpOf(best, c)} | ${objectiveOf(0, c).toFixed(1)} | ${held(0)} |`);
  }
  const loco = PROFILE_NAMES.map((n, p) => normalise(pooled[p], profiles[n]).toFixed(1));
  const all = (k: number): string => PROFILE_NAMES.map((_, p) => score(k, () => true, p).toFixed(1)).join(' / ');
  console.log(`\nLOCO, pooled (every category scored by the candidate chosen without it), standard / low_FP / low_FN @1: ${loco.join(' / ')}`);
  console.log(`defaults on all ${files.length} files, standard / low_FP / low_FN @1: ${all(0)}`);
  const order = cands.map((_, k) => k).sort((a, b) => score(b, () => true) - score(a, () => true));
  console.log(`\nBest ${Math.min(top, cands.length)} on all files (standard / low_FP / low_FN @1, then standard @1 per category):`);
  console.log(`| candidate | all | ${cats.map((c) => c.replace(/^(real|artificial)/, '')).join(' | ')} | FA/1000 |`);
  console.log('|' + ' --- |'.repeat(cats.length + 3));
  for (const k of order.slice(0, top)) {
    console.log(
      `| ${k === 0 ? 'defaults' : JSON.stringify(cands[k])} | ${all(k)} | ${cats.map((c) => (labelled.includes(c) ? catScore(k, c).toFixed(1) : `${fpOf(k, c)} FP`)).join(' | ')} | ${results[k].fa.toFixed(2)} |`,
    );
  }
}

if (isMainThread) {
  if (process.argv[1]?.endsWith('tune.js')) await main();
} else {
  const { o, model, set } = workerData as { o: Options; model: string; set: Record<string, unknown> };
  const { files, profiles } = load(o);
  parentPort!.on('message', ({ cand }: { k: number; cand: Record<string, unknown> }) => {
    const cfg = modelSchema.parse({ class: model, ...set, ...cand });
    parentPort!.postMessage(evaluate(cfg, files, profiles));
  });
}
