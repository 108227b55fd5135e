// Model-state snapshots at scale: write time, file size, the longest event-loop stall, RSS overhead of
// writing, and restore time, at 100k and 1M scored series.
//
//   node dist/bench/snapshot.js [--series 100000,1000000] [--model auto] [--samples-per-series 4] [--runs 3]
//                               [--writers 5/1024,10/4096]   (writer slice ms / chunk KiB, each in turn)
//
// Per (series count, run) a child process (`node --expose-gc dist/bench/snapshot.js --one N`, so one
// measurement's heap does not weigh on the next) builds bench/load's node_exporter-like series (prometheus
// shape) as real remote_write bodies, decodes and scores them through Scoring.score() (every series scored
// by `model`, labels kept for the snapshot as the proxy does with state.path set), then, per writer
// setting (default: snapshot-write.ts's defaults), after a full GC:
//  - writes the snapshot to a temp dir while a setInterval(1 ms) measures how long the event loop waited at
//    most, and how much of that wait the main thread was not queued for a CPU (/proc schedstat: on a loaded
//    machine most of a long wait is the OS running other processes, whatever this thread does); the GC
//    pauses meanwhile; the writer's own longest synchronous slice; wall time and bytes; peak RSS during the
//    write over the RSS before it (VmHWM after /proc/self/clear_refs "5");
//  - the same loop measures for as long again idle (nothing written: what this process waits for anyway),
//    and spinning in slices of the writer's length (what any busy thread of this process waits for);
//  - after the last setting, restores the file into a fresh scoring unit (read both passes, apply): wall time.
// SNAPBENCH_TRACE=1 prints every wait over 20 ms with the GC, CPU and queued time inside it.
//
// Restore alone (issue 20), A/B against another build on one file:
//   node --expose-gc dist/bench/snapshot.js --write-to DIR --series 1000000   builds the state and writes DIR/scoring.snapshot
//   node dist/bench/snapshot.js --restore DIR/scoring.snapshot [--series N] [--restore-runs 5] [--other DIST] [--sink none|block]
// restores the file --restore-runs times, each in a fresh process (`--restore-one`), alternating with
// the same script compiled in another build's dist/ (--other: its bench/snapshot.js is replaced by
// this one, so the restore there runs that build's scoring code); prints each run's ms and the ratios.
// --sink block restores into the proxy's sink (GeneratedBlock: block plans, tenancy check), as app.ts does.

import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { modelEntry, type ModelConfig } from '../src/config/models.js';
import { writerSchema } from '../src/config/schema.js';
import { GeneratedBlock } from '../src/emit/block.js';
import { TenancyCheck } from '../src/emit/tenancy.js';
import { WriteBatch, WriteRequestDecoder } from '../src/ingest/write-request.js';
import { Registry } from '../src/metrics/registry.js';
import { compileScoring, type ScoringSpec } from '../src/scoring/instances.js';
import type { ScoreSink } from '../src/scoring/output.js';
import { Scoring } from '../src/scoring/scoring.js';
import { SNAPSHOT_FILE } from '../src/scoring/snapshot-format.js';
import { readSnapshot } from '../src/scoring/snapshot-read.js';
import { DEFAULT_CHUNK_BYTES, DEFAULT_SLICE_MS, writeSnapshot } from '../src/scoring/snapshot-write.js';
import { SnappyReader } from '../src/wire/snappy.js';
import { buildPool, materialize } from './load/pool.js';
import { sh } from './procs.js';

const here = path.dirname(fileURLToPath(import.meta.url));

interface Row {
  series: number;
  model: string;
  run: number;
  /** The writer's slice (ms) and chunk (KiB). */
  writer: string;
  scoredSeries: number;
  buildS: number;
  writeMs: number;
  bytes: number;
  bytesPerSeries: number;
  /** The writer's own measure of its longest synchronous stretch. */
  writerMaxSliceMs: number;
  /** Longest wait of the event loop while writing, and of it the part the main thread was not queued for a CPU. */
  eventLoopMaxStallMs: number;
  ownMaxStallMs: number;
  /** Longest GC pause while writing (PerformanceObserver 'gc'). */
  gcPauseMaxMs: number;
  /** The same two for as long again with nothing written (idle), and spinning in the writer's slices (busy). */
  idleMaxStallMs: number;
  idleOwnMaxStallMs: number;
  busyMaxStallMs: number;
  busyOwnMaxStallMs: number;
  rssBeforeMb: number;
  rssPeakDuringWriteMb: number;
  /** Restoring the last writer's file (null on the other rows). */
  restoreMs: number | null;
  restoredSeries: number | null;
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

interface WriterConfig {
  sliceMs: number;
  chunkKiB: number;
}

/** `10/4096,4/1024` -> slice ms / chunk KiB pairs. */
function writerConfigs(spec: string): WriterConfig[] {
  return spec.split(',').map((c) => {
    const [sliceMs, chunkKiB] = c.split('/').map(Number);
    return { sliceMs, chunkKiB };
  });
}

/** The bench's scoring spec: every series scored by `modelClass`. */
function benchSpec(modelClass: string): ScoringSpec {
  const models = { m: modelEntry.parse({ class: modelClass }) as ModelConfig };
  return compileScoring({ bench: { expr: '{__name__=~".+"}', transform: 'none' } }, models);
}

/** A scoring unit that has scored `series` node_exporter-like series, `samplesPerSeries` samples each. */
function buildState(spec: ScoringSpec, series: number, samplesPerSeries: number): Scoring {
  const scoring = new Scoring(spec, { maxSeries: series + 10, keepLabels: true }, new Registry());
  const nowMs = Date.now();
  const pool = buildPool({ series, samplesPerSeries, samplesPerRequest: 2000, intervalMs: 15_000, nowMs });
  const snappy = new SnappyReader();
  const decoder = new WriteRequestDecoder();
  const batch = new WriteBatch();
  for (let i = 0; i < pool.totalRequests; i++) {
    decoder.decode(snappy.decompress(materialize(pool, i), 64 << 20), batch);
    scoring.score(batch, null, nothing, nowMs);
  }
  pool.templates.length = 0;
  return scoring;
}

async function one(series: number, modelClass: string, samplesPerSeries: number, run: number, writers: WriterConfig[]): Promise<Row[]> {
  const spec = benchSpec(modelClass);
  const t0 = performance.now();
  const scoring = buildState(spec, series, samplesPerSeries);
  const buildS = (performance.now() - t0) / 1000;
  gc();
  const dir = mkdtempSync(path.join(tmpdir(), 'anomstream-snapbench-'));
  try {
    const rows: Row[] = [];
    for (const cfg of writers) {
      gc();
      const rssBefore = rssMb('VmRSS');
      writeFileSync('/proc/self/clear_refs', '5'); // VmHWM := VmRSS
      const during = watchLoop();
      const w0 = performance.now();
      const w = await writeSnapshot(scoring, dir, { version: 'bench', nowMs: Date.now(), sliceMs: cfg.sliceMs, chunkBytes: cfg.chunkKiB << 10 });
      const writeMs = performance.now() - w0;
      const loop = await during.stop();
      const rssPeak = rssMb('VmHWM');
      // As long again with nothing written: what the loop waits for in this process on this machine anyway.
      const idle = watchLoop();
      await new Promise((res) => setTimeout(res, writeMs));
      const base = await idle.stop();
      // And as long again busy in slices of the writer's length, spinning: a busy thread on a loaded
      // machine loses the CPU mid-slice, and that lands in every measure of its stalls.
      const spin = watchLoop();
      await spinSlices(writeMs, cfg.sliceMs);
      const busy = await spin.stop();
      if (process.env.SNAPBENCH_TRACE) console.error(JSON.stringify({ series, cfg, during: loop, baseline: base, busy }));
      rows.push({
        series,
        model: modelClass,
        run,
        writer: `${cfg.sliceMs}ms/${cfg.chunkKiB}KiB`,
        scoredSeries: scoring.state.links.live,
        buildS,
        writeMs,
        bytes: w.bytes,
        bytesPerSeries: w.bytes / w.series,
        writerMaxSliceMs: w.maxSliceMs,
        eventLoopMaxStallMs: loop.maxStallMs,
        ownMaxStallMs: loop.maxOwnMs,
        gcPauseMaxMs: loop.gcMaxMs,
        idleMaxStallMs: base.maxStallMs,
        idleOwnMaxStallMs: base.maxOwnMs,
        busyMaxStallMs: busy.maxStallMs,
        busyOwnMaxStallMs: busy.maxOwnMs,
        rssBeforeMb: rssBefore,
        rssPeakDuringWriteMb: rssPeak,
        restoreMs: null,
        restoredSeries: null,
      });
    }
    gc();
    const restored = new Scoring(spec, { maxSeries: series + 10, keepLabels: true }, new Registry());
    const r0 = performance.now();
    const r = readSnapshot(restored, path.join(dir, SNAPSHOT_FILE), nothing, { idleTimeoutMs: 3_600_000 });
    rows[rows.length - 1].restoreMs = performance.now() - r0;
    rows[rows.length - 1].restoredSeries = r.series;
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Build the state of `series` series and write it to dir/scoring.snapshot (kept). */
async function writeOnly(series: number, modelClass: string, samplesPerSeries: number, dir: string): Promise<void> {
  const scoring = buildState(benchSpec(modelClass), series, samplesPerSeries);
  mkdirSync(dir, { recursive: true });
  const w = await writeSnapshot(scoring, dir, { version: 'bench', nowMs: Date.now() });
  console.log(JSON.stringify({ file: path.join(dir, SNAPSHOT_FILE), series: w.series, bytes: w.bytes }));
}

/** Restore `file` once into a fresh scoring unit (the bench's spec): ms, series restored and a digest of the state. */
function restoreOne(file: string, series: number, modelClass: string, sinkName: string): { ms: number; series: number; rssMb: number; digest: string } {
  const spec = benchSpec(modelClass);
  const restored = new Scoring(spec, { maxSeries: series + 10, keepLabels: true }, new Registry());
  // `block`: the proxy's sink (app.ts restores into the emitter's block: each series planned, its tenancy checked).
  const sink = sinkName === 'block' ? new GeneratedBlock(writerSchema.parse({ datasource_url: 'http://127.0.0.1:1' }), spec.instances, new TenancyCheck(new Registry(), pino({ level: 'silent' }))) : nothing;
  gc();
  const r0 = performance.now();
  const r = readSnapshot(restored, file, sink, { idleTimeoutMs: 3_600_000_000 });
  const ms = performance.now() - r0;
  // A digest of the restored model state (same file, same code path: both builds must agree).
  const st = restored.state;
  let h = 0x811c9dc5;
  for (const inst of st.instances) {
    const u = new Uint32Array(inst.state.buffer, inst.state.byteOffset, inst.used * inst.slots * 2);
    for (let i = 0; i < u.length; i++) h = Math.imul(h ^ u[i], 0x01000193);
    h = Math.imul(h ^ inst.ready, 0x01000193);
  }
  // Not the idle clock (seenAt): it depends on the wall time of the restore.
  for (let id = 0; id < st.index.end; id++) {
    for (let k = st.links.first[id]; k >= 0; k = st.links.next[k]) {
      h = Math.imul(h ^ st.links.offset[k], 0x01000193);
      h = Math.imul(h ^ (st.links.prevTs[k] | 0), 0x01000193);
    }
  }
  return { ms, series: r.series, rssMb: rssMb('VmRSS'), digest: (h >>> 0).toString(16) };
}

interface Stall {
  /** When the loop got its turn again (ms since the watch started), and how long it had waited. */
  atMs: number;
  ms: number;
  /** GC pause time (ms) inside that wait. */
  gcMs: number;
  /** The main thread's time on a CPU, and waiting for one (runnable, the OS ran others), inside that wait. */
  runMs: number;
  queuedMs: number;
}

interface LoopWatch {
  maxStallMs: number;
  /** Longest wait less the time the main thread spent in it runnable but queued for a CPU. */
  maxOwnMs: number;
  stalls: Stall[];
  gcMaxMs: number;
  gcCount: number;
}

const schedstat = `/proc/self/task/${process.pid}/schedstat`;

/** The main thread's [time on a CPU, time runnable waiting for a CPU] so far (ms; /proc schedstat). */
function mainThreadSched(): [number, number] {
  const f = readFileSync(schedstat, 'latin1').split(' ');
  return [Number(f[0]) / 1e6, Number(f[1]) / 1e6];
}

/**
 * How long the event loop waited at most (a 1 ms setInterval's lateness), and how long less
 * the time the main thread was runnable but the OS ran something else (/proc schedstat: on a
 * loaded machine that is most of a long wait, whatever the thread does), the GC pauses
 * meanwhile, and every wait over 20 ms with the GC, CPU and queued time inside it.
 */
function watchLoop(): { stop(): Promise<LoopWatch> } {
  const t0 = performance.now();
  const gcs: { start: number; end: number }[] = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push({ start: e.startTime, end: e.startTime + e.duration });
  });
  obs.observe({ entryTypes: ['gc'] });
  const waits: { from: number; to: number; runMs: number; queuedMs: number }[] = [];
  let max = 0;
  let maxOwn = 0;
  let last = performance.now();
  let [lastRun, lastQueued] = mainThreadSched();
  const tick = setInterval(() => {
    const now = performance.now();
    const [run, queued] = mainThreadSched();
    const wait = now - last - 1;
    if (wait > max) max = wait;
    if (wait - (queued - lastQueued) > maxOwn) maxOwn = wait - (queued - lastQueued);
    if (wait > 20) waits.push({ from: last, to: now, runMs: run - lastRun, queuedMs: queued - lastQueued });
    last = now;
    lastRun = run;
    lastQueued = queued;
  }, 1);
  return {
    async stop(): Promise<LoopWatch> {
      clearInterval(tick);
      await new Promise((res) => setImmediate(res)); // the observer's last entries
      obs.disconnect();
      const stalls = waits.map((w) => ({
        atMs: w.to - t0,
        ms: w.to - w.from - 1,
        runMs: w.runMs,
        queuedMs: w.queuedMs,
        gcMs: gcs.reduce((sum, g) => sum + Math.max(0, Math.min(g.end, w.to) - Math.max(g.start, w.from)), 0),
      }));
      const inside = gcs.filter((g) => g.start >= t0);
      return { maxStallMs: max, maxOwnMs: maxOwn, stalls, gcMaxMs: inside.reduce((m, g) => Math.max(m, g.end - g.start), 0), gcCount: inside.length };
    },
  };
}

/** Keeps the thread busy for `totalMs`, `sliceMs` at a time, yielding to the event loop in between. */
async function spinSlices(totalMs: number, sliceMs: number): Promise<void> {
  const end = performance.now() + totalMs;
  while (performance.now() < end) {
    const stop = performance.now() + sliceMs;
    while (performance.now() < stop);
    await new Promise((res) => setImmediate(res));
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
  const writers = arg(argv, '--writers', `${DEFAULT_SLICE_MS}/${DEFAULT_CHUNK_BYTES >> 10}`);
  if (argv.includes('--write-to')) {
    await writeOnly(Number(arg(argv, '--series', '1000000')), model, samples, arg(argv, '--write-to', ''));
  } else if (argv.includes('--restore-one')) {
    console.log(JSON.stringify(restoreOne(arg(argv, '--restore-one', ''), Number(arg(argv, '--series', '1000000')), model, arg(argv, '--sink', 'none'))));
  } else if (argv.includes('--restore')) {
    const file = arg(argv, '--restore', '');
    const runs = Number(arg(argv, '--restore-runs', '5'));
    const other = arg(argv, '--other', '');
    const series = arg(argv, '--series', '1000000');
    const builds: [string, string][] = [['this', here]];
    if (other !== '') {
      copyFileSync(path.join(here, 'snapshot.js'), path.join(other, 'bench', 'snapshot.js'));
      builds.unshift(['other', path.join(other, 'bench')]);
    }
    console.log(`${new Date().toISOString()}; node ${process.version}; restore ${argv.join(' ')}\n`);
    const ms: Record<string, number[]> = { this: [], other: [] };
    for (let run = 1; run <= runs; run++) {
      for (const [name, dir] of builds) {
        const out = execFileSync(
          process.execPath,
          ['--expose-gc', '--max-old-space-size=8192', path.join(dir, 'snapshot.js'), '--restore-one', file, '--series', series, '--model', model, '--sink', arg(argv, '--sink', 'none')],
          {
            encoding: 'utf8',
            maxBuffer: 1 << 20,
          },
        );
        const got = JSON.parse(out.trim().split('\n').pop()!) as ReturnType<typeof restoreOne>;
        ms[name].push(got.ms);
        console.log(`run ${run} ${name}: ${got.ms.toFixed(0)} ms, ${got.series} series, RSS ${got.rssMb.toFixed(0)} MB, state digest ${got.digest}`);
      }
    }
    if (other !== '') {
      const ratios = ms.other.map((o, i) => o / ms.this[i]);
      const med = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1];
      console.log(`other/this per run: ${ratios.map((x) => x.toFixed(2)).join(' ')}; median ${med(ratios).toFixed(2)} (range ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`);
      console.log(`median ms: other ${med(ms.other).toFixed(0)}, this ${med(ms.this).toFixed(0)}`);
    }
  } else if (argv.includes('--one')) {
    const rows = await one(Number(arg(argv, '--one', '100000')), model, samples, Number(arg(argv, '--run', '1')), writerConfigs(writers));
    console.log(JSON.stringify(rows));
  } else {
    const counts = arg(argv, '--series', '100000,1000000').split(',').map(Number);
    const runs = Number(arg(argv, '--runs', '3'));
    console.log(`${new Date().toISOString()}; node ${process.version}; anomstream ${sh('git', ['rev-parse', '--short', 'HEAD'])}; snapshot ${argv.join(' ')}\n`);
    const rows: Row[] = [];
    for (let run = 1; run <= runs; run++) {
      for (const n of counts) {
        const out = execFileSync(
          process.execPath,
          ['--expose-gc', '--max-old-space-size=8192', path.join(here, 'snapshot.js'), '--one', String(n), '--model', model, '--samples-per-series', String(samples), '--run', String(run), '--writers', writers],
          { encoding: 'utf8', maxBuffer: 1 << 20 },
        );
        const got = JSON.parse(out.trim().split('\n').pop()!) as Row[];
        for (const row of got) console.error(JSON.stringify(row));
        rows.push(...got);
      }
    }
    const f = (x: number | null): string => (x === null ? '-' : x.toFixed(0));
    const f1 = (x: number): string => x.toFixed(1);
    console.log(
      '| series | run | writer (slice/chunk) | write ms | B/series | writer max slice ms | loop max stall ms | of it not queued for a CPU ms | idle: max stall (not queued) ms | busy: max stall (not queued) ms | GC max ms | RSS before MB | peak RSS during write MB (+MB) | restore ms |',
    );
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const r of rows) {
      console.log(
        `| ${r.series} | ${r.run} | ${r.writer} | ${f(r.writeMs)} | ${f(r.bytesPerSeries)} | ${f1(r.writerMaxSliceMs)} | ${f1(r.eventLoopMaxStallMs)} | ${f1(r.ownMaxStallMs)} | ${f1(r.idleMaxStallMs)} (${f1(r.idleOwnMaxStallMs)}) | ${f1(r.busyMaxStallMs)} (${f1(r.busyOwnMaxStallMs)}) | ${f1(r.gcPauseMaxMs)} | ${f(r.rssBeforeMb)} | ${f(r.rssPeakDuringWriteMb)} (+${f1(r.rssPeakDuringWriteMb - r.rssBeforeMb)}) | ${f(r.restoreMs)} |`,
      );
    }
  }
}
