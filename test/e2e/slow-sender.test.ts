/**
 * A sender too slow for server.read_timeout or server.min_read_rate is answered 503, which every
 * remote_write sender retries: Prometheus retries only 5xx and 429 and drops a batch answered any
 * other 4xx ("non-recoverable error"), 408 included, so a congested link lost data. In-process
 * anomstream in front of a real HTTP datasource; real sockets.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import { pino } from 'pino';
import { parse as parseYaml } from 'yaml';
import { startApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { encodeWriteRequest, snappyCompress } from './harness.js';

/** One write whose body comes at `bytesPerSecond` after its first 5 bytes; the status line answered, and the bodies the datasource got. */
async function trickle(server: string, bytesPerSecond: number): Promise<{ status: string; forwarded: number }> {
  let forwarded = 0;
  const ds = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST') forwarded++;
      res.writeHead(req.method === 'POST' ? 204 : 200).end();
    });
  });
  await new Promise<void>((r) => ds.listen(0, '127.0.0.1', r));
  const dsUrl = `http://127.0.0.1:${(ds.address() as net.AddressInfo).port}`;
  const app = await startApp(
    parseConfig(parseYaml(`server: { listen: "127.0.0.1:0", ${server} }\nreader: { queries: { q: 'up' } }\nwriter: { datasource_url: "${dsUrl}" }\nstate: { path: '' }\n`)),
    pino({ level: 'silent' }),
  );
  try {
    const body = Buffer.from(snappyCompress(encodeWriteRequest([{ labels: { __name__: 'up', job: 'slow' }, timestamps: [Date.now()], values: [1] }])));
    const socket = net.connect(app.receiver.address().port, '127.0.0.1');
    socket.on('error', () => undefined);
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.write(`POST /api/v1/write HTTP/1.1\r\nHost: x\r\nContent-Encoding: snappy\r\nContent-Length: ${body.length + 100_000}\r\n\r\n`);
    socket.write(body.subarray(0, 5));

    const timer = setInterval(() => {
      if (!socket.destroyed) socket.write(Buffer.alloc(Math.max(1, Math.round(bytesPerSecond / 10))));
    }, 100);
    await new Promise<void>((r) => {
      socket.once('close', () => r());
      setTimeout(() => r(), 15_000).unref();
    });
    clearInterval(timer);
    socket.destroy();
    return { status: text.split('\r\n')[0], forwarded };
  } finally {
    await app.close(1000);
    ds.closeAllConnections();
    await new Promise((r) => ds.close(r));
  }
}

test('a body not received within server.read_timeout is answered 503 (retried by Prometheus too), nothing forwarded', async () => {
  const r = await trickle('read_timeout: 1s, min_read_rate: 0', 100);
  assert.equal(r.status, 'HTTP/1.1 503 Service Unavailable', 'a retryable answer: Prometheus drops a batch answered 408');
  assert.equal(r.forwarded, 0);
});

test('a body arriving slower than server.min_read_rate is answered 503, nothing forwarded', async () => {
  const r = await trickle('min_read_rate: 1024', 200);
  assert.equal(r.status, 'HTTP/1.1 503 Service Unavailable', 'a retryable answer: Prometheus drops a batch answered 408');
  assert.equal(r.forwarded, 0);
});
