/**
 * server.max_in_flight: writes beyond the limit wait up to server.max_queue_duration for a slot,
 * then are answered 503 + Retry-After without being forwarded; a slot freed in time is handed to
 * the oldest waiting write. Graceful shutdown: SIGTERM lets a write in flight complete, then the
 * process exits 0.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { parse as parseYaml } from 'yaml';
import { startApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { RAW_POSTS_IN_FLIGHT } from '../../src/ingest/coalesce.js';
import { Anomstream, REMOTE_WRITE_HEADERS, buildWriteRequest, metricIn, request } from './harness.js';
import { startHoldingDatasource } from './stack.js';

test('writes beyond server.max_in_flight wait server.max_queue_duration, then get 503 with Retry-After; a slot freed in time serves the oldest', async () => {
  // A datasource that holds every write until released.
  const ds = await startHoldingDatasource();
  const { held, url: dsUrl } = ds;
  const cfg = parseConfig(
    parseYaml(`server: { listen: "127.0.0.1:0", max_in_flight: 2, max_queue_duration: 700ms }\nreader: { queries: { q: 'up' } }\nwriter: { datasource_url: "${dsUrl}" }\nstate: { path: '' }\n`),
  );
  const app = await startApp(cfg, pino({ level: 'silent' }));
  const url = `http://127.0.0.1:${app.receiver.address().port}/api/v1/write`;
  const body = buildWriteRequest([{ labels: { __name__: 'up', job: 'x' }, timestamps: [Date.now() - 60_000], values: [1] }]);
  const post = () => request(url, { method: 'POST', body, headers: REMOTE_WRITE_HEADERS });
  const metric = async (name: string): Promise<number> => metricIn((await request(url.replace('/api/v1/write', '/metrics'))).body.toString(), name);
  const until = async (what: string, ok: () => Promise<boolean>): Promise<void> => {
    const deadline = Date.now() + 5000;
    while (!(await ok()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(await ok(), what);
  };
  // Answers every POST the datasource holds until `p` settles.
  const release = async <T>(p: Promise<T>): Promise<T> => {
    let done = false;
    void p.then(() => (done = true));
    const deadline = Date.now() + 10_000;
    while (!done && Date.now() < deadline) {
      for (const r of held.splice(0)) r.writeHead(204).end();
      await new Promise((r) => setTimeout(r, 20));
    }
    return p;
  };
  // Raw POSTs at the datasource while both writes hold a slot: the second may wait in the raw
  // forward to ride in the next POST (ingest/coalesce.ts).
  const atDatasource = Math.min(2, RAW_POSTS_IN_FLIGHT);
  try {
    const first = [post(), post()];
    await until('two writes hold both slots, forwarded or waiting for the raw POST in flight', async () => held.length === atDatasource && (await metric('anomstream_requests_in_flight')) === 2);
    const t0 = Date.now();
    const third = await post();
    assert.equal(third.status, 503);
    assert.ok(Date.now() - t0 >= 650, `answered after ${Date.now() - t0} ms: it waited server.max_queue_duration for a slot`);
    assert.equal(third.headers['retry-after'], '1');
    assert.match(third.body.toString(), /server\.max_queue_duration 0\.7s \(server\.max_in_flight 2/);
    assert.equal(held.length, atDatasource, 'the refused write was not forwarded');
    // A write that finds both slots busy gets the first one freed within max_queue_duration.
    const fourth = post();
    await until('the fourth write waits for a slot', async () => (await metric('anomstream_requests_queued')) === 1);
    assert.equal(held.length, atDatasource);
    held.shift()!.writeHead(204).end();
    await until('the freed slot went to the waiting write', async () => (await metric('anomstream_requests_queued')) === 0 && (await metric('anomstream_requests_in_flight')) === 2);
    for (const r of await release(Promise.all([...first, fourth]))) assert.equal(r.status, 204);
    assert.equal((await release(post())).status, 204, 'accepted again once the others finished');
  } finally {
    await app.close(1000);
    await ds.close();
  }
});

test('SIGTERM: the write in flight completes (204), new connections are refused, exit code 0', async () => {
  const ds = await startHoldingDatasource();
  const { held, url: dsUrl } = ds;
  const a = await Anomstream.start((port) => `server: { listen: "127.0.0.1:${port}" }\nreader: { queries: { q: 'up' } }\nwriter: { datasource_url: "${dsUrl}" }\n`);
  try {
    const body = buildWriteRequest([{ labels: { __name__: 'up', job: 'x' }, timestamps: [Date.now() - 60_000], values: [1] }]);
    const inFlight = a.write(body);
    const deadline = Date.now() + 5000;
    while (held.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(held.length, 1);
    a.proc.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(a.proc.running, true, 'still running while a write is in flight');
    await assert.rejects(request(`${a.url}/health`), 'the listener is closed');
    held.splice(0).forEach((r) => r.writeHead(204).end());
    assert.equal((await inFlight).status, 204);
    assert.equal(await a.proc.wait(), 0);
  } finally {
    await a.close();
    await ds.close();
  }
});

test('server.read_timeout bounds receiving only: a write whose body has arrived may wait longer for the datasource', async () => {
  const ds = await startHoldingDatasource();
  const cfg = parseConfig(parseYaml(`server: { listen: "127.0.0.1:0", read_timeout: 1s }\nreader: { queries: { q: 'up' } }\nwriter: { datasource_url: "${ds.url}", timeout: 10s }\nstate: { path: '' }\n`));
  const app = await startApp(cfg, pino({ level: 'silent' }));
  const url = `http://127.0.0.1:${app.receiver.address().port}/api/v1/write`;
  const body = buildWriteRequest([{ labels: { __name__: 'up', job: 'x' }, timestamps: [Date.now() - 60_000], values: [1] }]);
  try {
    const write = request(url, { method: 'POST', body, headers: REMOTE_WRITE_HEADERS });
    const deadline = Date.now() + 5000;
    while (ds.held.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 2500)); // 2.5 x read_timeout, and node checks its timeouts every second
    ds.held.splice(0).forEach((r) => r.writeHead(204).end());
    assert.equal((await write).status, 204);
  } finally {
    await app.close(1000);
    await ds.close();
  }
});
