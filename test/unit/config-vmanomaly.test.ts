/**
 * Issue 18: a pasted vmanomaly 1.30 config. Every form anomstream can honour loads with
 * vmanomaly's meaning; every other one is one line naming the key, why it means nothing in a
 * push proxy, and what to write instead. All problems of a file come in one round.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { checkConfig, loadConfigFile, parseConfig } from '../../src/config/load.js';
import { joinPath } from '../../src/config/issues.js';
import { CLASS_ALIASES } from '../../src/config/migration.js';
import { ConfigError } from '../../src/errors.js';

const W = 'writer: { datasource_url: "http://127.0.0.1:8428" }';
const Q = 'reader: { queries: { cpu: "node_load1" } }';

/** Phrases of the validation library that must never reach a user. */
export const BARE = /Invalid input|Invalid option|Invalid (string|URL|discriminator|key)|expected \w+, received \w+|Unrecognized key|Too (small|big):|Required$/;

function load(yaml: string): ReturnType<typeof parseConfig> {
  return parseConfig(parseYaml(yaml));
}

/** The issues of a config that must not load, as `path: message` lines. */
function problems(yaml: string): string[] {
  const c = checkConfig(parseYaml(yaml));
  assert.ok(c.issues.length > 0, `expected problems in:\n${yaml}`);
  const lines = c.issues.map((i) => `${joinPath(i.path)}: ${i.message}`);
  for (const l of lines) assert.doesNotMatch(l, BARE, l);
  return lines;
}

test("vmanomaly's class aliases and class paths mean the same online models", () => {
  for (const [vm, ours] of Object.entries(CLASS_ALIASES)) {
    const cfg = load(`${Q}\n${W}\nmodels: { m: { class: '${vm}' } }`);
    assert.equal(cfg.models?.m.class, ours, vm);
  }
  assert.equal(CLASS_ALIASES['model.online.OnlineZscoreModel'], 'zscore_online');
  assert.equal(CLASS_ALIASES.zscore, 'zscore_online');
  assert.equal(CLASS_ALIASES['model.mad.MADModel'], 'mad_online');
});

test('1.30 value forms: two-sided min_dev / scale, min_rel_dev, data_range strings, per-query tz', () => {
  const cfg = load(`
reader:
  queries:
    a: { expr: 'up', data_range: [0, 'inf'], min_dev_from_expected: [0.01, 0.02], min_rel_dev_from_expected: [20, 40], tz: 'America/New_York', detection_direction: above_expected }
    b: { expr: 'up', data_range: ['-inf', "inf"], min_dev_from_expected: 5 }
models: { z: { class: zscore_online, scale: [1.2, 0.75], min_dev_from_expected: [1] } }
${W}`);
  const a = cfg.reader.queries.a;
  assert.deepEqual(a.data_range, [0, Infinity]);
  assert.deepEqual(a.min_dev_from_expected, [0.01, 0.02]);
  assert.deepEqual(a.min_rel_dev_from_expected, [20, 40]);
  assert.equal(a.tz, 'America/New_York');
  assert.deepEqual(cfg.reader.queries.b.data_range, [-Infinity, Infinity]);
  assert.deepEqual(cfg.reader.queries.b.min_dev_from_expected, [5, 5]);
  assert.deepEqual(cfg.models?.z.scale, [1.2, 0.75]);
  assert.deepEqual(cfg.models?.z.min_dev_from_expected, [1, 1]);
});

test('reader-level data_range and tz are the default of every query; a query keeps its own', () => {
  const cfg = load(`
reader:
  data_range: [1, 'inf']
  tz: Europe/Berlin
  queries:
    a: 'up'
    b: { expr: 'up', data_range: [0, 10], tz: UTC }
${W}`);
  assert.deepEqual(cfg.reader.queries.a.data_range, [1, Infinity]);
  assert.equal(cfg.reader.queries.a.tz, 'Europe/Berlin');
  assert.deepEqual(cfg.reader.queries.b.data_range, [0, 10]);
  assert.equal(cfg.reader.queries.b.tz, 'UTC');
});

test("settings.anomaly_score_outside_data_range is every model's default; settings.retention.ttl is limits.series_idle_timeout", () => {
  const cfg = load(`${Q}\n${W}
settings: { anomaly_score_outside_data_range: 5.0, retention: { ttl: 24h } }
models: { a: { class: zscore_online }, b: { class: mad_online, anomaly_score_outside_data_range: 1.5 } }`);
  assert.equal(cfg.models?.a.anomaly_score_outside_data_range, 5);
  assert.equal(cfg.models?.b.anomaly_score_outside_data_range, 1.5);
  assert.equal(cfg.limits.series_idle_timeout, 24 * 3600_000);
  // Without a models: section the default model gets it.
  const d = load(`${Q}\n${W}\nsettings: { anomaly_score_outside_data_range: 3 }`);
  assert.equal(d.models?.default.class, 'auto');
  assert.equal(d.models?.default.anomaly_score_outside_data_range, 3);
});

test('settings.restore_state: true is the default (state kept in state.path); false turns persistence off', () => {
  assert.equal(load(`${Q}\n${W}\nsettings: { restore_state: true }`).state.path, 'anomstream-state');
  assert.equal(load(`${Q}\n${W}\nsettings: { restore_state: false }`).state.path, '');
  assert.match(problems(`${Q}\n${W}\nsettings: { restore_state: false }\nstate: { path: /x }`)[0], /^settings\.restore_state: state\.path is set too/);
});

test("every writer key of vmanomaly 1.30 loads: the writer page's example (connection_retry_attempts included)", () => {
  const cfg = load(`${Q}
writer:
  class: "vm"
  datasource_url: "http://localhost:8428/"
  tenant_id: "0:0"
  metric_format: { __name__: "vmanomaly_$VAR", for: "$QUERY_KEY", run: "test_metric_format", config: "io_vm_single.yaml" }
  import_json_path: "/api/v1/import"
  health_path: "health"
  user: "foo"
  password: "bar"
  connection_retry_attempts: 2
  timeout: 5s
  verify_tls: false`);
  assert.equal(cfg.writer.connection_retry_attempts, 2);
  assert.equal(load(`${Q}\n${W}`).writer.connection_retry_attempts, 1);
});

test('credentials in datasource_url are basic auth (as vmagent) and leave the URL; never echoed', () => {
  const cfg = load(`${Q}\nwriter: { datasource_url: "https://alice:p%40ss@vm.example:8428/prefix" }`);
  assert.equal(cfg.writer.user, 'alice');
  assert.equal(cfg.writer.password, 'p@ss');
  assert.equal(cfg.writer.datasource_url, 'https://vm.example:8428/prefix');
  const lines = problems(`${Q}\nwriter: { datasource_url: "http://alice:topsecret@vm:8428/api/v1/write", bearer_token: other }`);
  assert.ok(
    lines.some((l) => /^writer\.datasource_url: .*choose one auth method/.test(l)),
    lines.join('\n'),
  );
  assert.ok(
    lines.some((l) => /^writer\.datasource_url: .*give the base URL 'http:\/\/vm:8428'/.test(l)),
    lines.join('\n'),
  );
  assert.ok(!lines.join('\n').includes('topsecret'));
  // An unparsable URL with credentials is shown redacted.
  const bad = problems(`${Q}\nwriter: { datasource_url: "http://alice:topsecret@ vm:8428" }`);
  assert.ok(!bad.join('\n').includes('topsecret'), bad.join('\n'));
});

test('a datasource_url ending in a write, import or read path: give the base URL', () => {
  const cases: [string, RegExp][] = [
    ['http://vm:8428/api/v1/write', /write path '\/api\/v1\/write': give the base URL 'http:\/\/vm:8428'/],
    ['http://vm:8428/api/v1/write/', /write path '\/api\/v1\/write': give the base URL 'http:\/\/vm:8428'/],
    ['http://vm:8428/prometheus/api/v1/write', /write path '\/prometheus\/api\/v1\/write': give the base URL 'http:\/\/vm:8428'/],
    ['http://vminsert:8480/insert/0:1/prometheus/api/v1/write', /give the base URL 'http:\/\/vminsert:8480' and writer\.tenant_id: '0:1'/],
    ['http://vm:8428/api/v1/import', /import path '\/api\/v1\/import'/],
    ['http://vmauth:8427/vm/api/v1/import/prometheus', /give the base URL 'http:\/\/vmauth:8427\/vm'/],
    ['http://vmselect:8481/select/0/prometheus', /vmselect's read path.*writer\.tenant_id: '0'/],
    ['http://vm:8428/api/v1/query_range', /query path/],
    ['ftp://vm:8428', /expected an http:\/\/ or https:\/\/ URL/],
    ['not a url', /expected an http:\/\/ or https:\/\/ URL such as/],
  ];
  for (const [url, re] of cases) {
    const lines = problems(`${Q}\nwriter: { datasource_url: "${url}" }`);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0], new RegExp(`^writer\\.datasource_url: .*${re.source}`), url);
  }
  assert.equal(load(`${Q}\nwriter: { datasource_url: "http://vmauth:8427/some/prefix" }`).writer.datasource_url, 'http://vmauth:8427/some/prefix');
});

test("vmanomaly's class: auto (AutoTunedModel) never silently becomes anomstream's auto model", () => {
  const lines = problems(`${Q}\n${W}\nmodels: { t: { class: auto, tuned_class_name: 'model.online.OnlineZscoreModel', optimization_params: { anomaly_percentage: 0.01 } } }`);
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.match(lines[0], /^models\.t\.class: .*AutoTunedModel.*write class: zscore_online/);
  assert.match(problems(`${Q}\n${W}\nmodels: { t: { class: 'model.auto.AutoTunedModel' } }`)[0], /^models\.t\.class: .*AutoTunedModel/);
  assert.match(problems(`${Q}\n${W}\nmodels: { t: { class: auto, optimization_params: {} } }`)[0], /^models\.t\.class: /);
  // anomstream's own auto (no tuning keys) still loads.
  assert.equal(load(`${Q}\n${W}\nmodels: { t: { class: auto } }`).models?.t.class, 'auto');
});

test('every other vmanomaly form: one line naming the key, why, and what to write instead', () => {
  const cases: [string, string, RegExp][] = [
    ['model: { class: zscore, z_threshold: 3 }', 'model', /write it as models: \{ <alias>: \{ class: zscore_online/],
    ['model: { class: "model.prophet.ProphetModel" }', 'model', /models: .*Prophet.*holtwinters_online/],
    ['server: { port: 8490 }', 'server.port', /write server\.listen: '0\.0\.0\.0:8490'/],
    ['server: { addr: "127.0.0.1", port: 9000, path_prefix: /x }', 'server.addr', /write server\.listen: '127\.0\.0\.1:9000'/],
    ['server: { path_prefix: /x }', 'server.path_prefix', /UI and REST API: anomstream has none.*remove it/],
    ['schedulers: { s: { class: periodic, infer_every: 1m } }', 'schedulers', /remove the section/],
    ['monitoring: { pull: { port: 8080 } }', 'monitoring', /GET \/metrics.*remove the section/],
    ['settings: { n_workers: 4 }', 'settings.n_workers', /one process: remove it/],
    ['preset: node-exporter', 'preset', /write reader\.queries.*remove it/],
  ];
  for (const [extra, path, re] of cases) {
    const lines = problems(`${Q}\n${W}\n${extra}`);
    const mine = lines.filter((l) => l.startsWith(`${path}: `));
    assert.equal(mine.length, 1, `${extra}:\n${lines.join('\n')}`);
    assert.match(mine[0], re, extra);
  }
  const reader: [string, RegExp][] = [
    ['sampling_period: 1m', /every raw sample at its own timestamp.*remove it/],
    ['class: vm', /vmagent or Prometheus sends it.*remove it/],
    ['tenant_id: "0:0"', /\/insert\/<tenant>\/prometheus\/api\/v1\/write.*writer\.tenant_id/],
    ['offset: 15s', /remove it/],
    ['max_points_per_query: 1000', /runs no queries.*remove it/],
    ['bearer_token: x', /writer: remove it/],
    ['extra_filters: ["job=x"]', /add the matchers to each selector/],
  ];
  for (const [kv, re] of reader) {
    const lines = problems(`reader: { queries: { cpu: "node_load1" }, ${kv} }\n${W}`);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0], new RegExp(`^reader\\.${kv.split(':')[0]}: .*${re.source}`));
  }
  for (const [kv, re] of [
    ['step: 1m', /remove it/],
    ['offset: "-15s"', /remove it/],
    ['tenant_id: "1:0"', /\/insert\/<tenant>/],
    ['max_points_per_query: 5', /remove it/],
  ] as const) {
    const lines = problems(`reader: { queries: { cpu: { expr: node_load1, ${kv} } } }\n${W}`);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0], new RegExp(`^reader\\.queries\\.cpu\\.${kv.split(':')[0]}: .*${re.source}`));
  }
  const model: [string, RegExp][] = [
    ['schedulers: [s1]', /remove it/],
    ['history_strength: 2', /no fit stage.*remove it/],
    ['compression: 100', /remove it/],
    ['iqr_threshold: 2', /scale/],
    ['groupby: [host]', /univariate.*remove it/],
    ['args: { seasonal: add }', /remove it/],
    ['fit_window: 14d', /half_life/],
  ];
  for (const [kv, re] of model) {
    const lines = problems(`${Q}\n${W}\nmodels: { m: { class: zscore_online, ${kv} } }`);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0], new RegExp(`^models\\.m\\.${kv.split(':')[0]}: .*${re.source}`));
  }
  const q = problems(`${Q}\n${W}\nmodels: { m: { class: quantile_online, seasonal_interval: 7d, min_subseason: 6h } }`);
  assert.ok(
    q.every((l) => /write class: seasonal_quantile_online, seasonality: '7d', buckets: 28/.test(l)),
    q.join('\n'),
  );
  for (const [cls, re] of [
    ['prophet', /holtwinters_online/],
    ['model.isolation_forest.IsolationForestMultivariateModel', /univariate/],
    ['temporal_envelope', /not implemented/],
    ['rolling_quantile', /quantile_online/],
    ['std', /holtwinters_online/],
    ['custom', /cannot run/],
  ] as const) {
    const lines = problems(`${Q}\n${W}\nmodels: { m: { class: '${cls}', anything: 1 } }`);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0], new RegExp(`^models\\.m\\.class: '${cls.replace(/\./g, '\\.')}': .*${re.source}`));
  }
});

test('typos get a did-you-mean against the keys valid at that path; wrong types say what is expected', () => {
  const cases: [string, RegExp][] = [
    [`${Q}\nwrtier: { datasource_url: "http://x:1" }`, /^wrtier: unknown key: did you mean 'writer'\?/m],
    [`${Q}\nwriter: { datasource_ulr: "http://x:1" }`, /^writer\.datasource_ulr: unknown key: did you mean 'datasource_url'\?/m],
    [`${Q}\n${W}\nmodels: { m: { class: zscore_online, z_treshold: 3 } }`, /^models\.m\.z_treshold: unknown key: did you mean 'z_threshold'\?/m],
    [`${Q}\n${W}\nmodels: { m: { class: zscore_onlin } }`, /^models\.m\.class: unknown model class 'zscore_onlin': did you mean 'zscore_online'\?/m],
    [`reader: { queries: { cpu: { expr: up, transfrom: rate } } }\n${W}`, /^reader\.queries\.cpu\.transfrom: unknown key: did you mean 'transform'\?/m],
    [`${Q}\n${W}\nserver: { bogus: 1 }`, /^server\.bogus: unknown key: expected one of listen, max_request_bytes, max_in_flight, /m],
    [`${Q}\n${W}\nreader2: {}`, /^reader2: unknown key: did you mean 'reader'\?/m],
    [`reader: { queries: { cpu-load: up } }\n${W}`, /^reader\.queries\.cpu-load: .*letters, digits and '_' only.*write 'cpu_load'/m],
    [`reader: { queries: [up] }\n${W}`, /^reader\.queries: expected a map of alias: series selector.*got \['up'\]/m],
    [`reader: {}\n${W}`, /^reader\.queries: missing: expected a map of alias: series selector/m],
    [Q, /^writer: missing: expected writer: \{ datasource_url: /m],
    [`${Q}\n${W}\nserver: { max_in_flight: "64" }`, /^server\.max_in_flight: expected a number, got '64'/m],
    [`${Q}\n${W}\nserver: { listen: 8490 }`, /^server\.listen: expected 'host:port'/m],
    [`${Q}\n${W}\nmodels: { m: { class: zscore_online, detection_direction: up } }`, /^models\.m\.detection_direction: expected one of both, above_expected, below_expected, got 'up'/m],
    [`${Q}\n${W}\nmodels: { m: { class: zscore_online, min_dev_from_expected: [1, 2, 3] } }`, /^models\.m\.min_dev_from_expected: expected a number >= 0, or \[lower, upper\]/m],
    [`${Q}\n${W}\nmodels: { m: { class: zscore_online, data_range: [0, lots] } }`, /^models\.m\.data_range: expected \[low, high\].*'inf'/m],
    [`${Q}\n${W}\nmodels: { m: { class: zscore_online, queries: [cpu, disk] } }`, /^models\.m\.queries\[1\]: unknown query 'disk': expected an alias of reader\.queries \(cpu\)/m],
    [`${Q}\n${W}\nlogging: { level: verbose }`, /^logging\.level: expected one of fatal, error, warn, info, debug, trace, got 'verbose'/m],
    [`${Q}\nwriter: { datasource_url: "http://x:1", password: 12345 }`, /^writer\.password: expected writer\.user too/m],
    [`${Q}\n${W}\nmodels: { m: { class: zscore_online, provide_series: [] } }`, /^models\.m\.provide_series: expected at least 1 item/m],
    ['', /^\(root\): the file is empty: expected a map with reader: and writer: sections/m],
    ['- a\n- b', /^\(root\): expected a map with reader: and writer: sections.*got \['a', 'b'\]/m],
  ];
  for (const [yaml, re] of cases) assert.match(problems(yaml).join('\n'), re, yaml);
});

/** Runs `fn` with a fresh temp directory, removed afterwards. */
function inTempDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'anomstream-cfg-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The ConfigError `fn` throws. */
function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e;
  }
  assert.fail('expected a ConfigError');
}

test('one round: every problem of a file at once, the files it names included', () => {
  inTempDir((dir) => {
    const file = join(dir, 'c.yaml');
    writeFileSync(
      file,
      `reader: { queries: { cpu-load: up, disk: 'rate(x[5m])' }, sampling_period: 1m }
models: { m: { class: zscore_onlin }, n: { class: mad_online, threshhold: 3 } }
server: { port: 8490 }
writer:
  datasource_url: http://vm:8428/api/v1/write
  bearer_token_file: ${dir}/missing-token
  verify_tls: ${dir}/missing-ca.crt
  tls_cert_file: ${dir}/missing.crt
  tls_key_file: ${dir}/missing.key
  timeout: soon
  user: %{ANOMSTREAM_TEST_UNSET_USER}
`,
    );
    const err = configErrorOf(() => loadConfigFile(file, {}));
    assert.equal(err.code, 'ANOM_CONFIG_INVALID');
    const paths = err.issues.map((i) => joinPath(i.path)).sort();
    assert.deepEqual(paths, [
      'models.m.class',
      'models.n.threshhold',
      'reader.queries.cpu-load',
      'reader.queries.disk.expr',
      'reader.sampling_period',
      'server.port',
      'writer.bearer_token_file', // missing file
      'writer.bearer_token_file', // and a second auth method next to writer.user
      'writer.datasource_url',
      'writer.timeout',
      'writer.tls_cert_file',
      'writer.tls_key_file',
      'writer.user',
      'writer.verify_tls',
    ]);
    for (const line of err.message.split('\n')) assert.doesNotMatch(line, BARE, line);
  });
});

test('%{ENV} placeholders: anywhere in a scalar, typed when a whole plain scalar, unset ones name path and variable', () => {
  inTempDir((dir) => {
    const file = join(dir, 'c.yaml');
    writeFileSync(
      file,
      `# %{IN_A_COMMENT} is ignored
server: { listen: "127.0.0.1:%{PORT}", max_in_flight: %{IN_FLIGHT} }
reader:
  queries:
    %{ALIAS}: 'node_load1{job="%{JOB}"}'
writer:
  datasource_url: %{VMANOMALY_URL}
  tenant_id: %{TENANT}
  user: %{USER_NAME}
  password: "%{PASS}"
`,
    );
    const env = { PORT: '9999', IN_FLIGHT: '7', ALIAS: 'cpu', JOB: 'node', VMANOMALY_URL: 'http://vm:8428', TENANT: '0:1', USER_NAME: 'svc', PASS: 'a#b: "c"' };
    const cfg = loadConfigFile(file, env);
    assert.equal(cfg.server.listen, '127.0.0.1:9999');
    assert.equal(cfg.server.max_in_flight, 7);
    assert.equal(cfg.reader.queries.cpu.expr, 'node_load1{job="node"}');
    assert.equal(cfg.writer.datasource_url, 'http://vm:8428');
    assert.equal(cfg.writer.tenant_id, '0:1');
    assert.equal(cfg.writer.password, 'a#b: "c"');
    // Unset: each one named, at its path; nothing else reported for those paths.
    const err = configErrorOf(() => loadConfigFile(file, { ...env, VMANOMALY_URL: undefined, PASS: undefined }));
    assert.deepEqual(err.message.split('\n'), [
      "writer.datasource_url: environment variable VMANOMALY_URL is not set (the file says %{VMANOMALY_URL}): set it in anomstream's environment, or write the value",
      "writer.password: environment variable PASS is not set (the file says %{PASS}): set it in anomstream's environment, or write the value",
    ]);
  });
});
