// Sharded vs one instance: the same load through 1 anomstream and through N sharded ones (issue 20:
// "with 2 shards, the CPU cost per 1M raw samples summed over the instances is within 10% of one
// instance's for the same load"), alternating, N runs each; median and range per figure.
//
//   node dist/bench/shards.js [--series 8000] [--runs 5] [--samples 6000000] [--shards 1,2]
//     [--rate 300000[,0]] [--shapes prometheus,vmagent] [--concurrency 4] [--placement alone|shared]
//     [--warmup SAMPLES_PER_SERIES] [--order up|down] [--json FILE]
//
// A sharded run is what a vmagent sharding with `hashmod` over [__name__, instance] delivers: one load
// generator per instance (bench/load --shard N/i) sends exactly the series of instance i's shard, in
// requests of 2,000 series like vmagent's per-URL blocks, at the share of --rate its series are; each
// instance (shard: {count: N, index: i}) scores every series it gets (checked: its
// anomstream_series_not_owned_total stays 0) into a counting sink of its own. Shards = 1 is one instance
// without `shard:`, the whole load from one generator: today's deployment.
//
// Placement: every anomstream instance on CPU 0, the generators and sinks on CPU 1.
// `alone` (default): the N shards of a run are measured one after the other, each instance alone on
// CPU 0 with its own share of the load at its share of --rate: one core per instance, as they are
// deployed (this machine has two cores, one of them for the generators). `shared`: all N at once on
// CPU 0, competing for the core one instance has (what one core costs when shared; not a deployment).
// --warmup (default 30): before the measured load, each instance gets this many samples of every one
// of its series as fast as it takes them (timestamps before the measured load's; not measured), so the
// measured window holds steady-state work: known series, compiled code. Without it each shard pays its
// own JIT warm-up and series creation inside a window half as long as one instance's (--warmup 0: the
// cold start, as measured before 2026-12-03's session 5).
// --order (placement alone): `up` (default) measures shard 0 first, `down` the last shard first: whether the
// instance measured right after the one-instance run pays for its position rather than for its series.
// Equal requests: each shard gets exactly series / N series of its shard (bench/load --shard-exact), and
// the default 8,000 series make that a whole number of 2,000-series requests per round for 1, 2 and 4
// shards (bench/load cuts each round into requests; 10,000 series gave 5 requests per round to one
// instance but 3 per round, one of them half full, to each of two shards: 20% more requests per sample).
// Headline: CPU s per 1M raw samples = the instances' utime+stime summed (each from /proc, first
// request .. last raw sample arrived at its sink) / raw samples accepted by all. Accepted/s and e2e/s
// of `alone` add up the shards' own rates (as if they ran side by side on cores of their own).

import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fmt, stats } from './compare.js';
import { parseShape, type Shape } from './load/labels.js';
import type { LoadReport } from './load.js';
import { freePort, root, runLoad, sh, snapshotAnomstream, start, stop, waitHttp, type Proc } from './procs.js';

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const SOURCE_LABELS = ['__name__', 'instance'];
/** bench/load's default --samples-per-request. */
const REQUEST_SERIES = 2000;

interface Args {
  series: number;
  runs: number;
  samples: number;
  shards: number[];
  rates: number[];
  shapes: Shape[];
  concurrency: number;
  placement: 'alone' | 'shared';
  order: 'up' | 'down';
  warmup: number;
  json: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { series: 8_000, runs: 5, samples: 6_000_000, shards: [1, 2], rates: [300_000], shapes: ['prometheus'], concurrency: 4, placement: 'alone', order: 'up', warmup: 30, json: '' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[++i] ?? '';
    if (k === '--series') a.series = Number(v);
    else if (k === '--runs') a.runs = Number(v);
    else if (k === '--samples') a.samples = Number(v);
    else if (k === '--shards') a.shards = v.split(',').map(Number);
    else if (k === '--rate') a.rates = v.split(',').map(Number);
    else if (k === '--shapes') a.shapes = v.split(',').map(parseShape);
    else if (k === '--concurrency') a.concurrency = Number(v);
    else if (k === '--placement') a.placement = v as Args['placement'];
    else if (k === '--warmup') a.warmup = Number(v);
    else if (k === '--order') a.order = v as Args['order'];
    else if (k === '--json') a.json = v;
    else throw new Error(`unknown option '${k}'`);
  }
  if (!(a.warmup >= 0)) throw new Error('--warmup: expected a number of samples per series >= 0');
  if (!(a.series >= 1) || !(a.runs >= 1) || !(a.samples >= 1) || !(a.concurrency >= 1)) throw new Error('--series, --runs, --samples, --concurrency: expected numbers >= 1');
  if (a.shards.some((n) => !Number.isInteger(n) || n < 1 || n > 16)) throw new Error('--shards: expected integers from 1 to 16');
  for (const n of a.shards) if ((a.series / n) % REQUEST_SERIES !== 0) console.error(`note: ${a.series} series / ${n} shards is not a whole number of ${REQUEST_SERIES}-series requests per round`);
  if (a.placement !== 'alone' && a.placement !== 'shared') throw new Error(`--placement: expected alone or shared, got '${String(a.placement)}'`);
  if (a.order !== 'up' && a.order !== 'down') throw new Error(`--order: expected up or down, got '${String(a.order)}'`);
  if (a.rates.some((r) => !(r >= 0))) throw new Error('--rate: expected numbers >= 0 (0 = as fast as accepted)');
  return a;
}

interface Row {
  shape: Shape;
  rate: number;
  shards: number;
  run: number;
  /** Instances' CPU s summed per 1M raw samples accepted (all generators together). */
  cpuPer1M: number;
  /** Each instance's own CPU s per 1M of the raw samples it accepted, by shard index (whatever --order). */
  instanceCpuPer1M: number[];
  acceptedPerS: number;
  e2eRawPerS: number;
  rssMbSum: number;
  /** Generated samples and series not owned, from the instances' /metrics. */
  generated: number;
  notOwned: number;
  complete: boolean;
  errors: number;
}

async function counter(base: string, name: string): Promise<number> {
  const t = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(t);
  return m ? Number(m[1]) : NaN;
}

let cli = '';

/** A started instance with its counting sink. */
interface Instance {
  base: string;
  sink: string;
  pid: number;
}

async function startInstance(shards: number, i: number, tmp: string, procs: Proc[]): Promise<Instance> {
  const sinkPort = await freePort();
  const sinkProc = start(process.execPath, [path.join(here, 'sink.js'), '--port', String(sinkPort), '--mode', 'raw'], '1');
  procs.push(sinkProc);
  const sink = `http://127.0.0.1:${sinkPort}`;
  await waitHttp(`${sink}/health`, sinkProc, 10_000);
  const port = await freePort();
  const cfg = path.join(tmp, `anomstream-${port}.yaml`);
  writeFileSync(
    cfg,
    [
      `server: { listen: "127.0.0.1:${port}" }`,
      `reader: { queries: { bench: '{__name__=~".+"}' } }`,
      `writer: { datasource_url: "${sink}" }`,
      shards > 1 ? `shard: { count: ${shards}, index: ${i}, source_labels: [${SOURCE_LABELS.join(', ')}] }` : '',
      'logging: { level: warn }',
      '',
    ].join('\n'),
  );
  const proc = start(process.execPath, [cli, '--config', cfg], '0');
  procs.push(proc);
  const base = `http://127.0.0.1:${port}`;
  await waitHttp(`${base}/health`, proc, 20_000);
  return { base, sink, pid: proc.pid };
}

async function oneRun(a: Args, shape: Shape, rate: number, shards: number, run: number, tmp: string): Promise<Row> {
  // alone: one shard at a time, alone on CPU 0 (one core per instance, as deployed); shared: all at once on CPU 0.
  const groups = a.placement === 'alone' ? Array.from({ length: shards }, (_, i) => [a.order === 'up' ? i : shards - 1 - i]) : [Array.from({ length: shards }, (_, i) => i)];
  const reports: LoadReport[] = [];
  let generated = 0;
  let notOwned = 0;
  let acceptedPerS = 0;
  let e2eRawPerS = 0;
  for (const group of groups) {
    const procs: Proc[] = [];
    try {
      const inst: Instance[] = [];
      for (const i of group) inst.push(await startInstance(shards, i, tmp, procs));
      const perSeries = Math.max(1, Math.ceil(a.samples / a.series));
      const loadArgs = (k: number, i: number, rate: number, samplesPerSeries: number, endAgoMs: number): string[] => [
        '--shape',
        shape,
        '--rate',
        String(rate),
        '--url',
        `${inst[k].base}/api/v1/write`,
        '--series',
        String(a.series),
        '--samples-per-series',
        String(samplesPerSeries),
        '--end-ago-ms',
        String(endAgoMs),
        '--concurrency',
        String(Math.max(1, Math.ceil(a.concurrency / group.length))),
        '--duration',
        '120',
        '--drain-timeout',
        '120',
        '--pid',
        String(inst[k].pid),
        '--sink',
        inst[k].sink,
        ...(shards > 1 ? ['--shard', `${shards}/${i}`, '--shard-exact', '--shard-labels', SOURCE_LABELS.join(',')] : []),
      ];
      if (a.warmup > 0) {
        // Ends a minute before the measured load's first timestamp (bench/load's interval: 10 s).
        const endAgoMs = 60_000 + perSeries * 10_000 + 60_000;
        await Promise.all(group.map((i, k) => runLoad(loadArgs(k, i, 0, a.warmup, endAgoMs))));
      }
      const before = await Promise.all(inst.map((it) => counter(it.base, 'anomstream_generated_samples_total')));
      const rs = await Promise.all(group.map((i, k) => runLoad(loadArgs(k, i, rate, perSeries, 60_000))));
      generated -= before.reduce((n, g) => n + g, 0);
      for (const it of inst) {
        generated += await counter(it.base, 'anomstream_generated_samples_total');
        notOwned += await counter(it.base, 'anomstream_series_not_owned_total');
      }
      const first = Math.min(...rs.map((r) => r.run.firstStartMs));
      const last = Math.max(...rs.map((r) => r.arrival.endMs));
      const lastAnswer = Math.max(...rs.map((r) => r.run.lastAnswerMs));
      // Groups run one after the other stand for instances on cores of their own: their rates add up.
      acceptedPerS += rs.reduce((n, r) => n + r.run.acceptedSamples, 0) / ((lastAnswer - first) / 1000);
      e2eRawPerS += rs.reduce((n, r) => n + r.arrival.rawSamples, 0) / ((last - first) / 1000);
      group.forEach((i, k) => (reports[i] = rs[k]));
    } finally {
      for (const p of procs.reverse()) await stop(p);
    }
  }
  const accepted = reports.reduce((n, r) => n + r.run.acceptedSamples, 0);
  const cpu = reports.reduce((n, r) => n + r.target.cpuSeconds, 0);
  const errors = reports.reduce((n, r) => n + r.run.errors, 0);
  const complete = reports.every((r) => r.arrival.complete);
  if (errors > 0 || !complete) console.error(`${shape} rate ${rate} shards ${shards} run ${run}: errors ${errors}, arrival ${complete ? 'complete' : 'INCOMPLETE'}`);
  return {
    shape,
    rate,
    shards,
    run,
    cpuPer1M: (cpu / accepted) * 1e6,
    instanceCpuPer1M: reports.map((r) => r.target.cpuSecondsPer1MRaw),
    acceptedPerS,
    e2eRawPerS,
    rssMbSum: reports.reduce((n, r) => n + r.target.peakRssMb, 0),
    generated,
    notOwned,
    complete,
    errors,
  };
}

function offered(rate: number): string {
  return rate > 0 ? String(rate) : 'max';
}

export function table(rows: Row[], a: Args): string {
  const out = [
    '| shape | offered/s | shards | CPU s / 1M raw, instances summed | each instance CPU s / 1M (medians) | accepted/s (M) | raw samples/s e2e (M) | peak RSS MB summed | generated samples | series not owned | complete |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const shape of a.shapes) {
    for (const rate of a.rates) {
      const med: Record<number, number> = {};
      for (const shards of a.shards) {
        const all = rows.filter((r) => r.shape === shape && r.rate === rate && r.shards === shards);
        const rs = all.filter((r) => r.complete && r.errors === 0);
        if (!all.length) continue;
        med[shards] = stats(rs.map((r) => r.cpuPer1M)).median;
        const each = Array.from({ length: shards }, (_, i) => stats(rs.map((r) => r.instanceCpuPer1M[i])).median.toFixed(3)).join(' / ');
        out.push(
          `| ${shape} | ${offered(rate)} | ${shards} | ${fmt(
            rs.map((r) => r.cpuPer1M),
            3,
          )} | ${each} | ${fmt(
            rs.map((r) => r.acceptedPerS),
            2,
            1e6,
          )} | ${fmt(
            rs.map((r) => r.e2eRawPerS),
            2,
            1e6,
          )} | ${fmt(
            rs.map((r) => r.rssMbSum),
            0,
          )} | ${stats(rs.map((r) => r.generated)).median} | ${stats(rs.map((r) => r.notOwned)).median} | ${rs.length}/${all.length} |`,
        );
      }
      for (const shards of a.shards) {
        if (shards === 1 || med[1] === undefined || med[shards] === undefined) continue;
        const per = [];
        for (let run = 1; run <= a.runs; run++) {
          const x = rows.find((r) => r.shape === shape && r.rate === rate && r.shards === shards && r.run === run && r.complete);
          const y = rows.find((r) => r.shape === shape && r.rate === rate && r.shards === 1 && r.run === run && r.complete);
          if (x && y) per.push((x.cpuPer1M / y.cpuPer1M).toFixed(3));
        }
        out.push(`| ${shape} | ${offered(rate)} | ${shards} / 1 | ${(med[shards] / med[1]).toFixed(3)}× (per run: ${per.join(', ')}) | | | | | | | |`);
      }
    }
  }
  return out.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  let a: Args;
  try {
    a = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
  if (!existsSync(path.join(root, 'dist/src/cli.js'))) {
    console.error('dist/src/cli.js not built: npm run build');
    process.exit(2);
  }
  const dirty = sh('git', ['status', '--short', 'src']).split('\n').filter(Boolean).length;
  console.log(
    `${new Date().toISOString()}; ${sh('nproc', [])} cores; node ${process.version}; anomstream ${sh('git', ['rev-parse', '--short', 'HEAD'])}${dirty ? ` + ${dirty} uncommitted src files` : ''} (dist/src snapshot)`,
  );
  console.log(`shards ${process.argv.slice(2).join(' ')}\n`);
  const tmp = mkdtempSync(path.join(tmpdir(), 'anomstream-shards-'));
  cli = snapshotAnomstream(tmp);
  const rows: Row[] = [];
  try {
    for (let run = 1; run <= a.runs; run++) {
      for (const shape of a.shapes) {
        for (const rate of a.rates) {
          for (const shards of a.shards) {
            const row = await oneRun(a, shape, rate, shards, run, tmp);
            rows.push(row);
            console.error(JSON.stringify(row));
          }
        }
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (a.json) writeFileSync(a.json, JSON.stringify(rows, null, 1));
  console.log(table(rows, a));
}
