/**
 * writer.connection_retry_attempts (vmanomaly 1.29.2): a generated-series write that gets no
 * answer is sent again up to that many times. A real HTTP server on 127.0.0.1 drops the first
 * connections it gets without answering.
 */
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { Downstream } from '../../src/forward/downstream.js';
import { generatedSinkFor } from '../../src/emit/sinks.js';

/** A server that destroys the first `drop` requests' sockets, then answers 204. */
async function flaky(drop: number): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server = http.createServer((req, res) => {
    n++;
    req.resume();
    if (n <= drop) req.socket.destroy();
    else res.writeHead(204).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, requests: () => n, close: () => new Promise((r) => server.close(() => r())) };
}

async function send(attempts: number | undefined, drop: number): Promise<{ status: number; requests: number }> {
  const s = await flaky(drop);
  const writer = parseConfig({
    reader: { queries: { q: 'up' } },
    writer: { datasource_url: s.url, ...(attempts === undefined ? {} : { connection_retry_attempts: attempts }) },
  }).writer;
  const ds = new Downstream({ url: new URL(writer.datasource_url), timeoutMs: 2000 });
  try {
    const out = generatedSinkFor(writer, ds);
    const r = await out.send(null, new Uint8Array([0]));
    return { status: r.status, requests: s.requests() };
  } finally {
    await ds.close();
    await s.close();
  }
}

test('connection_retry_attempts: a write without an answer is resent that many times (default 1), then fails', async () => {
  assert.deepEqual(await send(undefined, 1), { status: 204, requests: 2 });
  assert.deepEqual(await send(2, 2), { status: 204, requests: 3 });
  assert.deepEqual(await send(0, 1), { status: 0, requests: 1 });
  assert.deepEqual(await send(1, 5), { status: 0, requests: 2 });
});
