import { didYouMean, type Issue } from './issues.js';
import { parseDurationMs } from './duration.js';

/**
 * A pasted vmanomaly 1.30 config, before the schema sees it. Each form anomstream can honour
 * is turned into anomstream's own, with vmanomaly's meaning:
 *
 *   models.<a>.class           vmanomaly's aliases and class paths of the online models it also has
 *                              (CLASS_ALIASES); unknown classes get a did-you-mean
 *   reader.data_range, .tz     reader-level defaults of every query (as in vmanomaly)
 *   settings.anomaly_score_outside_data_range   default of every model (as in vmanomaly)
 *   settings.retention.ttl     limits.series_idle_timeout (model state of a series idle that long is freed)
 *   writer.datasource_url with user:password@   basic auth (writer.user / writer.password), as vmagent
 *                              does with credentials in -remoteWrite.url; removed from the URL so it is
 *                              never logged
 *
 * Every other vmanomaly-only key is removed and reported in one line: what it was for, why it
 * has no meaning in a push proxy, and what to write instead. What remains is validated by the
 * schema (which reports typos with a did-you-mean).
 */
export interface Translated {
  value: unknown;
  issues: Issue[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

const NO_SCHEDULE = 'anomstream scores every sample as it arrives and its models learn online';
const NO_QUERY = 'anomstream runs no queries (vmagent or Prometheus sends it every sample)';

/** Root sections and keys with no meaning here: the one line that replaces them. */
const ROOT: Record<string, string> = {
  scheduler: `vmanomaly's fit/infer schedule: ${NO_SCHEDULE} (their memory is the model's half_life): remove the section`,
  schedulers: `vmanomaly's fit/infer schedules: ${NO_SCHEDULE} (their memory is the model's half_life): remove the section`,
  monitoring: "vmanomaly's self-monitoring (pull/push): anomstream serves its metrics at GET /metrics on server.listen: scrape that (vmagent, Prometheus) and remove the section",
  preset: "vmanomaly's preset mode: write reader.queries, models and writer explicitly; remove it",
  fit_window: `a scheduler key: ${NO_SCHEDULE}; the memory fit_window gave is the model's half_life: remove it`,
  fit_every: `a scheduler key: ${NO_SCHEDULE}, there is nothing to refit: remove it`,
  infer_every: `a scheduler key: ${NO_SCHEDULE}: remove it`,
  start_from: `a scheduler key: scoring starts when data arrives: remove it`,
  // Other files of the same stack, passed by mistake.
  groups: 'rule groups of vmalert or Prometheus: this is a rules file, not an anomstream configuration (give it to vmalert -rule=; alert on anomaly_score > 1)',
  scrape_configs: "a Prometheus/vmagent scrape configuration, not an anomstream configuration: give it to vmagent's -promscrape.config",
  services: 'a docker compose file, not an anomstream configuration: pass anomstream its own YAML file with reader:, writer: (and models:)',
};

const SETTINGS: Record<string, string> = {
  n_workers: "vmanomaly's worker processes: anomstream is one process: remove it",
  native_threads_per_worker: "vmanomaly's numeric-library threads: anomstream is one process: remove it",
  logger_levels: 'per-component log levels: anomstream has one, logging.level (or --log-level): remove it',
};

const UI = "a setting of vmanomaly's UI and REST API: anomstream has none (it serves remote_write, /health, /ready and /metrics): remove it";
const SERVER: Record<string, string> = {
  path_prefix: UI,
  ui_default_state: UI,
  max_concurrent_tasks: UI,
  uvicorn_config: UI,
  use_reader_connection_settings: UI,
};

const READER_CREDENTIALS = "credentials for vmanomaly's reader: anomstream connects to no datasource upstream (the sender connects to it); VictoriaMetrics' credentials go in writer: remove it";
const READER: Record<string, string> = {
  class: 'anomstream reads no datasource: vmagent or Prometheus sends it every sample (remote_write): remove it',
  datasource_url: `${NO_QUERY}: point vmagent's -remoteWrite.url (or Prometheus' remote_write url) at http://<server.listen>/api/v1/write; the destination is writer.datasource_url: remove it`,
  tenant_id: 'the tenant queries read from: send to /insert/<tenant>/prometheus/api/v1/write on anomstream, or set writer.tenant_id: remove it',
  sampling_period: 'the step of the range queries: anomstream scores every raw sample at its own timestamp (downsample upstream with vmagent stream aggregation if needed): remove it',
  query_range_path: `${NO_QUERY}: remove it`,
  health_path: `the reader's datasource check: ${NO_QUERY}; writer.health_path checks the destination: remove it`,
  latency_offset: `${NO_QUERY}: remove it`,
  max_points_per_query: `${NO_QUERY}: remove it`,
  query_from_last_seen_timestamp: `${NO_QUERY}: remove it`,
  query_last_seen_max_lookback: `${NO_QUERY}: remove it`,
  timeout: `the query timeout: ${NO_QUERY}; writer.timeout bounds writes: remove it`,
  fetch_timeout: `${NO_QUERY}: remove it`,
  processing_timeout: `${NO_QUERY}: remove it`,
  workers: `the query concurrency: ${NO_QUERY}: remove it`,
  series_processing_batch_size: `${NO_QUERY}: remove it`,
  offset: `the shift of the query window: ${NO_QUERY}, samples are scored as they arrive: remove it`,
  extra_filters: 'label filters added to every query: add the matchers to each selector in reader.queries: remove it',
  user: READER_CREDENTIALS,
  password: READER_CREDENTIALS,
  bearer_token: READER_CREDENTIALS,
  bearer_token_file: READER_CREDENTIALS,
  verify_tls: READER_CREDENTIALS,
  tls_cert_file: READER_CREDENTIALS,
  tls_key_file: READER_CREDENTIALS,
};

const QUERY: Record<string, string> = {
  step: 'the step of the range query: anomstream scores every raw sample at its own timestamp: remove it',
  offset: `the shift of the query window: ${NO_QUERY}, samples are scored as they arrive: remove it`,
  max_points_per_query: `${NO_QUERY}: remove it`,
  tenant_id: "the query's tenant: send that tenant's data to /insert/<tenant>/prometheus/api/v1/write on anomstream: remove it",
};

const MODEL: Record<string, string> = {
  schedulers: `links the model to vmanomaly's schedulers: ${NO_SCHEDULE}: remove it`,
  groupby: "groups of vmanomaly's multivariate models: anomstream's models are univariate, one per series: remove it",
  args: "arguments of the library inside vmanomaly's offline models: remove it",
  history_strength: "weight of the history vmanomaly's fit stage learnt: anomstream has no fit stage and learns from the first sample (the warm-up is min_n_samples_seen): remove it",
  compression: "size of vmanomaly's t-digest sketches: anomstream keeps a fixed state per series: remove it",
  iqr_threshold: 'vmanomaly widens the band by iqr_threshold x IQR: widen it with scale (a band half-width multiplier) instead',
  use_transform: "vmanomaly's log transform inside its quantile sketch: remove it",
  global_smoothing: "vmanomaly's blend of global and seasonal quantiles: remove it (seasonal_quantile_online keeps one estimate per bucket)",
  tuned_class_name: "only meaningful with vmanomaly's class: auto (AutoTunedModel): remove it",
  optimization_params: "only meaningful with vmanomaly's class: auto (AutoTunedModel): remove it",
  fit_window: ROOT.fit_window,
  fit_every: ROOT.fit_every,
  infer_every: ROOT.infer_every,
  start_from: ROOT.start_from,
};

/**
 * vmanomaly model classes (alias and class path, docs/anomaly-detection/components/models.md,
 * v1.30.2) that mean a model anomstream has. `zscore` / `mad` (the removed offline models) are
 * run by vmanomaly itself as their online versions since v1.28.4, so they map the same way.
 */
export const CLASS_ALIASES: Record<string, string> = {
  zscore_online: 'zscore_online',
  'model.online.OnlineZscoreModel': 'zscore_online',
  zscore: 'zscore_online',
  'model.zscore.ZscoreModel': 'zscore_online',
  mad_online: 'mad_online',
  'model.online.OnlineMADModel': 'mad_online',
  mad: 'mad_online',
  'model.mad.MADModel': 'mad_online',
  quantile_online: 'quantile_online',
  'model.online.OnlineQuantileModel': 'quantile_online',
  holtwinters_online: 'holtwinters_online',
  seasonal_quantile_online: 'seasonal_quantile_online',
  auto: 'auto',
};

const OUR_CLASSES = ['auto', 'zscore_online', 'mad_online', 'quantile_online', 'holtwinters_online', 'seasonal_quantile_online'];
const OFFLINE = "an offline vmanomaly model (refit on fit_window): anomstream's models learn online from every sample";

/** vmanomaly classes with no counterpart here (by alias), and what to use instead. */
const UNSUPPORTED_CLASSES: Record<string, string> = {
  prophet: `Prophet, ${OFFLINE}: use class: holtwinters_online (trend and daily/weekly season) or leave class out for anomstream's default model`,
  holtwinters: `statsmodels' Holt-Winters, ${OFFLINE}: use class: holtwinters_online (seasonality and half_life instead of frequency and args)`,
  isolation_forest: `Isolation Forest, ${OFFLINE}: use a univariate model such as class: mad_online`,
  isolation_forest_multivariate: 'multivariate Isolation Forest: anomstream scores each series on its own: use a univariate model such as class: mad_online',
  temporal_envelope:
    "vmanomaly's Temporal Envelope (trend, calendar, holidays) is not implemented here: use class: holtwinters_online (daily or weekly season, damped trend) or leave class out for anomstream's default model",
  temporal_envelope_multivariate: 'multivariate Temporal Envelope: anomstream scores each series on its own: use class: holtwinters_online, or leave class out',
  rolling_quantile: 'a quantile of the last window_steps points: anomstream keeps no window: use class: quantile_online with half_life about window_steps x the scrape interval',
  std: 'seasonal decomposition over `period` points: use class: holtwinters_online (seasonality as a duration, e.g. 1d)',
  custom: `vmanomaly's Python custom model cannot run in anomstream: use one of ${OUR_CLASSES.join(', ')}`,
};
/** Their class paths (models.md). */
const UNSUPPORTED_PATHS: Record<string, string> = {
  'model.prophet.ProphetModel': 'prophet',
  'model.holtwinters.HoltWinters': 'holtwinters',
  'model.isolation_forest.IsolationForestModel': 'isolation_forest',
  'model.isolation_forest.IsolationForestMultivariateModel': 'isolation_forest_multivariate',
  'model.online.TemporalEnvelopeModel': 'temporal_envelope',
  'model.online.TemporalEnvelopeMultivariateModel': 'temporal_envelope_multivariate',
  'model.rolling_quantile.RollingQuantileModel': 'rolling_quantile',
  'model.std.StdModel': 'std',
  'model.custom.CustomModel': 'custom',
};

export function translate(raw: unknown): Translated {
  const issues: Issue[] = [];
  if (!isObj(raw)) return { value: raw, issues };
  const root: Obj = structuredClone(raw);
  const drop = (obj: Obj, key: string, path: PropertyKey[], message: string): void => {
    issues.push({ path: [...path, key], message });
    delete obj[key];
  };

  if ('model' in root) {
    const cls = isObj(root.model) && typeof root.model.class === 'string' ? root.model.class : undefined;
    const why = cls === undefined ? undefined : UNSUPPORTED_CLASSES[UNSUPPORTED_PATHS[cls] ?? cls];
    drop(
      root,
      'model',
      [],
      `vmanomaly's single-model section (before 1.10)${'models' in root ? ', ignored next to models:' : ''}: write it as models: { <alias>: { class: ${(cls && CLASS_ALIASES[cls]) ?? (why ? '<class>' : 'zscore_online')}, ... } }` +
        (why ? `; its class '${cls}' is ${why}` : ''),
    );
  }
  for (const k of Object.keys(ROOT)) if (k in root) drop(root, k, [], ROOT[k]);

  let scoreOutside: unknown;
  if ('settings' in root) {
    const settings = root.settings;
    if (!isObj(settings)) drop(root, 'settings', [], "vmanomaly's service settings: remove the section");
    else {
      for (const [k, v] of Object.entries(settings)) {
        if (k === 'anomaly_score_outside_data_range') scoreOutside = v;
        else if (k === 'retention' && isObj(v)) retention(v);
        else if (k === 'restore_state') restoreState(v);
        else
          issues.push({
            path: ['settings', k],
            message: SETTINGS[k] ?? 'unknown vmanomaly setting: anomstream honours settings.anomaly_score_outside_data_range, settings.restore_state and settings.retention.ttl only; remove it',
          });
      }
      delete root.settings;
    }
  }
  if (isObj(root.server)) server(root.server);
  if (isObj(root.reader)) reader(root.reader);
  if (isObj(root.models)) models(root.models);
  if (scoreOutside !== undefined) {
    // vmanomaly: the service-wide default of every model that does not set its own.
    if (!isObj(root.models)) root.models = { default: {} };
    for (const m of Object.values(root.models as Obj)) if (isObj(m) && !('anomaly_score_outside_data_range' in m)) m.anomaly_score_outside_data_range = scoreOutside;
  }
  if (isObj(root.writer)) urlCredentials(root.writer, issues);
  return { value: root, issues };

  function server(s: Obj): void {
    if ('addr' in s || 'port' in s) {
      const addr = typeof s.addr === 'string' && s.addr.includes(':') ? `[${s.addr}]` : String(s.addr ?? '0.0.0.0');
      const listen = `${addr}:${String(s.port ?? 8490)}`;
      for (const k of ['addr', 'port']) if (k in s) drop(s, k, ['server'], `vmanomaly's UI/REST API listener: anomstream listens once, for remote_write and /metrics: write server.listen: '${listen}'`);
    }
    for (const k of Object.keys(SERVER)) if (k in s) drop(s, k, ['server'], SERVER[k]);
  }

  function reader(r: Obj): void {
    for (const k of Object.keys(READER)) if (k in r) drop(r, k, ['reader'], READER[k]);
    const defaults: Obj = {};
    for (const k of ['data_range', 'tz']) {
      if (k in r) {
        defaults[k] = r[k];
        delete r[k];
      }
    }
    if (!isObj(r.queries)) return;
    for (const [alias, q] of Object.entries(r.queries)) {
      if (isObj(q)) for (const k of Object.keys(QUERY)) if (k in q) drop(q, k, ['reader', 'queries', alias], QUERY[k]);
      if (Object.keys(defaults).length === 0) continue;
      // vmanomaly: a query without its own data_range / tz takes the reader's.
      const long: unknown = typeof q === 'string' ? { expr: q } : q;
      if (isObj(long)) {
        for (const [k, v] of Object.entries(defaults)) if (!(k in long)) long[k] = v;
        r.queries[alias] = long;
      }
    }
  }

  function models(ms: Obj): void {
    for (const [alias, m] of Object.entries(ms)) {
      if (!isObj(m)) continue;
      const at = ['models', alias];
      const cls = m.class;
      const tuned = 'tuned_class_name' in m || 'optimization_params' in m;
      if (cls === 'model.auto.AutoTunedModel' || (cls === 'auto' && tuned)) {
        const target = typeof m.tuned_class_name === 'string' ? CLASS_ALIASES[m.tuned_class_name] : undefined;
        issues.push({
          path: [...at, 'class'],
          message:
            `'${String(cls)}' with tuned_class_name/optimization_params is vmanomaly's AutoTunedModel (it searches the parameters of tuned_class_name at each fit); anomstream has no fit stage to tune on: ` +
            `write class: ${target ?? 'zscore_online'} with fixed parameters${target ? ` (your tuned_class_name)` : ''}, or remove tuned_class_name and optimization_params to use anomstream's own default model 'auto'`,
        });
        delete ms[alias];
        continue;
      }
      if (typeof cls === 'string' && !CLASS_ALIASES[cls]) {
        const why = UNSUPPORTED_CLASSES[UNSUPPORTED_PATHS[cls] ?? cls];
        const guess = didYouMean(cls, Object.keys(CLASS_ALIASES));
        issues.push({
          path: [...at, 'class'],
          message: why
            ? `'${cls}': ${why}`
            : `unknown model class '${cls}': ${guess ? `did you mean '${guess}'?` : `expected one of ${OUR_CLASSES.join(', ')} (or vmanomaly's names of the same models, e.g. model.online.OnlineZscoreModel)`}`,
        });
        delete ms[alias];
        continue;
      }
      if (typeof cls === 'string') m.class = CLASS_ALIASES[cls];
      if ('seasonal_interval' in m || 'min_subseason' in m) {
        const period = typeof m.seasonal_interval === 'string' ? parseDurationMs(m.seasonal_interval) : null;
        const sub = typeof m.min_subseason === 'string' ? parseDurationMs(m.min_subseason) : null;
        const buckets = period && sub ? Math.round(period / sub) : null;
        const msg = `vmanomaly's seasonal quantiles: write class: seasonal_quantile_online${period ? `, seasonality: '${String(m.seasonal_interval)}'` : ''}${buckets ? `, buckets: ${buckets}` : ''} (buckets = seasonality / min_subseason, at most 39)`;
        for (const k of ['seasonal_interval', 'min_subseason']) if (k in m) drop(m, k, at, msg);
        delete m.season_starts_from; // valid in seasonal_quantile_online, which the line above asks for
      }
      for (const k of Object.keys(MODEL)) if (k in m) drop(m, k, at, MODEL[k]);
    }
  }

  /** vmanomaly's state restoration: anomstream's default (state.path); false turns it off. */
  function restoreState(v: unknown): void {
    if (v === true || v === 'true' || v === 'True') return;
    if (v !== false && v !== 'false' && v !== 'False') {
      issues.push({ path: ['settings', 'restore_state'], message: `expected true or false, got ${JSON.stringify(v)}` });
      return;
    }
    const state: Obj = isObj(root.state) ? root.state : (root.state = {});
    if ('path' in state) issues.push({ path: ['settings', 'restore_state'], message: 'state.path is set too: remove one (restore_state: false means state.path: "")' });
    else state.path = '';
  }

  function retention(r: Obj): void {
    for (const [k, v] of Object.entries(r)) {
      if (k !== 'ttl') {
        issues.push({ path: ['settings', 'retention', k], message: 'anomstream sweeps idle series on its own (every min(series_idle_timeout / 4, 1m)): remove it' });
        continue;
      }
      const limits: Obj = isObj(root.limits) ? root.limits : (root.limits = {});
      if ('series_idle_timeout' in limits) issues.push({ path: ['settings', 'retention', 'ttl'], message: "vmanomaly's model TTL is limits.series_idle_timeout here, which is set too: remove one" });
      else limits.series_idle_timeout = v;
    }
  }
}

/**
 * `http://user:pass@host` in writer.datasource_url: basic auth, as vmagent does with
 * -remoteWrite.url; taken out of the URL, so it is never logged or shown in a message.
 */
function urlCredentials(w: Obj, out: Issue[]): void {
  if (typeof w.datasource_url !== 'string') return;
  let u: URL;
  try {
    u = new URL(w.datasource_url);
  } catch {
    return;
  }
  if (u.username === '' && u.password === '') return;
  const user = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  u.username = '';
  u.password = '';
  w.datasource_url = u.toString();
  const other = ['user', 'password', 'bearer_token', 'bearer_token_file'].find((k) => k in w);
  if (other) {
    out.push({
      path: ['writer', 'datasource_url'],
      message: `has credentials (user:password@) and writer.${other} is set too: choose one auth method (URL credentials are used as basic auth, as vmagent does)`,
    });
    return;
  }
  w.user = user;
  if (password !== '') w.password = password;
}
