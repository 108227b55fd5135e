/**
 * A request that server.max_memory_bytes can never hold (its body and its decompressed size
 * alone exceed it, with nothing else in memory) is still answered 503, so the sender keeps it
 * until the setting is raised (as a datasource's 413 is), but the answer and an error log say so
 * and name what to change: before, it read "no room to decompress this request now; retry",
 * which a sender retrying it forever (vmagent stalls that queue) made look transient.
 * In-process anomstream in front of a real HTTP datasource.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { test } from 'node:test';
import { pino } from 'pino';
import { parse as parseYaml } from 'yaml';
import { startApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { REMOTE_WRITE_HEADERS, encodeWriteRequest, metricIn, request, snappyCompress } from './harness.js';

test('a request max_memory_bytes can never hold: 503 whose reason names server.max_memory_bytes as too small, and one error log', async () => {
  const ds = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(req.method === 'POST' ? 204 : 200).end());
  });
  await new Promise<void>((r) => ds.listen(0, '127.0.0.1', r));
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
  const budget = 4 * 1024 * 1024;
  const cfg = `server: { listen: "127.0.0.1:0", max_memory_bytes: ${budget} }\nreader: { queries: { q: 'up' } }\nwriter: { datasource_url: "http://127.0.0.1:${(ds.address() as net.AddressInfo).port}" }\nstate: { path: '' }\n`;
  const app = await startApp(parseConfig(parseYaml(cfg)), log);
  try {
    const url = `http://127.0.0.1:${app.receiver.address().port}/api/v1/write`;
    const now = Date.now();
    const series = (n: number, width: number) => Array.from({ length: n }, (_, i) => ({ labels: { __name__: 'big', i: `${'x'.repeat(width)}${i}` }, timestamps: [now], values: [i] }));
    // A small request fits.
    assert.equal((await request(url, { method: 'POST', body: snappyCompress(encodeWriteRequest(series(10, 10))), headers: REMOTE_WRITE_HEADERS })).status, 204);
    // ~6 MB decompressed: more than the whole 4 MiB budget.
    const big = snappyCompress(encodeWriteRequest(series(60_000, 60)));
    const r = await request(url, { method: 'POST', body: big, headers: REMOTE_WRITE_HEADERS });
    assert.equal(r.status, 503, 'the sender keeps it (retryable) until the setting is raised');
    const reason = r.body.toString();
    assert.match(reason, /server\.max_memory_bytes \(4194304\) can never hold this request/, reason);
    assert.doesNotMatch(reason, /now; retry/, 'not worded as transient');
    await request(url, { method: 'POST', body: big, headers: REMOTE_WRITE_HEADERS });
    const errors = lines.filter((l) => l.includes('can never hold'));
    assert.equal(errors.length, 1, `one error log line for both (throttled): ${errors.join('')}`);
    assert.match(errors[0], /"level":50/);
  } finally {
    await app.close(1000);
    ds.closeAllConnections();
    await new Promise((r) => ds.close(r));
  }
});

/**
 * POST `size` bytes in 64 KiB chunks, with Content-Length or chunked, as a sender does: the
 * whole body is written whatever the server answers meanwhile; resolves with the answer, rejects
 * on a reset (what a sender saw when the rest of a refused body was left unread).
 */
function postStreamed(url: string, size: number, chunked: boolean): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...REMOTE_WRITE_HEADERS };
    if (!chunked) headers['content-length'] = size;
    const req = http.request(url, { method: 'POST', headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(parts).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    const chunk = Buffer.alloc(64 * 1024, 0x5a);
    let sent = 0;
    const more = (): void => {
      while (sent < size) {
        const n = Math.min(chunk.length, size - sent);
        sent += n;
        if (!req.write(chunk.subarray(0, n))) return void req.once('drain', more);
      }
      req.end();
    };
    more();
  });
}

test('a body larger than max_memory_bytes (Content-Length or chunked): 503 naming the setting and the size, the rest drained so the sender reads it; the connection is not reset', async () => {
  const ds = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(req.method === 'POST' ? 204 : 200).end());
  });
  await new Promise<void>((r) => ds.listen(0, '127.0.0.1', r));
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
  const budget = 4 * 1024 * 1024;
  const cfg = `server: { listen: "127.0.0.1:0", max_memory_bytes: ${budget} }\nreader: { queries: { q: 'up' } }\nwriter: { datasource_url: "http://127.0.0.1:${(ds.address() as net.AddressInfo).port}" }\nstate: { path: '' }\n`;
  const app = await startApp(parseConfig(parseYaml(cfg)), log);
  try {
    const base = `http://127.0.0.1:${app.receiver.address().port}`;
    const url = `${base}/api/v1/write`;
    const refused = async () => metricIn((await request(`${base}/metrics`)).body.toString(), 'anomstream_write_requests_refused_total{reason="server.max_memory_bytes"}');
    const size = 12 * 1024 * 1024;
    for (let i = 0; i < 3; i++) {
      const r = await postStreamed(url, size, false);
      assert.equal(r.status, 503, `Content-Length ${size}: ${r.status} ${r.body}`);
      assert.match(r.body, new RegExp(`server\\.max_memory_bytes \\(${budget}\\) can never hold this request \\(a ${size}-byte body\\)`), r.body);
    }
    const c = await postStreamed(url, size, true);
    assert.equal(c.status, 503, `chunked ${size}: ${c.status} ${c.body}`);
    assert.match(c.body, new RegExp(`server\\.max_memory_bytes \\(${budget}\\) can never hold this request \\(a ${size}-byte body\\)`), c.body);
    assert.equal(await refused(), 4);
    assert.equal(lines.filter((l) => l.includes('can never hold')).length, 1, 'one error log (throttled)');
    // Nothing is held after: a small request fits.
    const now = Date.now();
    const small = snappyCompress(encodeWriteRequest([{ labels: { __name__: 'after' }, timestamps: [now], values: [1] }]));
    assert.equal((await request(url, { method: 'POST', body: small, headers: REMOTE_WRITE_HEADERS })).status, 204);
    // server.max_request_bytes stays 400 (VictoriaMetrics' -maxInsertRequestSize), even while draining.
    const over = await postStreamed(url, 33 * 1024 * 1024, true).catch((e: Error) => ({ status: -1, body: e.message }));
    assert.ok(over.status === 400 || over.status === -1, `past max_request_bytes: ${over.status} ${over.body}`);
  } finally {
    await app.close(1000);
    ds.closeAllConnections();
    await new Promise((r) => ds.close(r));
  }
});
