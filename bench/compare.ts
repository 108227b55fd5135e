// Same-run comparison: identical load through vmagent and through anomstream (and straight into the
// downstream as a baseline), alternating, N runs each; median and range per figure.
//
//   node dist/bench/compare.js [--series 10000,100000] [--runs 3] [--samples 6000000] [--concurrency 4]
//     [--proxies direct,vmagent,anomstream] [--target sink|vm] [--select all|cpu|none] [--provide-series anomaly_score,...] [--sink-mode exact|raw]
//     [--rate SAMPLES_PER_S[,SAMPLES_PER_S...]] [--shapes prometheus,vmagent] [--samples-per-series N]
//     [--latency-skip REQUESTS] [--baseline GIT_REV] [--encodings snappy,zstd,zstd-reencode] [--warmup N] [--json FILE]
//
// --warmup N (default 0): before the measured load, every proxy gets N samples of every series as fast as
// it takes them (timestamps before the measured load's; not measured): the measured window then holds a
// long-running proxy's steady state (known series, compiled code) instead of its first seconds.
//
// --shapes: the load's label shapes (bench/load/labels.ts), each measured in the same rotation:
// `prometheus` (default; sorted by name, 3-6 labels) and `vmagent` (a vmagent >= 1.83 with external
// labels region, az, env: 6-9 labels, not sorted). --rate takes a list too (0 = as fast as accepted), so
// saturation and a fixed offered rate are measured in one block, e.g. issue 20's baseline:
//   node dist/bench/compare.js --series 10000 --shapes prometheus,vmagent --rate 0,300000 --proxies vmagent,anomstream
// Rotation: for each series count and run, every shape x rate x encoding x proxy once, so machine drift hits
// all alike.
//
// --encodings: what the load generator sends, each measured in the same rotation: `snappy` (remote write
// 1.0, default); `zstd` (VictoriaMetrics' protocol as vmagent 1.116+ sends it, bodies compressed by the
// zstd CLI at level 3 before the run; the counting sink reads zstd, so anomstream forwards the bodies as
// they came); `zstd-reencode` (the same bodies, the sink answering zstd 400 as VictoriaMetrics 1.79.5 does:
// anomstream learns it from the first answer and re-encodes every body as snappy). The Debian vmagent
// (1.79.5) reads no zstd and is left out of the zstd rotations, `direct` out of `zstd-reencode`; with
// `--target vm` (VictoriaMetrics 1.79.5) only `snappy` and `zstd-reencode` apply. Example (the zstd cost):
//   node dist/bench/compare.js --series 10000 --runs 5 --sink-mode raw --proxies anomstream --encodings snappy,zstd,zstd-reencode
//
// --baseline REV: also run anomstream as built from git revision REV (`git archive` + tsc into the temp
// dir), as proxy `baseline`, in the same rotation: a before/after of a change in one block, on the same
// machine state (block-to-block drift here is up to ±8%). Example, anomstream only:
//   node dist/bench/compare.js --series 10000 --runs 5 --sink-mode raw --proxies anomstream --baseline HEAD~1
// --rate: fixed offered rate instead of "as fast as accepted" (for the added-latency figure);
// --latency-skip: leave the first N requests (warm-up) out of p50/p99/max. For anomstream the run also
// records event-loop delay (its /metrics, since start) and, when ANOMSTREAM_NODE_FLAGS holds --trace-gc,
// the GC pauses V8 reports during the load (count, total, p99, max).
//
// Pinning: the proxy under test on CPU 0, generator + counting sink on CPU 1 (taskset), for every proxy.
// With --target vm the downstream is a fresh VictoriaMetrics per run, unpinned (it needs both cores;
// generator, proxy and database then share the machine, as in the issue's "real stack" figures).
// Headline: proxy CPU s per 1M raw samples (utime+stime from /proc, first request .. last raw sample
// arrived). Also raw samples/s end to end, request p99, proxy peak RSS (VmHWM).
// --select: what anomstream scores; `all` = every series, `cpu` = node_cpu_seconds_total{mode=~"idle|user|system"}
// (10.1% of the generated series), `none` = no series (the proxy's floor: decode, series ids, raw forward;
// every series is still looked up, none is scored).
// --provide-series: the output series written per scored point (the default model's provide_series;
// default: vmanomaly's four), e.g. `anomaly_score` alone: what the generated series cost.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freePort, root, runLoad, sh, snapshotAnomstream, start, stop, waitHttp, type Proc } from './procs.js';
import { parseShape, type Shape } from './load/labels.js';

type Proxy = 'direct' | 'vmagent' | 'anomstream' | 'baseline';
type Encoding = 'snappy' | 'zstd' | 'zstd-reencode';
const ENCODINGS: Encoding[] = ['snappy', 'zstd', 'zstd-reencode'];

interface Args {
  series: number[];
  runs: number;
  samples: number;
  concurrency: number;
  proxies: Proxy[];
  target: 'sink' | 'vm';
  select: keyof typeof SELECTORS;
  /** --provide-series: the default model's provide_series (comma-separated); '' = its default. */
  provide: string;
  sinkMode: 'exact' | 'raw';
  shapes: Shape[];
  encodings: Encoding[];
  rates: number[];
  samplesPerSeries: number;
  latencySkip: number;
  warmup: number;
  baseline: string;
  json: string;
}

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const SELECTORS = { all: '{__name__=~".+"}', cpu: 'node_cpu_seconds_total{mode=~"idle|user|system"}', none: '{__name__="anomstream_bench_scores_nothing"}' };

/** The `models:` lines of anomstream's bench config: the default model with `provide` as its provide_series ('' = no section). */
function modelsYaml(provide: string): string[] {
  return provide === '' ? [] : [`models: { bench: { class: auto, queries: [bench], provide_series: [${provide}] } }`];
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    series: [10_000, 100_000],
    runs: 3,
    samples: 6_000_000,
    concurrency: 4,
    proxies: ['direct', 'vmagent', 'anomstream'],
    target: 'sink',
    select: 'all',
    sinkMode: 'exact',
    shapes: ['prometheus'],
    encodings: ['snappy'],
    rates: [0],
    samplesPerSeries: 0,
    latencySkip: 0,
    warmup: 0,
    baseline: '',
    json: '',
    provide: '',
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[++i] ?? '';
    if (k === '--series') a.series = v.split(',').map(Number);
    else if (k === '--runs') a.runs = Number(v);
    else if (k === '--samples') a.samples = Number(v);
    else if (k === '--concurrency') a.concurrency = Number(v);
    else if (k === '--proxies') a.proxies = v.split(',') as Proxy[];
    else if (k === '--target') a.target = v as Args['target'];
    else if (k === '--select') a.select = v as Args['select'];
    else if (k === '--sink-mode') a.sinkMode = v as Args['sinkMode'];
    else if (k === '--rate') a.rates = v.split(',').map(Number);
    else if (k === '--shapes') a.shapes = v.split(',').map(parseShape);
    else if (k === '--encodings') a.encodings = v.split(',') as Encoding[];
    else if (k === '--samples-per-series') a.samplesPerSeries = Number(v);
    else if (k === '--latency-skip') a.latencySkip = Number(v);
    else if (k === '--warmup') a.warmup = Number(v);
    else if (k === '--baseline') a.baseline = v;
    else if (k === '--json') a.json = v;
    else if (k === '--provide-series') a.provide = v;
    else throw new Error(`unknown option '${k}'`);
  }
  for (const p of a.proxies) if (!['direct', 'vmagent', 'anomstream'].includes(p)) throw new Error(`--proxies: expected direct, vmagent, anomstream; got '${p}'`);
  if (a.baseline) a.proxies.push('baseline');
  if (!['sink', 'vm'].includes(a.target)) throw new Error(`--target: expected sink or vm, got '${a.target}'`);
  if (!(a.select in SELECTORS)) throw new Error(`--select: expected all, cpu or none, got '${a.select}'`);
  if (a.series.some((s) => !(s >= 1)) || !(a.runs >= 1) || !(a.samples >= 1)) throw new Error('--series, --runs, --samples: expected numbers >= 1');
  for (const e of a.encodings) if (!ENCODINGS.includes(e)) throw new Error(`--encodings: expected ${ENCODINGS.join(', ')}; got '${e}'`);
  if (a.target === 'vm' && a.encodings.includes('zstd')) throw new Error('--encodings zstd with --target vm: VictoriaMetrics 1.79.5 reads no zstd; measure zstd-reencode');
  if (a.rates.some((r) => !(r >= 0))) throw new Error('--rate: expected numbers >= 0 (0 = as fast as accepted)');
  if (!(a.warmup >= 0)) throw new Error('--warmup: expected a number of samples per series >= 0');
  return a;
}

// `[pid:0x..]   1021 ms: Scavenge 9.8 (12.3) -> 9.1 (13.3) MB, 0.85 / 0.00 ms  (...` (Node 20 / V8 11)
const GC_LINE = /\]\s+([\d.]+) ms: ([A-Za-z -]+?) [\d.]+ \([\d.]+\) -> [\d.]+ \([\d.]+\) MB, ([\d.]+) \/ ([\d.]+) ms/;

interface GcSummary {
  count: number;
  totalMs: number;
  p99Ms: number;
  maxMs: number;
  kinds: Record<string, number>;
}

/** GC pauses whose start (V8's ms since isolate start + spawn time) falls in [fromMs, toMs] wall clock. */
export function gcSummary(lines: string[], spawnMs: number, fromMs: number, toMs: number): GcSummary {
  const pauses: number[] = [];
  const kinds: Record<string, number> = {};
  for (const l of lines) {
    const m = GC_LINE.exec(l);
    if (!m) continue;
    const at = spawnMs + Number(m[1]);
    if (at < fromMs || at > toMs) continue;
    pauses.push(Number(m[3]));
    kinds[m[2]] = (kinds[m[2]] ?? 0) + 1;
  }
  pauses.sort((x, y) => x - y);
  const p99 = pauses.length ? pauses[Math.min(pauses.length - 1, Math.ceil(0.99 * pauses.length) - 1)] : NaN;
  return { count: pauses.length, totalMs: pauses.reduce((x, y) => x + y, 0), p99Ms: p99, maxMs: pauses.length ? pauses[pauses.length - 1] : NaN, kinds };
}

/**
 * Raw POSTs (anomstream_forward_posts_total; NaN from a build before it) and generated writes
 * (anomstream_generated_writes_total) per forwarded write request (anomstream_forward_requests_total),
 * from anomstream's /metrics: how many requests a POST carried.
 */
async function postsPerRequest(base: string): Promise<{ raw: number; generated: number }> {
  try {
    const t = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const sum = (name: string): number => {
      let n = NaN;
      for (const m of t.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) n = (Number.isNaN(n) ? 0 : n) + Number(m[1]);
      return n;
    };
    const requests = sum('anomstream_forward_requests_total');
    return { raw: sum('anomstream_forward_posts_total') / requests, generated: sum('anomstream_generated_writes_total') / requests };
  } catch {
    return { raw: NaN, generated: NaN };
  }
}

/**
 * Event-loop delay since start from anomstream's /metrics: the histogram nodejs_eventloop_delay_seconds
 * (p99 interpolated within its bucket as histogram_quantile() does; max: the upper bound of the
 * highest non-empty bucket), or, from builds before it (a --baseline), the p99 and max gauges.
 */
async function eventLoopDelay(base: string): Promise<{ p99Ms: number; maxMs: number }> {
  try {
    const t = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const get = (name: string): number => {
      const m = new RegExp(`^${name} ([0-9.eE+-]+)`, 'm').exec(t);
      return m ? Number(m[1]) * 1000 : NaN;
    };
    const buckets = [...t.matchAll(/^nodejs_eventloop_delay_seconds_bucket\{le="([^"]+)"\} (\S+)$/gm)].map((m) => [m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])]);
    if (buckets.length === 0) return { p99Ms: get('nodejs_eventloop_delay_p99_seconds'), maxMs: get('nodejs_eventloop_delay_max_seconds') };
    const total = buckets[buckets.length - 1][1];
    const rank = 0.99 * total;
    let p99 = NaN;
    let max = 0;
    for (let i = 0, prevLe = 0, prevCount = 0; i < buckets.length; i++) {
      const [le, count] = buckets[i];
      if (Number.isNaN(p99) && count >= rank) p99 = le === Infinity ? prevLe : prevLe + ((le - prevLe) * (rank - prevCount)) / Math.max(1, count - prevCount);
      if (count > prevCount) max = le === Infinity ? prevLe : le;
      prevLe = le;
      prevCount = count;
    }
    return { p99Ms: p99 * 1000, maxMs: max * 1000 };
  } catch {
    return { p99Ms: NaN, maxMs: NaN };
  }
}

/** Can `proxy` take this encoding here? (vmagent 1.79.5 reads no zstd; nothing but anomstream re-encodes.) */
function runs(proxy: Proxy, encoding: Encoding): boolean {
  if (encoding === 'snappy') return true;
  if (proxy === 'vmagent') return false;
  return encoding === 'zstd' || proxy === 'anomstream' || proxy === 'baseline';
}

interface Row {
  proxy: Proxy;
  shape: Shape;
  encoding: Encoding;
  /** Offered samples/s, 0 = as fast as accepted. */
  rate: number;
  series: number;
  run: number;
  cpuPer1M: number;
  e2eRawPerS: number;
  acceptedPerS: number;
  p99Ms: number;
  p50Ms: number;
  maxMs: number;
  latencyCount: number;
  rssMb: number;
  complete: boolean;
  errors: number;
  generatedSamples: number;
  coreOneBusy: number;
  /** anomstream only: event-loop delay since start (its /metrics) and GC pauses during the load. */
  eventLoopP99Ms?: number;
  eventLoopMaxMs?: number;
  gc?: GcSummary;
  /** anomstream only: raw POSTs and generated writes per write request, from its /metrics after the load (NaN: a build without the counter). */
  rawPostsPerRequest?: number;
  generatedWritesPerRequest?: number;
}

let anomstreamCli = path.join(root, 'dist/src/cli.js');
let baselineCli = '';

/** Build anomstream as of git revision `rev` into tmp (its sources by `git archive`, this checkout's node_modules). */
function buildBaseline(tmp: string, rev: string): string {
  const dir = path.join(tmp, 'baseline');
  mkdirSync(dir);
  execFileSync('sh', ['-c', 'git archive "$1" | tar -x -C "$2"', 'sh', rev, dir], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', dir], { stdio: 'inherit' });
  return path.join(dir, 'dist/src/cli.js');
}

async function oneRun(a: Args, proxy: Proxy, shape: Shape, encoding: Encoding, rate: number, series: number, run: number, tmp: string): Promise<Row> {
  const procs: Proc[] = [];
  try {
    // Downstream.
    const downPort = await freePort();
    let down: Proc;
    const downstreamBase = `http://127.0.0.1:${downPort}`;
    if (a.target === 'sink') {
      down = start(process.execPath, [path.join(here, 'sink.js'), '--port', String(downPort), '--mode', a.sinkMode, '--zstd', encoding === 'zstd-reencode' ? 'reject' : 'accept'], '1');
      procs.push(down);
      await waitHttp(`${downstreamBase}/health`, down, 10_000);
    } else {
      const dir = mkdtempSync(path.join(tmp, 'vm-'));
      down = start('/usr/bin/victoria-metrics', [`-storageDataPath=${dir}`, `-httpListenAddr=127.0.0.1:${downPort}`, '-loggerLevel=ERROR', '-search.latencyOffset=1s'], null);
      procs.push(down);
      await waitHttp(`${downstreamBase}/health`, down, 30_000);
    }
    // Proxy under test on CPU 0.
    let url = `${downstreamBase}/api/v1/write`;
    let pid = down.pid;
    let anomBase = '';
    if (proxy === 'vmagent') {
      const p = await freePort();
      const dir = mkdtempSync(path.join(tmp, 'vmagent-'));
      const proc = start(
        '/usr/bin/vmagent',
        [
          `-remoteWrite.url=${downstreamBase}/api/v1/write`,
          `-httpListenAddr=127.0.0.1:${p}`,
          `-remoteWrite.tmpDataPath=${dir}`,
          // As many sending queues as the generator has connections in flight; flush the tail quickly so the
          // end-to-end time is not padded by the default 1 s flush interval (both favour vmagent).
          `-remoteWrite.queues=${a.concurrency}`,
          '-remoteWrite.flushInterval=100ms',
          '-loggerLevel=ERROR',
        ],
        '0',
      );
      procs.push(proc);
      await waitHttp(`http://127.0.0.1:${p}/health`, proc, 20_000);
      url = `http://127.0.0.1:${p}/api/v1/write`;
      pid = proc.pid;
    } else if (proxy === 'anomstream' || proxy === 'baseline') {
      const p = await freePort();
      const cfg = path.join(tmp, `anomstream-${p}.yaml`);
      writeFileSync(
        cfg,
        [
          `server: { listen: "127.0.0.1:${p}" }`,
          `reader: { queries: { bench: '${SELECTORS[a.select]}' } }`,
          `writer: { datasource_url: "${downstreamBase}" }`,
          `logging: { level: warn }`,
          ...modelsYaml(a.provide),
          '',
        ].join('\n'),
      );
      const extra = process.env.ANOMSTREAM_NODE_FLAGS ? process.env.ANOMSTREAM_NODE_FLAGS.split(' ') : [];
      const cli = proxy === 'baseline' ? baselineCli : anomstreamCli;
      // In tmp: the default state.path (anomstream-state, snapshots every minute) lands there, not in the checkout.
      const proc = start(process.execPath, [...extra, cli, '--config', cfg], '0', extra.includes('--trace-gc') ? GC_LINE : undefined, tmp);
      procs.push(proc);
      await waitHttp(`http://127.0.0.1:${p}/health`, proc, 20_000);
      url = `http://127.0.0.1:${p}/api/v1/write`;
      pid = proc.pid;
      anomBase = `http://127.0.0.1:${p}`;
    }
    const samplesPerSeries = a.samplesPerSeries > 0 ? a.samplesPerSeries : Math.max(1, Math.ceil(a.samples / series));
    const loadArgs = [
      '--shape',
      shape,
      '--encoding',
      encoding === 'snappy' ? 'snappy' : 'zstd',
      '--rate',
      String(rate),
      '--latency-skip',
      String(a.latencySkip),
      '--url',
      url,
      '--series',
      String(series),
      '--samples-per-series',
      String(samplesPerSeries),
      '--concurrency',
      String(a.concurrency),
      '--duration',
      '120',
      '--drain-timeout',
      '120',
      '--pid',
      String(pid),
    ];
    loadArgs.push(a.target === 'sink' ? '--sink' : '--vm', downstreamBase);
    if (a.warmup > 0) {
      // Same series, as fast as taken, ending a minute before the measured load's first timestamp (bench/load's interval: 10 s).
      const warm = loadArgs.map((v, i) => (loadArgs[i - 1] === '--rate' ? '0' : loadArgs[i - 1] === '--samples-per-series' ? String(a.warmup) : v));
      await runLoad([...warm, '--end-ago-ms', String(60_000 + samplesPerSeries * 10_000 + 60_000)]);
    }
    const r = await runLoad(loadArgs);
    const under = procs[procs.length - 1];
    if (r.run.errors > 0 || !r.arrival.complete || under.child.exitCode !== null) {
      console.error(
        `${proxy} ${shape} ${encoding} rate ${rate} run ${run}: errors ${JSON.stringify(r.run.errorsByStatus)}, arrival ${r.arrival.complete ? 'complete' : 'INCOMPLETE'}, exit ${under.child.exitCode}; last output:\n${under.log.join('').slice(-3000)}`,
      );
    }
    const sinkCpu = a.target === 'sink' ? r.arrival.sinkCpuSeconds : 0;
    let extra: Pick<Row, 'eventLoopP99Ms' | 'eventLoopMaxMs' | 'gc' | 'rawPostsPerRequest' | 'generatedWritesPerRequest'> = {};
    if (anomBase) {
      const el = await eventLoopDelay(anomBase);
      const posts = await postsPerRequest(anomBase);
      extra = { eventLoopP99Ms: el.p99Ms, eventLoopMaxMs: el.maxMs, rawPostsPerRequest: posts.raw, generatedWritesPerRequest: posts.generated };
      if ((process.env.ANOMSTREAM_NODE_FLAGS ?? '').includes('--trace-gc')) {
        await stop(under); // flushes V8's buffered stdout
        extra.gc = gcSummary(under.lines, under.spawnMs, r.run.firstStartMs, r.run.lastAnswerMs);
      }
    }
    const row: Row = {
      proxy,
      shape,
      encoding,
      rate,
      series,
      run,
      cpuPer1M: r.target.cpuSecondsPer1MRaw,
      e2eRawPerS: r.arrival.e2eRawSamplesPerS,
      acceptedPerS: r.run.acceptedSamplesPerS,
      p99Ms: r.run.latencyMs.p99,
      p50Ms: r.run.latencyMs.p50,
      maxMs: r.run.latencyMs.max,
      latencyCount: r.run.latencyCount,
      rssMb: r.target.peakRssMb,
      complete: r.arrival.complete,
      errors: r.run.errors,
      generatedSamples: r.arrival.generatedSamples,
      coreOneBusy: (r.generatorCpuSeconds + (proxy === 'direct' ? 0 : sinkCpu)) / r.arrival.e2eSeconds,
      ...extra,
    };
    if (proxy === 'direct') row.coreOneBusy = (r.generatorCpuSeconds + r.target.cpuSeconds) / r.arrival.e2eSeconds;
    return row;
  } finally {
    for (const p of procs.reverse()) await stop(p);
  }
}

export function stats(xs: Array<number | null>): { median: number; min: number; max: number } {
  const s = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((x, y) => x - y);
  if (!s.length) return { median: NaN, min: NaN, max: NaN };
  const m = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { median: m, min: s[0], max: s[s.length - 1] };
}

export function fmt(xs: Array<number | null>, d: number, scale = 1): string {
  const s = stats(xs);
  return `${(s.median / scale).toFixed(d)} (${(s.min / scale).toFixed(d)}–${(s.max / scale).toFixed(d)})`;
}

interface Group {
  shape: Shape;
  encoding: Encoding;
  rate: number;
  series: number;
}

/** The (shape, encoding, rate, series) blocks of a run, in the order they were measured. */
function groups(a: Args): Group[] {
  const g: Group[] = [];
  for (const shape of a.shapes) for (const encoding of a.encodings) for (const rate of a.rates) for (const series of a.series) g.push({ shape, encoding, rate, series });
  return g;
}

/** Rows of `proxy` in block `g` (every run). */
function inGroup(rows: Row[], proxy: Proxy, g: Group): Row[] {
  return rows.filter((r) => r.proxy === proxy && r.shape === g.shape && r.encoding === g.encoding && r.rate === g.rate && r.series === g.series);
}

function offered(rate: number): string {
  return rate > 0 ? String(rate) : 'max';
}

export function table(rows: Row[], a: Args): string {
  const out = [
    `| shape | encoding | offered/s | series | proxy | CPU s / 1M raw | raw samples/s e2e (M) | accepted/s (M) | p99 ms | peak RSS MB | generated samples | core 1 busy | complete |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
  ];
  for (const g of groups(a)) {
    const head = `| ${g.shape} | ${g.encoding} | ${offered(g.rate)} | ${g.series}`;
    const med: Record<string, { cpu: number; e2e: number }> = {};
    for (const proxy of a.proxies) {
      const all = inGroup(rows, proxy, g);
      // Medians over clean runs only (every request accepted, every raw sample arrived).
      const rs = all.filter((r) => r.complete && r.errors === 0);
      if (!all.length) continue;
      med[proxy] = { cpu: stats(rs.map((r) => r.cpuPer1M)).median, e2e: stats(rs.map((r) => r.e2eRawPerS)).median };
      out.push(
        `${head} | ${proxy === 'direct' ? `${a.target} (direct)` : proxy} | ${fmt(
          rs.map((r) => r.cpuPer1M),
          3,
        )} | ${fmt(
          rs.map((r) => r.e2eRawPerS),
          2,
          1e6,
        )} | ${fmt(
          rs.map((r) => r.acceptedPerS),
          2,
          1e6,
        )} | ${fmt(
          rs.map((r) => r.p99Ms),
          1,
        )} | ${fmt(
          rs.map((r) => r.rssMb),
          0,
        )} | ${stats(rs.map((r) => r.generatedSamples)).median} | ${fmt(
          rs.map((r) => r.coreOneBusy),
          2,
        )} | ${rs.length}/${all.length} |`,
      );
    }
    if (med.anomstream && med.vmagent) {
      out.push(`${head} | anomstream / vmagent | ${(med.anomstream.cpu / med.vmagent.cpu).toFixed(2)}× | ${(med.anomstream.e2e / med.vmagent.e2e).toFixed(2)}× | | | | | | | |`);
    }
    if (med.anomstream && med.baseline) {
      out.push(`${head} | anomstream / baseline (${a.baseline}) | ${(med.anomstream.cpu / med.baseline.cpu).toFixed(2)}× | ${(med.anomstream.e2e / med.baseline.e2e).toFixed(2)}× | | | | | | | |`);
    }
  }
  return out.join('\n');
}

/**
 * Per run, anomstream's figure over vmagent's and the baseline's of the same rotation (same machine state):
 * CPU s per 1M raw samples and raw samples/s end to end, one line per (shape, encoding, rate, series)
 * block; and anomstream with each other encoding over anomstream with snappy (the cost of zstd).
 */
export function perRunRatios(rows: Row[], a: Args): string {
  const out: string[] = [];
  const pick = (p: Proxy, g: Group, run: number): Row | undefined => inGroup(rows, p, g).find((r) => r.run === run);
  for (const g of groups(a)) {
    const where = `${g.shape}, ${g.encoding}, offered ${offered(g.rate)}, ${g.series} series`;
    const anomstream = (run: number): Row | undefined => pick('anomstream', g, run);
    for (const other of ['vmagent', 'baseline'] as const) out.push(runRatios(a, `${where}: anomstream/${other}`, g.rate, anomstream, (run) => pick(other, g, run)));
    if (g.encoding !== 'snappy') {
      const snappy = { ...g, encoding: 'snappy' as const };
      out.push(runRatios(a, `${where}: anomstream ${g.encoding}/snappy`, g.rate, anomstream, (run) => pick('anomstream', snappy, run)));
    }
  }
  return out.filter(Boolean).join('\n');
}

/** One line of x/y per run where both runs are clean; '' when there is none. */
function runRatios(a: Args, label: string, rate: number, x: (run: number) => Row | undefined, y: (run: number) => Row | undefined): string {
  const clean = (r: Row | undefined): r is Row => r !== undefined && r.complete && r.errors === 0;
  const cpu: string[] = [];
  const e2e: string[] = [];
  const posts: string[] = [];
  const per = (r: Row): string => `${r.rawPostsPerRequest === undefined || Number.isNaN(r.rawPostsPerRequest) ? '-' : r.rawPostsPerRequest.toFixed(2)}+${(r.generatedWritesPerRequest ?? NaN).toFixed(2)}`;
  for (let run = 1; run <= a.runs; run++) {
    const rx = x(run);
    const ry = y(run);
    if (!clean(rx) || !clean(ry)) continue;
    if (rx.generatedWritesPerRequest !== undefined && ry.generatedWritesPerRequest !== undefined) posts.push(`${per(rx)} / ${per(ry)}`);
    // At a fixed rate, a proxy that could not take what was offered is not measured at that rate.
    const short = rate > 0 && Math.min(rx.acceptedPerS, ry.acceptedPerS) < 0.97 * rate ? '*' : '';
    cpu.push((rx.cpuPer1M / ry.cpuPer1M).toFixed(2) + short);
    e2e.push((rx.e2eRawPerS / ry.e2eRawPerS).toFixed(2) + short);
  }
  const note = cpu.some((c) => c.endsWith('*')) ? ' (* = a proxy accepted < 97% of the offered rate)' : '';
  const writes = posts.length ? `; POSTs per request, raw+generated ('-': no counter), x / y: ${posts.join(', ')}` : '';
  return cpu.length ? `${label} per run: CPU s/1M ${cpu.join(', ')}; raw samples/s e2e ${e2e.join(', ')}${writes}${note}` : '';
}

/** Latency detail: p50/p99/max over the timed requests, and anomstream's event loop and GC. */
export function latencyTable(rows: Row[], a: Args): string {
  const out = [
    `| shape | encoding | series | proxy | offered samples/s | timed requests | p50 ms | p99 ms | max ms | event-loop p99 / max ms (since start) | GC pauses during load: count, total ms, p99 ms, max ms |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
  ];
  for (const g of groups(a)) {
    const { shape, rate, series } = g;
    const p99: Record<string, number> = {};
    for (const proxy of a.proxies) {
      const rs = inGroup(rows, proxy, g).filter((r) => r.complete && r.errors === 0);
      if (!rs.length) continue;
      p99[proxy] = stats(rs.map((r) => r.p99Ms)).median;
      const el =
        proxy === 'anomstream' || proxy === 'baseline'
          ? `${fmt(
              rs.map((r) => r.eventLoopP99Ms ?? NaN),
              1,
            )} / ${fmt(
              rs.map((r) => r.eventLoopMaxMs ?? NaN),
              1,
            )}`
          : '';
      const gcRows = rs.filter((r) => r.gc);
      const gc = gcRows.length
        ? `${fmt(
            gcRows.map((r) => r.gc!.count),
            0,
          )}, ${fmt(
            gcRows.map((r) => r.gc!.totalMs),
            0,
          )}, ${fmt(
            gcRows.map((r) => r.gc!.p99Ms),
            1,
          )}, ${fmt(
            gcRows.map((r) => r.gc!.maxMs),
            1,
          )}`
        : '';
      out.push(
        `| ${shape} | ${g.encoding} | ${series} | ${proxy === 'direct' ? `${a.target} (direct)` : proxy} | ${offered(rate)} | ${stats(rs.map((r) => r.latencyCount)).median} | ${fmt(
          rs.map((r) => r.p50Ms),
          1,
        )} | ${fmt(
          rs.map((r) => r.p99Ms),
          1,
        )} | ${fmt(
          rs.map((r) => r.maxMs),
          1,
        )} | ${el} | ${gc} |`,
      );
    }
    if (p99.anomstream !== undefined && p99.vmagent !== undefined)
      out.push(`| ${shape} | ${g.encoding} | ${series} | anomstream p99 − vmagent p99 | ${offered(rate)} | | | ${(p99.anomstream - p99.vmagent).toFixed(1)} | | | |`);
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
  if (a.proxies.includes('anomstream') && !existsSync(path.join(root, 'dist/src/cli.js'))) {
    console.error('anomstream: dist/src/cli.js not built; leaving it out');
    a.proxies = a.proxies.filter((p) => p !== 'anomstream');
  }
  const dirty = sh('git', ['status', '--short', 'src']).split('\n').filter(Boolean).length;
  console.log(
    `${new Date().toISOString()}; ${sh('nproc', [])} cores; node ${process.version}; anomstream ${sh('git', ['rev-parse', '--short', 'HEAD'])}${dirty ? ` + ${dirty} uncommitted src files` : ''} (dist/src snapshot); victoria-metrics package ${sh('dpkg-query', ['-W', '-f', '${Version}', 'victoria-metrics'])}`,
  );
  console.log(`compare ${process.argv.slice(2).join(' ')}\n`);
  const tmp = mkdtempSync(path.join(tmpdir(), 'anomstream-bench-'));
  if (a.proxies.includes('anomstream')) anomstreamCli = snapshotAnomstream(tmp);
  if (a.baseline) {
    console.log(`baseline: anomstream ${sh('git', ['rev-parse', '--short', a.baseline])} (${a.baseline})`);
    baselineCli = buildBaseline(tmp, a.baseline);
  }
  const rows: Row[] = [];
  try {
    for (const series of a.series) {
      for (let run = 1; run <= a.runs; run++) {
        for (const shape of a.shapes) {
          for (const encoding of a.encodings) {
            for (const rate of a.rates) {
              for (const proxy of a.proxies) {
                if (!runs(proxy, encoding)) continue;
                const row = await oneRun(a, proxy, shape, encoding, rate, series, run, tmp);
                rows.push(row);
                console.error(JSON.stringify(row));
              }
            }
          }
        }
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (a.json) writeFileSync(a.json, JSON.stringify(rows, null, 1));
  console.log(table(rows, a));
  console.log('');
  const ratios = perRunRatios(rows, a);
  if (ratios) console.log(`${ratios}\n`);
  console.log(latencyTable(rows, a));
}
