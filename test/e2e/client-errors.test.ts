/**
 * HTTP protocol errors before a request exists (node's 'clientError'): a sender speaking no HTTP,
 * headers larger than node's 16 KiB, headers that never finish. Each gets node's own answer (400,
 * 431, 408) and the connection closed, exactly as without a handler, and is counted in
 * anomstream_http_client_errors_total{reason}; the listener keeps serving writes. A real anomstream
 * process over raw TCP sockets, forwarding to a node:http capture server. On the HTTPS listener a
 * failed handshake (plain HTTP here; the same for a missing client certificate) counts as tls, once.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { Anomstream, CaptureServer, buildWriteRequest, configYaml, metricIn, request, tempDir, waitFor, type InputSeries } from './harness.js';
import { makeCerts } from './writer-support.js';
import { withCaptureServer } from './stack.js';

/** Send `bytes` on a fresh connection; resolves with everything the server wrote until it closed (or `waitMs` passed). */
function raw(port: number, bytes: string, waitMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    }, waitMs);
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? undefined : reject(e)));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
  });
}

function probe(): InputSeries {
  const end = Math.floor(Date.now() / 1000) * 1000 - 60_000;
  return { labels: { __name__: 'client_errors_probe', job: 'e2e' }, timestamps: [end - 1000, end], values: [1, 2] };
}

test('protocol errors get 400 / 431 / 408 and are counted by reason; writes go on', { timeout: 60_000 }, async (t) => {
  await withCaptureServer(
    t,
    204,
    (port, datasourceUrl) => configYaml({ port, datasourceUrl, server: 'read_timeout: 2s' }),
    async (sink, anom) => {
      const reasons = ['parse', 'header_overflow', 'timeout', 'reset', 'tls'];
      for (const reason of reasons) assert.equal(await anom.metric(`anomstream_http_client_errors_total{reason="${reason}"}`), 0, `${reason} exported at 0 from the start`);

      const notHttp = await raw(anom.port, 'HELLO THERE\r\n\r\n');
      assert.match(notHttp, /^HTTP\/1\.1 400 Bad Request\r\n/, `not HTTP: ${JSON.stringify(notHttp)}`);
      const huge = await raw(anom.port, `POST /api/v1/write HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
      assert.match(huge, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/, `20 KB of headers: ${JSON.stringify(huge.slice(0, 80))}`);
      const slow = await raw(anom.port, 'POST /api/v1/write HTTP/1.1\r\nHost: x\r\n');
      assert.match(slow, /^HTTP\/1\.1 408 Request Timeout\r\n/, `headers never finished: ${JSON.stringify(slow)}`);

      assert.equal(await anom.metric('anomstream_http_client_errors_total{reason="parse"}'), 1);
      assert.equal(await anom.metric('anomstream_http_client_errors_total{reason="header_overflow"}'), 1);
      assert.equal(await anom.metric('anomstream_http_client_errors_total{reason="timeout"}'), 1);
      const ok = await anom.write(buildWriteRequest([probe()]));
      assert.equal(ok.status, 204, `a write after the errors: ${ok.status} ${ok.body.toString()}`);
      assert.ok(
        sink.requests.some((r) => r.path.endsWith('/api/v1/write')),
        'the write reached the datasource',
      );
    },
  );
});

test('plain HTTP on the HTTPS listener: no plain-text answer, counted as tls (once, not also as parse)', { timeout: 60_000 }, async () => {
  const certs = makeCerts(tempDir('client-errors-tls'));
  const ca = readFileSync(certs.caCert);
  const sink = await CaptureServer.start(204);
  let anom: Anomstream | undefined;
  try {
    const server = `tls_cert_file: "${certs.serverCert}", tls_key_file: "${certs.serverKey}"`;
    anom = await Anomstream.start((port) => configYaml({ port, datasourceUrl: sink.url, server }), { ca, headers: {} });
    const count = async (reason: string): Promise<number> => metricIn((await request(`${anom!.url}/metrics`, { ca })).body.toString(), `anomstream_http_client_errors_total{reason="${reason}"}`);
    const [tls0, parse0] = [await count('tls'), await count('parse')];
    const plain = await raw(anom.port, 'POST /api/v1/write HTTP/1.1\r\nHost: x\r\n\r\n', 5000);
    assert.ok(!plain.startsWith('HTTP/1.1'), `no plain-text answer on the TLS listener: ${JSON.stringify(plain.slice(0, 40))}`);
    assert.equal(await waitFor('the handshake counted', async () => ((await count('tls')) > tls0 ? (await count('tls')) - tls0 : undefined)), 1);
    assert.equal(await count('parse'), parse0, 'not counted as parse too');
  } finally {
    await anom?.close();
    await sink.close();
  }
});
