import { redactUrl } from './redact.js';
import type { Config } from './schema.js';

/**
 * What anomstream runs with, for the start-up log: the datasource without secrets (credentials
 * in its URL became writer.user/password, see migration.ts; query values are shown as ***), the auth
 * method by name, each query and each model. Never a password or a token.
 */
export interface ConfigSummary {
  server: { listen: string; max_in_flight: number; max_request_bytes: number; shutdown_timeout_s: number };
  datasource: { url: string; tenant_id: string; auth: string; tls: string; generated_series: string; health_path: string };
  queries: Record<string, Record<string, unknown>>;
  models: Record<string, { class: string; queries: string[] }>;
  limits: { max_series: number; series_idle_timeout_s: number; max_future_s: number };
  state: { path: string; interval_s: number };
  /** reader.ignore_labels and shard, in words. */
  routing: { ignore_labels: string[]; shard: string };
}

export function summarize(cfg: Config): ConfigSummary {
  const w = cfg.writer;
  const auth = w.user !== undefined ? `basic (user '${w.user}')` : w.bearer_token !== undefined ? 'bearer_token' : w.bearer_token_file !== undefined ? `bearer_token_file '${w.bearer_token_file}'` : 'none';
  // verify_tls and the client certificate mean nothing to an http:// datasource.
  const tls =
    new URL(w.datasource_url).protocol === 'http:'
      ? 'none (http://)'
      : [w.verify_tls === false ? 'no certificate verification' : w.verify_tls === true ? 'system CAs' : `CA '${w.verify_tls}'`, w.tls_cert_file !== undefined ? `client certificate '${w.tls_cert_file}'` : '']
          .filter(Boolean)
          .join(', ');
  const aliases = Object.keys(cfg.reader.queries);
  const queries: ConfigSummary['queries'] = {};
  for (const [alias, q] of Object.entries(cfg.reader.queries)) {
    const s: Record<string, unknown> = { expr: q.expr };
    for (const [k, v] of Object.entries(q)) if (k !== 'expr' && v !== undefined && !(k === 'transform' && v === 'none')) s[k] = Array.isArray(v) ? v.map(inf) : v;
    queries[alias] = s;
  }
  const models: ConfigSummary['models'] = {};
  for (const [alias, m] of Object.entries(cfg.models ?? { default: { class: 'auto', queries: undefined } })) models[alias] = { class: m.class, queries: m.queries ?? aliases };
  return {
    server: { listen: cfg.server.listen, max_in_flight: cfg.server.max_in_flight, max_request_bytes: cfg.server.max_request_bytes, shutdown_timeout_s: cfg.server.shutdown_timeout / 1000 },
    datasource: {
      url: redactUrl(w.datasource_url),
      tenant_id: w.tenant_id ?? 'none (single node)',
      auth,
      tls,
      generated_series: w.import_json_path === undefined ? 'remote_write' : `JSON lines to ${w.import_json_path}`,
      health_path: redactUrl(w.health_path),
    },
    queries,
    models,
    limits: { max_series: cfg.limits.max_series, series_idle_timeout_s: cfg.limits.series_idle_timeout / 1000, max_future_s: cfg.limits.max_future / 1000 },
    state: { path: cfg.state.path === '' ? 'off' : cfg.state.path, interval_s: cfg.state.interval / 1000 },
    routing: { ignore_labels: cfg.reader.ignore_labels, shard: shardSummary(cfg.shard) },
  };
}

/** `hashmod: shard 0 of 2 over [__name__, instance] (separator ';')`; `none (every series is scored)`. */
function shardSummary(sh: Config['shard']): string {
  if (sh === undefined) return 'none (every series is scored)';
  if (sh.method === 'hashmod') return `hashmod: shard ${sh.index} of ${sh.count} over [${(sh.source_labels ?? []).join(', ')}] (separator '${sh.separator ?? ';'}')`;
  const of = sh.urls !== undefined ? `${sh.urls.length} URLs (rendezvous, vmagent 1.116+)` : `${sh.count} (hash mod count, vmagent 1.92-1.115)`;
  const labels = sh.labels !== undefined ? `labels [${sh.labels.join(', ')}]` : sh.ignore_labels !== undefined ? `all labels but [${sh.ignore_labels.join(', ')}]` : 'all labels';
  return `shard_by_url: shard ${sh.index} of ${of} over ${labels}`;
}

/** JSON has no Infinity: data_range bounds are logged as vmanomaly writes them. */
function inf(v: unknown): unknown {
  return v === Infinity ? 'inf' : v === -Infinity ? '-inf' : v;
}
