/**
 * Held-out real metrics: labelled server and service series that are not in this repository and
 * that no default was chosen on, scored as bench:nab scores NAB (each series a new series through
 * the scoring unit the proxy runs, src/replay/offline.ts via bench/nab/run-file.ts), alarm at the
 * fixed threshold 1.
 *
 *   node dist/bench/external/run.js --csv PATH | --smd DIR ... [--model auto]... [--set key=json]...
 *        [--tolerance 3] [--max-series N] [--step 60s] [--split] [--pictures N] [--pictures-dir DIR] [--files]
 *
 * --csv: a labelled CSV file or directory (bench/external/data.ts: Microsoft's Cloud Monitoring
 * Dataset, AIOps 2018 KPI, Yahoo S5); --smd: OmniAnomaly's ServerMachineDataset (rows one --step
 * apart, default 60s). Where to get them: bench/external/README.md. --max-series N keeps the first
 * N series of each source (bounded runs). --split reports the CMD-like datasets in two halves
 * (minute data / hourly data) as well, for choosing on one and judging on the other.
 *
 * Per dataset and model (bench/external/evaluate.ts): series, scored points, segments (labelled
 * runs after warm-up), event recall (a segment with a row > 1 in [start, end + tolerance]), median
 * rows to detection, false alarm onsets (runs of > 1 starting outside every segment ± tolerance)
 * per 1000 normal points, precision of onsets, and a NAB-like standard score @1 (windows padded
 * to 10% of each series). --files prints per series the same; --pictures N draws the N series
 * where the default model raises most false onsets plus misses (the first model given, default auto).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { modelSchema, MODEL_CLASSES, ModelConfig } from '../../src/config/models.js';
import { parseDurationMs } from '../../src/config/duration.js';
import { CORPUS, loadProfiles } from '../nab/data.js';
import { fmt, parseSet } from '../nab/evaluate.js';
import { drawSeries } from '../nab/pictures.js';
import { runFileRows } from '../nab/run-file.js';
import { normalise } from '../nab/score.js';
import { LabelledSeries, loadCsv, loadSmd } from './data.js';
import { SeriesEval, evaluateSeries, segments } from './evaluate.js';

interface Args {
  csv: string[];
  smd: string[];
  models: string[];
  set: Record<string, unknown>;
  tol: number;
  maxSeries: number;
  stepMs: number;
  split: boolean;
  pictures: number;
  picturesDir: string;
  files: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { csv: [], smd: [], models: [], set: {}, tol: 3, maxSeries: Infinity, stepMs: 60_000, split: false, pictures: 0, picturesDir: '.bench-out/external', files: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--csv') a.csv.push(argv[++i]);
    else if (k === '--smd') a.smd.push(argv[++i]);
    else if (k === '--model') a.models.push(argv[++i]);
    else if (k === '--set') parseSet(argv[++i], a.set);
    else if (k === '--tolerance') a.tol = Number(argv[++i]);
    else if (k === '--max-series') a.maxSeries = Number(argv[++i]);
    else if (k === '--step') a.stepMs = parseDurationMs(argv[++i]) ?? NaN;
    else if (k === '--split') a.split = true;
    else if (k === '--pictures') a.pictures = Number(argv[++i]);
    else if (k === '--pictures-dir') a.picturesDir = argv[++i];
    else if (k === '--files') a.files = true;
    else throw new Error(`unknown argument '${k}'`);
  }
  if (a.csv.length + a.smd.length === 0) throw new Error('give at least one --csv PATH or --smd DIR (bench/external/README.md says where to get them)');
  if (!(a.stepMs > 0)) throw new Error('--step: expected a duration such as 60s');
  if (a.models.length === 0) a.models = [...MODEL_CLASSES];
  return a;
}

interface Row {
  s: LabelledSeries;
  e: SeriesEval;
}

/** Minute data vs coarser (hourly) data: the two halves --split reports. */
const half = (s: LabelledSeries): string => (s.ts.length > 1 && s.ts[1] - s.ts[0] <= 60_000 ? 'minute' : 'hourly');

function line(label: string, rows: readonly Row[], std: ReturnType<typeof loadProfiles>['standard']): string {
  const sum = (f: (r: Row) => number): number => rows.reduce((a, r) => a + f(r), 0);
  const segs = sum((r) => r.e.segments);
  const found = sum((r) => r.e.found);
  const onsets = sum((r) => r.e.onsets);
  const trueOn = sum((r) => r.e.trueOnsets);
  const falseOn = onsets - trueOn;
  const normal = sum((r) => r.e.normal);
  const delays = rows.flatMap((r) => r.e.delays).sort((a, b) => a - b);
  const median = delays.length ? String(delays[delays.length >> 1]) : '-';
  const nab = rows.some((r) => r.e.nab.windows > 0)
    ? fmt(
        normalise(
          rows.map((r) => r.e.nab),
          std,
        ),
      )
    : '-';
  const recall = segs ? `${found}/${segs} (${((100 * found) / segs).toFixed(0)}%)` : '-';
  const precision = onsets ? ((100 * trueOn) / onsets).toFixed(0) + '%' : '-';
  return `| ${label} | ${rows.length} | ${normal} | ${recall} | ${median} | ${falseOn} | ${((1000 * falseOn) / Math.max(1, normal)).toFixed(2)} | ${precision} | ${nab} |`;
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const all: LabelledSeries[] = [...args.csv.map((p) => loadCsv(p)), ...args.smd.map((d) => loadSmd(d, args.stepMs))].flatMap((s) => s.slice(0, args.maxSeries));
  const std = loadProfiles(CORPUS).standard;
  const datasets = [...new Set(all.map((s) => s.dataset))];
  const points = all.reduce((a, s) => a + s.ts.length, 0);
  console.log(`${all.length} series, ${points} points, ${datasets.length} datasets; tolerance ${args.tol} rows; alarm = anomaly_score > 1\n`);
  const header =
    '| dataset | series | normal points | segments found (recall) | median rows to detection | false onsets | false onsets / 1000 normal points | onset precision | NAB-like standard @1 |\n|' +
    ' --- |'.repeat(9);
  for (const name of args.models) {
    const cfg: ModelConfig = modelSchema.parse({ class: name, ...args.set });
    const rows: Row[] = all.map((s) => {
      const r = runFileRows(cfg, s);
      return { s, e: evaluateSeries(s.label, r.scored.slice(0, s.ts.length), r.score.slice(0, s.ts.length), args.tol, std) };
    });
    console.log(`### ${name}${Object.keys(args.set).length ? ' ' + JSON.stringify(args.set) : ''}\n${header}`);
    for (const d of datasets)
      console.log(
        line(
          d,
          rows.filter((r) => r.s.dataset === d),
          std,
        ),
      );
    if (args.split)
      for (const h of ['minute', 'hourly'])
        console.log(
          line(
            `**${h} data**`,
            rows.filter((r) => half(r.s) === h),
            std,
          ),
        );
    console.log(line('**all**', rows, std) + '\n');
    if (args.files) for (const r of rows) console.log(`${r.s.key}: ${r.e.found}/${r.e.segments} found, ${r.e.onsets - r.e.trueOnsets} false onsets, delays ${r.e.delays.join(' ')}`);
    if (args.pictures > 0 && name === args.models[0]) drawPictures(cfg, rows, args);
  }
}

/** The series with the most false onsets plus missed segments, drawn with their segments shaded. */
function drawPictures(cfg: ModelConfig, rows: readonly Row[], args: Args): void {
  mkdirSync(args.picturesDir, { recursive: true });
  const cost = (r: Row): number => r.e.onsets - r.e.trueOnsets + r.e.segments - r.e.found;
  for (const r of [...rows].sort((a, b) => cost(b) - cost(a)).slice(0, args.pictures)) {
    const path = join(args.picturesDir, r.s.key.replace(/[/#\\]/g, '_').replace(/\.csv/, '') + '.svg');
    drawSeries(cfg, r.s.key, r.s, segments(r.s.label, 0), path);
    console.log(`picture: ${path} (${r.e.onsets - r.e.trueOnsets} false onsets, ${r.e.segments - r.e.found} missed of ${r.e.segments})`);
  }
}

main();
