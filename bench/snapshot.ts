// Model-state snapshots at scale: write time, file size, the longest event-loop stall, RSS overhead of
// writing, and restore time, at 100k and 1M scored series.
//
//   node dist/bench/snapshot.js [--series 100000,1000000] [--model auto] [--samples-per-series 4] [--runs 3]
//
// Per (series count, run) a child process (`node --expose-gc dist/bench/snapshot.js --one N`, so one
// measurement's heap does not weigh on the next) builds bench/load's node_exporter-like series (prometheus
// shape) as real remote_write bodies, decodes and scores them through Scoring.score() (every series scored
// by `model`, labels kept for the snapshot as the proxy does with state.path set), then, after a full GC:
//  - writes the snapshot with snapshot-write.ts's defaults (10 ms slices, a 4 MiB buffer) to a temp dir,
//    while a setInterval(1 ms) measures how long the event loop was held at most (and the writer reports
//    its longest slice); wall time and bytes; peak RSS during the write over the RSS before it (VmHWM
//    after /proc/self/clear_refs "5");
//  - restores it into a fresh scoring unit (read both passes, apply), wall time and RSS after (the new
//    state, as a start-up would have it).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { modelEntry, type ModelConfig } from '../src/config/models.js';
import { WriteBatch, WriteRequestDecoder } from '../src/ingest/write-request.js';
import { Registry } from '../src/metrics/registry.js';
import { compileScoring } from '../src/scoring/instances.js';
import type { ScoreSink } from '../src/scoring/output.js';
import { Scoring } from '../src/scoring/scoring.js';
import { SNAPSHOT_FILE } from '../src/scoring/snapshot-format.js';
import { readSnapshot } from '../src/scoring/snapshot-read.js';
import { writeSnapshot } from '../src/scoring/snapshot-write.js';
import { SnappyReader } from '../src/wire/snappy.js';
import { buildPool, materialize } from './load/pool.js';
import { sh } from './procs.js';

const here = path.dirname(fileURLToPath(import.meta.url));

interface Row {
  series: number;
  model: string;
  run: number;
  scoredSeries: number;
  buildS: number;
  writeMs: number;
  bytes: number;
  bytesPerSeries: number;
  writerMaxSliceMs: number;
  eventLoopMaxStallMs: number;
  rssBeforeMb: number;
  rssPeakDuringWriteMb: number;
  restoreMs: number;
  restoredSeries: number;
}

const nothing: ScoreSink = { beginBatch() {}, seriesAdded() {}, rows() {} };

function rssMb(field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
}

async function one(series: number, modelClass: string, samplesPerSeries: number, run: number): Promise<Row> {
  const models = { m: modelEntry.parse({ class: modelClass }) as ModelConfig };
  const spec = compileScoring({ bench: { expr: '{__name__=~".+"}', transform: 'none' } }, models);
  const scoring = new Scoring(spec, { maxSeries: series + 10, keepLabels: true }, new Registry());
  const t0 = performance.now();
  const nowMs = Date.now();
  const pool = buildPool({ series, samplesPerSeries, samplesPerRequest: 2000, intervalMs: 15_000, nowMs });
  const snappy = new SnappyReader();
  const decoder = new WriteRequestDecoder();
  const batch = new WriteBatch();
  for (let i = 0; i < pool.totalRequests; i++) {
    decoder.decode(snappy.decompress(materialize(pool, i), 64 << 20), batch);
    scoring.score(batch, null, nothing, nowMs);
  }
  const buildS = (performance.now() - t0) / 1000;
  pool.templates.length = 0;
  gc();
  const dir = mkdtempSync(path.join(tmpdir(), 'anomstream-snapbench-'));
  try {
    const rssBefore = rssMb('VmRSS');
    writeFileSync('/proc/self/clear_refs', '5'); // VmHWM := VmRSS
    let stall = 0;
    let last = performance.now();
    const tick = setInterval(() => {
      const now = performance.now();
      stall = Math.max(stall, now - last - 1);
      last = now;
    }, 1);
    const w0 = performance.now();
    const w = await writeSnapshot(scoring, dir, { version: 'bench', nowMs: Date.now() });
    const writeMs = performance.now() - w0;
    clearInterval(tick);
    const rssPeak = rssMb('VmHWM');
    const restored = new Scoring(spec, { maxSeries: series + 10, keepLabels: true }, new Registry());
    const r0 = performance.now();
    const r = readSnapshot(restored, path.join(dir, SNAPSHOT_FILE), nothing, { idleTimeoutMs: 3_600_000 });
    const restoreMs = performance.now() - r0;
    return {
      series,
      model: modelClass,
      run,
      scoredSeries: scoring.state.links.live,
      buildS,
      writeMs,
      bytes: w.bytes,
      bytesPerSeries: w.bytes / w.series,
      writerMaxSliceMs: w.maxSliceMs,
      eventLoopMaxStallMs: stall,
      rssBeforeMb: rssBefore,
      rssPeakDuringWriteMb: rssPeak,
      restoreMs,
      restoredSeries: r.series,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function arg(argv: string[], name: string, dflt: string): string {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  const model = arg(argv, '--model', 'auto');
  const samples = Number(arg(argv, '--samples-per-series', '4'));
  if (argv.includes('--one')) {
    const row = await one(Number(arg(argv, '--one', '100000')), model, samples, Number(arg(argv, '--run', '1')));
    console.log(JSON.stringify(row));
  } else {
    const counts = arg(argv, '--series', '100000,1000000').split(',').map(Number);
    const runs = Number(arg(argv, '--runs', '3'));
    console.log(`${new Date().toISOString()}; node ${process.version}; anomstream ${sh('git', ['rev-parse', '--short', 'HEAD'])}; snapshot ${argv.join(' ')}\n`);
    const rows: Row[] = [];
    for (let run = 1; run <= runs; run++) {
      for (const n of counts) {
        const out = execFileSync(
          process.execPath,
          ['--expose-gc', '--max-old-space-size=8192', path.join(here, 'snapshot.js'), '--one', String(n), '--model', model, '--samples-per-series', String(samples), '--run', String(run)],
          { encoding: 'utf8', maxBuffer: 1 << 20 },
        );
        const row = JSON.parse(out.trim().split('\n').pop()!) as Row;
        console.error(JSON.stringify(row));
        rows.push(row);
      }
    }
    console.log('| series | model | run | write ms | bytes | B/series | writer max slice ms | event-loop max stall ms | RSS before MB | peak RSS during write MB (+MB) | restore ms |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const r of rows) {
      console.log(
        `| ${r.series} | ${r.model} | ${r.run} | ${r.writeMs.toFixed(0)} | ${r.bytes} | ${r.bytesPerSeries.toFixed(0)} | ${r.writerMaxSliceMs.toFixed(1)} | ${r.eventLoopMaxStallMs.toFixed(1)} | ${r.rssBeforeMb.toFixed(0)} | ${r.rssPeakDuringWriteMb.toFixed(0)} (+${(r.rssPeakDuringWriteMb - r.rssBeforeMb).toFixed(1)}) | ${r.restoreMs.toFixed(0)} |`,
      );
    }
  }
}
