/**
 * Issue 17 acceptance, status mapping: a datasource answering 404 (a wrong path, a vmauth route
 * that does not exist yet) makes the sender get 503, so a real vmagent keeps its data and
 * retries; once the datasource answers 204 again, every sample arrives. The datasource is a real
 * VictoriaMetrics behind a small node:http gateway of the test that answers 404 while `broken`.
 */
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { VMAGENT_BIN, VM_BIN, configYaml, distinctSamples, requireBinaries, seriesKey, waitFor } from './harness.js';
import { makeDataset } from './scenario.js';
import { withVmagent } from './stack.js';

/** A gateway to `target`: 404 for every write while `broken`, else the request passed on as it is. */
async function gateway(): Promise<{ url: string; target: string; broken: boolean; refused: number; close(): Promise<void> }> {
  const g = { url: '', target: '', broken: true, refused: 0, close: async () => undefined as void };
  const server = http.createServer((req, res) => {
    if (req.url === '/health') return void res.writeHead(200).end('OK');
    if (g.broken || g.target === '') {
      g.refused++;
      req.resume();
      return void res.writeHead(404).end('404 page not found: no route for this path');
    }
    const t = new URL(g.target);
    const up = http.request({ host: t.hostname, port: t.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  g.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  g.close = () => {
    server.closeAllConnections();
    return new Promise((r) => server.close(() => r()));
  };
  return g;
}

test('a datasource answering 404: the sender gets 503 and keeps the data; once it answers 204, every sample arrives', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN, VMAGENT_BIN)) return;
  const gw = await gateway();
  try {
    await withVmagent(
      t,
      (port) => configYaml({ port, datasourceUrl: gw.url, queries: { q: 'route_cpu{job="node"}' } }),
      async (vm, anom, agent) => {
        gw.target = vm.url;
        const ds = makeDataset({ points: 30, spikeAt: 20, seed: 41, prefix: 'route' });
        await agent.importJsonLines(ds.all);
        await waitFor('vmagent to see 503 from anomstream', async () => ((await agent.metric('vmagent_remotewrite_requests_total', (l) => l.includes('status_code="503"'))) > 0 ? true : undefined), 30_000);
        assert.ok(gw.refused > 0, 'the datasource answered 404');
        assert.equal(await agent.metric('vmagent_remotewrite_requests_total', (l) => l.includes('status_code="400"')), 0, 'vmagent never got 400 (it would drop the block)');
        gw.broken = false;
        const want = new Map(ds.all.map((s) => [seriesKey(s.labels), new Set(s.timestamps)]));
        const got = await waitFor(
          'every sample once the datasource answers 204',
          async () => {
            const exp = await vm.exportSeries('{__name__=~"route_.*"}');
            return exp.reduce((n, s) => n + distinctSamples(s).size, 0) >= ds.all.length * ds.points ? exp : undefined;
          },
          60_000,
          500,
        );
        assert.deepEqual(new Map(got.map((s) => [seriesKey(s.metric), new Set(distinctSamples(s).keys())])), want, 'every (series, timestamp) pushed into vmagent is in VictoriaMetrics');
        assert.match(anom.proc.output(), /answered 404 to a raw request; answering 503 so the sender keeps the data: check writer\.datasource_url/, 'an error log names the setting to check');
      },
    );
  } finally {
    await gw.close();
  }
});
