/**
 * Issue 5: the writer section's validation and the vmanomaly migration errors. Each message
 * names the config path, what was expected and what was found.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { configErrorOf } from './config-helpers.js';
import { summarize } from '../../src/config/summary.js';
import { connectionFor } from '../../src/forward/connection.js';

const base = (writer: string, rest = 'reader: { queries: { cpu: "test_cpu" } }'): unknown => parseYaml(`${rest}\nwriter:\n  datasource_url: "http://localhost:8481/"\n${writer}`);

test('defaults: class vm, /health, 5s, verify_tls true, remote_write (no import_json_path), no tenant', () => {
  const w = parseConfig(base('')).writer;
  assert.equal(w.class, 'vm');
  assert.equal(w.health_path, '/health');
  assert.equal(w.timeout, 5000);
  assert.equal(w.verify_tls, true);
  assert.equal(w.import_json_path, undefined);
  assert.equal(w.tenant_id, undefined);
  assert.deepEqual(w.metric_format, { __name__: '$VAR', for: '$QUERY_KEY' });
});

test('tenant_id: string or number, normalised; a bad one names the path and shows the value', () => {
  assert.equal(parseConfig(base('  tenant_id: 0:0')).writer.tenant_id, '0:0');
  assert.equal(parseConfig(base('  tenant_id: 42')).writer.tenant_id, '42');
  assert.equal(parseConfig(base('  tenant_id: multitenant')).writer.tenant_id, 'multitenant');
  assert.equal(configErrorOf(base('  tenant_id: "0:x"')), "writer.tenant_id: expected 'multitenant', 'A' or 'A:B' (A, B integers), got '0:x'");
  assert.match(configErrorOf(base('  tenant_id: 1.5')), /^writer\.tenant_id: .*got '1\.5'$/);
});

test('timeout: 500ms, 5s, 1m, a number of seconds; garbage is an error', () => {
  for (const [v, ms] of [
    ['500ms', 500],
    ['5s', 5000],
    ['1m', 60000],
    ['2', 2000],
  ] as const)
    assert.equal(parseConfig(base(`  timeout: ${v}`)).writer.timeout, ms);
  assert.match(configErrorOf(base('  timeout: soon')), /^writer\.timeout: expected a positive duration/);
});

test('class: vm and writer.vm.VmWriter; anything else is an error', () => {
  assert.equal(parseConfig(base('  class: writer.vm.VmWriter')).writer.class, 'writer.vm.VmWriter');
  assert.match(configErrorOf(base('  class: writer.prom.PromWriter')), /^writer\.class: /);
});

test('metric_format: __name__ must contain $VAR; static labels and numbers allowed', () => {
  assert.equal(
    configErrorOf(base('  metric_format: { __name__: "score", for: "$QUERY_KEY" }')),
    "writer.metric_format.__name__: expected a value containing $VAR (e.g. '$VAR' or 'anomstream_$VAR'), got 'score'",
  );
  assert.match(configErrorOf(base('  metric_format: { for: "$QUERY_KEY" }')), /writer\.metric_format\.__name__: .*got no __name__ key/);
  const f = parseConfig(base('  metric_format: { __name__: "x_$VAR", run: 3, for: "$QUERY_KEY_$VAR" }')).writer.metric_format;
  assert.deepEqual(f, { __name__: 'x_$VAR', run: '3', for: '$QUERY_KEY_$VAR' });
  // Label names as VictoriaMetrics stores them (OpenTelemetry's service.name, a-b); only '' is refused.
  assert.deepEqual(parseConfig(base('  metric_format: { __name__: "$VAR", "a-b": "x", service.name: y }')).writer.metric_format, { __name__: '$VAR', 'a-b': 'x', 'service.name': 'y' });
  assert.match(configErrorOf(base('  metric_format: { __name__: "$VAR", "": "x" }')), /writer\.metric_format\[""\]: .*expected a label name, got ''/);
});

test('two auth methods at once: an error naming both keys', () => {
  assert.equal(
    configErrorOf(base('  user: u\n  password: p\n  bearer_token: t')),
    'writer.bearer_token: cannot be combined with writer.user: choose one auth method (user/password, bearer_token or bearer_token_file)',
  );
  const m = configErrorOf(base('  bearer_token: t\n  bearer_token_file: /tmp/x'));
  assert.match(m, /writer\.bearer_token_file: .*writer\.bearer_token\b/);
  assert.match(configErrorOf(base('  password: p')), /^writer\.password: expected writer\.user too/);
});

test('mTLS: tls_cert_file without tls_key_file (and the reverse) is an error; unreadable files name their key', () => {
  assert.match(configErrorOf(base('  tls_cert_file: /c.crt')), /^writer\.tls_key_file: expected together with writer\.tls_cert_file/);
  assert.match(configErrorOf(base('  tls_key_file: /c.key')), /^writer\.tls_cert_file: expected together with writer\.tls_key_file/);
  const cfg = parseConfig(base('  verify_tls: /nonexistent/ca.crt'));
  assert.throws(
    () => connectionFor(cfg.writer),
    (e: Error) => e instanceof ConfigError && e.code === 'ANOM_CONFIG_UNREADABLE' && /^writer\.verify_tls: cannot read '\/nonexistent\/ca\.crt': ENOENT/.test(e.message),
  );
  const tf = parseConfig(base('  bearer_token_file: /nonexistent/token'));
  assert.throws(
    () => connectionFor(tf.writer),
    (e: Error) => e instanceof ConfigError && /^writer\.bearer_token_file: /.test(e.message),
  );
});

test('verify_tls: booleans, "false"/"true" strings, or a CA path', () => {
  assert.equal(parseConfig(base('  verify_tls: False')).writer.verify_tls, false);
  assert.equal(parseConfig(base('  verify_tls: "false"')).writer.verify_tls, false);
  assert.equal(parseConfig(base('  verify_tls: ca.crt')).writer.verify_tls, 'ca.crt');
});

test('import_json_path must be an absolute path', () => {
  assert.equal(parseConfig(base('  import_json_path: /api/v1/import')).writer.import_json_path, '/api/v1/import');
  assert.match(configErrorOf(base('  import_json_path: api/v1/import')), /^writer\.import_json_path: expected an absolute path/);
});

test('migration: vmanomaly-only keys say what replaces them', () => {
  const rq = 'reader: { queries: { cpu: "test_cpu" } }';
  const cases: [string, RegExp][] = [
    [`${rq}\nscheduler: { class: periodic, fit_every: 1h }`, /^scheduler: vmanomaly's fit\/infer schedule: anomstream scores every sample as it arrives.*remove the section$/],
    [`${rq}\nschedulers: { s: { fit_window: 1d } }`, /^schedulers: vmanomaly's .*remove the section$/],
    [`${rq}\nfit_window: 1d`, /^fit_window: .*half_life/],
    [`${rq}\ninfer_every: 1m`, /^infer_every: .*remove it/],
    ['reader: { queries: { cpu: "test_cpu" }, sampling_period: 1m }', /^reader\.sampling_period: .*every raw sample.*remove it/],
    ['reader: { queries: { cpu: "test_cpu" }, datasource_url: "http://vm:8428" }', /^reader\.datasource_url: .*remoteWrite\.url.*writer\.datasource_url/],
    ['reader: { queries: { cpu: "rate(test_cpu[5m])" } }', /^reader\.queries\.cpu\.expr: .*transform: rate/],
  ];
  for (const [rest, re] of cases) assert.match(configErrorOf(base('', rest)), re, rest);
});

test('the start-up summary says no TLS for an http:// datasource (it said "system CAs", as if verifying a certificate)', () => {
  assert.equal(summarize(parseConfig(base(''))).datasource.tls, 'none (http://)');
  const https = (w: string) => parseYaml(`reader: { queries: { cpu: "test_cpu" } }\nwriter:\n  datasource_url: "https://vm:8428/"\n${w}`);
  assert.equal(summarize(parseConfig(https(''))).datasource.tls, 'system CAs');
  assert.equal(summarize(parseConfig(https('  verify_tls: false'))).datasource.tls, 'no certificate verification');
});
