/**
 * Issue 3, forwarding and acknowledgement: the sender's status follows the datasource's answer to
 * the raw data: 2xx -> 204; 400 and 409 -> 400 (never accepted, retrying helps nobody); every other
 * 4xx (a configuration problem: credentials, path, size limit), 429 and 5xx -> 503 (senders retry). The datasource is a real local HTTP server answering the status under test.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpResult, buildWriteRequest, configYaml, rng } from './harness.js';
import { withCaptureServer } from './stack.js';

test('sender status follows the datasource: 2xx 204, 400/409 400, other 4xx/429/5xx 503', { timeout: 60_000 }, async (t) => {
  await withCaptureServer(
    t,
    204,
    (port, datasourceUrl) => configYaml({ port, datasourceUrl }),
    async (sink, anom) => {
      const r = rng(5);
      const now = Math.floor(Date.now() / 1000) * 1000;
      const cases: [number, number][] = [
        [204, 204],
        [200, 204],
        [400, 400],
        [409, 400],
        [401, 503],
        [404, 503],
        [405, 503],
        [413, 503],
        [422, 503],
        [429, 503],
        [500, 503],
        [502, 503],
        [503, 503],
        [204, 204],
      ];
      for (const [i, [downstream, want]] of cases.entries()) {
        sink.status = downstream;
        const body = buildWriteRequest([{ labels: { __name__: 'status_probe', case: String(i) }, timestamps: [now + i], values: [r()] }]);
        const got: HttpResult = await anom.write(body);
        assert.equal(got.status, want, `datasource answers ${downstream}: expected ${want}, got ${got.status} ${got.body.toString()}`);
        const forwarded = sink.requests.filter((q) => q.path === '/api/v1/write' && Buffer.from(body).equals(q.body));
        assert.ok(forwarded.length >= 1, `case ${i} (${downstream}): the raw body reached the datasource unchanged`);
      }
    },
  );
});
