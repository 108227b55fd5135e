/**
 * NAB benchmark: streams every file of the NAB subset through each model with the very
 * code the proxy runs (modelSchema -> compileModel -> Scorer.update), writes per-file
 * `timestamp,value,anomaly_score` CSVs, and scores them with bench/nab/score.ts.
 *
 *   node dist/bench/nab/run.js [--data /work/shared/nab] [--labels FILE] [--profiles FILE]
 *        [--out .bench-out/nab] [--model auto]... [--set key=json]... [--brief] [--no-csv]
 *
 * --data DIR holds data/<category>/<file>.csv; --labels defaults to DIR/labels/combined_windows.json
 * (a full NAB label file works: only the keys of files present are used) and --profiles to
 * DIR/profiles.json, falling back to /work/shared/nab/profiles.json.
 *
 * Reported per model: standard / reward_low_FP / reward_low_FN at the fixed threshold 1
 * (detection = score > 1) and at the threshold optimised over the corpus (detection =
 * score ≥ t, t on a log grid 0.05..1e4), false alarms per 1000 points on
 * artificialNoAnomaly after warm-up, ns per point (update + scoring), state bytes per
 * series, per category, and leave-one-category-out (threshold optimised on the other
 * categories, scored on the one left out, next to the untuned threshold-1 score).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { compileModel, modelSchema, MODEL_CLASSES, ModelConfig } from '../../src/config/models.js';
import { runFile } from './run-file.js';
import { loadCorpus, loadProfiles, NabFile } from './data.js';
import { FileScore, Profile, Sweep, normalise, scoreFile, sweep } from './score.js';

interface Args {
  data: string;
  labels?: string;
  profiles?: string;
  out: string;
  models: string[];
  set: Record<string, unknown>;
  brief: boolean;
  csv: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { data: '/work/shared/nab', out: '.bench-out/nab', models: [], set: {}, brief: false, csv: true };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--data') a.data = argv[++i];
    else if (k === '--labels') a.labels = argv[++i];
    else if (k === '--profiles') a.profiles = argv[++i];
    else if (k === '--out') a.out = argv[++i];
    else if (k === '--model') a.models.push(argv[++i]);
    else if (k === '--set') {
      const kv = argv[++i];
      const eq = kv.indexOf('=');
      const raw = kv.slice(eq + 1);
      let v: unknown;
      try {
        v = JSON.parse(raw);
      } catch {
        v = raw;
      }
      a.set[kv.slice(0, eq)] = v;
    } else if (k === '--brief') a.brief = true;
    else if (k === '--no-csv') a.csv = false;
    else throw new Error(`unknown argument '${k}'`);
  }
  if (a.models.length === 0) a.models = [...MODEL_CLASSES];
  return a;
}

const GRID: number[] = [];
for (let i = 0; i <= 240; i++) GRID.push(0.05 * Math.pow(10, (i * Math.log10(2e5)) / 240));

interface Scored {
  f: NabFile;
  s: Sweep;
  scores: Float64Array;
}

function fixed(items: Scored[], p: Profile, t = 1): FileScore[] {
  return items.map((x) => scoreFile(x.s, x.scores, t, p, true));
}

function optimise(items: Scored[], p: Profile): { t: number; score: number } {
  let best = { t: Infinity, score: -Infinity };
  for (const t of GRID) {
    const s = normalise(
      items.map((x) => scoreFile(x.s, x.scores, t, p, false)),
      p,
    );
    if (s > best.score) best = { t, score: s };
  }
  return best;
}

/** NaN (printed '-') when the corpus has no artificialNoAnomaly file. */
function fa1000(items: Scored[], warmup: number): number {
  let alarms = 0;
  let points = 0;
  for (const x of items) {
    if (x.f.category !== 'artificialNoAnomaly') continue;
    for (let i = warmup; i < x.scores.length; i++) if (x.scores[i] > 1) alarms++;
    points += Math.max(0, x.scores.length - warmup);
  }
  return points ? (1000 * alarms) / points : NaN;
}

function nsPerPoint(cfg: ModelConfig, files: NabFile[]): number {
  const scratch = new Float64Array(10_000);
  let points = 0;
  for (const f of files) runFile(cfg, f, scratch); // warm the JIT
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < 5; r++)
    for (const f of files) {
      runFile(cfg, f, scratch);
      points += f.ts.length;
    }
  return Number(process.hrtime.bigint() - t0) / points;
}

const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '-');

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const files = loadCorpus(args.data, args.labels);
  const profiles = loadProfiles(args.data, args.profiles ?? (existsSync(join(args.data, 'profiles.json')) ? undefined : '/work/shared/nab/profiles.json'));
  const std = profiles.standard;
  const cats = [...new Set(files.map((f) => f.category))];
  const lines: string[] = [];
  const head = '| model | standard @1 | low_FP @1 | low_FN @1 | standard @opt (t) | low_FP @opt | low_FN @opt | FA/1000 noAnomaly | ns/point | state B/series |';
  lines.push(head, '|' + ' --- |'.repeat(10));
  const catLines: string[] = [`| model | ${cats.map((c) => `${c} @1`).join(' | ')} |`, '|' + ' --- |'.repeat(cats.length + 1)];
  const locoLines: string[] = [
    `| model | ${cats
      .filter((c) => c !== 'artificialNoAnomaly')
      .map((c) => `${c} @1 / @t(others)`)
      .join(' | ')} |`,
    '|' + ' --- |'.repeat(cats.filter((c) => c !== 'artificialNoAnomaly').length + 1),
  ];
  for (const name of args.models) {
    const cfg = modelSchema.parse({ class: name, ...args.set });
    const items: Scored[] = files.map((f) => {
      const scores = new Float64Array(f.ts.length);
      runFile(cfg, f, scores);
      return { f, s: sweep(f.ts.length, f.windows), scores };
    });
    if (args.csv) {
      for (const x of items) {
        const path = join(args.out, name, x.f.key);
        mkdirSync(dirname(path), { recursive: true });
        const rows = ['timestamp,value,anomaly_score'];
        for (let i = 0; i < x.scores.length; i++) rows.push(`${x.f.stamps[i]},${x.f.value[i]},${x.scores[i]}`);
        writeFileSync(path, rows.join('\n') + '\n');
      }
    }
    const at1 = (p: Profile): number => normalise(fixed(items, p), p);
    const fa = fa1000(items, cfg.min_n_samples_seen);
    if (args.brief) {
      const f1 = fixed(items, std);
      const fp = f1.reduce((a, b) => a + b.fp, 0);
      const tp = f1.reduce((a, b) => a + b.tp, 0);
      const percat = cats.map((c) => {
        const sub = items.filter((x) => x.f.category === c);
        const fs = fixed(sub, std);
        return c === 'artificialNoAnomaly' ? `noA fp=${fs.reduce((a, b) => a + b.fp, 0)}` : `${c.slice(0, 8)}=${fmt(normalise(fs, std))}`;
      });
      console.log(
        `${name} ${JSON.stringify(args.set)} std@opt=${fmt(optimise(items, std).score)} std@1=${fmt(at1(std))} lowFP@1=${fmt(at1(profiles.reward_low_FP_rate))} lowFN@1=${fmt(at1(profiles.reward_low_FN_rate))} tp=${tp} fp=${fp} FA/1000=${fa.toFixed(2)} | ${percat.join(' ')}`,
      );
      continue;
    }
    const opt = Object.fromEntries(Object.entries(profiles).map(([k, p]) => [k, optimise(items, p)]));
    const ns = nsPerPoint(cfg, files);
    const bytes = compileModel(cfg).slots * 8;
    lines.push(
      `| ${name} | ${fmt(at1(std))} | ${fmt(at1(profiles.reward_low_FP_rate))} | ${fmt(at1(profiles.reward_low_FN_rate))} | ${fmt(opt.standard.score)} (${opt.standard.t.toPrecision(3)}) | ${fmt(opt.reward_low_FP_rate.score)} | ${fmt(opt.reward_low_FN_rate.score)} | ${Number.isFinite(fa) ? fa.toFixed(2) : '-'} | ${ns.toFixed(0)} | ${bytes} |`,
    );
    catLines.push(
      `| ${name} | ${cats
        .map((c) => {
          const fs = fixed(
            items.filter((x) => x.f.category === c),
            std,
          );
          const fp = fs.reduce((a, b) => a + b.fp, 0);
          return c === 'artificialNoAnomaly' ? `${fp} FP` : `${fmt(normalise(fs, std))} (${fs.reduce((a, b) => a + b.tp, 0)}/${fs.reduce((a, b) => a + b.windows, 0)} win, ${fp} FP)`;
        })
        .join(' | ')} |`,
    );
    locoLines.push(
      `| ${name} | ${cats
        .filter((c) => c !== 'artificialNoAnomaly')
        .map((c) => {
          const test = items.filter((x) => x.f.category === c);
          const t = optimise(
            items.filter((x) => x.f.category !== c),
            std,
          ).t;
          return `${fmt(normalise(fixed(test, std), std))} / ${fmt(
            normalise(
              test.map((x) => scoreFile(x.s, x.scores, t, std, false)),
              std,
            ),
          )}`;
        })
        .join(' | ')} |`,
    );
  }
  if (args.brief) return;
  const text = [
    `### Corpus (${files.length} files, ${files.reduce((a, f) => a + f.windows.length, 0)} windows), all profiles`,
    ...lines,
    '',
    '### Per category, standard profile, fixed threshold 1 (detected windows / windows, false-positive rows)',
    ...catLines,
    '',
    '### Leave one category out, standard profile: fixed threshold 1 / threshold optimised on the other categories',
    ...locoLines,
    '',
  ].join('\n');
  mkdirSync(args.out, { recursive: true });
  writeFileSync(join(args.out, 'summary.md'), text);
  console.log(text);
}

main();
