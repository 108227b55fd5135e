/**
 * Issue 3 acceptance: config errors exit 2 and name the config path; --check-config validates.
 * Issue 18 acceptance: a table of plausible mistakes, each rejected with lines that name the
 * path and say what to write instead (and vmanomaly's forms that load).
 */
import assert from 'node:assert/strict';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkAll, judge } from './check-config.js';
import { configYaml, runCli, tempDir } from './harness.js';

const dir = tempDir('config');
test.after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const good = configYaml({ port: 18490, datasourceUrl: 'http://127.0.0.1:8428' });

test('--check-config on a valid config exits 0', async () => {
  const r = await runCli(['--check-config', file('good.yaml', good)]);
  assert.equal(r.code, 0, r.output);
});

const bad: [string, string, RegExp][] = [
  ['invalid URL', good.replace('http://127.0.0.1:8428', 'not a url'), /writer\.datasource_url/],
  ['unknown key', good.replace('server: {', 'server: { bogus_key: 1,'), /server.*bogus_key|bogus_key.*server/],
  ['bad selector', good.replace('test_cpu{job="node"}', 'test_cpu{job="node"'), /reader\.queries\.cpu/],
  [
    'missing writer',
    good
      .split('\n')
      .filter((l) => !l.startsWith('writer:'))
      .join('\n'),
    /writer/,
  ],
];

for (const [what, text, pathRe] of bad) {
  for (const flag of ['--config', '--check-config']) {
    test(`${what}: ${flag} exits 2 naming the path`, async () => {
      const r = await runCli([flag, file(`${what.replace(/\W/g, '_')}.yaml`, text)]);
      assert.equal(r.code, 2, `exit code for ${what} (${flag}); output:\n${r.output}`);
      assert.match(r.output, pathRe, `message names the path`);
    });
  }
}

const W = 'writer: { datasource_url: "http://127.0.0.1:8428" }';
const Q = "reader: { queries: { cpu: 'node_load1' } }";

/** [name, config, the exact paths reported, a line that must be there]; every file must fail and pass judge(). */
const MISTAKES: [string, string, string[], RegExp][] = [
  ['typo in a section', `${Q}\nwrtier: { datasource_url: "http://127.0.0.1:8428" }`, ['wrtier', 'writer'], /^wrtier: unknown key: did you mean 'writer'\?$/m],
  ['typo in a key', `${Q}\nwriter: { datasource_ulr: "http://127.0.0.1:8428" }`, ['writer.datasource_ulr', 'writer.datasource_url'], /^writer\.datasource_ulr: unknown key: did you mean 'datasource_url'\?$/m],
  ['typo in a model argument', `${Q}\n${W}\nmodels: { m: { class: zscore_online, z_treshold: 3 } }`, ['models.m.z_treshold'], /did you mean 'z_threshold'/],
  ['typo in a class', `${Q}\n${W}\nmodels: { m: { class: zscore_onlin } }`, ['models.m.class'], /did you mean 'zscore_online'/],
  ['a number in quotes', `${Q}\n${W}\nserver: { max_in_flight: "64" }`, ['server.max_in_flight'], /expected a number, got '64'/],
  ['listen as a bare port', `${Q}\n${W}\nserver: { listen: 8490 }`, ['server.listen'], /expected 'host:port'/],
  ['queries as a list', `reader: { queries: [node_load1] }\n${W}`, ['reader.queries'], /expected a map of alias: series selector/],
  ['rate(...) as a query', `reader: { queries: { cpu: 'rate(node_cpu_seconds_total[5m])' } }\n${W}`, ['reader.queries.cpu.expr'], /transform: rate/],
  ['an aggregation as a query', `reader: { queries: { cpu: 'sum(node_load1) by (job)' } }\n${W}`, ['reader.queries.cpu.expr'], /aggregate or transform upstream/],
  ['the write path in the URL', `${Q}\nwriter: { datasource_url: "http://127.0.0.1:8428/api/v1/write" }`, ['writer.datasource_url'], /give the base URL 'http:\/\/127\.0\.0\.1:8428'/],
  ['a cluster write path in the URL', `${Q}\nwriter: { datasource_url: "http://vminsert:8480/insert/0/prometheus/api/v1/write" }`, ['writer.datasource_url'], /writer\.tenant_id: '0'/],
  ['a missing token file', `${Q}\nwriter: { datasource_url: "http://127.0.0.1:8428", bearer_token_file: /nonexistent/token }`, ['writer.bearer_token_file'], /cannot read '\/nonexistent\/token' \(ENOENT\)/],
  ['a missing CA bundle', `${Q}\nwriter: { datasource_url: "https://127.0.0.1:8428", verify_tls: /nonexistent/ca.crt }`, ['writer.verify_tls'], /cannot read '\/nonexistent\/ca\.crt'/],
  ['a bad tenant', `${Q}\nwriter: { datasource_url: "http://127.0.0.1:8480", tenant_id: "0:x" }`, ['writer.tenant_id'], /expected 'multitenant', 'A' or 'A:B'/],
  ['a duration in words', `${Q}\nwriter: { datasource_url: "http://127.0.0.1:8428", timeout: 5 seconds }`, ['writer.timeout'], /expected a positive duration/],
  ['a dash in an alias', `reader: { queries: { cpu-load: node_load1 } }\n${W}`, ['reader.queries.cpu-load'], /letters, digits and '_' only.*write 'cpu_load'/],
  ['a wrong enum value', `${Q}\n${W}\nmodels: { m: { class: mad_online, detection_direction: up } }`, ['models.m.detection_direction'], /expected one of both, above_expected, below_expected, got 'up'/],
  ['an inverted data_range', `reader: { queries: { cpu: { expr: node_load1, data_range: [10, 0] } } }\n${W}`, ['reader.queries.cpu.data_range'], /low <= high/],
  ["vmanomaly's model: section", `${Q}\n${W}\nmodel: { class: zscore, z_threshold: 3 }`, ['model'], /write it as models: \{ <alias>: \{ class: zscore_online/],
  ["vmanomaly's server.port", `${Q}\n${W}\nserver: { port: 8490 }`, ['server.port'], /write server\.listen: '0\.0\.0\.0:8490'/],
  ["vmanomaly's AutoTuned class: auto", `${Q}\n${W}\nmodels: { t: { class: auto, tuned_class_name: zscore_online, optimization_params: { anomaly_percentage: 0.01 } } }`, ['models.t.class'], /AutoTunedModel/],
  ['an unset environment variable', `${Q}\nwriter: { datasource_url: %{ANOMSTREAM_E2E_UNSET_URL} }`, ['writer.datasource_url'], /environment variable ANOMSTREAM_E2E_UNSET_URL is not set/],
  ['a model on an unknown query', `${Q}\n${W}\nmodels: { m: { class: zscore_online, queries: [cpu, disk] } }`, ['models.m.queries[1]'], /unknown query 'disk'/],
  ['no writer', Q, ['writer'], /^writer: missing: expected writer: \{ datasource_url:/m],
  ['an empty file', '', ['(root)'], /the file is empty/],
  ['broken YAML', `${Q}\nwriter:\n\tdatasource_url: x`, ['<yaml>'], /:3:1: not valid YAML: /],
];

test('plausible mistakes: --check-config exits 2, naming each path and what to write instead', () => {
  assert.ok(MISTAKES.length >= 15);
  const files = MISTAKES.map(([name, text]) => file(`mistake-${name.replace(/\W+/g, '_')}.yaml`, text));
  const results = checkAll([...files, join(dir, 'does-not-exist.yaml')], { ...process.env, ANOMSTREAM_E2E_UNSET_URL: undefined });
  MISTAKES.forEach(([name, , paths, re], i) => {
    const o = results.get(files[i])!;
    assert.equal(o.valid, false, name);
    judge(name, o);
    const got = o.lines.map((l) => (/:\d+:\d+: not valid YAML/.test(l) ? '<yaml>' : l.split(': ')[0]));
    assert.deepEqual([...new Set(got)].sort(), [...paths].sort(), `${name}:\n${o.lines.join('\n')}`);
    assert.match(o.lines.join('\n'), re, name);
  });
  const missing = results.get(join(dir, 'does-not-exist.yaml'))!;
  judge('a missing file', missing);
  assert.match(missing.lines[0], /does-not-exist\.yaml: cannot read \(ENOENT\): expected a readable YAML configuration file/);
});

test("vmanomaly's forms load: two-sided settings, 'inf', class paths, per-query tz, URL credentials (never printed)", async () => {
  const f = file(
    'vmanomaly-forms.yaml',
    `reader:
  data_range: [0, 'inf']
  queries:
    cpu: { expr: 'node_load1', min_dev_from_expected: [0.01, 0.02], min_rel_dev_from_expected: [0, 15], tz: 'America/New_York' }
models:
  z: { class: model.online.OnlineZscoreModel, scale: [1.2, 0.75], queries: [cpu] }
writer: { datasource_url: "http://svc:s3cr3t-pw@127.0.0.1:8428/", connection_retry_attempts: 2 }
`,
  );
  const r = await runCli(['--check-config', f]);
  assert.equal(r.code, 0, r.output);
  const bad = await runCli(['--check-config', file('creds-bad.yaml', `${Q}\nwriter: { datasource_url: "http://svc:s3cr3t-pw@127.0.0.1:8428/api/v1/write", bearer_token: x }\n`)]);
  assert.equal(bad.code, 2);
  assert.ok(!bad.output.includes('s3cr3t-pw'), bad.output);
});
