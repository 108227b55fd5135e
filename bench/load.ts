// Load generator for remote_write 1.0 receivers (anomstream, vmagent, VictoriaMetrics, bench/sink).
//
//   node dist/bench/load.js --url http://127.0.0.1:8429/api/v1/write --series 10000 --samples-per-series 300
//     [--samples-per-request 2000] [--concurrency 4] [--rate 0] [--duration 60] [--max-requests N]
//     [--interval-ms 10000] [--end-ago-ms 60000] [--pid PID] [--sink http://127.0.0.1:9999 | --vm http://127.0.0.1:8428]
//     [--sink-pid PID] [--drain-timeout 60] [--latency-skip N] [--shape prometheus|vmagent]
//     [--shard COUNT/INDEX [--shard-labels __name__,instance] [--shard-exact]] [--encoding snappy|zstd] [--json]
//
// --shape: the label sets' order and size (bench/load/labels.ts): `prometheus` (default) sorted by name,
// 3-6 labels; `vmagent` as a vmagent >= 1.83 sends scraped node_exporter series with external labels
// region, az, env: 6-9 labels, not sorted by name.
// --encoding zstd: VictoriaMetrics' remote write protocol, as vmagent 1.116+ sends it (Content-Encoding
// zstd, X-VictoriaMetrics-Remote-Write-Version 1): every request of the run compressed before the run by
// the `zstd` CLI at level 3 (load/zstd-bodies.ts; untimed, held in memory, ~1/2 of the snappy bodies).
//
// --shard: send only the series vmagent's `hashmod` over --shard-labels (default __name__,instance)
// puts in shard INDEX of COUNT, i.e. what one of COUNT sharded anomstream instances receives
// (bench/shards.ts runs one such load per instance); --rate is the whole load's, scaled to the share.
// --shard-exact: exactly floor(series / COUNT) series of the shard (more series are generated to find them).
//
// Builds the whole pool first (untimed), then sends. Afterwards it checks arrival downstream: with --sink
// it waits until the counting sink has as many raw samples as were acknowledged; with --vm until
// VictoriaMetrics' vm_rows_added_to_storage_total has grown by at least that much and stopped growing for
// 1 s, then counts the raw samples stored (force_flush + count_over_time, untimed). End to end = from the
// first request until the last raw sample arrived. --pid: the process under test (CPU s via /proc, from
// just before the first request until everything arrived; VmHWM peak RSS).

import { pathToFileURL } from 'node:url';
import { buildPool, type Pool } from './load/pool.js';
import { parseShape, type Shape } from './load/labels.js';
import { runLoad, type RunResult } from './load/run.js';
import { zstdBodies } from './load/zstd-bodies.js';
import { cpuSeconds, peakRssMb } from './load/proc.js';
import { sleep } from './procs.js';
import type { SinkCounts } from './sink.js';

export interface LoadArgs {
  url: string;
  series: number;
  samplesPerSeries: number;
  samplesPerRequest: number;
  concurrency: number;
  rate: number;
  durationS: number;
  maxRequests: number;
  intervalMs: number;
  /** The last round's timestamp is this long before now (a warm-up load ends before the measured one starts). */
  endAgoMs: number;
  pid: number;
  sinkPid: number;
  sink: string;
  vm: string;
  drainTimeoutS: number;
  /** Requests left out of the latency figures at the start (warm-up). */
  latencySkip: number;
  shape: Shape;
  /** Only this shard of the series (hashmod over shardLabels); count 0 = all. */
  shard: { count: number; index: number; exact: boolean };
  shardLabels: string[];
  encoding: 'snappy' | 'zstd';
  json: boolean;
}

export interface LoadReport {
  args: LoadArgs;
  pool: { series: number; requests: number; samples: number; requestsPerRound: number; bytesPerSample: number; compressionRatio: number; buildSeconds: number };
  run: RunResult;
  arrival: {
    checked: 'sink' | 'vm' | 'none';
    complete: boolean;
    rawSamples: number;
    generatedSamples: number;
    endMs: number;
    e2eSeconds: number;
    e2eRawSamplesPerS: number;
    waitedSeconds: number;
    sinkCpuSeconds: number;
  };
  target: { pid: number; cpuSeconds: number; cpuSecondsPer1MRaw: number; peakRssMb: number };
  generatorCpuSeconds: number;
}

const DEFAULTS: LoadArgs = {
  url: '',
  series: 10_000,
  samplesPerSeries: 100,
  samplesPerRequest: 2000,
  concurrency: 4,
  rate: 0,
  durationS: 60,
  maxRequests: Number.MAX_SAFE_INTEGER,
  intervalMs: 10_000,
  endAgoMs: 60_000,
  pid: 0,
  sinkPid: 0,
  sink: '',
  vm: '',
  drainTimeoutS: 60,
  latencySkip: 0,
  shape: 'prometheus',
  shard: { count: 0, index: 0, exact: false },
  shardLabels: ['__name__', 'instance'],
  encoding: 'snappy',
  json: false,
};

export function parseArgs(argv: string[]): LoadArgs {
  const a: LoadArgs = { ...DEFAULTS };
  const num: Record<string, keyof LoadArgs> = {
    '--series': 'series',
    '--samples-per-series': 'samplesPerSeries',
    '--samples-per-request': 'samplesPerRequest',
    '--concurrency': 'concurrency',
    '--rate': 'rate',
    '--duration': 'durationS',
    '--max-requests': 'maxRequests',
    '--interval-ms': 'intervalMs',
    '--end-ago-ms': 'endAgoMs',
    '--pid': 'pid',
    '--sink-pid': 'sinkPid',
    '--drain-timeout': 'drainTimeoutS',
    '--latency-skip': 'latencySkip',
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--json') a.json = true;
    else if (k === '--shard-exact') a.shard = { ...a.shard, exact: true };
    else if (k === '--url' || k === '--sink' || k === '--vm') a[k.slice(2) as 'url' | 'sink' | 'vm'] = argv[++i] ?? '';
    else if (k === '--shape') a.shape = parseShape(argv[++i] ?? '');
    else if (k === '--shard') {
      const m = /^(\d+)\/(\d+)$/.exec(argv[++i] ?? '');
      if (!m || Number(m[2]) >= Number(m[1])) throw new Error(`--shard: expected COUNT/INDEX with INDEX < COUNT (e.g. 2/0), got '${argv[i]}'`);
      a.shard = { ...a.shard, count: Number(m[1]), index: Number(m[2]) };
    } else if (k === '--shard-labels') a.shardLabels = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (k === '--encoding') {
      const e = argv[++i] ?? '';
      if (e !== 'snappy' && e !== 'zstd') throw new Error(`--encoding: expected snappy or zstd, got '${e}'`);
      a.encoding = e;
    } else if (k in num) {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < 0) throw new Error(`${k}: expected a number >= 0, got '${argv[i]}'`);
      (a as unknown as Record<string, number>)[num[k]] = v;
    } else throw new Error(`unknown option '${k}'`);
  }
  if (!a.url) throw new Error('--url: required, e.g. http://127.0.0.1:8429/api/v1/write');
  if (a.concurrency < 1 || a.series < 1 || a.samplesPerSeries < 1 || a.samplesPerRequest < 1) throw new Error('--concurrency, --series, --samples-per-series, --samples-per-request: expected >= 1');
  return a;
}

function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!r.ok) throw new Error(`GET ${url}: ${r.status}`);
  return (await r.json()) as T;
}

async function sinkCounts(base: string): Promise<SinkCounts> {
  return getJson<SinkCounts>(`${base}/counts`);
}

async function vmRowsAdded(base: string): Promise<number> {
  const r = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const m = /^vm_rows_added_to_storage_total (\d+)/m.exec(await r.text());
  if (!m) throw new Error(`${base}/metrics: no vm_rows_added_to_storage_total`);
  return Number(m[1]);
}

/** Raw (no `for` label) samples stored in VictoriaMetrics with timestamps in [fromMs, toMs]. */
export async function vmRawSamples(base: string, fromMs: number, toMs: number): Promise<number> {
  await fetch(`${base}/internal/force_flush`, { signal: AbortSignal.timeout(30_000) });
  const windowS = Math.ceil((toMs - fromMs) / 1000) + 1;
  const q = `sum(count_over_time({__name__=~"node_.+",for=""}[${windowS}s]))`;
  const url = `${base}/api/v1/query?query=${encodeURIComponent(q)}&time=${(toMs + 1) / 1000}&nocache=1`;
  const r = await getJson<{ data: { result: Array<{ value: [number, string] }> } }>(url);
  return r.data.result.length ? Number(r.data.result[0].value[1]) : 0;
}

export async function runBench(args: LoadArgs, log: (s: string) => void = () => {}): Promise<LoadReport> {
  const b0 = performance.now();
  const shard = args.shard.count > 0 ? { ...args.shard, sourceLabels: args.shardLabels } : undefined;
  const pool: Pool = buildPool({
    series: args.series,
    samplesPerSeries: args.samplesPerSeries,
    samplesPerRequest: args.samplesPerRequest,
    intervalMs: args.intervalMs,
    nowMs: Date.now(),
    endAgoMs: args.endAgoMs,
    shape: args.shape,
    shard,
  });
  const bodies = args.encoding === 'zstd' ? zstdBodies(pool, Math.min(pool.totalRequests, args.maxRequests)) : undefined;
  const buildSeconds = (performance.now() - b0) / 1000;
  const series = pool.specs.length;
  const zstdNote = bodies ? `; zstd -3 ${(bodies.slice(0, pool.requestsPerRound).reduce((n, b) => n + b.length, 0) / series).toFixed(1)} B/sample` : '';
  log(
    `pool: ${series} series, ${pool.totalRequests} requests, ${pool.totalSamples} samples, ${(pool.compressedBytesPerRound / series).toFixed(1)} B/sample compressed${zstdNote}, built in ${buildSeconds.toFixed(2)} s`,
  );
  const sinkBefore = args.sink ? await sinkCounts(args.sink) : null;
  const vmBefore = args.vm ? await vmRowsAdded(args.vm) : 0;
  const cpu0 = args.pid ? cpuSeconds(args.pid) : NaN;
  const self0 = process.cpuUsage();
  const run = await runLoad(pool, {
    url: args.url,
    concurrency: args.concurrency,
    rate: (args.rate * series) / args.series,
    durationS: args.durationS,
    maxRequests: args.maxRequests,
    timeoutMs: 60_000,
    latencySkip: args.latencySkip,
    bodies,
  });
  log(`sent ${run.requests} requests in ${run.seconds.toFixed(2)} s: ${Math.round(run.acceptedSamplesPerS)} accepted samples/s, ${run.errors} errors`);
  const arrival: LoadReport['arrival'] = {
    checked: 'none',
    complete: false,
    rawSamples: 0,
    generatedSamples: 0,
    endMs: run.lastAnswerMs,
    e2eSeconds: NaN,
    e2eRawSamplesPerS: NaN,
    waitedSeconds: 0,
    sinkCpuSeconds: NaN,
  };
  const w0 = performance.now();
  const waitDeadline = w0 + args.drainTimeoutS * 1000;
  if (sinkBefore) {
    arrival.checked = 'sink';
    let c = sinkBefore;
    while (performance.now() < waitDeadline) {
      c = await sinkCounts(args.sink);
      if (c.rawSamples - sinkBefore.rawSamples >= run.acceptedSamples) break;
      await sleep(20);
    }
    arrival.rawSamples = c.rawSamples - sinkBefore.rawSamples;
    arrival.generatedSamples = c.generatedSamples - sinkBefore.generatedSamples;
    arrival.complete = arrival.rawSamples === run.acceptedSamples;
    arrival.endMs = c.lastRawAtMs;
    arrival.sinkCpuSeconds = c.cpuSeconds - sinkBefore.cpuSeconds;
  } else if (args.vm) {
    // Rows added counts generated rows too, so "added >= acknowledged" can come before the last raw
    // sample: after each quiet second, count the raw samples stored and keep waiting if some are missing.
    arrival.checked = 'vm';
    let last = vmBefore;
    let lastChangeMs = wallMs();
    let quietSince = lastChangeMs;
    const lastTs = pool.startMs + (args.samplesPerSeries - 1) * args.intervalMs;
    while (performance.now() < waitDeadline) {
      const v = await vmRowsAdded(args.vm);
      const now = wallMs();
      if (v !== last) {
        last = v;
        lastChangeMs = now;
        quietSince = now;
      } else if (v - vmBefore >= run.acceptedSamples && now - quietSince >= 1000) {
        arrival.rawSamples = await vmRawSamples(args.vm, pool.startMs, lastTs);
        if (arrival.rawSamples >= run.acceptedSamples) break;
        quietSince = wallMs(); // still missing: another quiet second before the next count
      }
      await sleep(20);
    }
    arrival.endMs = lastChangeMs;
    arrival.rawSamples = await vmRawSamples(args.vm, pool.startMs, lastTs);
    arrival.generatedSamples = (await vmRowsAdded(args.vm)) - vmBefore - arrival.rawSamples;
    arrival.complete = arrival.rawSamples === run.acceptedSamples;
  }
  const cpu1 = args.pid ? cpuSeconds(args.pid) : NaN;
  const self1 = process.cpuUsage(self0);
  arrival.waitedSeconds = (performance.now() - w0) / 1000;
  arrival.e2eSeconds = (arrival.endMs - run.firstStartMs) / 1000;
  arrival.e2eRawSamplesPerS = arrival.rawSamples / arrival.e2eSeconds;
  const cpu = cpu1 - cpu0;
  return {
    args,
    pool: {
      requests: pool.totalRequests,
      samples: pool.totalSamples,
      requestsPerRound: pool.requestsPerRound,
      series,
      bytesPerSample: pool.compressedBytesPerRound / series,
      compressionRatio: pool.uncompressedBytesPerRound / pool.compressedBytesPerRound,
      buildSeconds,
    },
    run,
    arrival,
    target: { pid: args.pid, cpuSeconds: cpu, cpuSecondsPer1MRaw: (cpu / run.acceptedSamples) * 1e6, peakRssMb: args.pid ? peakRssMb(args.pid) : NaN },
    generatorCpuSeconds: (self1.user + self1.system) / 1e6,
  };
}

export function formatReport(r: LoadReport): string {
  const f = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
  const lines = [
    `accepted: ${r.run.acceptedSamples} samples in ${r.run.acceptedRequests}/${r.run.requests} requests, ${Math.round(r.run.acceptedSamplesPerS)} samples/s; errors ${r.run.errors} ${JSON.stringify(r.run.errorsByStatus)}`,
    `latency ms: p50 ${f(r.run.latencyMs.p50)} p90 ${f(r.run.latencyMs.p90)} p99 ${f(r.run.latencyMs.p99)} max ${f(r.run.latencyMs.max)}`,
  ];
  if (r.arrival.checked !== 'none') {
    lines.push(
      `arrival (${r.arrival.checked}): ${r.arrival.complete ? 'complete' : 'INCOMPLETE'}, raw ${r.arrival.rawSamples}, generated ${r.arrival.generatedSamples}; end to end ${f(r.arrival.e2eSeconds)} s = ${Math.round(r.arrival.e2eRawSamplesPerS)} raw samples/s`,
    );
  }
  if (r.target.pid) lines.push(`target pid ${r.target.pid}: ${f(r.target.cpuSeconds)} CPU s = ${f(r.target.cpuSecondsPer1MRaw, 3)} CPU s per 1M raw samples; peak RSS ${f(r.target.peakRssMb, 1)} MB`);
  lines.push(`generator CPU ${f(r.generatorCpuSeconds)} s; sink CPU ${f(r.arrival.sinkCpuSeconds)} s`);
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  let args: LoadArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
  const report = await runBench(args, args.json ? () => {} : (s) => console.error(s));
  console.log(args.json ? JSON.stringify(report) : formatReport(report));
  process.exit(report.run.errors === 0 && (report.arrival.checked === 'none' || report.arrival.complete) ? 0 : 1);
}
