import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Profile } from './score.js';

/**
 * The full NAB corpus committed with the benchmark (bench/nab/corpus: 58 files, 116 windows, the
 * three profiles, NAB's MIT licence; numenta/NAB at ea702d7). Found from the compiled file
 * (dist/bench/nab/data.js) or the source, so every bench script and test runs from any directory.
 */
export const CORPUS = fileURLToPath(new URL('../../../bench/nab/corpus', import.meta.url));

/** One NAB file in memory: timestamps (ms, UTC) and values, plus its windows as row ranges. */
export interface NabFile {
  /** "category/file.csv", the key of labels/combined_windows.json. */
  key: string;
  category: string;
  ts: Float64Array;
  value: Float64Array;
  /** The original timestamp strings, written back unchanged in the output CSVs. */
  stamps: string[];
  windows: Array<[number, number]>;
}

/** "2014-04-10 07:15:00" or "2014-04-10 07:15:00.000000" as UTC milliseconds. */
export function nabTimeMs(s: string): number {
  const ms = Date.parse(s.trim().replace(' ', 'T') + 'Z');
  if (!Number.isFinite(ms)) throw new Error(`bad NAB timestamp '${s}'`);
  return ms;
}

/** Files under `root/data/<category>/`; windows from `labelsPath` (default root/labels/combined_windows.json). */
export function loadCorpus(root: string, labelsPath = join(root, 'labels/combined_windows.json')): NabFile[] {
  const labels = JSON.parse(readFileSync(labelsPath, 'utf8')) as Record<string, Array<[string, string]>>;
  const files: NabFile[] = [];
  for (const category of readdirSync(join(root, 'data'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()) {
    for (const name of readdirSync(join(root, 'data', category)).sort()) {
      if (!name.endsWith('.csv')) continue;
      const key = `${category}/${name}`;
      const lines = readFileSync(join(root, 'data', key), 'utf8').split('\n');
      const stamps: string[] = [];
      const ts: number[] = [];
      const value: number[] = [];
      for (let i = 1; i < lines.length; i++) {
        const line = lines[i].trim();
        if (line === '') continue;
        const c = line.indexOf(',');
        stamps.push(line.slice(0, c));
        ts.push(nabTimeMs(line.slice(0, c)));
        value.push(Number(line.slice(c + 1)));
      }
      const windows: Array<[number, number]> = [];
      for (const [a, b] of labels[key] ?? []) {
        const s = nabTimeMs(a);
        const e = nabTimeMs(b);
        let first = -1;
        let lastRow = -1;
        for (let i = 0; i < ts.length; i++) {
          if (ts[i] >= s && first < 0) first = i;
          if (ts[i] <= e) lastRow = i;
        }
        if (first >= 0 && lastRow >= first) windows.push([first, lastRow]);
      }
      files.push({ key, category, ts: Float64Array.from(ts), value: Float64Array.from(value), stamps, windows });
    }
  }
  return files;
}

/** NAB's config/profiles.json (root/config/profiles.json unless a path to the file is given). */
export function loadProfiles(root: string, path = join(root, 'config/profiles.json')): Record<string, Profile> {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, { CostMatrix: Profile }>;
  const out: Record<string, Profile> = {};
  for (const [name, p] of Object.entries(raw)) out[name] = p.CostMatrix;
  return out;
}
