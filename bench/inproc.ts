/**
 * The proxy's per-sample work in one process, without HTTP: bench/load's pool (10,000 series, the
 * requests of every round) through snappy decompress, WriteRequest decode, the scoring unit
 * (series index, links, the default model) and the generated-series encoder, as the pipeline runs
 * them. Each variant adds one stage to the one before, so the differences are the stages' costs on
 * the same requests, with the model state and the index at the size they have in bench/compare:
 *
 *   decompress            snappy only
 *   + decode              WriteRequest into the batch
 *   + score, no output    Scoring.score into a sink that writes nothing (hash, index, model)
 *   + encode              Scoring.score into the proxy's GeneratedBlock, body() and recycle per block
 *   model only            Scorer.update per series in request order, on the same state layout
 *
 *   node dist/bench/inproc.js [--shapes prometheus,vmagent] [--series 10000] [--rounds 300] [--warm 60] [--reps 5]
 *     [--variants decompress,decode,score,encode,model] [--gap-ms 0] [--gap-every 1]
 *
 * Each (rep, variant) runs in a fresh process (call sites see one sink, as in the proxy); variants
 * alternate rep by rep (the machine is shared); each prints the median (min) CPU ns (user +
 * system, so time the process waits for a core does not count) per raw sample over the timed rounds (rounds warm..rounds; the first `warm` rounds create the series and
 * warm the JIT), and the heap bytes allocated per raw sample over the same rounds (garbage, see
 * bench/heap-bytes.ts; a boxed double is 16 bytes).
 * --gap-ms G: the thread sleeps G ms (a futex wait, as an idle event loop does) before each timed
 * request, as in a proxy offered less than it can take; the sleeps cost no CPU themselves, so the
 * difference to --gap-ms 0 is what the same work costs more when it resumes after an idle gap
 * (bench/RESULTS.md "Issue 20 (session 6): why a sample costs more at a lower rate"). --gap-every N
 * sleeps before every Nth request only (the same idle time in fewer, longer sleeps: --gap-ms 50
 * --gap-every 5 against --gap-ms 10 asks whether batching requests into fewer wake-ups helps).
 * INPROC_MODEL=class and INPROC_EXPR=selector (default every series) change the scored model and query.
 * Run it under `flock /work/wt/bench.lock` and `taskset -c 0` like the other benches.
 */
import { WriteBatch, WriteRequestDecoder } from '../src/ingest/write-request.js';
import { compileScoring } from '../src/scoring/instances.js';
import { modelEntry } from '../src/config/models.js';
import { Scoring } from '../src/scoring/scoring.js';
import { Registry } from '../src/metrics/registry.js';
import { SnappyReader } from '../src/wire/snappy.js';
import { GeneratedBlock } from '../src/emit/block.js';
import type { GeneratedEncoder } from '../src/emit/encoder.js';
import { encodeLabels, formatLabels } from '../src/emit/format.js';
import { TenancyCheck } from '../src/emit/tenancy.js';
import { writerSchema } from '../src/config/schema.js';
import { Prediction } from '../src/models/model.js';
import type { Scorer } from '../src/models/scorer.js';
import type { OutputRows, ScoreSink } from '../src/scoring/output.js';
import { buildPool, materialize } from './load/pool.js';
import { HeapBytes } from './heap-bytes.js';
import { parseShape, type Shape } from './load/labels.js';
import { pino } from 'pino';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

interface Args {
  shapes: Shape[];
  series: number;
  rounds: number;
  warm: number;
  reps: number;
  variants: Variant[];
  child: boolean;
  gapMs: number;
  gapEvery: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { shapes: ['prometheus', 'vmagent'], series: 10_000, rounds: 300, warm: 60, reps: 5, variants: VARIANTS, child: false, gapMs: 0, gapEvery: 1 };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i];
    const v = argv[i + 1] ?? '';
    if (k === '--shapes') a.shapes = v.split(',').map(parseShape);
    else if (k === '--series') a.series = Number(v);
    else if (k === '--rounds') a.rounds = Number(v);
    else if (k === '--warm') a.warm = Number(v);
    else if (k === '--reps') a.reps = Number(v);
    else if (k === '--child') a.child = v === '1';
    else if (k === '--variants') a.variants = v.split(',') as Variant[];
    else if (k === '--gap-ms') a.gapMs = Number(v);
    else if (k === '--gap-every') a.gapEvery = Number(v);
    else throw new Error(`unknown option '${k}'`);
  }
  if (!(a.warm >= 1 && a.rounds > a.warm)) throw new Error('--rounds must exceed --warm >= 1');
  if (!(a.gapMs >= 0 && a.gapMs <= 1000)) throw new Error('--gap-ms: expected 0 to 1000');
  if (!(Number.isInteger(a.gapEvery) && a.gapEvery >= 1)) throw new Error('--gap-every: expected an integer >= 1');
  return a;
}

/** A sink that takes the rows and writes nothing. */
class NullSink implements ScoreSink {
  n = 0;
  beginBatch(): void {}
  seriesAdded(): void {}
  rows(_b: WriteBatch, _s: number, _id: number, _first: boolean, _inst: number, _out: OutputRows, _from: number, n: number): void {
    this.n += n;
  }
}

const SPEC = () =>
  compileScoring({ bench: { expr: process.env.INPROC_EXPR ?? '{__name__=~".+"}' } } as never, process.env.INPROC_MODEL ? ({ m: modelEntry.parse({ class: process.env.INPROC_MODEL }) } as never) : undefined);
const WRITER = writerSchema.parse({ datasource_url: 'http://127.0.0.1:1' });
const log = pino({ level: 'silent' });

type Variant = 'decompress' | 'decode' | 'score' | 'encode' | 'model' | 'encoder';
/** Atomics.wait on a cell nobody notifies: a plain sleep of the thread. */
const SLEEP_CELL = new Int32Array(new SharedArrayBuffer(4));
const VARIANTS: Variant[] = ['decompress', 'decode', 'score', 'encode', 'model'];

/** CPU ns and heap bytes allocated per raw sample over rounds [warm, rounds) of one fresh run of `v`. */
function runVariant(v: Variant, bodies: Uint8Array[], perRound: number, a: Args): [number, number] {
  const sn = new SnappyReader();
  const dec = new WriteRequestDecoder();
  const batch = new WriteBatch();
  const spec = SPEC();
  const scoring = new Scoring(spec, { maxSeries: 1 << 24 }, new Registry());
  const block = new GeneratedBlock(WRITER, spec.instances, new TenancyCheck(new Registry(), log));
  const nul = new NullSink();
  const sink: ScoreSink = v === 'encode' ? block : nul;
  const enc = block.encoder;
  let samples = 0;
  let t0 = 0;
  const heap = new HeapBytes();
  const pred = new Prediction();
  for (let r = 0; r < a.rounds; r++) {
    if (r === a.warm) {
      samples = 0;
      heap.start();
      t0 = cpuNs();
    }
    if (v === 'encode' || v === 'encoder') enc.reset();
    for (let q = 0; q < perRound; q++) {
      if (a.gapMs > 0 && r >= a.warm && (r * perRound + q) % a.gapEvery === 0) Atomics.wait(SLEEP_CELL, 0, 0, a.gapMs);
      const body = bodies[r * perRound + q];
      const raw = sn.decompress(body, 1 << 25);
      if (v === 'decompress') {
        samples += a.series / perRound;
        continue;
      }
      dec.decode(raw, batch);
      samples += batch.sampleCount;
      if (v === 'decode') continue;
      if (v === 'encoder') {
        encoderOnly(enc, batch, q * batch.seriesCount, r === 0);
        continue;
      }
      if (v === 'model' && r >= a.warm) {
        modelOnly(scoring, spec.instances[0].scorer, batch, q * batch.seriesCount, pred);
        continue;
      }
      scoring.score(batch, null, sink);
    }
    if (v === 'encode' || v === 'encoder') enc.recycle(enc.body());
  }
  const ns = (cpuNs() - t0) / samples;
  return [ns, heap.stop() / samples];
}

/** Scorer.update for every sample, series ids in request order (as score() finds them), nothing else. */
function modelOnly(scoring: Scoring, scorer: Scorer, batch: WriteBatch, base: number, pred: Prediction): void {
  const links = scoring.state.links;
  const state = scoring.state.instances[0].state;
  // ids are handed out in first-seen order: series s of request q of a round has id q * 2000 + s
  for (let s = 0; s < batch.seriesCount; s++) {
    const id = base + s;
    const k = links.first[id];
    const i = batch.smpFirst[s];
    pred.t = batch.ts[i];
    pred.y = batch.value[i];
    scorer.update(state, links.offset[k], pred);
  }
}

/** This process' CPU time (user + system) in ns: descheduled time on the shared machine does not count. */
function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

const TS = new Float64Array(1);
const VALS = [0, 1, 2, 3].map((v) => Float64Array.of(v + 0.5));
const PREFIXES = ['anomaly_score', 'yhat', 'yhat_lower', 'yhat_upper'].map((v) => encodeLabels(formatLabels(WRITER.metric_format, v, 'bench', null)));

/** The encoder alone, as GeneratedBlock drives it for one instance writing 4 outputs (ids in request order). */
function encoderOnly(enc: GeneratedEncoder, batch: WriteBatch, base: number, plan: boolean): void {
  enc.newBatch();
  for (let s = 0; s < batch.seriesCount; s++) {
    if (plan) enc.plan(batch, s, base + s);
    enc.beginSeries(batch, s, base + s);
    TS[0] = batch.ts[batch.smpFirst[s]];
    enc.timestamps(TS, 1);
    for (let v = 0; v < 4; v++) enc.writeSeries(v, PREFIXES[v], VALS[v]);
  }
}

function median(x: number[]): number {
  const s = [...x].sort((p, q) => p - q);
  return s[Math.floor(s.length / 2)];
}

const a = parseArgs(process.argv.slice(2));
if (a.child) {
  // One variant in a fresh process: call sites see only its sink, as in the proxy.
  const shape = a.shapes[0];
  const pool = buildPool({ series: a.series, samplesPerSeries: a.rounds, samplesPerRequest: 2000, intervalMs: 10_000, nowMs: Date.now(), shape });
  const bodies: Uint8Array[] = [];
  for (let i = 0; i < pool.totalRequests; i++) bodies.push(materialize(pool, i));
  process.stdout.write(runVariant(a.variants[0], bodies, pool.requestsPerRound, a).join(' '));
} else {
  const self = fileURLToPath(import.meta.url);
  for (const shape of a.shapes) {
    const res = new Map<Variant, number[]>(a.variants.map((v) => [v, []]));
    const bytes = new Map<Variant, number[]>(a.variants.map((v) => [v, []]));
    for (let rep = 0; rep < a.reps; rep++)
      for (const v of a.variants) {
        const args = [
          ...process.execArgv,
          self,
          '--child',
          '1',
          '--shapes',
          shape,
          '--variants',
          v,
          '--series',
          String(a.series),
          '--rounds',
          String(a.rounds),
          '--warm',
          String(a.warm),
          '--gap-ms',
          String(a.gapMs),
          '--gap-every',
          String(a.gapEvery),
        ];
        const [ns, b] = execFileSync(process.execPath, args, { encoding: 'utf8' }).split(' ').map(Number);
        res.get(v)!.push(ns);
        bytes.get(v)!.push(b);
      }
    console.log(
      `${shape}: ${a.series} series, rounds ${a.warm}..${a.rounds}, ${a.reps} reps${a.gapMs > 0 ? `, ${a.gapMs} ms asleep before every ${a.gapEvery > 1 ? `${a.gapEvery}th ` : ''}timed request` : ''}; CPU ns per raw sample, median (min); heap bytes allocated per raw sample, median`,
    );
    const med = new Map<Variant, number>();
    let prev = 0;
    for (const v of a.variants) {
      const m = median(res.get(v)!);
      med.set(v, m);
      // model: decompress + decode + the model loop, so its stage is measured against decode
      const d = v === 'model' ? m - (med.get('decode') ?? 0) : m - prev;
      console.log(`  ${v.padEnd(12)} ${m.toFixed(1).padStart(7)} (${Math.min(...res.get(v)!).toFixed(1)})   stage ${d.toFixed(1)}   ${median(bytes.get(v)!).toFixed(1)} B`);
      if (v !== 'model') prev = m;
    }
  }
}
