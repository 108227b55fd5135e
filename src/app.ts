import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { connectionFor } from './forward/connection.js';
import { Downstream } from './forward/downstream.js';
import { registerProcessMetrics } from './metrics/process.js';
import { Registry } from './metrics/registry.js';
import { Pipeline } from './pipeline.js';
import { Receiver, parseListen } from './receive/server.js';
import { StatusPage } from './status.js';
import { VERSION } from './version.js';

/** A running anomstream: receiver -> pipeline -> downstream, plus the health loop. */
export interface App {
  receiver: Receiver;
  registry: Registry;
  /** Resolves when the generated-series requests in flight now have completed. */
  drain(): Promise<void>;
  close(graceMs?: number): Promise<void>;
}

const HEALTH_EVERY_MS = 15_000;

export async function startApp(cfg: Config, log: Logger): Promise<App> {
  const app = new Instance(cfg, log);
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
    if (now !== this.state) (ok ? this.log.info : this.log.warn).call(this.log, { url: w.datasource_url, health_path: w.health_path, status }, `datasource health: ${now}`);
    this.state = now;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** One running instance. */
class Instance implements App {
  readonly registry = new Registry();
  receiver!: Receiver;
  private readonly pipeline: Pipeline;
  private readonly downstream: Downstream;
  private readonly health: HealthCheck;
  private sweep: NodeJS.Timeout | undefined;
  private readonly stopProcessMetrics: () => void;
  private readonly status: StatusPage;

  constructor(
    private readonly cfg: Config,
    private readonly log: Logger,
  ) {
    this.stopProcessMetrics = registerProcessMetrics(this.registry, VERSION);
    this.downstream = downstreamFor(cfg.writer);
    this.pipeline = new Pipeline(cfg, this.downstream, this.registry, log);
    this.health = new HealthCheck(this.downstream, cfg.writer, this.registry, log);
    this.status = new StatusPage({ version: VERSION, scoring: this.pipeline.scoring });
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
      readable: (encoding) => this.pipeline.ingest.readable(encoding),
      write: (body, tenant, encoding) => this.pipeline.write(body, tenant, encoding),
      readyDetail: () => `datasource ${this.cfg.writer.datasource_url}: ${this.health.state}`,
      statusPage: () => this.status.render(this.cfg, this.health.state, this.receiver.totals),
      registry: this.registry,
      log: this.log,
    });
    await this.receiver.listen();
    this.status.startSampling(() => this.receiver.totals);
    const addr = this.receiver.address();
    this.log.info({ listen: `${addr.host}:${addr.port}`, datasource: cfg.writer.datasource_url, queries: Object.keys(cfg.reader.queries) }, 'anomstream listening');
  }

  drain(): Promise<void> {
    return this.pipeline.drain();
  }

  async close(graceMs = 30_000): Promise<void> {
    this.health.stop();
    clearInterval(this.sweep);
    this.status.stop();
    this.stopProcessMetrics();
    await this.receiver.close(graceMs);
    await this.pipeline.drain();
    await this.downstream.close();
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
