// Memory per scored series: RSS after a full GC, divided by the series count, minus an idle anomstream.
//
//   node dist/bench/memory.js [--series 100000,1000000] [--samples-per-series 4] [--models auto,zscore_online]
//     [--state on,off] [--runs 1] [--json FILE]
//
// Per (model, series count, run): a fresh counting sink (CPU 1) and a fresh anomstream (CPU 0) started as
// `node --inspect=127.0.0.1:PORT dist/src/cli.js --config F`, scoring every series. Through the inspector
// (HeapProfiler.collectGarbage, twice) the idle process is collected and measured, then bench/load sends
// `series` distinct node_exporter-like series x `samples-per-series` samples (bounded: 2,000 samples per
// request, concurrency 4, at most 300 s), every sample acknowledged and counted by the sink; then GC again
// and measure. Reported: VmRSS delta / series (the headline), V8 heap used and ArrayBuffer deltas / series
// (where the bytes live), peak RSS (VmHWM), anomstream_series and anomstream_scored_series from /metrics.
// The model state (auto 33 Float64 slots = 264 B, zscore_online 8 slots = 64 B) plus the scorer's 2 slots
// (16 B) is allocated at a series' first sample, so a few samples per series suffice (no warm-up needed).
// Snapshot of dist/src (bench/procs.ts), so a rebuild by someone else during the run does not mix builds.
// --state: `on` (the default config: state.path set, so each scored series' label bytes are kept for the
// snapshot; the interval is set to 1h so that no snapshot runs during the measurement), `off`
// (state.path: ""): the difference is what keeping the labels costs per scored series.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WebSocket } from 'undici';
import { peakRssMb, rssMb } from './load/proc.js';
import { freePort, runLoad, sh, sleep, snapshotAnomstream, start, stop, waitHttp, type Proc } from './procs.js';

const here = path.dirname(fileURLToPath(import.meta.url));

interface Args {
  series: number[];
  samplesPerSeries: number;
  models: string[];
  states: ('on' | 'off')[];
  runs: number;
  json: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { series: [100_000, 1_000_000], samplesPerSeries: 4, models: ['auto', 'zscore_online'], states: ['on'], runs: 1, json: '' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[++i] ?? '';
    if (k === '--series') a.series = v.split(',').map(Number);
    else if (k === '--samples-per-series') a.samplesPerSeries = Number(v);
    else if (k === '--models') a.models = v.split(',');
    else if (k === '--state') a.states = v.split(',').map((x) => (x === 'off' ? 'off' : 'on'));
    else if (k === '--runs') a.runs = Number(v);
    else if (k === '--json') a.json = v;
    else throw new Error(`unknown option '${k}'`);
  }
  return a;
}

/** Minimal Chrome DevTools Protocol client over the inspector's WebSocket. */
class Inspector {
  private id = 0;
  private readonly pending = new Map<number, (v: unknown) => void>();
  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener('message', (ev) => {
      const m = JSON.parse(String(ev.data)) as { id?: number; result?: unknown };
      if (m.id !== undefined) this.pending.get(m.id)?.(m.result);
    });
  }
  static async connect(port: number): Promise<Inspector> {
    const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
    const ws = new WebSocket(list[0].webSocketDebuggerUrl);
    await new Promise<void>((res, rej) => {
      ws.addEventListener('open', () => res());
      ws.addEventListener('error', () => rej(new Error('inspector: cannot connect')));
    });
    return new Inspector(ws);
  }
  send(method: string, params: object = {}): Promise<unknown> {
    const id = ++this.id;
    return new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error(`inspector: ${method} timed out`)), 60_000);
      this.pending.set(id, (v) => {
        clearTimeout(t);
        res(v);
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }
  async memoryUsage(): Promise<{ rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number }> {
    const r = (await this.send('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })) as { result: { value: string } };
    return JSON.parse(r.result.value);
  }
  async gc(): Promise<void> {
    await this.send('HeapProfiler.collectGarbage');
    await this.send('HeapProfiler.collectGarbage');
  }
  close(): void {
    this.ws.close();
  }
}

/** A metric's value summed over its label sets (anomstream_scored_series is one per (query, model)); NaN when absent. */
async function gauge(base: string, name: string): Promise<number> {
  const t = await (await fetch(`${base}/metrics`)).text();
  let sum = NaN;
  for (const m of t.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'gm'))) sum = (sum === sum ? sum : 0) + Number(m[1]);
  return sum;
}

interface Row {
  model: string;
  state: 'on' | 'off';
  series: number;
  run: number;
  indexSeries: number;
  scoredSeries: number;
  rawSamples: number;
  complete: boolean;
  idleRssMb: number;
  loadedRssBeforeGcMb: number;
  loadedRssMb: number;
  peakRssMb: number;
  rssBytesPerSeries: number;
  heapBytesPerSeries: number;
  arrayBufferBytesPerSeries: number;
  externalBytesPerSeries: number;
}

async function oneRun(cli: string, tmp: string, model: string, state: 'on' | 'off', series: number, a: Args, run: number): Promise<Row> {
  const sinkPort = await freePort();
  const port = await freePort();
  const inspectPort = await freePort();
  const procs: Proc[] = [];
  try {
    const sink = start(process.execPath, [path.join(here, 'sink.js'), '--port', String(sinkPort), '--mode', 'raw'], '1');
    procs.push(sink);
    await waitHttp(`http://127.0.0.1:${sinkPort}/health`, sink, 20_000);
    const cfg = path.join(tmp, `mem-${port}.yaml`);
    writeFileSync(
      cfg,
      [
        `server: { listen: "127.0.0.1:${port}" }`,
        `reader: { queries: { bench: '{__name__=~".+"}' } }`,
        `writer: { datasource_url: "http://127.0.0.1:${sinkPort}" }`,
        ...(model === 'auto' ? [] : [`models: { m: { class: ${model} } }`]),
        state === 'on' ? `state: { path: "${path.join(tmp, `state-${port}`)}", interval: 1h }` : 'state: { path: "" }',
        `logging: { level: warn }`,
        '',
      ].join('\n'),
    );
    const anom = start(process.execPath, [`--inspect=127.0.0.1:${inspectPort}`, cli, '--config', cfg], '0');
    procs.push(anom);
    const base = `http://127.0.0.1:${port}`;
    await waitHttp(`${base}/health`, anom, 20_000);
    const pid = anom.pid; // taskset execs node: same pid
    const ins = await Inspector.connect(inspectPort);
    try {
      await sleep(500);
      await ins.gc();
      await sleep(500);
      const idle = await ins.memoryUsage();
      const idleRss = rssMb(pid);
      const r = await runLoad([
        '--url',
        `${base}/api/v1/write`,
        '--series',
        String(series),
        '--samples-per-series',
        String(a.samplesPerSeries),
        '--concurrency',
        '4',
        '--duration',
        '300',
        '--drain-timeout',
        '120',
        '--pid',
        String(pid),
        '--sink',
        `http://127.0.0.1:${sinkPort}`,
      ]);
      await sleep(2000);
      const beforeGc = rssMb(pid);
      await ins.gc();
      await sleep(1000);
      await ins.gc();
      await sleep(500);
      const loaded = await ins.memoryUsage();
      const loadedRss = rssMb(pid);
      const row: Row = {
        model,
        state,
        series,
        run,
        indexSeries: await gauge(base, 'anomstream_series'),
        scoredSeries: await gauge(base, 'anomstream_scored_series'),
        rawSamples: r.arrival.rawSamples,
        complete: r.arrival.complete && r.run.errors === 0,
        idleRssMb: idleRss,
        loadedRssBeforeGcMb: beforeGc,
        loadedRssMb: loadedRss,
        peakRssMb: peakRssMb(pid),
        rssBytesPerSeries: ((loadedRss - idleRss) * 1024 * 1024) / series,
        heapBytesPerSeries: (loaded.heapUsed - idle.heapUsed) / series,
        arrayBufferBytesPerSeries: (loaded.arrayBuffers - idle.arrayBuffers) / series,
        externalBytesPerSeries: (loaded.external - idle.external) / series,
      };
      return row;
    } finally {
      ins.close();
    }
  } finally {
    for (const p of procs.reverse()) await stop(p);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const a = parseArgs(process.argv.slice(2));
  const tmp = mkdtempSync(path.join(tmpdir(), 'anomstream-mem-'));
  const cli = snapshotAnomstream(tmp);
  console.log(`${new Date().toISOString()}; node ${process.version}; anomstream ${sh('git', ['rev-parse', '--short', 'HEAD'])} (dist/src snapshot); memory ${process.argv.slice(2).join(' ')}\n`);
  const rows: Row[] = [];
  try {
    for (let run = 1; run <= a.runs; run++) {
      for (const series of a.series) {
        for (const model of a.models) {
          for (const state of a.states) {
            const row = await oneRun(cli, tmp, model, state, series, a, run);
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
  console.log('| model | state | series | scored series | RSS idle MB | RSS loaded MB (before GC / after GC) | peak RSS MB | RSS B/series | V8 heap B/series | ArrayBuffer B/series | complete |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(
      `| ${r.model} | ${r.state} | ${r.series} | ${r.scoredSeries} | ${r.idleRssMb.toFixed(0)} | ${r.loadedRssBeforeGcMb.toFixed(0)} / ${r.loadedRssMb.toFixed(0)} | ${r.peakRssMb.toFixed(0)} | ${r.rssBytesPerSeries.toFixed(0)} | ${r.heapBytesPerSeries.toFixed(0)} | ${r.arrayBufferBytesPerSeries.toFixed(0)} | ${r.complete} |`,
    );
  }
}
