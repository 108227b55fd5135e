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
import { REMOTE_WRITE_HEADERS, encodeWriteRequest, request, snappyCompress } from './harness.js';

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
