/**
 * Issue 17 item 7: no secret is shown. Credentials in writer.datasource_url are used as basic
 * auth (as vmagent does), its query (`?authKey=...`) is sent with every write, and neither, nor
 * server.auth's token, appears on /ready, /metrics, the status page (GET /) or in any log line (the URL is shown with
 * `***`): one test greps all three for each configured secret.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { parse as parseYaml } from 'yaml';
import { startApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { summarize } from '../../src/config/summary.js';
import { CaptureServer, REMOTE_WRITE_HEADERS, buildWriteRequest, request, sleep } from './harness.js';

const PASSWORD = 'pw-Secret-7f3a';
const AUTH_KEY = 'key-Secret-91c2';
const TOKEN = 'token-Secret-5d0e';

test('the datasource password, its authKey query parameter and the listener token appear on neither /ready nor /metrics nor the status page nor any log line', { timeout: 30_000 }, async () => {
  const sink = await CaptureServer.start(204);
  const dsUrl = sink.url.replace('http://', `http://ops:${PASSWORD}@`) + `/?authKey=${AUTH_KEY}`;
  const cfg = parseConfig(
    parseYaml(
      `server: { listen: "127.0.0.1:0", auth: { bearer_token: "${TOKEN}" } }\nreader: { queries: { q: 'up' } }\nwriter: { datasource_url: "${dsUrl}" }\nlogging: { level: debug }\nstate: { path: '' }\n`,
    ),
  );
  const lines: string[] = [];
  const log = pino({ level: 'trace' }, { write: (l: string) => void lines.push(l) });
  log.info({ config: summarize(cfg) }, 'anomstream starting'); // what the CLI logs at start-up
  const app = await startApp(cfg, log);
  const base = `http://127.0.0.1:${app.receiver.address().port}`;
  const auth = { authorization: `Bearer ${TOKEN}` };
  try {
    const body = buildWriteRequest([{ labels: { __name__: 'up', job: 'x' }, timestamps: [Date.now() - 60_000], values: [1] }]);
    assert.equal((await request(`${base}/api/v1/write`, { method: 'POST', body, headers: { ...REMOTE_WRITE_HEADERS, ...auth } })).status, 204);
    const write = sink.requests.find((q) => q.method === 'POST')!;
    assert.equal(write.path, `/api/v1/write?authKey=${AUTH_KEY}`, 'the query is sent with the write');
    assert.equal(write.headers.authorization, `Basic ${Buffer.from(`ops:${PASSWORD}`).toString('base64')}`, 'URL credentials are basic auth');
    // A failing datasource: its error log lines too.
    sink.status = 404;
    assert.equal((await request(`${base}/api/v1/write`, { method: 'POST', body, headers: { ...REMOTE_WRITE_HEADERS, ...auth } })).status, 503);
    const ready = await request(`${base}/ready`, { headers: auth });
    const metrics = await request(`${base}/metrics`, { headers: auth });
    const page = await request(`${base}/`, { headers: auth });
    assert.equal(ready.status, 200);
    assert.equal(metrics.status, 200);
    assert.equal(page.status, 200);
    assert.match(ready.body.toString(), /authKey=\*\*\*/, '/ready shows the URL redacted');
    assert.match(page.body.toString(), /id="datasource">[^<]*authKey=\*\*\*/, 'the status page shows the URL redacted');
    // Its vmui link is vmui under datasource_url, without the query (which made it point at the root).
    assert.ok(page.body.toString().includes(`href="${sink.url}/vmui/"`), 'the status page links to vmui under datasource_url');
    await sleep(100);
    assert.ok(lines.length >= 3, `log lines written (${lines.length})`);
    assert.ok(
      lines.some((l) => l.includes('authKey=***')),
      'the logs show the URL redacted',
    );
    for (const [where, text] of [
      ['/ready', ready.body.toString()],
      ['/metrics', metrics.body.toString()],
      ['the status page (GET /)', page.body.toString()],
      ['the log', lines.join('')],
    ] as const) {
      for (const secret of [PASSWORD, AUTH_KEY, TOKEN]) assert.ok(!text.includes(secret), `${where} does not show ${secret}`);
    }
  } finally {
    await app.close(1000);
    await sink.close();
  }
});
