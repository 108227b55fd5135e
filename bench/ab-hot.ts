/**
 * In-process A/B of the hot path: decode (snappy + WriteRequest) + score + encode of one request
 * (2,000 node_cpu series x 1 sample, the micro-hot body, values moving on every request), this
 * checkout's build against git revision REV's, both loaded in one process and run in alternating
 * rounds. CPU time per sample (process.cpuUsage, so a preempted round is not counted as slower).
 * As the receiver runs it: the configured limits (defaults: limits.max_series_per_request,
 * max_samples_per_request, max_labels_per_series, max_label_name/value_len) and, in a tree that
 * has them, ingest's request slot counted in server.max_memory_bytes.
 *
 *   node dist/bench/ab-hot.js --baseline REV [--model auto] [--rounds 30] [--processes 2]
 *
 * The tree loaded second runs a few per cent faster in the same process (an A/A of one tree
 * against a copy of itself gave 0.94), so each process pair loads them in both orders and the
 * headline is the geometric mean of this/REV over all processes (the bias cancels).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import protobuf from 'protobufjs';
import snappy from 'snappyjs';
import { nodeCpuLabels } from './node-cpu.js';
import pino from 'pino';

const root = fileURLToPath(new URL('../..', import.meta.url));
const N = 2000;
const ITERS = 200;
const BODIES = 64;
const T0 = 1_790_000_000_000;

function bodies(): Uint8Array[] {
  const WR = protobuf.loadSync(path.join(root, 'proto', 'remote.proto')).lookupType('prometheus.WriteRequest');
  return Array.from({ length: BODIES }, (_, k) => {
    const timeseries = Array.from({ length: N }, (_, i) => ({
      labels: nodeCpuLabels(i),
      samples: [{ value: 50 + ((i * 7 + k * 13) % 11) + (k % 97 === 50 && i % 100 === 0 ? 40 : 0), timestamp: T0 + k * 15_000 }],
    }));
    return snappy.compress(WR.encode(WR.fromObject({ timeseries })).finish());
  });
}

/** One tree's pipeline stages, built from its dist/ (a tree of another revision may differ in types: used structurally). */
async function tree(dir: string, model: string, reqs: Uint8Array[]): Promise<() => number> {
  const load = async <T>(p: string): Promise<T> => (await import(pathToFileURL(path.join(dir, 'dist/src', p)).href)) as T;
  const { parseConfig } = await load<typeof import('../src/config/load.js')>('config/load.js');
  const { compileScoring } = await load<typeof import('../src/scoring/instances.js')>('scoring/instances.js');
  const { Scoring } = await load<typeof import('../src/scoring/scoring.js')>('scoring/scoring.js');
  const { Emitter } = await load<typeof import('../src/emit/emitter.js')>('emit/emitter.js');
  const { Registry } = await load<typeof import('../src/metrics/registry.js')>('metrics/registry.js');
  const { WriteBatch, WriteRequestDecoder } = await load<typeof import('../src/ingest/write-request.js')>('ingest/write-request.js');
  const { SnappyReader } = await load<typeof import('../src/wire/snappy.js')>('wire/snappy.js');
  const cfg = parseConfig({ reader: { queries: { cpu: 'node_cpu_seconds_total' } }, models: { m: model === 'auto' ? {} : { class: model } }, writer: { datasource_url: 'http://127.0.0.1:1' } });
  const spec = compileScoring(cfg.reader.queries, cfg.models);
  const registry = new Registry();
  const l = cfg.limits;
  const scoring = new Scoring(spec, { maxSeries: 100_000 }, registry, { maxLabels: l.max_labels_per_series, maxNameLen: l.max_label_name_len, maxValueLen: l.max_label_value_len });
  const sink = { name: 'none', send: () => Promise.resolve({ outcome: 'accepted' as const, status: 204, reason: '' }) };
  const emit = new Emitter(cfg.writer, spec.instances, sink, registry, pino({ level: 'silent' }));
  const decoder = new WriteRequestDecoder({ maxSeries: l.max_series_per_request, maxSamples: l.max_samples_per_request });
  const limit = 1 << 26;
  // As ingest decodes (issue 17 on): into a request slot counted in server.max_memory_bytes, its
  // growth taken before decompressing and settled after. A tree from before has no slots.
  const slot = await requestSlot(dir);
  const reader = slot?.reader ?? new SnappyReader();
  const batch = slot?.slot.batch ?? new WriteBatch();
  let k = 0;
  return () => {
    const c0 = process.cpuUsage();
    for (let it = 0; it < ITERS; it++, k++) {
      const body = reqs[k % BODIES];
      if (slot && !slot.reserve(body, limit)) throw new Error('server.max_memory_bytes refused a request');
      decoder.decode(reader.decompress(body, limit), batch);
      slot?.slot.settle();
      const lap = Math.floor(k / BODIES); // later laps: the same bodies, timestamps moved on
      if (lap > 0) for (let i = 0; i < batch.sampleCount; i++) batch.ts[i] += lap * BODIES * 15_000;
      scoring.score(batch, null, emit.begin(), Date.now());
    }
    const c = process.cpuUsage(c0);
    return ((c.user + c.system) * 1000) / ITERS / N;
  };
}

/** A request slot of `dir`'s ingest (Accepted) with its snappy reader, as ingest uses them; null when the tree has none. */
async function requestSlot(dir: string) {
  const load = async <T>(p: string): Promise<Partial<T>> => (await import(pathToFileURL(path.join(dir, 'dist/src', p)).href).catch(() => ({}))) as Partial<T>;
  const { Accepted } = await load<typeof import('../src/ingest/ingest.js')>('ingest/ingest.js');
  const { MemoryBudget } = await load<typeof import('../src/ingest/budget.js')>('ingest/budget.js');
  const { SNAPPY } = await load<typeof import('../src/ingest/encodings.js')>('ingest/encodings.js');
  if (Accepted === undefined || MemoryBudget === undefined || SNAPPY === undefined) return null;
  const slot = new Accepted(new MemoryBudget(1 << 30));
  const reader = slot.decompressor(SNAPPY);
  return { slot, reader, reserve: (body: Uint8Array, limit: number): boolean => slot.reserveFor(SNAPPY, reader, body, limit) };
}

async function worker(a: string, b: string, model: string, rounds: number): Promise<void> {
  const reqs = bodies();
  const runA = await tree(a, model, reqs);
  const runB = await tree(b, model, reqs);
  for (let i = 0; i < 5; i++) {
    runA();
    runB();
  }
  const ra: number[] = [];
  const rb: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // Alternate which goes first within the round too.
    if (r % 2 === 0) {
      ra.push(runA());
      rb.push(runB());
    } else {
      rb.push(runB());
      ra.push(runA());
    }
  }
  console.log(JSON.stringify({ a: ra, b: rb }));
}

const median = (x: number[]): number => [...x].sort((p, q) => p - q)[x.length >> 1];

function main(argv: string[]): void {
  const opt = (name: string, def: string): string => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : def;
  };
  const model = opt('model', 'auto');
  const rounds = Number(opt('rounds', '30'));
  if (argv.includes('--worker')) return void worker(opt('a', ''), opt('b', ''), model, rounds);
  const rev = opt('baseline', '');
  if (!rev) throw new Error('--baseline REV is required');
  const processes = Number(opt('processes', '2'));
  const tmp = mkdtempSync(path.join(tmpdir(), 'ab-hot-'));
  try {
    const base = path.join(tmp, 'baseline');
    execFileSync('sh', ['-c', 'mkdir "$2" && git archive "$1" | tar -x -C "$2"', 'sh', rev, base], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    symlinkSync(path.join(root, 'node_modules'), path.join(base, 'node_modules'));
    execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', base], { stdio: 'inherit' });
    const ratios: number[] = [];
    console.log(`| process | loaded first | ${rev} ns/sample (median) | this ns/sample (median) | this / ${rev} (median of rounds) |`);
    console.log('| --- | --- | --- | --- | --- |');
    for (let p = 0; p < processes; p++) {
      for (const baseFirst of [true, false]) {
        const [a, b] = baseFirst ? [base, root] : [root, base];
        const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--worker', '--a', a, '--b', b, '--model', model, '--rounds', String(rounds)], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`worker: ${r.stderr}`);
        const out = JSON.parse(r.stdout) as { a: number[]; b: number[] };
        const [tb, th] = baseFirst ? [out.a, out.b] : [out.b, out.a];
        const ratio = median(th.map((v, i) => v / tb[i]));
        ratios.push(ratio);
        console.log(`| ${p + 1} | ${baseFirst ? rev : 'this'} | ${median(tb).toFixed(1)} | ${median(th).toFixed(1)} | ${ratio.toFixed(3)} |`);
      }
    }
    const geo = Math.exp(ratios.reduce((s, r) => s + Math.log(r), 0) / ratios.length);
    console.log(`\nmodel ${model}: this / ${rev} = ${geo.toFixed(3)} (geometric mean over ${ratios.length} processes, both load orders)`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main(process.argv.slice(2));
