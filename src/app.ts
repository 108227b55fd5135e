import type { Logger } from 'pino';
import { redactUrl } from './config/redact.js';
import type { Config } from './config/schema.js';
import { connectionFor } from './forward/connection.js';
import { Downstream } from './forward/downstream.js';
import { Registry, registerProcessMetrics } from './metrics/registry.js';
import { Pipeline } from './pipeline.js';
import { readConfigFile } from './config/files.js';
import { authenticatorFor } from './receive/auth.js';
import { Receiver, parseListen } from './receive/server.js';
import { Snapshots } from './scoring/snapshots.js';
import { version } from './version.js';

/** A running anomstream: receiver -> pipeline -> downstream, plus the health loop, idle sweep and snapshots. */
export interface App {
  receiver: Receiver;
  registry: Registry;
  /** Resolves when the generated-series requests in flight now have completed. */
  drain(): Promise<void>;
  /**
   * Graceful stop within `timeoutMs` (default server.shutdown_timeout): stop accepting, let the
   * writes in flight finish, score what was accepted, flush generated series (retrying failed
   * ones until the deadline, less the time the snapshot needs), write the model-state snapshot.
   */
  close(timeoutMs?: number): Promise<void>;
}

const HEALTH_EVERY_MS = 15_000;

export async function startApp(cfg: Config, log: Logger): Promise<App> {
  const registry = new Registry();
  registerProcessMetrics(registry);
  const w = cfg.writer;
  const conn = connectionFor(w);
  const downstream = new Downstream({ url: new URL(w.datasource_url), timeoutMs: w.timeout, headers: conn.headers, connect: conn.connect });
  const pipeline = new Pipeline(cfg, downstream, registry, log);
  const snapshots = new Snapshots(pipeline.scoring, { dir: cfg.state.path, intervalMs: cfg.state.interval, idleTimeoutMs: cfg.limits.series_idle_timeout, version: version(), registry, log });
  snapshots.restore(pipeline.emit.block);
  // Shown (logs, /ready, /metrics) only redacted: credentials and query values (authKey=...) as ***.
  const shownUrl = redactUrl(w.datasource_url);
  const up = registry.gauge('anomstream_downstream_health_up', `1 when GET ${redactUrl(w.health_path)} on the datasource answered 2xx at the last check.`);
  let health = 'unknown';
  const check = async (): Promise<void> => {
    const status = await downstream.get(w.health_path);
    const ok = status >= 200 && status < 300;
    up.set(ok ? 1 : 0);
    const now = ok ? 'up' : status === 0 ? 'unreachable' : `answered ${status}`;
    if (now !== health) (ok ? log.info : log.warn).call(log, { url: shownUrl, health_path: redactUrl(w.health_path), status }, `datasource health: ${now}`);
    health = now;
  };
  await check();
  const timer = setInterval(() => void check(), HEALTH_EVERY_MS).unref();
  const idleMs = cfg.limits.series_idle_timeout;
  const sweep = setInterval(
    () => {
      const n = pipeline.scoring.evictIdle(idleMs);
      if (n > 0) log.info({ evicted: n, idle_timeout_ms: idleMs }, 'forgot idle series');
    },
    Math.min(idleMs / 4, 60_000),
  ).unref();
  const { host, port } = parseListen(cfg.server.listen);
  const receiver = new Receiver({
    host,
    port,
    maxRequestBytes: cfg.server.max_request_bytes,
    maxInFlight: cfg.server.max_in_flight,
    maxQueueMs: cfg.server.max_queue_duration,
    maxConnections: cfg.server.max_connections,
    readTimeoutMs: cfg.server.read_timeout,
    minReadRate: cfg.server.min_read_rate,
    idleTimeoutMs: cfg.server.idle_timeout,
    memory: pipeline.memory,
    auth: authenticatorFor(cfg.server.auth),
    metricsAuth: cfg.server.metrics_auth,
    tls: listenerTls(cfg.server),
    tenantPaths: cfg.server.tenant_paths,
    allowedTenants: cfg.server.allowed_tenants ? new Set(cfg.server.allowed_tenants) : null,
    readable: (encoding) => pipeline.ingest.readable(encoding),
    write: (body, tenant, encoding) => pipeline.write(body, tenant, encoding),
    readyDetail: () => `datasource ${shownUrl}: ${health}`,
    registry,
    log,
  });
  await receiver.listen();
  snapshots.start();
  const addr = receiver.address();
  log.info({ listen: `${addr.host}:${addr.port}`, datasource: shownUrl, queries: Object.keys(cfg.reader.queries), state: cfg.state.path || 'off' }, 'anomstream listening');
  return {
    receiver,
    registry,
    drain: () => pipeline.drain(),
    async close(timeoutMs = cfg.server.shutdown_timeout) {
      const t0 = Date.now();
      const deadline = t0 + timeoutMs;
      clearInterval(timer);
      clearInterval(sweep);
      snapshots.stop();
      await receiver.close(Math.max(0, deadline - Date.now()));
      // Leave the snapshot its time: twice the last one's (at least 1 s), at most half the timeout.
      const reserve = snapshots.enabled ? Math.min(timeoutMs / 2, Math.max(1000, 2 * snapshots.lastDurationMs)) : 0;
      await pipeline.drain(deadline - reserve);
      const saved = await snapshots.write();
      await downstream.close();
      log.info({ ms: Date.now() - t0, snapshot: snapshots.enabled ? (saved ? 'written' : 'failed') : 'off' }, 'stopped gracefully');
    },
  };
}

/** server.tls_*: the listener's certificate, key and client CA (files checked at config load). */
function listenerTls(s: Config['server']): { cert: Buffer; key: Buffer; ca?: Buffer } | undefined {
  if (s.tls_cert_file === undefined || s.tls_key_file === undefined) return undefined;
  const tls = { cert: readConfigFile('server.tls_cert_file', s.tls_cert_file), key: readConfigFile('server.tls_key_file', s.tls_key_file) };
  return s.tls_client_ca_file === undefined ? tls : { ...tls, ca: readConfigFile('server.tls_client_ca_file', s.tls_client_ca_file) };
}
