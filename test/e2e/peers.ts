/**
 * More real peers for the operating tests (issue 19), beside harness.ts's VictoriaMetrics, vmagent
 * and anomstream: the Debian `prometheus-node-exporter`, `prometheus` and `vmalert` binaries,
 * started on 127.0.0.1 with temp dirs, and a small real Alertmanager-API receiver for vmalert's
 * notifications. Plus the Prometheus HTTP API client the tests query VictoriaMetrics and
 * Prometheus with.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Proc, freePort, request, tempDir, waitFor } from './harness.js';

export const NODE_EXPORTER_BIN = process.env.NODE_EXPORTER_BIN ?? '/usr/bin/prometheus-node-exporter';
export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
export const PROMTOOL_BIN = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';
export const VMALERT_BIN = process.env.VMALERT_BIN ?? '/usr/bin/vmalert';

/** Waits until GET `url` answers 200 while `p` runs. */
async function until200(p: Proc, url: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    `${p.name} ${url}`,
    async () => {
      if (!p.running) throw new Error(`${p.name} exited with ${p.exitCode}\n${p.tail()}`);
      return (await request(url, { timeoutMs: 2000 })).status === 200 ? true : undefined;
    },
    timeoutMs,
  );
}

// ---------------------------------------------------------------------------------------------
// Prometheus HTTP API (VictoriaMetrics and Prometheus both serve it)

/** One series of an API answer: labels, and one value (instant) or values (range, matrix). */
export interface ApiSeries {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

/**
 * GET `base + path` with `params`; throws unless the answer is HTTP 200 with status "success"
 * (the message carries the API's error), else returns `data`.
 */
export async function promApi<T = unknown>(base: string, path: string, params: Record<string, string | string[]>): Promise<T> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const one of Array.isArray(v) ? v : [v]) q.append(k, one);
  const r = await request(`${base}${path}?${q.toString()}`);
  const text = r.body.toString('utf8');
  let doc: { status?: string; data?: T; error?: string; errorType?: string };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    throw new Error(`${path} ${JSON.stringify(params)}: HTTP ${r.status}: ${text.slice(0, 300)}`);
  }
  if (r.status !== 200 || doc.status !== 'success') {
    throw new Error(`${path} ${JSON.stringify(params)}: HTTP ${r.status} ${doc.errorType ?? ''}: ${doc.error ?? text.slice(0, 300)}`);
  }
  return doc.data as T;
}

/** /api/v1/query at `timeSec` (default now). */
export async function instantQuery(base: string, expr: string, timeSec?: number): Promise<ApiSeries[]> {
  const data = await promApi<{ result: ApiSeries[] }>(base, '/api/v1/query', { query: expr, ...(timeSec ? { time: String(timeSec) } : {}) });
  return data.result;
}

/** /api/v1/query_range over [startSec, endSec]. */
export async function rangeQuery(base: string, expr: string, startSec: number, endSec: number, stepSec: number): Promise<ApiSeries[]> {
  const data = await promApi<{ result: ApiSeries[] }>(base, '/api/v1/query_range', {
    query: expr,
    start: String(startSec),
    end: String(endSec),
    step: `${stepSec}s`,
  });
  return data.result;
}

/** /api/v1/series: the label sets a selector matches in [startSec, now]. */
export function seriesOf(base: string, selector: string, startSec: number): Promise<Record<string, string>[]> {
  return promApi<Record<string, string>[]>(base, '/api/v1/series', { 'match[]': selector, start: String(startSec) });
}

// ---------------------------------------------------------------------------------------------
// node_exporter

export class NodeExporter {
  private constructor(
    readonly proc: Proc,
    /** host:port, as a scrape target. */
    readonly address: string,
  ) {}

  /** node_exporter with a few cheap collectors (CPU, load, memory). */
  static async start(): Promise<NodeExporter> {
    const address = `127.0.0.1:${await freePort()}`;
    const proc = new Proc('node-exporter', NODE_EXPORTER_BIN, [
      `--web.listen-address=${address}`,
      '--collector.disable-defaults',
      '--collector.cpu',
      '--collector.loadavg',
      '--collector.meminfo',
      '--log.level=warn',
    ]);
    await until200(proc, `http://${address}/metrics`);
    return new NodeExporter(proc, address);
  }

  close(): Promise<void> {
    return this.proc.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Prometheus

export class Prometheus {
  readonly url: string;
  private constructor(
    readonly proc: Proc,
    port: number,
    readonly dir: string,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  /** Prometheus with `configYaml` as its config file; resolves once /-/ready answers 200. */
  static async start(configYaml: string): Promise<Prometheus> {
    const port = await freePort();
    const dir = tempDir('prometheus');
    writeFileSync(join(dir, 'prometheus.yml'), configYaml);
    const proc = new Proc('prometheus', PROMETHEUS_BIN, [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ]);
    const p = new Prometheus(proc, port, dir);
    await until200(proc, `${p.url}/-/ready`);
    return p;
  }

  async close(): Promise<void> {
    await this.proc.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// vmalert and a notifier for it

/** An alert as vmalert's /api/v1/alerts lists it. */
export interface VmAlertAlert {
  name: string;
  state: 'pending' | 'firing';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  activeAt: string;
  value: string;
}

/** A rule as vmalert's /api/v1/rules lists it. */
export interface VmAlertRule {
  name: string;
  state: string;
  health: string;
  lastError: string;
  lastEvaluation: string;
  duration: number;
}

export class VmAlert {
  readonly url: string;
  private constructor(
    readonly proc: Proc,
    readonly port: number,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  /** A free port for vmalert, known before it starts (to scrape it, say). */
  static port(): Promise<number> {
    return freePort();
  }

  /**
   * vmalert evaluating `ruleFiles` against `datasourceUrl`, notifying `notifierUrl`; resolves once
   * /health answers 200. `-external.url` is the datasource (the rules' vmui links point there).
   */
  static async start(opts: { port: number; ruleFiles: string[]; datasourceUrl: string; notifierUrl: string; evaluationInterval: string }): Promise<VmAlert> {
    const proc = new Proc('vmalert', VMALERT_BIN, [
      ...opts.ruleFiles.map((f) => `-rule=${f}`),
      `-datasource.url=${opts.datasourceUrl}`,
      `-notifier.url=${opts.notifierUrl}`,
      `-external.url=${opts.datasourceUrl}`,
      `-evaluationInterval=${opts.evaluationInterval}`,
      `-httpListenAddr=127.0.0.1:${opts.port}`,
      '-loggerLevel=WARN',
    ]);
    const a = new VmAlert(proc, opts.port);
    await until200(proc, `${a.url}/health`);
    return a;
  }

  async alerts(): Promise<VmAlertAlert[]> {
    return (await promApi<{ alerts: VmAlertAlert[] | null }>(this.url, '/api/v1/alerts', {})).alerts ?? [];
  }

  /** Every rule of every group, keyed `group/rule`. */
  async rules(): Promise<Map<string, VmAlertRule>> {
    const data = await promApi<{ groups: { name: string; rules: VmAlertRule[] }[] }>(this.url, '/api/v1/rules', {});
    return new Map(data.groups.flatMap((g) => g.rules.map((r) => [`${g.name}/${r.name}`, r] as const)));
  }

  close(): Promise<void> {
    return this.proc.stop();
  }
}

/** An alert as vmalert posts it to Alertmanager's POST /api/v2/alerts, with the time it arrived. */
export interface Notification {
  receivedAt: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

/** A small real Alertmanager API v2 endpoint: records every alert posted to /api/v2/alerts. */
export class AlertReceiver {
  readonly notifications: Notification[] = [];
  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(): Promise<AlertReceiver> {
    const server = http.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const rx = new AlertReceiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method !== 'POST' || req.url !== '/api/v2/alerts') return void res.writeHead(404).end();
        const receivedAt = Date.now();
        try {
          for (const a of JSON.parse(Buffer.concat(chunks).toString('utf8')) as Omit<Notification, 'receivedAt'>[]) {
            rx.notifications.push({ ...a, receivedAt });
          }
          res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
        } catch (e) {
          res.writeHead(400).end((e as Error).message);
        }
      });
    });
    return rx;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}
