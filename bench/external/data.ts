import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { parseTimestamp } from '../../src/replay/input.js';

/**
 * Labelled real metrics that are not in this repository, read from a path given on the command
 * line (bench/external/README.md says where to get each set and under which licence):
 *
 * - **labelled CSV** (`--csv PATH`, a file or a directory searched recursively for *.csv): a header
 *   row naming a timestamp column (`timestamp`, `time`, `ts`; ISO 8601 or Unix s/ms, quotes
 *   allowed), a `value` column and a label column (`label`, `is_anomaly`, `anomaly`; 1 = anomalous
 *   point), and optionally a series id column (`kpi id`, `id`, `series`) that splits one file
 *   into several series. Microsoft's Cloud Monitoring Dataset, the AIOps 2018 KPI files and
 *   Yahoo S5 are written this way. The dataset of a file is its first directory under PATH (the
 *   CMD domain), or PATH's own name for files directly in it.
 * - **SMD** (`--smd DIR`, OmniAnomaly's ServerMachineDataset): `test/<machine>.txt` (one row per
 *   minute, 38 comma-separated metrics, no timestamps: a fixed step is used),
 *   `test_label/<machine>.txt` (one 0/1 per row, for the machine) and
 *   `interpretation_label/<machine>.txt` (`start-end:m1,m2,...`, 0-based rows, 1-based metrics):
 *   each metric is a series of its own, anomalous over the machine's labelled runs whose
 *   interpretation names it (the machine label alone would call every metric anomalous whenever
 *   one is). Constant metrics are left out.
 */
export interface LabelledSeries {
  dataset: string;
  /** Where it came from: "<file>" or "<file>#<id>" or "<machine>/m<k>". */
  key: string;
  ts: Float64Array;
  value: Float64Array;
  /** 1 for a point labelled anomalous. */
  label: Uint8Array;
}

const TS_COLS = ['timestamp', 'time', 'ts'];
const LABEL_COLS = ['label', 'is_anomaly', 'anomaly'];
const ID_COLS = ['kpi id', 'kpi_id', 'id', 'series'];

const unquote = (s: string): string => s.trim().replace(/^"(.*)"$/, '$1');

function csvFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .flatMap((d) => (d.isDirectory() ? csvFiles(join(path, d.name)) : d.name.endsWith('.csv') ? [join(path, d.name)] : []));
}

/** Every labelled series under a CSV file or directory (see the header); throws on a file without the columns. */
export function loadCsv(path: string): LabelledSeries[] {
  const root = statSync(path).isDirectory() ? path : join(path, '..');
  const out: LabelledSeries[] = [];
  for (const file of csvFiles(path)) {
    const rel = relative(root, file);
    const parts = rel.split(sep);
    const dataset = parts.length > 1 ? parts[0] : basename(root);
    const lines = readFileSync(file, 'utf8').split(/\r?\n/);
    const header = lines[0].split(',').map((h) => unquote(h).toLowerCase());
    const col = (names: string[]): number => header.findIndex((h) => names.includes(h));
    const [t, v, l, id] = [col(TS_COLS), header.indexOf('value'), col(LABEL_COLS), col(ID_COLS)];
    if (t < 0 || v < 0 || l < 0) throw new Error(`${file}: expected a header with timestamp, value and label columns, got '${lines[0]}'`);
    const series = new Map<string, { ts: number[]; value: number[]; label: number[] }>();
    for (let i = 1; i < lines.length; i++) {
      if (lines[i].trim() === '') continue;
      const c = lines[i].split(',');
      const key = id < 0 ? '' : unquote(c[id]);
      let s = series.get(key);
      if (s === undefined) series.set(key, (s = { ts: [], value: [], label: [] }));
      s.ts.push(parseTimestamp(unquote(c[t])));
      s.value.push(Number(unquote(c[v])));
      s.label.push(Number(unquote(c[l])) > 0 ? 1 : 0);
    }
    for (const [key, s] of series) out.push(sorted(dataset, key === '' ? rel : `${rel}#${key}`, s.ts, s.value, s.label));
  }
  return out;
}

/** Rows in time order (the AIOps KPI files are not always), then as typed arrays. */
function sorted(dataset: string, key: string, ts: number[], value: number[], label: number[]): LabelledSeries {
  const order = ts.map((_, i) => i).sort((a, b) => ts[a] - ts[b]);
  return {
    dataset,
    key,
    ts: Float64Array.from(order, (i) => ts[i]),
    value: Float64Array.from(order, (i) => value[i]),
    label: Uint8Array.from(order, (i) => label[i]),
  };
}

/** SMD's rows carry no time: the first row at this instant, then one row per `stepMs`. */
export const SMD_START_MS = Date.UTC(2020, 0, 1);

/** Every non-constant metric of every SMD test machine under `dir`, labelled by interpretation_label. */
export function loadSmd(dir: string, stepMs = 60_000): LabelledSeries[] {
  const out: LabelledSeries[] = [];
  const machines = readdirSync(join(dir, 'test'))
    .filter((n) => n.endsWith('.txt'))
    .sort();
  for (const name of machines) {
    const rows = readFileSync(join(dir, 'test', name), 'utf8')
      .split(/\r?\n/)
      .filter((s) => s.trim() !== '')
      .map((s) => s.split(',').map(Number));
    const n = rows.length;
    const metrics = rows[0].length;
    const machine = readFileSync(join(dir, 'test_label', name), 'utf8')
      .split(/\r?\n/)
      .filter((s) => s.trim() !== '')
      .map(Number);
    const label = Array.from({ length: metrics }, () => new Uint8Array(n));
    for (const line of readFileSync(join(dir, 'interpretation_label', name), 'utf8').split(/\r?\n/)) {
      const m = /^(\d+)-(\d+):([\d,]+)/.exec(line.trim());
      if (!m) continue;
      // the machine's labelled run that holds the line's start, else the line's own rows
      let a = Number(m[1]);
      let b = Math.min(n - 1, Number(m[2]));
      if (machine[a] === 1) {
        while (a > 0 && machine[a - 1] === 1) a--;
        while (b + 1 < n && machine[b + 1] === 1) b++;
      }
      for (const k of m[3].split(',').map(Number)) if (k >= 1 && k <= metrics) label[k - 1].fill(1, a, b + 1);
    }
    const ts = Float64Array.from(rows, (_, i) => SMD_START_MS + i * stepMs);
    for (let k = 0; k < metrics; k++) {
      const value = Float64Array.from(rows, (r) => r[k]);
      if (value.every((x) => x === value[0])) continue;
      out.push({ dataset: 'smd', key: `${basename(name, '.txt')}/m${k + 1}`, ts, value, label: label[k] });
    }
  }
  return out;
}
