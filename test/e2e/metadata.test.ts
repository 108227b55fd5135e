/**
 * Issue 3 acceptance: a metadata-only request (Prometheus sends these by default) is accepted and
 * forwarded byte-identical. The downstream is a real local HTTP server recording what it gets.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildWriteRequest, configYaml, decodeWriteRequest, waitFor } from './harness.js';
import { withCaptureServer } from './stack.js';

test('metadata-only request: accepted and forwarded byte-identical', { timeout: 60_000 }, async (t) => {
  await withCaptureServer(
    t,
    204,
    (port, datasourceUrl) => configYaml({ port, datasourceUrl }),
    async (sink, anom) => {
      const body = buildWriteRequest([], 0, 0, [
        { type: 1, metricFamilyName: 'http_requests_total', help: 'Requests served.', unit: '' },
        { type: 2, metricFamilyName: 'node_load1', help: '1m load average.' },
        { type: 3, metricFamilyName: 'rpc_duration_seconds', help: 'RPC latency.', unit: 'seconds' },
      ]);
      const sent = decodeWriteRequest(body);
      assert.equal(sent.timeseries?.length ?? 0, 0, 'oracle: no time series in the request');
      assert.equal(sent.metadata?.length, 3, 'oracle: three metadata entries');

      const r = await anom.write(body);
      assert.equal(r.status, 204, `metadata-only POST: ${r.status} ${r.body.toString()}\n${anom.proc.tail()}`);
      const writes = () => sink.requests.filter((q) => q.method === 'POST' && q.path === '/api/v1/write');
      // 204 means the downstream already accepted it; no waiting should be needed, but allow the recorder to settle.
      await waitFor('the forwarded request at the downstream', async () => (writes().length >= 1 ? true : undefined), 5_000);
      assert.equal(writes().length, 1, 'exactly one request forwarded (nothing generated from metadata)');
      assert.ok(Buffer.from(body).equals(writes()[0].body), 'forwarded body is byte-identical to the received one');
    },
  );
});
