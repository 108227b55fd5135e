/**
 * Issue 5 acceptance: tenant paths (writer.tenant_id as 'A', 'A:B', a number, 'multitenant';
 * the receiver's /insert/<tenant>/ path taking precedence) recorded by a real HTTP server, and
 * the four multitenancy cases of the vmanomaly writer reference, each asserting the path
 * written to and the warning text.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeWriteRequest } from './harness.js';
import { InProcess, RecordingServer, body, scoredSeries } from './writer-support.js';

async function run(writer: string, fn: (srv: RecordingServer, app: InProcess) => Promise<void>): Promise<void> {
  const srv = await RecordingServer.start();
  let app: InProcess | undefined;
  try {
    app = await InProcess.start(`  datasource_url: "${srv.url}"\n${writer}`, undefined, 'tenant_paths: true');
    await fn(srv, app);
  } finally {
    await app?.close();
    await srv.close();
  }
}

const plain = () => scoredSeries({ __name__: 'test_cpu', job: 'node', instance: 'a' });
const tenanted = () => scoredSeries({ __name__: 'test_cpu', job: 'node', instance: 'a', vm_account_id: '1', vm_project_id: '2' });

/** Labels of every generated series posted (remote_write bodies). */
function generatedLabels(srv: RecordingServer): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const p of srv.posts()) {
    for (const ts of decodeWriteRequest(p.body).timeseries ?? []) {
      const l = Object.fromEntries((ts.labels ?? []).map((x) => [x.name, x.value]));
      if (l.source_metric) out.push(l);
    }
  }
  return out;
}

const WARNING_3 =
  'The label `vm_account_id` was not found in the label set of test_cpu{instance="a",job="node"}, ' +
  "but tenant_id='multitenant' is set in writer. The data will be written to the default tenant 0:0. " +
  'Ensure that the query retains the necessary multi-tenant labels, ' +
  'or adjust the aggregation settings to preserve `vm_account_id` key in the label set.';

const WARNING_4 =
  'The label set for the metric test_cpu{instance="a",job="node",vm_account_id="1",vm_project_id="2"} contains multi-tenancy labels, ' +
  "but the write endpoint is configured for single-tenant mode (tenant_id != 'multitenant'). " +
  'Either adjust the query in the reader to avoid multi-tenancy labels ' +
  'or ensure that reserved key `vm_account_id` is not explicitly set for single-tenant environments.';

for (const [yaml, want] of [
  ['  tenant_id: "5"', '/insert/5/prometheus/api/v1/write'],
  ['  tenant_id: 7', '/insert/7/prometheus/api/v1/write'],
  ['  tenant_id: 0:1', '/insert/0:1/prometheus/api/v1/write'],
  ['  tenant_id: multitenant', '/insert/multitenant/prometheus/api/v1/write'],
  ['', '/api/v1/write'],
] as const) {
  test(`writer.${yaml.trim() || '(no tenant_id)'}: raw and generated data go to ${want}`, async () => {
    await run(yaml, async (srv, app) => {
      const r = await app.write(body(yaml.includes('multitenant') ? tenanted() : plain()));
      assert.equal(r.status, 204, r.body.toString());
      assert.deepEqual(
        srv.posts().map((p) => p.path),
        [want, want],
      );
      assert.equal(generatedLabels(srv).length, 4);
    });
  });
}

test('a tenant in the receiver path (/insert/3:4/...) takes precedence over writer.tenant_id', async () => {
  await run('  tenant_id: "0:0"', async (srv, app) => {
    const r = await app.write(body(plain()), '/insert/3:4/prometheus/api/v1/write');
    assert.equal(r.status, 204, r.body.toString());
    assert.deepEqual(
      srv.posts().map((p) => p.path),
      ['/insert/3:4/prometheus/api/v1/write', '/insert/3:4/prometheus/api/v1/write'],
    );
  });
});

test('case 1: tenant_id 0:0, no vm_account_id: written to /insert/0:0, no warning', async () => {
  await run('  tenant_id: "0:0"', async (srv, app) => {
    assert.equal((await app.write(body(plain()))).status, 204);
    assert.deepEqual(
      srv.posts().map((p) => p.path),
      ['/insert/0:0/prometheus/api/v1/write', '/insert/0:0/prometheus/api/v1/write'],
    );
    assert.deepEqual(app.warnings(), []);
    assert.equal(await app.metric(/^anomstream_multitenancy_warnings_total\{case="3"\}/), 0);
    assert.equal(await app.metric(/^anomstream_multitenancy_warnings_total\{case="4"\}/), 0);
  });
});

test('case 2: tenant_id multitenant with vm_account_id: written to /insert/multitenant with the labels kept, no warning', async () => {
  await run('  tenant_id: multitenant', async (srv, app) => {
    assert.equal((await app.write(body(tenanted()))).status, 204);
    assert.deepEqual(
      srv.posts().map((p) => p.path),
      ['/insert/multitenant/prometheus/api/v1/write', '/insert/multitenant/prometheus/api/v1/write'],
    );
    for (const l of generatedLabels(srv)) {
      assert.equal(l.vm_account_id, '1');
      assert.equal(l.vm_project_id, '2');
    }
    assert.deepEqual(app.warnings(), []);
  });
  // The same via the receiver: data sent to anomstream's /insert/multitenant/ path carries the labels.
  await run('', async (srv, app) => {
    assert.equal((await app.write(body(tenanted()), '/insert/multitenant/prometheus/api/v1/write')).status, 204);
    assert.deepEqual(
      srv.posts().map((p) => p.path),
      ['/insert/multitenant/prometheus/api/v1/write', '/insert/multitenant/prometheus/api/v1/write'],
    );
    assert.deepEqual(app.warnings(), []);
  });
});

test('case 3: tenant_id multitenant without vm_account_id: still written to /insert/multitenant (tenant 0:0), warning 3 once, counted per series', async () => {
  await run('  tenant_id: multitenant', async (srv, app) => {
    const many = Array.from({ length: 50 }, (_, i) => scoredSeries({ __name__: 'test_cpu', job: 'node', instance: i === 0 ? 'a' : `x${i}` }));
    assert.equal((await app.write(body(...many))).status, 204);
    assert.deepEqual(
      srv.posts().map((p) => p.path),
      ['/insert/multitenant/prometheus/api/v1/write', '/insert/multitenant/prometheus/api/v1/write'],
    );
    assert.deepEqual(app.warnings(), [WARNING_3], 'one line for 50 series (rate-limited)');
    assert.equal(await app.metric(/^anomstream_multitenancy_warnings_total\{case="3"\}/), 50);
  });
});

test('case 4: tenant_id 0:0 with vm_account_id: written to /insert/0:0 with the labels kept, warning 4', async () => {
  await run('  tenant_id: "0:0"', async (srv, app) => {
    assert.equal((await app.write(body(tenanted()))).status, 204);
    assert.deepEqual(
      srv.posts().map((p) => p.path),
      ['/insert/0:0/prometheus/api/v1/write', '/insert/0:0/prometheus/api/v1/write'],
    );
    const gen = generatedLabels(srv);
    assert.equal(gen.length, 4);
    for (const l of gen) assert.equal(l.vm_account_id, '1');
    assert.deepEqual(app.warnings(), [WARNING_4]);
    assert.equal(await app.metric(/^anomstream_multitenancy_warnings_total\{case="4"\}/), 1);
  });
});
