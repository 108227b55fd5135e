// Time to detection: from sending a sample with an injected anomaly until its anomaly_score > 1 can be
// read back from a real VictoriaMetrics, with plain queries (no /internal/force_flush), or with
// --force-flush to take VictoriaMetrics' visibility tick out of the figure.
//
//   node dist/bench/ttd.js [--probes 60] [--warm 40] [--poll-ms 50] [--latency-offset 1s] [--gap-ms 300]
//     [--timeout-ms 10000] [--force-flush] [--json FILE]
//
// Starts a fresh VictoriaMetrics (-search.latencyOffset as given) and anomstream (default model `auto`,
// default outputs, every series scored) on 127.0.0.1, both unpinned. One series per probe,
// `ttd_probe{probe="i"}`, warmed with `warm` normal points (100 + N(0,1), 1 s apart, ending 2 s ago,
// so min_n_samples_seen = 16 is passed). Probe i: POST one sample of series i at ts = now with value
// 100 + 1000 (far outside the band), and from the moment the POST starts poll VictoriaMetrics every
// `poll-ms` with two plain reads, each timed separately:
//   export: GET /api/v1/export?match[]=anomaly_score{probe="i"}&start=ts  -> a value > 1 at ts
//   query:  GET /api/v1/query?query=(anomaly_score{probe="i"} > 1) and on() (tlast_over_time(anomaly_score
//           {probe="i"}[1m]) >= ts): instant query at "now" as vmalert evaluates a rule, subject to
//           -search.latencyOffset; the tlast_over_time term makes sure the point found is the probe's.
// Time to detection = first poll answer that shows it, minus the POST's start. Probes are sequential,
// `gap-ms` + uniform(0, 1 s) apart (so the probes sample VictoriaMetrics' ~1 s flush cycle uniformly), each bounded by `timeout-ms`. Control: the raw probe sample's own visibility in
// /api/v1/export (VictoriaMetrics' floor, which anomstream cannot go below). Reports p50/p90/p99/max of both, and the POST latency.
//
// VictoriaMetrics 1.79 keeps ingested rows in per-shard buffers that searches do not see and turns
// them into searchable parts on a fixed 1 s ticker (lib/storage/partition.go rawRowsFlushInterval;
// no flag changes it; later releases use 2 s). So with plain reads every sample, raw or generated,
// becomes visible 0-1 s after it arrives, whatever sent it. --force-flush calls
// /internal/force_flush before each poll's reads. Measured (bench/RESULTS.md): for a single series
// written once in a while that makes a sample visible within ~5-13 ms, but for this probe pattern
// (60 series warmed at 1 s steps) it did not remove the 0-1 s delay, with or without anomstream in
// between; the control row (the raw sample) shows what the database adds either way.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import protobuf from 'protobufjs';
import { freePort, root, sleep, start, stop, waitHttp, type Proc } from './procs.js';

const require = createRequire(import.meta.url);
const snappy = require('snappyjs') as { compress(b: Uint8Array): Uint8Array };

interface Args {
  probes: number;
  warm: number;
  pollMs: number;
  latencyOffset: string;
  gapMs: number;
  timeoutMs: number;
  forceFlush: boolean;
  json: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { probes: 60, warm: 40, pollMs: 50, latencyOffset: '1s', gapMs: 300, timeoutMs: 10_000, forceFlush: false, json: '' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--force-flush') {
      a.forceFlush = true;
      continue;
    }
    const v = argv[++i] ?? '';
    if (k === '--probes') a.probes = Number(v);
    else if (k === '--warm') a.warm = Number(v);
    else if (k === '--poll-ms') a.pollMs = Number(v);
    else if (k === '--latency-offset') a.latencyOffset = v;
    else if (k === '--gap-ms') a.gapMs = Number(v);
    else if (k === '--timeout-ms') a.timeoutMs = Number(v);
    else if (k === '--json') a.json = v;
    else throw new Error(`unknown option '${k}'`);
  }
  if (!(a.probes >= 1 && a.probes <= 10_000) || !(a.warm >= 17) || !(a.pollMs >= 1) || !(a.timeoutMs <= 60_000)) throw new Error('bad arguments');
  return a;
}

let writeRequestType: protobuf.Type | undefined;
/** Snappy-compressed WriteRequest (protobufjs + snappyjs, as the tests' oracle). */
function body(points: Array<{ probe: number; value: number; ts: number }>): Uint8Array {
  writeRequestType ??= protobuf.loadSync(path.join(root, 'proto', 'remote.proto')).lookupType('prometheus.WriteRequest');
  const msg = {
    timeseries: points.map((p) => ({
      labels: [
        { name: '__name__', value: 'ttd_probe' },
        { name: 'probe', value: String(p.probe) },
      ],
      samples: [{ value: p.value, timestamp: p.ts }],
    })),
  };
  return snappy.compress(writeRequestType.encode(writeRequestType.fromObject(msg)).finish());
}

async function post(url: string, b: Uint8Array): Promise<void> {
  const r = await fetch(url, {
    method: 'POST',
    body: Uint8Array.from(b),
    headers: { 'content-encoding': 'snappy', 'content-type': 'application/x-protobuf', 'x-prometheus-remote-write-version': '0.1.0' },
    signal: AbortSignal.timeout(10_000),
  });
  await r.arrayBuffer();
  if (r.status >= 300) throw new Error(`POST ${url}: ${r.status}`);
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function exportShows(vm: string, probe: number, ts: number, metric = 'anomaly_score', min = 1): Promise<boolean> {
  const u = `${vm}/api/v1/export?match[]=${encodeURIComponent(`${metric}{probe="${probe}"}`)}&start=${(ts - 1) / 1000}`;
  const t = await (await fetch(u, { signal: AbortSignal.timeout(5000) })).text();
  for (const line of t.split('\n')) {
    if (!line) continue;
    const s = JSON.parse(line) as { values: number[]; timestamps: number[] };
    for (let i = 0; i < s.timestamps.length; i++) if (s.timestamps[i] === ts && s.values[i] > min) return true;
  }
  return false;
}

async function queryShows(vm: string, probe: number, ts: number): Promise<boolean> {
  // The latest stored point must be the probe's own (tlast_over_time = its raw timestamp; an earlier
  // warm-up point above 1 within the lookback does not count) and score above 1.
  const sel = `anomaly_score{probe="${probe}"}`;
  const q = `(${sel} > 1) and on() (tlast_over_time(${sel}[1m]) >= ${(ts / 1000).toFixed(3)})`;
  const u = `${vm}/api/v1/query?query=${encodeURIComponent(q)}&nocache=1`;
  const j = (await (await fetch(u, { signal: AbortSignal.timeout(5000) })).json()) as { data: { result: unknown[] } };
  return j.data.result.length > 0;
}

async function forceFlush(vm: string): Promise<void> {
  const r = await fetch(`${vm}/internal/force_flush`);
  await r.arrayBuffer();
  if (!r.ok) throw new Error(`force_flush: ${r.status}`);
}

function pct(xs: number[], q: number): number {
  const s = [...xs].sort((x, y) => x - y);
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] : NaN;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const a = parseArgs(process.argv.slice(2));
  const tmp = mkdtempSync(path.join(tmpdir(), 'anomstream-ttd-'));
  const base = await freePort();
  const anPort = await freePort();
  const vmBase = `http://127.0.0.1:${base}`;
  const anBase = `http://127.0.0.1:${anPort}`;
  const procs: Proc[] = [];
  const rows: Array<{ probe: number; postMs: number; exportMs: number; queryMs: number; rawMs: number }> = [];
  try {
    const vm = start('/usr/bin/victoria-metrics', [`-storageDataPath=${path.join(tmp, 'vm')}`, `-httpListenAddr=127.0.0.1:${base}`, '-loggerLevel=ERROR', `-search.latencyOffset=${a.latencyOffset}`], null);
    procs.push(vm);
    await waitHttp(`${vmBase}/health`, vm, 30_000);
    const cfg = path.join(tmp, 'anomstream.yaml');
    writeFileSync(cfg, [`server: { listen: "127.0.0.1:${anPort}" }`, `reader: { queries: { ttd: 'ttd_probe' } }`, `writer: { datasource_url: "${vmBase}" }`, 'logging: { level: warn }', ''].join('\n'));
    const an = start(process.execPath, [path.join(root, 'dist/src/cli.js'), '--config', cfg], null, undefined, tmp);
    procs.push(an);
    await waitHttp(`${anBase}/health`, an, 30_000);
    const url = `${anBase}/api/v1/write`;
    const rand = rng(7);
    const jitter = rng(11);
    const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    // Warm-up: `warm` points per series, 1 s apart, the last 2 s ago.
    const now0 = Date.now();
    for (let k = 0; k < a.warm; k++) {
      const ts = now0 - 2000 - (a.warm - 1 - k) * 1000;
      await post(url, body(Array.from({ length: a.probes }, (_, probe) => ({ probe, value: 100 + gauss(), ts }))));
    }
    await sleep(1000);
    for (let probe = 0; probe < a.probes; probe++) {
      const ts = Date.now();
      const t0 = performance.now();
      await post(url, body([{ probe, value: 1100, ts }]));
      const postMs = performance.now() - t0;
      let exportMs = NaN;
      let queryMs = NaN;
      let rawMs = NaN;
      const deadline = t0 + a.timeoutMs;
      while (performance.now() < deadline && (Number.isNaN(exportMs) || Number.isNaN(queryMs) || Number.isNaN(rawMs))) {
        const tick = performance.now();
        if (a.forceFlush) await forceFlush(vmBase);
        const [e, q, raw] = await Promise.all([
          Number.isNaN(exportMs) ? exportShows(vmBase, probe, ts) : Promise.resolve(false),
          Number.isNaN(queryMs) ? queryShows(vmBase, probe, ts) : Promise.resolve(false),
          Number.isNaN(rawMs) ? exportShows(vmBase, probe, ts, 'ttd_probe', 1000) : Promise.resolve(false),
        ]);
        const at = performance.now() - t0;
        if (e) exportMs = at;
        if (q) queryMs = at;
        if (raw) rawMs = at;
        const wait = a.pollMs - (performance.now() - tick);
        if (wait > 0) await sleep(wait);
      }
      rows.push({ probe, postMs, exportMs, queryMs, rawMs });
      console.error(JSON.stringify(rows[rows.length - 1]));
      // Random gap: VictoriaMetrics makes new rows searchable on a ~1 s ticker; a fixed probe period would
      // phase-lock with it and sample one point of the cycle only.
      await sleep(a.gapMs + jitter() * 1000);
    }
  } finally {
    for (const p of procs.reverse()) await stop(p);
    rmSync(tmp, { recursive: true, force: true });
  }
  if (a.json) writeFileSync(a.json, JSON.stringify(rows, null, 1));
  const line = (name: string, xs: number[]): string => {
    const ok = xs.filter((x) => Number.isFinite(x));
    return `| ${name} | ${ok.length}/${xs.length} | ${pct(ok, 0.5).toFixed(0)} | ${pct(ok, 0.9).toFixed(0)} | ${pct(ok, 0.99).toFixed(0)} | ${Math.max(...ok).toFixed(0)} |`;
  };
  console.log(`ttd ${process.argv.slice(2).join(' ')} (${new Date().toISOString()}, node ${process.version})\n`);
  console.log('| read path | detected | p50 ms | p90 ms | p99 ms | max ms |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  console.log(
    line(
      'POST to anomstream answered',
      rows.map((r) => r.postMs),
    ),
  );
  console.log(
    line(
      '/api/v1/export shows anomaly_score > 1 at ts',
      rows.map((r) => r.exportMs),
    ),
  );
  console.log(
    line(
      'control: the raw sample itself in /api/v1/export',
      rows.map((r) => r.rawMs),
    ),
  );
  console.log(
    line(
      `/api/v1/query anomaly_score > 1, latest point = probe's (now, latencyOffset ${a.latencyOffset})`,
      rows.map((r) => r.queryMs),
    ),
  );
}
