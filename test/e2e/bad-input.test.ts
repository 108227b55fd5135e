/**
 * Issue 3 acceptance: unreadable requests get a 400 with a one-line reason, a gzip body a 415
 * naming gzip (a snappy body is read whatever its Content-Encoding header says, as VictoriaMetrics does),
 * unknown paths/methods 404/405; the next good request still works; nothing from a bad request
 * reaches VictoriaMetrics (checked through its export and its own ingest counter).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { HttpResult, VM_BIN, buildWriteRequest, configYaml, decodeWriteRequest, distinctSamples, request, requireBinaries, rng, seriesKey, snappyCompress, waitFor, InputSeries } from './harness.js';
import { withVictoriaMetrics } from './stack.js';

const MAX_REQUEST_BYTES = 65_536;

function series(name: string, points: number, seed: number): InputSeries {
  const r = rng(seed);
  const end = Math.floor(Date.now() / 1000) * 1000 - 60_000;
  const timestamps = Array.from({ length: points }, (_, i) => end - (points - 1 - i) * 1000);
  return { labels: { __name__: name, job: 'e2e' }, timestamps, values: timestamps.map(() => Math.round(r() * 1e6) / 1000) };
}

function randomBytes(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

function assertOneLineReason(r: HttpResult, what: string): void {
  const text = r.body.toString('utf8').trim();
  assert.ok(text.length > 0, `${what}: 400 without a reason`);
  assert.ok(!text.includes('\n'), `${what}: reason is more than one line: ${JSON.stringify(text)}`);
}

test('bad input: 400 with reason, a gzip body 415, 404/405; next good request works; nothing bad reaches VictoriaMetrics', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN)) return;
  const config = (port: number, datasourceUrl: string): string => configYaml({ port, datasourceUrl, server: `max_request_bytes: ${MAX_REQUEST_BYTES}` });
  await withVictoriaMetrics(t, config, async (vm, anom) => {
    const good1 = series('good_before', 20, 1);
    const good2 = series('good_after', 20, 2);
    const good3 = series('good_labelled_gzip', 20, 5);
    const r1 = await anom.write(buildWriteRequest([good1]));
    assert.equal(r1.status, 204, `good request before the bad ones: ${r1.status} ${r1.body.toString()}`);

    // 1. random bytes
    const random = randomBytes(1000, 42);
    // 2. valid snappy around garbage: field 1 (timeseries), length-delimited, announcing 0x0fffffff bytes.
    const garbage = Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0x7f, ...randomBytes(200, 43)]);
    assert.throws(() => decodeWriteRequest(snappyCompress(garbage)), 'the garbage must not be a WriteRequest (oracle check)');
    // 3. snappy header announcing 4 GiB (varint 2^32), then a short literal.
    const huge = Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x10, 0x0c, 0x61, 0x62, 0x63, 0x64]);
    // 4. a valid request larger than server.max_request_bytes (random values compress poorly).
    const oversize = buildWriteRequest([series('bad_oversize', 8000, 3)]);
    assert.ok(oversize.length > MAX_REQUEST_BYTES, `oversize body is ${oversize.length} bytes`);

    const cases: [string, Uint8Array][] = [
      ['random bytes', random],
      ['valid snappy around garbage', snappyCompress(garbage)],
      ['snappy header announcing 4 GiB', huge],
      [`body over max_request_bytes (${oversize.length} > ${MAX_REQUEST_BYTES})`, oversize],
    ];
    for (const [what, body] of cases) {
      const r = await anom.write(body);
      assert.equal(r.status, 400, `${what}: expected 400, got ${r.status} ${r.body.toString()}`);
      assertOneLineReason(r, what);
      t.diagnostic(`${what}: 400 ${r.body.toString('utf8').trim()}`);
    }

    for (const header of ['gzip', 'snappy']) {
      const gzip = await anom.write(gzipSync(buildWriteRequest([series('bad_gzip', 10, 4)])), { 'Content-Encoding': header });
      assert.equal(gzip.status, 415, `a gzip body (Content-Encoding: ${header}): expected 415, got ${gzip.status} ${gzip.body.toString()}`);
      assert.match(gzip.body.toString(), /the body is gzip/);
    }
    assert.equal(await anom.metric('anomstream_decode_errors_total{reason="encoding"}'), 2, 'both gzip bodies counted');
    // A snappy body under another header is read as VictoriaMetrics reads it (the body decides).
    const labelledGzip = await anom.write(buildWriteRequest([good3]), { 'Content-Encoding': 'gzip' });
    assert.equal(labelledGzip.status, 204, `a snappy body labelled gzip: ${labelledGzip.status} ${labelledGzip.body.toString()}`);

    const notFound = await anom.write(buildWriteRequest([series('bad_404', 10, 5)]), {}, '/api/v1/nope');
    assert.equal(notFound.status, 404, `POST /api/v1/nope: ${notFound.status}`);
    const wrongMethod = await request(`${anom.url}/api/v1/write`, { method: 'GET' });
    assert.equal(wrongMethod.status, 405, `GET /api/v1/write: ${wrongMethod.status}`);

    assert.ok(anom.proc.running, `anomstream still running after bad input\n${anom.proc.tail()}`);
    const r2 = await anom.write(buildWriteRequest([good2]));
    assert.equal(r2.status, 204, `good request after the bad ones: ${r2.status} ${r2.body.toString()}\n${anom.proc.tail()}`);

    const exported = await waitFor('both good series in VictoriaMetrics', async () => {
      const got = await vm.exportSeries('{__name__!=""}');
      return got.filter((s) => s.metric.__name__.startsWith('good_')).length === 3 ? got : undefined;
    });
    assert.deepEqual(exported.map((s) => seriesKey(s.metric)).sort(), [good1, good2, good3].map((s) => seriesKey(s.labels)).sort(), 'VictoriaMetrics holds exactly the good series');
    for (const s of [good1, good2, good3]) {
      const e = exported.find((x) => seriesKey(x.metric) === seriesKey(s.labels))!;
      assert.deepEqual(distinctSamples(e), new Map(s.timestamps.map((ts, i) => [ts, s.values[i]])), seriesKey(s.labels));
    }
    const rows = await vm.rowsInserted();
    assert.equal(rows, good1.timestamps.length + good2.timestamps.length + good3.timestamps.length, 'VictoriaMetrics ingested the good rows only');
  });
});
