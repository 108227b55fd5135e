/**
 * VictoriaMetrics' `?extra_label=name=value` on a write URL (a sender URL pasted from the
 * datasource's, or vmauth enforcing a label): anomstream forwards bodies unchanged and cannot add
 * the label, and used to answer 204 and store the data without it. It is refused with 503 (the
 * sender keeps the data until its URL is fixed; 400 would have it dropped) and a
 * reason saying where to add the label; nothing is forwarded. Other query arguments are ignored as
 * before. In-process anomstream in front of a real HTTP datasource.
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

test('a write URL with extra_label is refused 503 naming where to add the label; nothing forwarded', async () => {
  let posts = 0;
  const ds = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST') posts++;
      res.writeHead(req.method === 'POST' ? 204 : 200).end();
    });
  });
  await new Promise<void>((r) => ds.listen(0, '127.0.0.1', r));
  const cfg = `server: { listen: "127.0.0.1:0" }\nreader: { queries: { q: 'up' } }\nwriter: { datasource_url: "http://127.0.0.1:${(ds.address() as net.AddressInfo).port}" }\nstate: { path: '' }\n`;
  const app = await startApp(parseConfig(parseYaml(cfg)), pino({ level: 'silent' }));
  try {
    const base = `http://127.0.0.1:${app.receiver.address().port}`;
    const body = snappyCompress(encodeWriteRequest([{ labels: { __name__: 'up', job: 'x' }, timestamps: [Date.now()], values: [1] }]));
    for (const path of ['/api/v1/write?extra_label=env=prod', '/prometheus/api/v1/write?foo=1&extra_label=team%3Da']) {
      const r = await request(`${base}${path}`, { method: 'POST', body, headers: REMOTE_WRITE_HEADERS });
      assert.equal(r.status, 503, `${path}: ${r.status} ${r.body.toString()}`);
      assert.match(r.body.toString(), /extra_label .*not supported.*-remoteWrite\.label/);
    }
    assert.equal(posts, 0, 'nothing forwarded');
    const ok = await request(`${base}/api/v1/write?foo=bar`, { method: 'POST', body, headers: REMOTE_WRITE_HEADERS });
    assert.equal(ok.status, 204, 'another query argument is ignored, as before');
    assert.equal(posts, 1);
  } finally {
    await app.close(1000);
    ds.closeAllConnections();
    await new Promise((r) => ds.close(r));
  }
});
