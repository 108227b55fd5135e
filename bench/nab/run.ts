/**
 * NAB benchmark: streams every file of the NAB corpus (bench/nab/corpus: all 58 files) through each
 * model with the code the proxy runs (modelSchema -> compileModel -> Scorer.update, see run-file.ts),
 * writes per-file `timestamp,value,anomaly_score` CSVs, and scores them with bench/nab/score.ts.
 *
 *   node dist/bench/nab/run.js [--data DIR] [--labels FILE] [--profiles FILE]
 *        [--out .bench-out/nab] [--model auto]... [--set key=json]... [--brief] [--files] [--no-csv]
 *
 * --data DIR holds data/<category>/<file>.csv (default: the committed corpus); --labels defaults to
 * DIR/labels/combined_windows.json and --profiles to DIR/config/profiles.json.
 *
 * Reported per model, for all files and per category: standard / reward_low_FP / reward_low_FN at
 * the fixed threshold 1 (detection = score > 1) and at the one threshold optimised over the whole
 * corpus (detection = score >= t on a log grid 0.05..1e4, as NAB reports detectors), windows found,
 * false-positive rows; false alarms per 1000 points on artificialNoAnomaly after warm-up; CPU ns per
 * point (update + scoring, fastest of 5 passes, each class alone in a worker); state bytes per series; and per category the score at a threshold
 * optimised on the other categories (leave one category out, for the threshold only: the defaults'
 * own leave-one-category-out selection is tune.ts). --brief prints one line per model; --files adds
 * per file its standard score @1, false-positive rows and, per window, where it was first detected
 * (rows after the window's start, or "miss") and the highest score inside it.
 * For the default model (with no --set), the --pictures N (8) files where it loses most (standard
 * profile, threshold 1) are drawn into bench/nab/pictures/ (y, yhat, band, score, windows).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { compileModel, modelEntry, modelSchema, MODEL_CLASSES, ModelConfig } from '../../src/config/models.js';
import { runFile } from './run-file.js';
import { drawWorst } from './pictures.js';
import { CORPUS, loadCorpus, loadProfiles, NabFile } from './data.js';
import { Scored, at, categories, counts, fa1000, fileScores, fmt, labelledCategories, optimise, parseSet, scored } from './evaluate.js';
import { Profile } from './score.js';

interface Args {
  data: string;
  labels?: string;
  profiles?: string;
  out: string;
  models: string[];
  set: Record<string, unknown>;
  brief: boolean;
  files: boolean;
  csv: boolean;
  pictures: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { data: CORPUS, out: '.bench-out/nab', models: [], set: {}, brief: false, files: false, csv: true, pictures: 8 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--data') a.data = argv[++i];
    else if (k === '--labels') a.labels = argv[++i];
    else if (k === '--profiles') a.profiles = argv[++i];
    else if (k === '--out') a.out = argv[++i];
    else if (k === '--model') a.models.push(argv[++i]);
    else if (k === '--set') parseSet(argv[++i], a.set);
    else if (k === '--brief') a.brief = true;
    else if (k === '--files') a.files = true;
    else if (k === '--no-csv') a.csv = false;
    else if (k === '--pictures') a.pictures = Number(argv[++i]);
    else throw new Error(`unknown argument '${k}'`);
  }
  if (a.models.length === 0) a.models = [...MODEL_CLASSES];
  return a;
}

/**
 * CPU time (user + system) per point of update + scoring, the fastest of 5 passes over every file
 * after 2 warm-up passes: on a shared machine the minimum of CPU time is the steadiest figure. Runs
 * in a worker thread of its own, so that each class is measured alone (the proxy runs one or two
 * classes: a JIT that has seen all six is slower on shared call sites).
 */
function nsPerPoint(cfg: ModelConfig, data: string, labels?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const w = new Worker(fileURLToPath(import.meta.url), { workerData: { measure: true, cfg, data, labels } });
    w.once('message', (ns: number) => void w.terminate().then(() => resolve(ns)));
    w.once('error', reject);
  });
}

function measure(cfg: ModelConfig, files: NabFile[]): number {
  const scratch = new Float64Array(25_000);
  const pass = (): number => {
    let points = 0;
    for (const f of files) {
      runFile(cfg, f, scratch);
      points += f.ts.length;
    }
    return points;
  };
  pass();
  pass();
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const c0 = process.cpuUsage();
    const points = pass();
    const c = process.cpuUsage(c0);
    const ns = ((c.user + c.system) * 1000) / points;
    if (ns < best) best = ns;
  }
  return best;
}

/** The class a config gets when it names none (the proxy's default model). */
const DEFAULT_CLASS = (modelEntry.parse({}) as ModelConfig).class;

const PROFILE_NAMES = ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'] as const;

/** One row of the per-category table: the three profiles @1 and @t (the corpus-wide optimum), windows, FP rows. */
function row(label: string, items: Scored[], profiles: Record<string, Profile>, opt: Record<string, { t: number }>): string {
  const c = counts(items, profiles.standard);
  // no window (artificialNoAnomaly): no score, only its false-positive rows
  const sc = (p: string, t?: number): string => (c.windows === 0 ? '-' : fmt(at(items, profiles[p], t)));
  const a1 = PROFILE_NAMES.map((p) => sc(p));
  const ao = PROFILE_NAMES.map((p) => sc(p, opt[p].t));
  return `| ${label} | ${a1.join(' | ')} | ${ao.join(' | ')} | ${c.found}/${c.windows} | ${c.fp} |`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const files = loadCorpus(args.data, args.labels);
  const profiles = loadProfiles(args.data, args.profiles);
  const std = profiles.standard;
  const windows = files.reduce((a, f) => a + f.windows.length, 0);
  const summary: string[] = [
    `### All ${files.length} files (${windows} windows), every profile`,
    '| model | standard @1 | low_FP @1 | low_FN @1 | standard @opt (t) | low_FP @opt (t) | low_FN @opt (t) | windows found @1 | FP rows @1 | FA/1000 noAnomaly | ns/point | state B/series |',
    '|' + ' --- |'.repeat(12),
  ];
  const loco: string[] = [];
  const perModel: string[] = [];
  for (const name of args.models) {
    const cfg = modelSchema.parse({ class: name, ...args.set });
    const items: Scored[] = files.map((f) => {
      const scores = new Float64Array(f.ts.length);
      runFile(cfg, f, scores);
      return scored(f, scores);
    });
    if (args.csv) writeCsvs(args.out, name, items);
    const fa = fa1000(items, cfg.min_n_samples_seen);
    const cats = categories(items);
    const c1 = counts(items, std);
    if (args.files) console.log(fileLines(items, std).join('\n'));
    if (args.brief) {
      const percat = cats.map((c) => {
        const sub = items.filter((x) => x.f.category === c);
        return c === 'artificialNoAnomaly' ? `noA fp=${counts(sub, std).fp}` : `${c.slice(4, 12)}=${fmt(at(sub, std))}`;
      });
      console.log(
        `${name} ${JSON.stringify(args.set)} std@1=${fmt(at(items, std))} std@opt=${fmt(optimise(items, std).score)} lowFP@1=${fmt(at(items, profiles.reward_low_FP_rate))} lowFN@1=${fmt(at(items, profiles.reward_low_FN_rate))} win=${c1.found}/${c1.windows} fp=${c1.fp} FA/1000=${fa.toFixed(2)} | ${percat.join(' ')}`,
      );
      continue;
    }
    if (name === DEFAULT_CLASS && args.pictures > 0 && Object.keys(args.set).length === 0) {
      for (const w of drawWorst(cfg, items, std, args.pictures)) console.log(`picture: ${relative(process.cwd(), w.path)} (${w.key}, standard loss ${w.loss.toFixed(2)})`);
    }
    const opt = Object.fromEntries(PROFILE_NAMES.map((p) => [p, optimise(items, profiles[p])]));
    const ns = await nsPerPoint(cfg, args.data, args.labels);
    const bytes = compileModel(cfg).slots * 8;
    const o = (p: string): string => `${fmt(opt[p].score)} (${opt[p].t.toPrecision(3)})`;
    summary.push(
      `| ${name} | ${PROFILE_NAMES.map((p) => fmt(at(items, profiles[p]))).join(' | ')} | ${PROFILE_NAMES.map(o).join(' | ')} | ${c1.found}/${c1.windows} | ${c1.fp} | ${Number.isFinite(fa) ? fa.toFixed(2) : '-'} | ${ns.toFixed(0)} | ${bytes} |`,
    );
    perModel.push(
      `### ${name}: per category (@opt: the all-files threshold of each profile)`,
      '| category | standard @1 | low_FP @1 | low_FN @1 | standard @opt | low_FP @opt | low_FN @opt | windows found @1 | FP rows @1 |',
      '|' + ' --- |'.repeat(9),
      ...cats.map((c) =>
        row(
          c,
          items.filter((x) => x.f.category === c),
          profiles,
          opt,
        ),
      ),
      row(`all ${files.length}`, items, profiles, opt),
      '',
    );
    const lab = labelledCategories(items);
    if (loco.length === 0) loco.push('### Per category, standard: fixed threshold 1 / threshold optimised on the other categories', `| model | ${lab.join(' | ')} |`, '|' + ' --- |'.repeat(lab.length + 1));
    loco.push(
      `| ${name} | ${lab
        .map((c) => {
          const test = items.filter((x) => x.f.category === c);
          const t = optimise(
            items.filter((x) => x.f.category !== c),
            std,
          ).t;
          return `${fmt(at(test, std))} / ${fmt(at(test, std, t))}`;
        })
        .join(' | ')} |`,
    );
  }
  if (args.brief) return;
  const text = [...summary, '', ...loco, '', ...perModel].join('\n');
  mkdirSync(args.out, { recursive: true });
  writeFileSync(join(args.out, 'summary.md'), text);
  console.log(text);
}

function fileLines(items: Scored[], std: Profile): string[] {
  return items.map((x) => {
    const fs = fileScores([x], std)[0];
    const wins = x.f.windows.map(([a, b]) => {
      let first = -1;
      let max = 0;
      for (let i = a; i <= b; i++) {
        if (first < 0 && x.scores[i] > 1) first = i - a;
        if (x.scores[i] > max) max = x.scores[i];
      }
      return `${first < 0 ? 'miss' : '+' + first}/${b - a + 1} (max ${max.toFixed(2)})`;
    });
    return `${x.f.key} n=${x.scores.length} std=${fmt(at([x], std))} raw=${fs.raw.toFixed(2)} fp=${fs.fp} | ${wins.join(' ')}`;
  });
}

function writeCsvs(out: string, name: string, items: Scored[]): void {
  for (const x of items) {
    const path = join(out, name, x.f.key);
    mkdirSync(dirname(path), { recursive: true });
    const rows = ['timestamp,value,anomaly_score'];
    for (let i = 0; i < x.scores.length; i++) rows.push(`${x.f.stamps[i]},${x.f.value[i]},${x.scores[i]}`);
    writeFileSync(path, rows.join('\n') + '\n');
  }
}

if (!isMainThread && (workerData as { measure?: boolean } | null)?.measure) {
  const { cfg, data, labels } = workerData as { cfg: ModelConfig; data: string; labels?: string };
  parentPort!.postMessage(measure(cfg, loadCorpus(data, labels)));
} else if (process.argv[1]?.endsWith('run.js')) await main();
