import type { Logger } from 'pino';
import { redactUrl } from './config/redact.js';
import type { Config } from './config/schema.js';
import { connectionFor } from './forward/connection.js';
import { Downstream } from './forward/downstream.js';
import { registerProcessMetrics } from './metrics/process.js';
import { lbl, Registry } from './metrics/registry.js';
import { Pipeline } from './pipeline.js';
import { readConfigFile } from './config/files.js';
import { authenticatorFor } from './receive/auth.js';
import { Receiver, parseListen } from './receive/server.js';
import { compileScoring, type ScoringSpec } from './scoring/instances.js';
import { Snapshots } from './scoring/snapshots.js';
import { StatusPage } from './status.js';
import { VERSION } from './version.js';

/** A running anomstream: receiver -> pipeline -> downstream, plus the health loop, idle sweep and snapshots. */
export interface App {
  receiver: Receiver;
  registry: Registry;
  /** Resolves when the generated-series requests in flight now have completed. */
  drain(): Promise<void>;
  /** Re-read the configuration and apply it (SIGHUP, POST /-/reload); an invalid one changes nothing. */
  reload(): Promise<ReloadResult>;
  /**
   * Graceful stop within `timeoutMs` (default server.shutdown_timeout): stop accepting, let the
   * writes in flight finish, score what was accepted, flush generated series (retrying failed
   * ones until the deadline, less the time the snapshot needs), write the model-state snapshot.
   */
  close(timeoutMs?: number): Promise<void>;
}

export interface AppOptions {
  /** Reads the configuration again, for a reload (the CLI: the --config file). Absent: reloads fail, saying so. */
  load?: () => Config;
  /** --log-level, which outranks logging.level at a reload too. */
  logLevel?: string;
}

export interface ReloadResult {
  ok: boolean;
  /** One line: what changed, or why nothing did. */
  message: string;
}

const HEALTH_EVERY_MS = 15_000;

export async function startApp(cfg: Config, log: Logger, opts: AppOptions = {}): Promise<App> {
  const app = new Instance(cfg, log, opts);
  await app.start();
  return app;
}

/** The datasource's health (GET writer.health_path every 15 s), for /ready, the status page and a gauge. */
class HealthCheck {
  state = 'unknown';
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly downstream: Downstream,
    private readonly w: Config['writer'],
    private readonly registry: Registry,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => void this.check(), HEALTH_EVERY_MS).unref();
  }

  async check(): Promise<void> {
    const w = this.w;
    const status = await this.downstream.get(w.health_path);
    const ok = status >= 200 && status < 300;
    this.registry.gauge('anomstream_downstream_health_up', 'When GET writer.health_path on the datasource answered 2xx at the last check: 1.').set(ok ? 1 : 0);
    const now = ok ? 'up' : status === 0 ? 'unreachable' : `answered ${status}`;
    // Shown (logs, /ready, the status page) only redacted: credentials and query values (authKey=...) as ***.
    if (now !== this.state) (ok ? this.log.info : this.log.warn).call(this.log, { url: redactUrl(w.datasource_url), health_path: redactUrl(w.health_path), status }, `datasource health: ${now}`);
    this.state = now;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * One running instance and its reload. A reload reads the file again and, when it is valid,
 * applies it in one synchronous step (between two requests' scoring): queries and models (the
 * state of unchanged pairs kept), writer (a new connection pool, generated sink and health
 * check when any writer key changed), limits, server.max_request_bytes and max_in_flight,
 * server.vmui_url, logging.level. server.listen and logging.format are not applied (the socket
 * and the log stream were made at start): a change to them is logged as needing a restart.
 */
class Instance implements App {
  readonly registry = new Registry();
  receiver!: Receiver;
  private pipeline: Pipeline;
  private downstream: Downstream;
  private health: HealthCheck;
  private sweep: NodeJS.Timeout | undefined;
  private readonly stopProcessMetrics: () => void;
  private readonly status: StatusPage;
  private readonly snapshots: Snapshots;
  /** Reloads run one after the other. */
  private reloading: Promise<unknown> = Promise.resolve();
  private readonly reloadMetrics: ReturnType<typeof reloadMetrics>;
  /** Downstreams replaced by a reload, closing once their requests in flight are done. */
  private readonly retired = new Set<Promise<void>>();

  constructor(
    private cfg: Config,
    private readonly log: Logger,
    private readonly opts: AppOptions,
  ) {
    this.stopProcessMetrics = registerProcessMetrics(this.registry, VERSION);
    this.downstream = downstreamFor(cfg.writer);
    this.pipeline = new Pipeline(cfg, this.downstream, this.registry, log);
    this.health = new HealthCheck(this.downstream, cfg.writer, this.registry, log);
    this.reloadMetrics = reloadMetrics(this.registry);
    this.status = new StatusPage({ version: VERSION, scoring: this.pipeline.scoring });
    this.snapshots = new Snapshots(this.pipeline.scoring, {
      dir: cfg.state.path,
      intervalMs: cfg.state.interval,
      idleTimeoutMs: cfg.limits.series_idle_timeout,
      version: VERSION,
      registry: this.registry,
      log,
    });
    this.snapshots.restore(this.pipeline.emit.block);
  }

  async start(): Promise<void> {
    const cfg = this.cfg;
    await this.health.check();
    this.startSweep();
    const { host, port } = parseListen(cfg.server.listen);
    this.receiver = new Receiver({
      host,
      port,
      maxRequestBytes: cfg.server.max_request_bytes,
      maxInFlight: cfg.server.max_in_flight,
      maxQueueMs: cfg.server.max_queue_duration,
      maxConnections: cfg.server.max_connections,
      readTimeoutMs: cfg.server.read_timeout,
      minReadRate: cfg.server.min_read_rate,
      idleTimeoutMs: cfg.server.idle_timeout,
      memory: this.pipeline.memory,
      auth: authenticatorFor(cfg.server.auth),
      metricsAuth: cfg.server.metrics_auth,
      tls: listenerTls(cfg.server),
      tenantPaths: cfg.server.tenant_paths,
      allowedTenants: cfg.server.allowed_tenants ? new Set(cfg.server.allowed_tenants) : null,
      write: (body, tenant, encoding) => this.pipeline.write(body, tenant, encoding),
      readyDetail: () => `datasource ${redactUrl(this.cfg.writer.datasource_url)}: ${this.health.state}`,
      statusPage: () => this.status.render(this.cfg, this.health.state, this.receiver.totals),
      reload: () => this.reload(),
      registry: this.registry,
      log: this.log,
    });
    await this.receiver.listen();
    this.snapshots.start();
    this.status.startSampling(() => this.receiver.totals);
    const addr = this.receiver.address();
    this.log.info(
      {
        listen: addr.host.includes(':') ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`,
        datasource: redactUrl(cfg.writer.datasource_url),
        queries: Object.keys(cfg.reader.queries),
        state: cfg.state.path || 'off',
      },
      'anomstream listening',
    );
  }

  drain(): Promise<void> {
    return this.pipeline.drain();
  }

  reload(): Promise<ReloadResult> {
    // A snapshot being written walks the current instances: the reload waits for it.
    const r = this.reloading
      .then(() => this.snapshots.idle())
      .then(() => this.reloadNow())
      .catch((e: unknown) => {
        this.log.error({ err: e }, 'configuration reload failed unexpectedly');
        this.reloadMetrics.result(false);
        return { ok: false, message: `reload failed: ${(e as Error).message}` };
      });
    this.reloading = r;
    return r;
  }

  async close(timeoutMs = this.cfg.server.shutdown_timeout): Promise<void> {
    const t0 = Date.now();
    const deadline = t0 + timeoutMs;
    this.health.stop();
    clearInterval(this.sweep);
    this.status.stop();
    this.stopProcessMetrics();
    this.snapshots.stop();
    // Leave the snapshot its time: twice the last one's (at least 1 s), at most half the timeout;
    // the writes in flight (a body still arriving among them) may take the rest, no more.
    const snapshots = this.snapshots;
    const reserve = snapshots.enabled ? Math.min(timeoutMs / 2, Math.max(1000, 2 * snapshots.lastDurationMs)) : 0;
    await this.receiver.close(Math.max(0, deadline - reserve - Date.now()));
    await this.pipeline.drain(deadline - reserve);
    const saved = await snapshots.write();
    await Promise.all([this.downstream.close(), ...this.retired]);
    this.log.info({ ms: Date.now() - t0, snapshot: snapshots.enabled ? (saved ? 'written' : 'failed') : 'off' }, 'stopped gracefully');
  }

  private reloadNow(): ReloadResult {
    let next: Config;
    let spec: ScoringSpec;
    let downstream: Downstream | undefined;
    try {
      if (this.opts.load === undefined) throw new Error('no configuration file to read again (started without --config)');
      next = this.opts.load();
      // Everything that can fail comes before the first change.
      // The series index is keyed by ignore_labels and shard: those wait for a restart.
      spec = compileScoring(next.reader.queries, next.models, { ignoreLabels: this.cfg.reader.ignore_labels, shard: this.cfg.shard });
      if (JSON.stringify(next.writer) !== JSON.stringify(this.cfg.writer)) downstream = downstreamFor(next.writer);
    } catch (e) {
      const message = (e as Error).message;
      this.log.error({ code: (e as { code?: string }).code, problems: message.split('\n') }, 'configuration reload failed: the running configuration stays in force');
      this.reloadMetrics.result(false);
      this.status.reloaded(false, message.split('\n')[0]);
      return { ok: false, message: `reload failed, the running configuration stays in force: ${message}` };
    }
    const prev = this.cfg;
    const prevSpec = this.pipeline.scoring.spec;
    if (downstream !== undefined) {
      const old = this.downstream;
      this.downstream = downstream;
      this.health.stop();
      this.health = new HealthCheck(downstream, next.writer, this.registry, this.log);
      void this.health.check();
      const closing = old.close().catch(() => undefined);
      this.retired.add(closing);
      void closing.then(() => this.retired.delete(closing));
    }
    const kept = this.pipeline.reconfigure(next, spec, this.downstream);
    this.receiver.setLimits(next.server.max_request_bytes, next.server.max_in_flight);
    this.log.level = this.opts.logLevel ?? next.logging.level;
    this.cfg = next;
    if (next.limits.series_idle_timeout !== prev.limits.series_idle_timeout) this.startSweep();

    const pair = (i: { queryAlias: string; modelAlias: string }): string => `${i.queryAlias}/${i.modelAlias}`;
    const before = new Set(prevSpec.instances.map(pair));
    const after = this.pipeline.scoring.spec.instances;
    const keptPairs = after.filter((_, j) => kept[j] >= 0).map(pair);
    const changed = after.filter((inst, j) => kept[j] < 0 && before.has(pair(inst))).map(pair);
    const added = after.filter((inst) => !before.has(pair(inst))).map(pair);
    const now = new Set(after.map(pair));
    const removed = [...before].filter((p) => !now.has(p));
    // The socket, its TLS, its auth and its admission limits were made at start.
    const restart = (
      [
        'listen',
        'max_queue_duration',
        'max_memory_bytes',
        'max_connections',
        'read_timeout',
        'min_read_rate',
        'idle_timeout',
        'auth',
        'metrics_auth',
        'tls_cert_file',
        'tls_key_file',
        'tls_client_ca_file',
        'tenant_paths',
        'allowed_tenants',
      ] as const
    )
      .filter((k) => JSON.stringify(next.server[k]) !== JSON.stringify(prev.server[k]))
      .map((k) => `server.${k}`);
    for (const k of ['max_series_per_request', 'max_samples_per_request'] as const) if (next.limits[k] !== prev.limits[k]) restart.push(`limits.${k}`);
    if (next.logging.format !== prev.logging.format) restart.push('logging.format');
    const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
    if (!same(next.reader.ignore_labels, prev.reader.ignore_labels)) restart.push('reader.ignore_labels');
    if (!same(next.shard, prev.shard)) restart.push('shard');
    if (!same(next.state, prev.state)) restart.push('state');
    const message =
      `configuration reloaded: (query, model) pairs: ${keptPairs.length} kept their state, ${changed.length} changed (state reset), ${added.length} added, ${removed.length} removed` +
      `${downstream !== undefined ? '; writer changed: new datasource connection' : ''}` +
      `${restart.length > 0 ? `; not applied until a restart: ${restart.join(', ')}` : ''}`;
    this.log.info({ kept_state: keptPairs, changed, added, removed, writer_changed: downstream !== undefined, needs_restart: restart }, message);
    this.reloadMetrics.result(true);
    this.status.reloaded(true, message);
    return { ok: true, message };
  }

  private startSweep(): void {
    clearInterval(this.sweep);
    this.sweep = setInterval(
      () => {
        const idleMs = this.cfg.limits.series_idle_timeout;
        const n = this.pipeline.scoring.evictIdle(idleMs);
        if (n > 0) this.log.info({ evicted: n, idle_timeout_ms: idleMs }, 'forgot idle series');
      },
      Math.min(this.cfg.limits.series_idle_timeout / 4, 60_000),
    ).unref();
  }
}

function downstreamFor(w: Config['writer']): Downstream {
  const conn = connectionFor(w);
  return new Downstream({ url: new URL(w.datasource_url), timeoutMs: w.timeout, headers: conn.headers, connect: conn.connect });
}

/** Prometheus' names for the same thing: prometheus_config_last_reload_successful and _success_timestamp_seconds. */
function reloadMetrics(r: Registry) {
  const ok = r.gauge('anomstream_config_last_reload_successful', 'Whether the last configuration reload applied (1) or failed (0); 1 at start.');
  const at = r.gauge('anomstream_config_last_reload_success_timestamp_seconds', 'When the configuration last applied (start or reload), seconds since the epoch.');
  const total = {
    true: r.counter('anomstream_config_reloads_total', 'Configuration reloads, by result.', lbl('result', 'success')),
    false: r.counter('anomstream_config_reloads_total', 'Configuration reloads, by result.', lbl('result', 'failure')),
  };
  ok.set(1);
  at.set(Math.floor(Date.now() / 1000));
  return {
    result(success: boolean): void {
      total[`${success}`].inc();
      ok.set(success ? 1 : 0);
      if (success) at.set(Math.floor(Date.now() / 1000));
    },
  };
}

/** server.tls_*: the listener's certificate, key and client CA (files checked at config load). */
function listenerTls(s: Config['server']): { cert: Buffer; key: Buffer; ca?: Buffer } | undefined {
  if (s.tls_cert_file === undefined || s.tls_key_file === undefined) return undefined;
  const tls = { cert: readConfigFile('server.tls_cert_file', s.tls_cert_file), key: readConfigFile('server.tls_key_file', s.tls_key_file) };
  return s.tls_client_ca_file === undefined ? tls : { ...tls, ca: readConfigFile('server.tls_client_ca_file', s.tls_client_ca_file) };
}
