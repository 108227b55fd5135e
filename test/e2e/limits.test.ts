/**
 * server.max_in_flight: writes beyond the limit are answered 503 + Retry-After without being
 * read (bounded memory), and are accepted again once the others finish. Graceful shutdown:
 * SIGTERM lets a write in flight complete, then the process exits 0.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { parse as parseYaml } from 'yaml';
import { startApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { Anomstream, REMOTE_WRITE_HEADERS, buildWriteRequest, request } from './harness.js';
import { startHoldingDatasource } from './stack.js';

test('writes beyond server.max_in_flight get 503 with Retry-After; the others complete', async () => {
  // A datasource that holds every write until released.
  const ds = await startHoldingDatasource();
  const { held, url: dsUrl } = ds;
  const cfg = parseConfig(parseYaml(`server: { listen: "127.0.0.1:0", max_in_flight: 2 }\nreader: { queries: { q: 'up' } }\nwriter: { datasource_url: "${dsUrl}" }\nstate: { path: '' }\n`));
  const app = await startApp(cfg, pino({ level: 'silent' }));
  const url = `http://127.0.0.1:${app.receiver.address().port}/api/v1/write`;
  const body = buildWriteRequest([{ labels: { __name__: 'up', job: 'x' }, timestamps: [Date.now() - 60_000], values: [1] }]);
  const post = () => request(url, { method: 'POST', body, headers: REMOTE_WRITE_HEADERS });
  try {
    const first = [post(), post()];
    const deadline = Date.now() + 5000;
    while (held.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(held.length, 2, 'two writes reached the datasource');
    const third = await post();
    assert.equal(third.status, 503);
    assert.equal(third.headers['retry-after'], '1');
    assert.match(third.body.toString(), /server\.max_in_flight 2/);
    assert.equal(held.length, 2, 'the refused write was not forwarded');
    for (const r of held.splice(0)) r.writeHead(204).end();
    for (const r of await Promise.all(first)) assert.equal(r.status, 204);
    const again = post();
    while (held.length < 1 && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 20));
    held.splice(0).forEach((r) => r.writeHead(204).end());
    assert.equal((await again).status, 204, 'accepted again once the others finished');
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
