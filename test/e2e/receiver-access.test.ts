/**
 * Issue 17 acceptance, access: authentication and TLS on the listener, tenant paths.
 *  - no or wrong credentials -> a write 503 (Prometheus drops a batch answered 401), the rest 401,
 *    both with WWW-Authenticate; nothing reaches the datasource; /health
 *    stays open; /metrics, /ready and the status page need the credentials unless
 *    server.metrics_auth is false; POST /-/reload always does;
 *    a rotated server.auth.bearer_token_file applies without a restart;
 *  - a real vmagent with -remoteWrite.basicAuth.* and -remoteWrite.tlsCAFile delivers every sample
 *    through anomstream's HTTPS listener (certificate made by openssl) to a real VictoriaMetrics;
 *  - with writer.tenant_id: 5 and default settings, POST /insert/7/... writes nothing (503 with a
 *    reason); with server.tenant_paths and allowed_tenants only the allowed tenant is written.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  Anomstream,
  CaptureServer,
  REMOTE_WRITE_HEADERS,
  VMAGENT_BIN,
  VM_BIN,
  VictoriaMetrics,
  VmAgent,
  buildWriteRequest,
  configYaml,
  distinctSamples,
  dumpProcesses,
  request,
  requireBinaries,
  tempDir,
  waitFor,
  type InputSeries,
} from './harness.js';
import { withCaptureServer } from './stack.js';
import { makeCerts } from './writer-support.js';

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function probe(name: string, n = 5): InputSeries {
  const end = Math.floor(Date.now() / 1000) * 1000 - 60_000;
  const timestamps = Array.from({ length: n }, (_, i) => end - (n - 1 - i) * 1000);
  return { labels: { __name__: name, job: 'access' }, timestamps, values: timestamps.map((_, i) => i + 0.5) };
}

test('server.auth (basic): no or wrong credentials get 503 on a write, 401 elsewhere, and nothing is forwarded; /health open; /metrics and /ready need them', { timeout: 60_000 }, async (t) => {
  const server = 'auth: { user: sender, password: "s3cret pass" }';
  await withCaptureServer(
    t,
    204,
    (port, datasourceUrl) => configYaml({ port, datasourceUrl, server }),
    async (sink, anom) => {
      const body = buildWriteRequest([probe('access_basic')]);
      for (const [what, headers] of [
        ['no credentials', {}],
        ['a wrong password', { Authorization: basic('sender', 's3cret') }],
        ['a wrong user', { Authorization: basic('other', 's3cret pass') }],
        ['a bearer token instead', { Authorization: 'Bearer s3cret pass' }],
      ] as const) {
        const r = await anom.write(body, headers);
        assert.equal(r.status, 503, `${what}: ${r.status} ${r.body.toString()}`);
        assert.equal(r.headers['www-authenticate'], 'Basic realm="anomstream", charset="UTF-8"', what);
      }
      assert.equal(sink.requests.filter((q) => q.method === 'POST').length, 0, 'nothing reached the datasource');
      const ok = await anom.write(body, { Authorization: basic('sender', 's3cret pass') });
      assert.equal(ok.status, 204, ok.body.toString());
      assert.equal(sink.requests.filter((q) => q.method === 'POST' && Buffer.from(body).equals(q.body)).length, 1, 'the authorised write was forwarded');
      assert.equal((await request(`${anom.url}/health`)).status, 200, '/health is open');
      for (const path of ['/metrics', '/ready', '/']) {
        assert.equal((await request(`${anom.url}${path}`)).status, 401, `${path} without credentials`);
        assert.equal((await request(`${anom.url}${path}`, { headers: { Authorization: basic('sender', 's3cret pass') } })).status, 200, `${path} with them`);
      }
      const reload = await request(`${anom.url}/-/reload`, { method: 'POST' });
      assert.equal(reload.status, 401, `POST /-/reload without credentials: ${reload.status} ${reload.body.toString()}`);
      const authorised = await request(`${anom.url}/-/reload`, { method: 'POST', headers: { Authorization: basic('sender', 's3cret pass') } });
      assert.equal(authorised.status, 200, `POST /-/reload with them: ${authorised.body.toString()}`);
    },
  );
  await withCaptureServer(
    t,
    204,
    (port, datasourceUrl) => configYaml({ port, datasourceUrl, server: `${server}, metrics_auth: false` }),
    async (_sink, anom) => {
      assert.equal((await request(`${anom.url}/metrics`)).status, 200, 'server.metrics_auth: false opens /metrics');
      assert.equal((await request(`${anom.url}/ready`)).status, 200, '... and /ready');
      assert.equal((await request(`${anom.url}/-/reload`, { method: 'POST' })).status, 401, 'POST /-/reload still needs them (it changes what runs)');
      assert.equal((await anom.write(buildWriteRequest([probe('access_open')]))).status, 503, 'writes still need credentials');
    },
  );
});

test('server.auth.bearer_token_file: the token is checked in constant time and re-read when the file changes', { timeout: 60_000 }, async (t) => {
  const dir = tempDir('bearer');
  const file = join(dir, 'token');
  writeFileSync(file, 'first-token\n');
  await withCaptureServer(
    t,
    204,
    (port, datasourceUrl) => configYaml({ port, datasourceUrl, server: `auth: { bearer_token_file: "${file}" }, metrics_auth: false` }),
    async (_sink, anom) => {
      const body = buildWriteRequest([probe('access_bearer')]);
      assert.equal((await anom.write(body, { Authorization: 'Bearer first-token' })).status, 204);
      const wrong = await anom.write(body, { Authorization: 'Bearer second-token' });
      assert.equal(wrong.status, 503);
      assert.equal(wrong.headers['www-authenticate'], 'Bearer realm="anomstream"');
      writeFileSync(file, 'second-token\n');
      await waitFor('the rotated token to apply', async () => ((await anom.write(body, { Authorization: 'Bearer second-token' })).status === 204 ? true : undefined), 10_000, 250);
      assert.equal((await anom.write(body, { Authorization: 'Bearer first-token' })).status, 503, 'the old token no longer works');
    },
  );
});

test('a real vmagent with -remoteWrite.basicAuth.* and -remoteWrite.tlsCAFile delivers every sample through the HTTPS listener', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN, VMAGENT_BIN)) return;
  const certs = makeCerts(tempDir('listener-tls'));
  const ca = readFileSync(certs.caCert);
  let vm: VictoriaMetrics | undefined;
  let anom: Anomstream | undefined;
  let agent: VmAgent | undefined;
  try {
    vm = await VictoriaMetrics.start();
    const vmUrl = vm.url;
    const server = `auth: { user: vmagent, password: "pa:ss" }, tls_cert_file: "${certs.serverCert}", tls_key_file: "${certs.serverKey}"`;
    anom = await Anomstream.start((port) => configYaml({ port, datasourceUrl: vmUrl, server, queries: { q: '{job="access"}' } }), { ca, headers: { Authorization: basic('vmagent', 'pa:ss') } });
    // Plain HTTP to the TLS listener is not served, and HTTPS without credentials is refused.
    await assert.rejects(request(`http://127.0.0.1:${anom.port}/health`, { timeoutMs: 3000 }));
    const unauth = await request(`${anom.url}/api/v1/write`, { method: 'POST', body: buildWriteRequest([probe('access_tls_unauth')]), headers: REMOTE_WRITE_HEADERS, ca });
    assert.equal(unauth.status, 503);
    agent = await VmAgent.start(`${anom.url}/api/v1/write`, ['-remoteWrite.basicAuth.username=vmagent', '-remoteWrite.basicAuth.password=pa:ss', `-remoteWrite.tlsCAFile=${certs.caCert}`]);
    const series = [probe('access_tls_a', 30), probe('access_tls_b', 30)];
    await agent.importJsonLines(series);
    for (const s of series) {
      const got = await waitFor(`${s.labels.__name__} in VictoriaMetrics`, async () => {
        const e = await vm!.exportSeries(s.labels.__name__);
        return e.length === 1 && distinctSamples(e[0]).size === s.timestamps.length ? e[0] : undefined;
      });
      assert.deepEqual(distinctSamples(got), new Map(s.timestamps.map((ts, i) => [ts, s.values[i]])));
    }
    assert.equal((await vm.exportSeries('access_tls_unauth')).length, 0, 'the unauthenticated write reached nothing');
  } catch (e) {
    dumpProcesses(t, [vm?.proc, anom?.proc, agent?.proc]);
    throw e;
  } finally {
    await agent?.close();
    await anom?.close();
    await vm?.close();
  }
});

test('writer.tenant_id: 5, default settings: POST /insert/7/... gets 503 with a reason (the sender keeps the data) and nothing is written; tenant_paths + allowed_tenants', { timeout: 60_000 }, async (t) => {
  const sinkPaths = (sink: CaptureServer): string[] => sink.requests.filter((q) => q.method === 'POST').map((q) => q.path);
  await withCaptureServer(
    t,
    204,
    (port, datasourceUrl) => configYaml({ port, datasourceUrl }).replace('writer: {', 'writer: { tenant_id: 5,'),
    async (sink, anom) => {
      const r = await anom.write(buildWriteRequest([probe('tenant_seven')]), {}, '/insert/7/prometheus/api/v1/write');
      assert.equal(r.status, 503, r.body.toString());
      assert.match(r.body.toString(), /server\.tenant_paths/);
      assert.deepEqual(sinkPaths(sink), [], 'nothing was written to any tenant');
      assert.equal((await anom.write(buildWriteRequest([probe('tenant_default')]))).status, 204);
      assert.deepEqual(sinkPaths(sink), ['/insert/5/prometheus/api/v1/write'], '/api/v1/write goes to writer.tenant_id');
    },
  );
  await withCaptureServer(
    t,
    204,
    (port, datasourceUrl) => configYaml({ port, datasourceUrl, server: 'tenant_paths: true, allowed_tenants: ["7", "0:1"]' }),
    async (sink, anom) => {
      const denied = await anom.write(buildWriteRequest([probe('tenant_eight')]), {}, '/insert/8/prometheus/api/v1/write');
      assert.equal(denied.status, 503);
      assert.match(denied.body.toString(), /server\.allowed_tenants/);
      assert.equal((await anom.write(buildWriteRequest([probe('tenant_seven')]), {}, '/insert/7/prometheus/api/v1/write')).status, 204);
      assert.deepEqual(sinkPaths(sink), ['/insert/7/prometheus/api/v1/write'], 'only the allowed tenant was written');
    },
  );
});
