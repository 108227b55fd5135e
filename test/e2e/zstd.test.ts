/**
 * Issue 18 item 5: VictoriaMetrics' remote write protocol (zstd, as vmagent 1.116+ sends it) on
 * every write path. Bodies are compressed by the `zstd` command-line tool (Debian package zstd),
 * at vmagent's settings (level 3, no checksum, content size in the header).
 *
 * - Into the Debian VictoriaMetrics (1.79.5, which reads every body as snappy and answers 400 to
 *   zstd): accepted (204), scored (generated series arrive), every raw sample stored (through the
 *   re-encoding to snappy); a corrupt body and zstd bombs get 400 with a reason, gzip 415, and
 *   nothing of them reaches VictoriaMetrics.
 * - Into a datasource that reads zstd (a node:http server here, decoding with the zstd CLI): the
 *   bytes it receives are the sender's, with VictoriaMetrics' headers; generated series stay snappy;
 *   a body whose header contradicts it is read and forwarded by what it is.
 * - vminsert's handshake `?get_vm_proto_version=1` (vmagent 1.88-1.115) is answered 200 "1".
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Anomstream, HttpResult, VM_BIN, buildWriteRequest, configYaml, decodeWriteRequest, dumpProcesses, encodeWriteRequest, request, requireBinaries, snappyCompress, tempDir, waitFor } from './harness.js';
import { MODELS_YAML, QUERY_ALIAS, SELECTOR, WARMUP, assertRawDelivered, assertScored, makeDataset, sendDataset } from './scenario.js';
import { withVictoriaMetrics } from './stack.js';
import { parseMetrics, sumOf } from './metrics-text.js';

const ZSTD_BIN = process.env.ZSTD_BIN ?? '/usr/bin/zstd';

/** The headers vmagent 1.116+ sends a zstd block with (app/vmagent/remotewrite/client.go). */
const VMAGENT_ZSTD_HEADERS = {
  'Content-Type': 'application/x-protobuf',
  'Content-Encoding': 'zstd',
  'X-VictoriaMetrics-Remote-Write-Version': '1',
  'User-Agent': 'vmagent',
};

/** `zstd ARGS` over `input` (stdin), its output. */
function zstdCli(args: string[], input?: Uint8Array): Buffer {
  const r = spawnSync(ZSTD_BIN, ['-q', '-c', ...args], { input, maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, `zstd ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** As vmagent compresses on linux/amd64: level 3, no checksum, Frame_Content_Size written. */
function asVmagent(raw: Uint8Array): Buffer {
  return zstdCli(['-3', '--no-check', `--stream-size=${raw.length}`], raw);
}

function postZstd(anom: Anomstream, body: Uint8Array, path = '/api/v1/write', headers: Record<string, string> = VMAGENT_ZSTD_HEADERS): Promise<HttpResult> {
  return request(`${anom.url}${path}`, { method: 'POST', body, headers });
}

function assertOneLine400(r: HttpResult, what: string, reason: RegExp): void {
  const text = r.body.toString('utf8').trim();
  assert.equal(r.status, 400, `${what}: ${r.status} ${text}`);
  assert.ok(text.length > 0 && !text.includes('\n'), `${what}: one-line reason, got ${JSON.stringify(text)}`);
  assert.match(text, reason, what);
}

async function metric(anom: Anomstream, line: string): Promise<number> {
  const text = (await request(`${anom.url}/metrics`)).body.toString();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? NaN : Number(found.slice(line.length + 1));
}

test('zstd from the zstd CLI into VictoriaMetrics 1.79.5: accepted, scored, every raw sample stored; corrupt and bombs 400, gzip 415', { timeout: 180_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN, ZSTD_BIN)) return;
  const config = (port: number, datasourceUrl: string): string => configYaml({ port, datasourceUrl, queries: { [QUERY_ALIAS]: SELECTOR }, models: MODELS_YAML });
  await withVictoriaMetrics(t, config, async (vm, anom) => {
    const ds = makeDataset();
    const requests = await sendDataset(
      ds,
      10,
      (raw, path) => postZstd(anom, asVmagent(raw), path),
      () => anom.proc.tail(),
    );
    await assertRawDelivered(vm, ds);
    await assertScored(vm, ds);
    assert.equal(await metric(anom, 'anomstream_write_requests_by_encoding_total{encoding="zstd"}'), requests);
    assert.equal(await metric(anom, 'anomstream_downstream_zstd'), 0, 'VictoriaMetrics 1.79.5 does not read zstd: learnt');
    // The first body was sent as it came and refused; each was then re-encoded, none answered 400.
    assert.equal(await metric(anom, 'anomstream_forward_reencoded_total{from="zstd"}'), requests);
    const answers = parseMetrics((await request(`${anom.url}/metrics`)).body.toString());
    assert.equal(sumOf(answers, 'anomstream_http_requests_total', 'code="204"'), requests, 'every request answered 204');
    assert.equal(sumOf(answers, 'anomstream_http_requests_total', 'code="400"'), 0, 'no 400 reached the sender');
    assert.match(anom.proc.output(), /refused a zstd body and accepted it re-encoded as snappy/);
    const rowsBefore = await vm.rowsInserted();

    const good = asVmagent(encodeWriteRequest(ds.all, 0, 5));
    const flipped = Buffer.from(good);
    for (let i = 40; i < flipped.length; i += 97) flipped[i] ^= 0x5a;
    // Without a checksum (vmagent sends none) a flip inside a literal decodes to other bytes: the
    // WriteRequest reader is the next check.
    assertOneLine400(await postZstd(anom, flipped), 'zstd body with flipped bytes', /^(zstd|protobuf): /);
    const reserved = Buffer.from(good);
    reserved[4] |= 0x08;
    assertOneLine400(await postZstd(anom, reserved), 'zstd frame header with its reserved bit set', /^zstd: /);
    assertOneLine400(await postZstd(anom, good.subarray(0, good.length - 20)), 'truncated zstd body', /^zstd: /);
    // zstd's magic and then nothing that decodes, sent as snappy: read by what it is.
    assertOneLine400(await postZstd(anom, Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3, 4, 5, 6]), '/api/v1/write', { 'Content-Encoding': 'snappy' }), 'zstd magic with a snappy header', /^zstd: /);

    // Bombs: 1 GiB of zeros (~33 KB compressed), with the size in the header and through a pipe (without).
    const dir = tempDir('zstd-bomb');
    try {
      const zeros = join(dir, 'zeros');
      writeFileSync(zeros, '');
      truncateSync(zeros, 1 << 30);
      const bomb = zstdCli(['-1', zeros]);
      assert.ok(bomb.length < 64 * 1024, `bomb of ${bomb.length} bytes`);
      assertOneLine400(await postZstd(anom, bomb), 'zstd bomb (content size 1 GiB)', /1073741824 exceeds the limit 33554432/);
      const piped = spawnSync('sh', ['-c', `${ZSTD_BIN} -q -c -1 < '${zeros}' | cat`], { maxBuffer: 1 << 20 }).stdout;
      assert.equal(piped[4] >> 6, 0, 'no Frame_Content_Size through a pipe');
      assertOneLine400(await postZstd(anom, piped), 'zstd bomb without content size', /exceeds the limit 33554432/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    const gzip = await postZstd(anom, gzipSync(good), '/api/v1/write', { ...VMAGENT_ZSTD_HEADERS, 'Content-Encoding': 'gzip' });
    assert.equal(gzip.status, 415, `gzip: ${gzip.status} ${gzip.body.toString()}`);
    assert.match(gzip.body.toString(), /the body is gzip \(Content-Encoding 'gzip'\)/);
    assert.ok(anom.proc.running, anom.proc.tail());
    assert.equal(await vm.rowsInserted(), rowsBefore, 'nothing of the bad requests reached VictoriaMetrics');
  });
});

/** What the zstd-reading datasource got. */
interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The decoded WriteRequest (zstd by the CLI, snappy by snappyjs). */
  series: { labels?: { name: string; value: string }[]; samples?: unknown[] }[];
}

/** A remote-write receiver that reads snappy and zstd (decoding zstd with the CLI: an independent decoder). */
async function zstdDatasource(): Promise<{ url: string; got: Received[]; close(): Promise<void> }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.method !== 'POST') return void res.writeHead(200).end('OK');
      try {
        const zstd = req.headers['content-encoding'] === 'zstd';
        const snappy = zstd ? snappyCompress(zstdCli(['-d'], body)) : body;
        got.push({ path: req.url ?? '', headers: req.headers, body, series: decodeWriteRequest(snappy).timeseries ?? [] });
        res.writeHead(204).end();
      } catch (e) {
        res.writeHead(400).end(`cannot read: ${(e as Error).message}`);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    got,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

test('a datasource that reads zstd gets the sender bytes with VictoriaMetrics headers; generated series stay snappy; the handshake', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, ZSTD_BIN)) return;
  const ds = await zstdDatasource();
  let anom: Anomstream | undefined;
  try {
    // server.tenant_paths: the cluster path below names its tenant (off by default: 503).
    anom = await Anomstream.start((port) => configYaml({ port, datasourceUrl: ds.url, queries: { [QUERY_ALIAS]: SELECTOR }, models: MODELS_YAML, server: 'tenant_paths: true' }));
    const data = makeDataset({ points: 60 });
    const sent: Buffer[] = [];
    for (let from = 0, n = 0; from < data.points; from += 10, n++) {
      const body = asVmagent(encodeWriteRequest(data.all, from, from + 10));
      sent.push(body);
      const r = await postZstd(anom, body, n % 2 === 0 ? '/api/v1/write' : '/prometheus/api/v1/write');
      assert.equal(r.status, 204, `#${n}: ${r.status} ${r.body.toString()}`);
    }
    // A cluster tenant's path (its series are its own: not scored past the warm-up here).
    sent.push(asVmagent(encodeWriteRequest([{ labels: { __name__: 'tenant_probe' }, timestamps: [data.spikeTs], values: [3] }])));
    assert.equal((await postZstd(anom, sent[sent.length - 1], '/insert/0:1/prometheus/api/v1/write')).status, 204);
    const raw = ds.got.filter((g) => g.headers['content-encoding'] === 'zstd');
    assert.equal(raw.length, sent.length, 'each zstd body forwarded once, as zstd');
    for (const [i, g] of raw.entries()) {
      assert.ok(g.body.equals(sent[i]), `body #${i}: the datasource got the sender's bytes`);
      assert.equal(g.headers['x-victoriametrics-remote-write-version'], '1');
      assert.equal(g.headers['content-type'], 'application/x-protobuf');
      assert.equal(g.path, i === sent.length - 1 ? '/insert/0:1/prometheus/api/v1/write' : '/api/v1/write');
    }
    // Generated series: snappy remote write 1.0, scores for the two matched series after the warm-up.
    const want = data.matched.length * (data.points - WARMUP);
    const scoresArrived = (): number =>
      ds.got
        .filter((g) => g.headers['content-encoding'] === 'snappy')
        .flatMap((g) => g.series)
        .filter((s) => s.labels?.some((l) => l.name === '__name__' && l.value === 'anomaly_score'))
        .reduce((k, s) => k + (s.samples?.length ?? 0), 0);
    await waitFor('the generated series', async () => (scoresArrived() >= want ? true : undefined), 10_000, 50);
    assert.equal(scoresArrived(), want, 'one anomaly_score per matched sample after the warm-up, in snappy requests');
    for (const g of ds.got.filter((x) => x.series.some((s) => s.labels?.some((l) => l.name === 'for')))) {
      assert.equal(g.headers['content-encoding'], 'snappy');
      assert.equal(g.headers['x-prometheus-remote-write-version'], '0.1.0');
    }
    assert.equal(await metric(anom, 'anomstream_downstream_zstd'), 1);
    assert.equal(await metric(anom, 'anomstream_forward_reencoded_total{from="zstd"}'), 0);

    // A header that contradicts its body: read, and forwarded, by what the body is.
    const before = ds.got.length;
    const snappyBody = buildWriteRequest([{ labels: { __name__: 'mislabelled', kind: 'snappy' }, timestamps: [data.spikeTs], values: [1] }]);
    const zstdBody = asVmagent(encodeWriteRequest([{ labels: { __name__: 'mislabelled', kind: 'zstd' }, timestamps: [data.spikeTs], values: [2] }]));
    assert.equal((await postZstd(anom, snappyBody)).status, 204, 'a snappy body sent as zstd');
    assert.equal((await postZstd(anom, zstdBody, '/api/v1/write', { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf' })).status, 204, 'a zstd body sent as snappy');
    const mis = ds.got.slice(before).filter((g) => g.series.some((s) => s.labels?.some((l) => l.value === 'mislabelled')));
    assert.deepEqual(
      mis.map((g) => [g.headers['content-encoding'], g.body.equals(snappyBody) || g.body.equals(zstdBody)]),
      [
        ['snappy', true],
        ['zstd', true],
      ],
    );

    // vminsert's handshake: 200 and exactly "1", on every write path; nothing is forwarded.
    const n = ds.got.length;
    for (const path of ['/api/v1/write?get_vm_proto_version=1', '/prometheus/api/v1/write?extra_label=a=b&get_vm_proto_version=1', '/insert/0:1/prometheus/api/v1/write?get_vm_proto_version=1']) {
      const r = await request(`${anom.url}${path}`, { method: 'POST', body: new Uint8Array(0), headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'User-Agent': 'vmagent' } });
      assert.equal(r.status, 200, path);
      assert.equal(r.body.toString(), '1', `${path}: the body vmagent parses as the version`);
    }
    assert.equal(ds.got.length, n, 'a handshake forwards nothing');
  } catch (e) {
    dumpProcesses(t, [anom?.proc]);
    throw e;
  } finally {
    await anom?.close();
    await ds.close();
  }
});
