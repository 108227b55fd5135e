/**
 * Graceful stop at the HTTP edge (in-process anomstream, a real HTTP datasource): a write whose
 * body is still arriving when the stop begins is read, forwarded and answered, not reset; every
 * answer given during the stop says `Connection: close`, so a keep-alive sender (vmagent,
 * Prometheus) opens a new connection for its next request (refused while anomstream is down:
 * the sender retries it) instead of writing it into a connection the stop then resets.
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import { pino } from 'pino';
import { parse as parseYaml } from 'yaml';
import { startApp, type App } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { encodeWriteRequest, sleep, snappyCompress, tempDir } from './harness.js';

/** A datasource answering every POST 204 after `delayMs`, counting the bodies it received. */
async function datasource(delayMs: number): Promise<{ url: string; bodies: Buffer[]; close: () => Promise<void> }> {
  const bodies: Buffer[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST') return void res.writeHead(200).end('OK');
      bodies.push(Buffer.concat(chunks));
      setTimeout(() => res.writeHead(204).end(), delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    url,
    bodies,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

async function app(datasourceUrl: string, server = '', state = "''"): Promise<{ app: App; port: number }> {
  const cfg = parseConfig(parseYaml(`server: { listen: "127.0.0.1:0"${server} }\nreader: { queries: { q: 'up' } }\nwriter: { datasource_url: "${datasourceUrl}" }\nstate: { path: ${state} }\n`));
  const a = await startApp(cfg, pino({ level: 'silent' }));
  return { app: a, port: a.receiver.address().port };
}

/** A raw keep-alive connection: what arrived, and whether the server closed it. */
function connect(port: number): { socket: net.Socket; received: () => string; closed: Promise<void> } {
  const socket = net.connect(port, '127.0.0.1');
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  return { socket, received: () => text, closed };
}

const body = (): Buffer => Buffer.from(snappyCompress(encodeWriteRequest([{ labels: { __name__: 'up', job: 'a' }, timestamps: [Date.now()], values: [1] }])));
const head = (len: number): string => `POST /api/v1/write HTTP/1.1\r\nHost: x\r\nContent-Encoding: snappy\r\nContent-Type: application/x-protobuf\r\nContent-Length: ${len}\r\n\r\n`;

test('a write whose body is still arriving when the stop begins is read, forwarded and answered 204 with Connection: close', async () => {
  const ds = await datasource(0);
  const { app: a, port } = await app(ds.url);
  try {
    const b = body();
    const c = connect(port);
    c.socket.write(head(b.length) + b.subarray(0, 5).toString('latin1'), 'latin1');
    await sleep(100);
    const closing = a.close(5000);
    await sleep(200);
    c.socket.write(b.subarray(5));
    await Promise.race([c.closed, sleep(3000)]);
    await closing;
    const answer = c.received();
    assert.match(answer, /^HTTP\/1\.1 204 /, `the write is answered, not reset: ${JSON.stringify(answer)}`);
    assert.match(answer, /\r\nconnection: close\r\n/i, 'the answer tells the sender not to reuse the connection');
    assert.equal(ds.bodies.length, 1, 'its body reached the datasource');
    assert.deepEqual(ds.bodies[0], b);
  } finally {
    await ds.close();
  }
});

test('a write answered during the stop says Connection: close, and the connection is closed after it', async () => {
  const ds = await datasource(300);
  const { app: a, port } = await app(ds.url);
  try {
    const b = body();
    const c = connect(port);
    c.socket.write(head(b.length));
    c.socket.write(b);
    await sleep(100); // the body is read; the datasource answers after 300 ms
    const closing = a.close(5000);
    await Promise.race([c.closed, sleep(3000)]);
    await closing;
    const answer = c.received();
    assert.match(answer, /^HTTP\/1\.1 204 /, JSON.stringify(answer));
    assert.match(answer, /\r\nconnection: close\r\n/i, `not keep-alive: the sender's next request would be written into a connection the stop resets: ${JSON.stringify(answer)}`);
  } finally {
    await ds.close();
  }
});

test("a body still arriving does not hold the stop past server.shutdown_timeout minus the snapshot's reserve: the snapshot is written in time", async () => {
  const ds = await datasource(0);
  const dir = tempDir('shutdown-state');
  const { app: a, port } = await app(ds.url, ', shutdown_timeout: 2s', JSON.stringify(dir));
  const c = connect(port);
  const timer = setInterval(() => c.socket.write(Buffer.alloc(400)), 100); // 4 KB/s: above min_read_rate, never ends
  try {
    c.socket.write(head(10_000_000));
    await sleep(300);
    const t0 = Date.now();
    await a.close();
    const ms = Date.now() - t0;
    // 2 s timeout, 1 s reserved for the snapshot (its minimum): the write gets at most the other second.
    assert.ok(ms < 1700, `stopped in ${ms} ms: the trickling body may hold the stop for at most timeout - reserve`);
    assert.ok(existsSync(`${dir}/scoring.snapshot`), 'the snapshot was written');
  } finally {
    clearInterval(timer);
    c.socket.destroy();
    rmSync(dir, { recursive: true, force: true });
    await ds.close();
  }
});
