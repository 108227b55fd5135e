/**
 * E2E harness: real processes on 127.0.0.1 with temp dirs, nothing mocked.
 *
 * - VictoriaMetrics (Debian package `victoria-metrics`, /usr/bin/victoria-metrics)
 * - vmagent (same package, /usr/bin/vmagent 1.79.5) as a real remote_write sender
 * - anomstream itself (`node dist/src/cli.js --config FILE`)
 * - remote_write request builder (protobufjs over proto/remote.proto + snappyjs): the test oracle,
 *   independent of the hand-written decoder in src/ingest/.
 *
 * Every started process is registered and killed on process exit as a last resort; tests still
 * stop what they start in `finally`. Under CI=true a missing binary fails the test instead of
 * skipping it.
 */
import { spawn, ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
const snappy = require('snappyjs') as {
  compress(input: Uint8Array): Uint8Array;
  uncompress(input: Uint8Array): Uint8Array;
};

/** Repository root: the nearest ancestor of this file holding package.json (works from dist/ too). */
export const REPO_ROOT: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'proto'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('harness: repository root (package.json + proto/) not found');
    dir = up;
  }
})();

export const CLI = join(REPO_ROOT, 'dist', 'src', 'cli.js');
export const VM_BIN = process.env.VICTORIA_METRICS_BIN ?? '/usr/bin/victoria-metrics';
export const VMAGENT_BIN = process.env.VMAGENT_BIN ?? '/usr/bin/vmagent';
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

/** Minimal view of node:test's TestContext, so the harness does not depend on its typing details. */
interface Skippable {
  skip(message?: string): void;
}

/** node:test's TestContext.diagnostic, for printing process output when a test fails. */
export interface Diagnosable {
  diagnostic(message: string): void;
}

/** Prints the output tails of the given processes as test diagnostics (call from a catch block). */
export function dumpProcesses(t: Diagnosable, procs: (Proc | undefined)[]): void {
  for (const p of procs) if (p) for (const line of p.tail(40).split('\n')) t.diagnostic(line);
}

/**
 * True when every binary exists. Otherwise: under CI=true throws (the test fails);
 * elsewhere marks the test skipped and returns false.
 */
export function requireBinaries(t: Skippable, ...paths: string[]): boolean {
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length === 0) return true;
  const msg = `missing ${missing.join(', ')} (Debian packages victoria-metrics, prometheus, prometheus-node-exporter, systemd: .ci/run installs them)`;
  if (IN_CI) throw new Error(`CI=true: ${msg}`);
  t.skip(msg);
  return false;
}

// ---------------------------------------------------------------------------------------------
// small utilities

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A port that was free a moment ago (bind :0, read, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      if (addr === null || typeof addr === 'string') return reject(new Error('no port'));
      const port = addr.port;
      s.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `anomstream-e2e-${prefix}-`));
}

/**
 * Polls `probe` until it returns a value other than undefined, or throws after `timeoutMs`
 * with the last error/observation in the message. Never an assertion by itself.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: string;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
      last = 'not yet';
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})`);
    await sleep(intervalMs);
  }
}

export interface HttpResult {
  status: number;
  body: Buffer;
  headers: http.IncomingHttpHeaders;
}

/**
 * One HTTP request with node:http (not fetch), so that an early answer from a server that stops
 * reading a large body is still observed: resolves on the response, ignores write errors after it.
 */
export function request(url: string, opts: { method?: string; headers?: Record<string, string>; body?: Uint8Array; timeoutMs?: number; ca?: Buffer } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    let answered = false;
    const req = (u.protocol === 'https:' ? https : http).request(
      {
        ...(opts.ca ? { ca: opts.ca } : {}),
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: opts.method ?? 'GET',
        headers: { ...(opts.body ? { 'Content-Length': String(opts.body.length) } : {}), ...opts.headers },
        agent: false,
      },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.setTimeout(opts.timeoutMs ?? 15_000, () => req.destroy(new Error(`timeout: ${opts.method ?? 'GET'} ${url}`)));
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    if (opts.body) {
      req.write(opts.body, () => undefined);
    }
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------
// processes

/** A started child process with its output kept for diagnostics. */
export class Proc {
  readonly child: ChildProcess;
  private out: string[] = [];
  private exited: Promise<number | null>;
  exitCode: number | null | undefined = undefined;

  constructor(
    readonly name: string,
    bin: string,
    args: string[],
    opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
  ) {
    this.child = spawn(bin, args, { cwd: opts.cwd ?? REPO_ROOT, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(this.child);
    const keep = (d: Buffer): void => {
      this.out.push(d.toString('utf8'));
      if (this.out.length > 2000) this.out.splice(0, 1000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => {
      this.child.on('error', (e) => {
        this.out.push(`spawn error: ${e.message}\n`);
        this.exitCode = null;
        live.delete(this.child);
        resolve(null);
      });
      this.child.on('exit', (code) => {
        this.exitCode = code;
        live.delete(this.child);
        resolve(code);
      });
    });
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Everything the process printed (stdout and stderr interleaved), last ~1000 chunks. */
  output(): string {
    return this.out.join('');
  }

  /** Last lines of output, for assertion messages. */
  tail(lines = 30): string {
    return `--- ${this.name} output (tail) ---\n` + this.output().split('\n').slice(-lines).join('\n');
  }

  /** Resolves with the exit code (null when killed by a signal or not spawned). */
  wait(): Promise<number | null> {
    return this.exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});
// A test run interrupted (Ctrl-C, CI timeout) must not leave VictoriaMetrics or vmagent behind.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    for (const c of live) c.kill('SIGKILL');
    process.exit(sig === 'SIGINT' ? 130 : 143);
  });
}

/** Waits for `url` to answer 200 (or 401 with `authIsUp`: a listener that wants credentials the caller has not given). */
async function waitHealthy(p: Proc, url: string, timeoutMs: number, opts: { headers?: Record<string, string>; ca?: Buffer; authIsUp?: boolean } = {}): Promise<void> {
  await waitFor(
    `${p.name} ${url}`,
    async () => {
      if (!p.running) throw new Error(`${p.name} exited with ${p.exitCode}\n${p.tail()}`);
      const r = await request(url, { timeoutMs: 2000, ...opts });
      return r.status === 200 || (opts.authIsUp && r.status === 401) ? true : undefined;
    },
    timeoutMs,
  );
}

// ---------------------------------------------------------------------------------------------
// VictoriaMetrics

/** One exported series: labels plus parallel arrays, as /api/v1/export writes them. */
export interface ExportedSeries {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

export class VictoriaMetrics {
  proc: Proc | undefined;
  readonly url: string;

  private constructor(
    readonly port: number,
    readonly dataDir: string,
    private readonly extraArgs: string[],
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  /** `extraArgs` come last, so they override the defaults below (`-search.latencyOffset=5s`, say). */
  static async start(extraArgs: string[] = []): Promise<VictoriaMetrics> {
    const vm = new VictoriaMetrics(await freePort(), tempDir('vm'), extraArgs);
    await vm.restart();
    return vm;
  }

  /** (Re)starts on the same port and data dir. */
  async restart(): Promise<void> {
    if (this.proc?.running) throw new Error('victoria-metrics already running');
    this.proc = new Proc('victoria-metrics', VM_BIN, [`-storageDataPath=${this.dataDir}`, `-httpListenAddr=127.0.0.1:${this.port}`, '-search.latencyOffset=1s', '-loggerLevel=WARN', ...this.extraArgs]);
    await waitHealthy(this.proc, `${this.url}/health`, 30_000);
  }

  /** Stops the process, keeps the data dir (for restart()). */
  async stop(): Promise<void> {
    await this.proc?.stop();
  }

  /** Stops and removes the data dir. */
  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  async forceFlush(): Promise<void> {
    const r = await request(`${this.url}/internal/force_flush`);
    if (r.status !== 200) throw new Error(`force_flush: ${r.status} ${r.body.toString()}`);
  }

  /** vm_rows_inserted_total{type="promremotewrite"}: rows VictoriaMetrics took by remote write. */
  async rowsInserted(): Promise<number> {
    const m = /^vm_rows_inserted_total\{type="promremotewrite"\} (\S+)$/m.exec((await request(`${this.url}/metrics`)).body.toString('utf8'));
    return m ? Number(m[1]) : 0;
  }

  /**
   * All samples of the series matching `match` (a series selector), one entry per series:
   * VictoriaMetrics may write one series on several lines (one per data part); they are merged
   * here and sorted by timestamp. Duplicates (same timestamp and value, e.g. a retried request)
   * are kept; use distinctSamples() to drop them.
   */
  async exportSeries(match: string): Promise<ExportedSeries[]> {
    await this.forceFlush();
    const r = await request(`${this.url}/api/v1/export?match[]=${encodeURIComponent(match)}`);
    if (r.status !== 200) throw new Error(`export ${match}: ${r.status} ${r.body.toString()}`);
    const bySeries = new Map<string, ExportedSeries>();
    for (const line of r.body.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      const s = JSON.parse(line) as ExportedSeries;
      const key = seriesKey(s.metric);
      const have = bySeries.get(key);
      if (!have) bySeries.set(key, { metric: s.metric, values: [...s.values], timestamps: [...s.timestamps] });
      else {
        have.values.push(...s.values);
        have.timestamps.push(...s.timestamps);
      }
    }
    const out = [...bySeries.values()];
    for (const s of out) {
      const idx = s.timestamps.map((_, i) => i).sort((a, b) => s.timestamps[a] - s.timestamps[b]);
      s.timestamps = idx.map((i) => s.timestamps[i]);
      s.values = idx.map((i) => s.values[i]);
    }
    return out;
  }
}

/** Canonical string of a label set (sorted names), for maps and messages. */
export function seriesKey(labels: Record<string, string>): string {
  const name = labels.__name__ ?? '';
  const rest = Object.keys(labels)
    .filter((k) => k !== '__name__')
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`);
  return `${name}{${rest.join(',')}}`;
}

/**
 * timestamp -> value of one exported series, dropping exact duplicates (at-least-once delivery).
 * Throws when one timestamp carries two different values.
 */
export function distinctSamples(s: ExportedSeries): Map<number, number> {
  const m = new Map<number, number>();
  for (let i = 0; i < s.timestamps.length; i++) {
    const ts = s.timestamps[i];
    const v = s.values[i];
    const have = m.get(ts);
    if (have !== undefined && !Object.is(have, v)) {
      throw new Error(`${seriesKey(s.metric)} @${ts}: two values ${have} and ${v}`);
    }
    m.set(ts, v);
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
// vmagent

export class VmAgent {
  proc: Proc | undefined;
  readonly url: string;

  private constructor(
    readonly port: number,
    readonly tmpDir: string,
    readonly remoteWriteUrl: string,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  /**
   * vmagent with one remote_write URL. `-remoteWrite.queues=1` keeps the blocks of one series in
   * time order (with several queues, blocks are sent concurrently and may arrive out of order,
   * which an online model would see as time going backwards); `defaultQueues` leaves vmagent's
   * own default (2 x CPUs).
   */
  static async start(remoteWriteUrl: string, extraArgs: string[] = [], opts: { defaultQueues?: boolean } = {}): Promise<VmAgent> {
    const a = new VmAgent(await freePort(), tempDir('vmagent'), remoteWriteUrl);
    a.proc = new Proc('vmagent', VMAGENT_BIN, [
      `-remoteWrite.url=${remoteWriteUrl}`,
      `-remoteWrite.tmpDataPath=${a.tmpDir}`,
      `-httpListenAddr=127.0.0.1:${a.port}`,
      ...(opts.defaultQueues ? [] : ['-remoteWrite.queues=1']),
      '-remoteWrite.flushInterval=200ms',
      '-loggerLevel=WARN',
      ...extraArgs,
    ]);
    await waitHealthy(a.proc, `${a.url}/health`, 30_000);
    return a;
  }

  /** POST JSON lines (VictoriaMetrics import format) to vmagent's /api/v1/import. */
  async importJsonLines(series: InputSeries[], from = 0, to = Infinity): Promise<void> {
    const lines: string[] = [];
    for (const s of series) {
      const ts = s.timestamps.slice(from, to);
      if (ts.length === 0) continue;
      lines.push(JSON.stringify({ metric: s.labels, values: s.values.slice(from, to), timestamps: ts }));
    }
    const r = await request(`${this.url}/api/v1/import`, {
      method: 'POST',
      body: Buffer.from(lines.join('\n') + '\n'),
      headers: { 'Content-Type': 'application/json' },
    });
    if (r.status !== 204 && r.status !== 200) throw new Error(`vmagent import: ${r.status} ${r.body.toString()}`);
  }

  /** Sum of a counter from vmagent's /metrics over all label sets (0 when absent). */
  async metric(name: string, labelFilter?: (labels: string) => boolean): Promise<number> {
    const r = await request(`${this.url}/metrics`);
    let sum = 0;
    for (const line of r.body.toString('utf8').split('\n')) {
      if (!line.startsWith(name)) continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
      if (!m || m[1] !== name) continue;
      if (labelFilter && !labelFilter(m[2] ?? '')) continue;
      sum += Number(m[3]);
    }
    return sum;
  }

  async close(): Promise<void> {
    await this.proc?.stop();
    rmSync(this.tmpDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// anomstream

export class Anomstream {
  readonly url: string;

  private constructor(
    public proc: Proc,
    readonly port: number,
    readonly dir: string,
    scheme: string,
  ) {
    this.url = `${scheme}://127.0.0.1:${port}`;
  }

  /** The config file, and the working directory (the default state.path, `anomstream-state`, is under it). */
  get configFile(): string {
    return join(this.dir, 'config.yaml');
  }

  /**
   * Starts the process again (after it stopped or was killed) with the same config, port and
   * working directory, so the same state.path; resolves once GET /ready answers 200.
   */
  async restart(): Promise<void> {
    if (this.proc.running) throw new Error('anomstream is still running');
    this.proc = new Proc('anomstream', process.execPath, [CLI, '--config', this.configFile], { cwd: this.dir });
    await waitHealthy(this.proc, `${this.url}/ready`, 20_000);
  }

  /**
   * A metric from GET /metrics: the sample whose name and labels are `series` exactly (e.g.
   * `x_total{result="ok"}`); a bare name sums the family's samples over all label sets (e.g.
   * `anomstream_samples_scored_total` over every query and model); NaN when absent.
   */
  async metric(series: string): Promise<number> {
    return metricIn((await request(`${this.url}/metrics`)).body.toString(), series);
  }

  /**
   * Writes `configYaml(port)` to a temp dir and starts `node dist/src/cli.js --config FILE`;
   * resolves once GET /ready answers 200 (over HTTPS trusting `ca`, with `headers`, when given),
   * or 401 when no `headers` are given (a config with server.auth). `env`: the process' environment
   * (default: the test's).
   */
  static async start(configYaml: (port: number) => string, opts: { ca?: Buffer; headers?: Record<string, string>; env?: NodeJS.ProcessEnv } = {}): Promise<Anomstream> {
    if (!existsSync(CLI)) throw new Error(`${CLI} missing: build first (npx tsc -p .)`);
    const port = await freePort();
    const dir = tempDir('anomstream');
    const file = join(dir, 'config.yaml');
    writeFileSync(file, configYaml(port));
    // Its working directory is the temp dir: the default state.path (anomstream-state) lands there.
    const proc = new Proc('anomstream', process.execPath, [CLI, '--config', file], { cwd: dir, env: opts.env });
    const a = new Anomstream(proc, port, dir, opts.ca ? 'https' : 'http');
    try {
      await waitHealthy(proc, `${a.url}/ready`, 20_000, { ...opts, authIsUp: opts.headers === undefined });
    } catch (e) {
      await a.close();
      throw e;
    }
    return a;
  }

  /** POST a body to a write path with remote_write 1.0 headers (overridable). */
  write(body: Uint8Array, headers: Record<string, string> = {}, path = '/api/v1/write'): Promise<HttpResult> {
    return request(`${this.url}${path}`, { method: 'POST', body, headers: { ...REMOTE_WRITE_HEADERS, ...headers } });
  }

  async close(): Promise<void> {
    await this.proc.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Runs `node dist/src/cli.js ARGS` to completion (for config checks), with a deadline.
 * Returns exit code and combined output.
 */
export async function runCli(args: string[], timeoutMs = 20_000): Promise<{ code: number | null; output: string }> {
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: build first (npx tsc -p .)`);
  const p = new Proc('anomstream-cli', process.execPath, [CLI, ...args]);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const code = await p.wait();
  clearTimeout(timer);
  return { code, output: p.output() };
}

/** A minimal anomstream config; `extra` is appended as more top-level YAML. */
export function configYaml(opts: { port: number; datasourceUrl: string; queries?: Record<string, string>; models?: string; server?: string }): string {
  const queries = opts.queries ?? { cpu: 'test_cpu{job="node"}' };
  const q = Object.entries(queries)
    .map(([k, v]) => `    ${k}: '${v.replace(/'/g, "''")}'`)
    .join('\n');
  return [
    `server: { listen: "127.0.0.1:${opts.port}"${opts.server ? `, ${opts.server}` : ''} }`,
    'reader:',
    '  queries:',
    q,
    `writer: { datasource_url: "${opts.datasourceUrl}" }`,
    opts.models ? `models:\n${opts.models}` : '',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// remote_write requests (protobufjs + snappyjs: an oracle independent of src/decode)

export const REMOTE_WRITE_HEADERS: Record<string, string> = {
  'Content-Encoding': 'snappy',
  'Content-Type': 'application/x-protobuf',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
};

let writeRequestType: protobuf.Type | undefined;
function writeRequest(): protobuf.Type {
  if (!writeRequestType) {
    const root = protobuf.loadSync(join(REPO_ROOT, 'proto', 'remote.proto'));
    writeRequestType = root.lookupType('prometheus.WriteRequest');
  }
  return writeRequestType;
}

/** One input series: labels (with __name__) and its samples in time order. */
export interface InputSeries {
  labels: Record<string, string>;
  timestamps: number[];
  values: number[];
}

export interface Metadata {
  type: number;
  metricFamilyName: string;
  help?: string;
  unit?: string;
}

/** Protobuf WriteRequest bytes (uncompressed) for samples [from, to) of each series. */
export function encodeWriteRequest(series: InputSeries[], from = 0, to = Infinity, metadata: Metadata[] = []): Uint8Array {
  const T = writeRequest();
  const timeseries = [];
  for (const s of series) {
    const samples = [];
    const end = Math.min(to, s.timestamps.length);
    for (let i = from; i < end; i++) samples.push({ value: s.values[i], timestamp: s.timestamps[i] });
    if (samples.length === 0) continue;
    const labels = Object.keys(s.labels)
      .sort()
      .map((name) => ({ name, value: s.labels[name] }));
    timeseries.push({ labels, samples });
  }
  const msg = T.fromObject({ timeseries, metadata });
  return T.encode(msg).finish();
}

/** Snappy block-compressed WriteRequest, ready to POST. */
export function buildWriteRequest(series: InputSeries[], from = 0, to = Infinity, metadata: Metadata[] = []): Uint8Array {
  return snappyCompress(encodeWriteRequest(series, from, to, metadata));
}

export function snappyCompress(raw: Uint8Array): Uint8Array {
  return snappy.compress(raw);
}

export function snappyUncompress(body: Uint8Array): Uint8Array {
  return snappy.uncompress(body);
}

/** Decodes a snappy WriteRequest into plain objects (longs as numbers). */
export function decodeWriteRequest(body: Uint8Array): {
  timeseries?: { labels?: { name: string; value: string }[]; samples?: { value: number; timestamp: number }[] }[];
  metadata?: Metadata[];
} {
  const T = writeRequest();
  return T.toObject(T.decode(snappy.uncompress(body)), { longs: Number, defaults: false }) as ReturnType<typeof decodeWriteRequest>;
}

/** Deterministic PRNG (mulberry32), so every run sends the same data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A local HTTP server that records every request (a real downstream, for byte-level checks). */
export class CaptureServer {
  readonly requests: { method: string; path: string; headers: http.IncomingHttpHeaders; body: Buffer }[] = [];
  /** Status answered to every request but GET /health; may be changed between requests. */
  status = 204;
  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(status = 204): Promise<CaptureServer> {
    const server = http.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address() as net.AddressInfo;
    const cs = new CaptureServer(server, `http://127.0.0.1:${addr.port}`);
    cs.status = status;
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        cs.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        if (req.url === '/health') res.writeHead(200).end('OK');
        else res.writeHead(cs.status).end(cs.status >= 400 ? `downstream says ${cs.status}` : undefined);
      });
    });
    return cs;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/**
 * The sample `series` (name and labels exactly) of a Prometheus text exposition; a bare name
 * sums the family's samples over all its label sets. NaN when absent.
 */
export function metricIn(text: string, series: string): number {
  const bare = !series.includes('{');
  let sum = NaN;
  for (const l of text.split('\n')) {
    let rest: string;
    if (l.startsWith(`${series} `)) rest = l.slice(series.length + 1);
    else if (bare && l.startsWith(`${series}{`)) rest = l.slice(l.indexOf('} ') + 2);
    else continue;
    sum = (sum !== sum ? 0 : sum) + Number(rest.split(' ')[0]);
  }
  return sum;
}
