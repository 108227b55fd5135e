import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { connectionFor } from './forward/connection.js';
import { Downstream } from './forward/downstream.js';
import { Registry, registerProcessMetrics } from './metrics/registry.js';
import { Pipeline } from './pipeline.js';
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
  const up = registry.gauge('anomstream_downstream_health_up', `1 when GET ${w.health_path} on the datasource answered 2xx at the last check.`);
  let health = 'unknown';
  const check = async (): Promise<void> => {
    const status = await downstream.get(w.health_path);
    const ok = status >= 200 && status < 300;
    up.set(ok ? 1 : 0);
    const now = ok ? 'up' : status === 0 ? 'unreachable' : `answered ${status}`;
    if (now !== health) (ok ? log.info : log.warn).call(log, { url: w.datasource_url, health_path: w.health_path, status }, `datasource health: ${now}`);
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
    readable: (encoding) => pipeline.ingest.readable(encoding),
    write: (body, tenant, encoding) => pipeline.write(body, tenant, encoding),
    readyDetail: () => `datasource ${w.datasource_url}: ${health}`,
    registry,
    log,
  });
  await receiver.listen();
  snapshots.start();
  const addr = receiver.address();
  log.info({ listen: `${addr.host}:${addr.port}`, datasource: w.datasource_url, queries: Object.keys(cfg.reader.queries), state: cfg.state.path || 'off' }, 'anomstream listening');
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
