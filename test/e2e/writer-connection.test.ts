/**
 * Issue 5 acceptance, connection settings of the writer against real local servers:
 * mTLS (a server that requires a client certificate made with openssl), verify_tls
 * false/true/CA bundle, basic and bearer auth (with a rotated token file), health_path
 * resolution and /ready, and the full writer block of the reference table.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { TOKEN_FILE_CHECK_MS } from '../../src/config/files.js';
import { request, sleep, tempDir } from './harness.js';
import { InProcess, RecordingServer, body, makeCerts, scoredSeries, type Certs } from './writer-support.js';

let dir = '';
let certs: Certs;
before(() => {
  dir = tempDir('writer-tls');
  certs = makeCerts(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const series = () => scoredSeries({ __name__: 'test_cpu', job: 'node', instance: 'a' });

async function withServerAndApp(serverOpts: Parameters<typeof RecordingServer.start>[0], writer: (url: string) => string, fn: (srv: RecordingServer, app: InProcess) => Promise<void>): Promise<void> {
  const srv = await RecordingServer.start(serverOpts);
  let app: InProcess | undefined;
  try {
    app = await InProcess.start(writer(srv.url));
    await fn(srv, app);
  } finally {
    await app?.close();
    await srv.close();
  }
}

const mtlsServer = () => ({ tls: { cert: readFileSync(certs.serverCert), key: readFileSync(certs.serverKey), ca: readFileSync(certs.caCert) } });

test('mTLS: CA bundle + client certificate are accepted by a server that requires a client certificate', async () => {
  await withServerAndApp(
    mtlsServer(),
    (url) => `  datasource_url: "${url}"\n  verify_tls: "${certs.caCert}"\n  tls_cert_file: "${certs.clientCert}"\n  tls_key_file: "${certs.clientKey}"`,
    async (srv, app) => {
      const r = await app.write(body(series()));
      assert.equal(r.status, 204, r.body.toString());
      const posts = srv.posts();
      assert.equal(posts.length, 2, 'raw and generated requests');
      for (const p of posts) assert.equal(p.clientCN, 'anomstream-client');
      const health = srv.requests.find((q) => q.method === 'GET');
      assert.equal(health?.path, '/health');
      assert.equal(health?.clientCN, 'anomstream-client', 'the health check uses the client certificate too');
      const ready = await request(`${app.url}/ready`);
      assert.match(ready.body.toString(), /: up/);
    },
  );
});

test('mTLS: without a client certificate the server refuses the handshake and the sender gets 503', async () => {
  await withServerAndApp(
    mtlsServer(),
    (url) => `  datasource_url: "${url}"\n  verify_tls: "${certs.caCert}"`,
    async (srv, app) => {
      const r = await app.write(body(series()));
      assert.equal(r.status, 503, r.body.toString());
      assert.equal(srv.posts().length, 0);
      assert.ok(srv.tlsErrors > 0 || /ECONNRESET|socket|certificate|alert/i.test(r.body.toString()), r.body.toString());
    },
  );
});

const selfSigned = () => ({ tls: { cert: readFileSync(certs.serverCert), key: readFileSync(certs.serverKey) } });

test('verify_tls: true (system CAs) rejects a certificate of an unknown CA', async () => {
  await withServerAndApp(
    selfSigned(),
    (url) => `  datasource_url: "${url}"\n  verify_tls: true`,
    async (srv, app) => {
      const r = await app.write(body(series()));
      assert.equal(r.status, 503);
      assert.match(r.body.toString(), /certificate|UNABLE_TO_VERIFY|self.signed/i);
      assert.equal(srv.posts().length, 0);
    },
  );
});

test('verify_tls: false accepts it; verify_tls: <CA path> accepts it', async () => {
  for (const v of ['false', `"${certs.caCert}"`]) {
    await withServerAndApp(
      selfSigned(),
      (url) => `  datasource_url: "${url}"\n  verify_tls: ${v}`,
      async (srv, app) => {
        const r = await app.write(body(series()));
        assert.equal(r.status, 204, `verify_tls: ${v}: ${r.body.toString()}`);
        assert.equal(srv.posts().length, 2);
      },
    );
  }
});

test('basic auth: user/password on raw, generated and health requests; a 401 is answered 503 (the sender keeps the data and retries)', async () => {
  const expected = `Basic ${Buffer.from('USERNAME:PASSWORD').toString('base64')}`;
  const opts = { authorized: (h: Record<string, unknown>) => h.authorization === expected };
  await withServerAndApp(
    opts,
    (url) => `  datasource_url: "${url}"\n  user: USERNAME\n  password: PASSWORD`,
    async (srv, app) => {
      const r = await app.write(body(series()));
      assert.equal(r.status, 204, r.body.toString());
      assert.equal(srv.requests.length, 3);
      for (const q of srv.requests) assert.equal(q.headers.authorization, expected, `${q.method} ${q.path}`);
    },
  );
  await withServerAndApp(
    opts,
    (url) => `  datasource_url: "${url}"\n  user: USERNAME\n  password: wrong`,
    async (_srv, app) => {
      const r = await app.write(body(series()));
      assert.equal(r.status, 503);
      assert.match(r.body.toString(), /401/);
    },
  );
});

test('bearer_token: Authorization: Bearer <token>', async () => {
  await withServerAndApp(
    { authorized: (h) => h.authorization === 'Bearer token' },
    (url) => `  datasource_url: "${url}"\n  bearer_token: token`,
    async (srv, app) => {
      const r = await app.write(body(series()));
      assert.equal(r.status, 204, r.body.toString());
      for (const q of srv.requests) assert.equal(q.headers.authorization, 'Bearer token');
    },
  );
});

test('bearer_token_file: read at start, re-read after rotation without a restart', async () => {
  const file = join(dir, 'token');
  writeFileSync(file, 'first-token\n');
  let valid = 'Bearer first-token';
  await withServerAndApp(
    { authorized: (h) => h.authorization === valid },
    (url) => `  datasource_url: "${url}"\n  bearer_token_file: "${file}"`,
    async (srv, app) => {
      const s = series();
      const r1 = await app.write(body(s));
      assert.equal(r1.status, 204, r1.body.toString());
      writeFileSync(file, 'second-token-rotated\n');
      valid = 'Bearer second-token-rotated';
      await sleep(TOKEN_FILE_CHECK_MS + 200);
      const later = { ...s, timestamps: s.timestamps.map((t) => t + 400_000) };
      const r2 = await app.write(body(later));
      assert.equal(r2.status, 204, r2.body.toString());
      const auths = srv.posts().map((p) => p.headers.authorization);
      assert.deepEqual(auths, ['Bearer first-token', 'Bearer first-token', 'Bearer second-token-rotated', 'Bearer second-token-rotated']);
    },
  );
});

test('health_path: absolute path, relative path (under datasource_url), full URL; /ready reports it', async () => {
  const other = await RecordingServer.start();
  try {
    const cases: [string, string, (srv: RecordingServer) => string | undefined][] = [
      ['/health', '/prefix', (srv) => srv.requests[0]?.path],
      ['ready', '/prefix', (srv) => srv.requests[0]?.path],
      [`${other.url}/elsewhere`, '/prefix', () => other.requests[0]?.path],
    ];
    const want = ['/health', '/prefix/ready', '/elsewhere'];
    for (let i = 0; i < cases.length; i++) {
      const [hp, prefix, seen] = cases[i];
      await withServerAndApp(
        {},
        (url) => `  datasource_url: "${url}${prefix}"\n  health_path: "${hp}"`,
        async (srv, app) => {
          assert.equal(seen(srv), want[i], `health_path ${hp}`);
          assert.match((await request(`${app.url}/ready`)).body.toString(), /: up/);
        },
      );
    }
  } finally {
    await other.close();
  }
  // Nothing listening: /ready still answers 200 (the receiver buffers nothing; senders retry) and says so.
  const dead = await RecordingServer.start();
  const url = dead.url;
  await dead.close();
  const app = await InProcess.start(`  datasource_url: "${url}"`);
  try {
    const ready = await request(`${app.url}/ready`);
    assert.match(ready.body.toString(), /unreachable/);
    assert.ok(app.warnings().some((m) => /datasource health: unreachable/.test(m)));
  } finally {
    await app.close();
  }
});

test('the reference table writer block (every parameter, example values, basic auth) loads unchanged and means the same', async () => {
  const expected = `Basic ${Buffer.from('USERNAME:PASSWORD').toString('base64')}`;
  await withServerAndApp(
    { ...selfSigned(), authorized: (h) => h.authorization === expected },
    (url) =>
      [
        '  class: "writer.vm.VmWriter"',
        `  datasource_url: "${url}/"`,
        '  tenant_id: "0:0"',
        '  metric_format:',
        '    __name__: "vmanomaly_$VAR"',
        '    for: "$QUERY_KEY"',
        '    run: "test_metric_format"',
        '    config: "io_vm_single.yaml"',
        '  import_json_path: "/api/v1/import"',
        '  health_path: "/health"',
        '  user: "USERNAME"',
        '  password: "PASSWORD"',
        '  timeout: "5s"',
        '  verify_tls: false',
      ].join('\n'),
    async (srv, app) => {
      const r = await app.write(body(series()));
      assert.equal(r.status, 204, r.body.toString());
      const health = srv.requests.find((q) => q.method === 'GET');
      assert.equal(health?.path, '/health');
      const posts = srv.posts();
      assert.deepEqual(posts.map((p) => p.path).sort(), ['/insert/0:0/prometheus/api/v1/import', '/insert/0:0/prometheus/api/v1/write']);
      for (const q of srv.requests) assert.equal(q.headers.authorization, expected);
      const imp = posts.find((p) => p.path.endsWith('/import'));
      assert.ok(imp);
      const lines = imp.body
        .toString()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { metric: Record<string, string>; values: number[]; timestamps: number[] });
      assert.deepEqual(lines.map((l) => l.metric.__name__).sort(), ['vmanomaly_anomaly_score', 'vmanomaly_yhat', 'vmanomaly_yhat_lower', 'vmanomaly_yhat_upper']);
      for (const l of lines) {
        assert.equal(l.metric.for, 'cpu');
        assert.equal(l.metric.run, 'test_metric_format');
        assert.equal(l.metric.config, 'io_vm_single.yaml');
        assert.equal(l.metric.job, 'node', 'input labels are kept');
        assert.equal(l.metric.instance, 'a');
        assert.equal(l.values.length, l.timestamps.length);
        assert.equal(l.values.length, 40 - 16);
      }
    },
  );
  // Parsed: the values mean what the table says.
  const cfg = parseConfig(
    parseYaml(
      'reader: { queries: { cpu: "x" } }\nwriter: { class: writer.vm.VmWriter, datasource_url: "http://localhost:8481/", tenant_id: 0:0, timeout: 5s, verify_tls: false, user: USERNAME, password: PASSWORD, import_json_path: /api/v1/import, health_path: /health, metric_format: { __name__: "vmanomaly_$VAR", for: "$QUERY_KEY", run: "test_metric_format", config: "io_vm_single.yaml" } }',
    ),
  );
  assert.equal(cfg.writer.tenant_id, '0:0');
  assert.equal(cfg.writer.timeout, 5000);
  assert.equal(cfg.writer.verify_tls, false);
  assert.equal(cfg.writer.class, 'writer.vm.VmWriter');
});
