// The counting sink: raw vs generated (label `for`) samples, both modes, malformed input, and over HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import protobuf from 'protobufjs';
import { CountingSink, startSink } from '../../bench/sink.js';

const require = createRequire(import.meta.url);
const snappy = require('snappyjs') as { compress(b: Uint8Array): Uint8Array };
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const WriteRequest = protobuf.loadSync(path.join(root, 'proto/remote.proto')).lookupType('prometheus.WriteRequest');

type Labels = Record<string, string>;
function body(series: Array<{ labels: Labels; samples: number }>, metadata = false): Uint8Array {
  const msg = WriteRequest.fromObject({
    timeseries: series.map((s) => ({
      labels: Object.entries(s.labels)
        .sort()
        .map(([name, value]) => ({ name, value })),
      samples: Array.from({ length: s.samples }, (_, i) => ({ value: i + 0.5, timestamp: 1_796_000_000_000 + i * 1000 })),
    })),
    metadata: metadata ? [{ type: 1, metricFamilyName: 'up', help: 'for the test' }] : [],
  });
  return snappy.compress(WriteRequest.encode(msg).finish());
}

const raw = (n: number, samples = 1): Array<{ labels: Labels; samples: number }> =>
  Array.from({ length: n }, (_, i) => ({ labels: { __name__: 'node_load1', instance: `h${i}`, format: 'x', fo: 'y', forx: 'z' }, samples }));
const gen = (n: number, samples = 1): Array<{ labels: Labels; samples: number }> => Array.from({ length: n }, (_, i) => ({ labels: { __name__: 'anomaly_score', for: 'all', instance: `h${i}` }, samples }));

test('exact mode counts raw and generated samples per series, including mixed requests', () => {
  const sink = new CountingSink('exact');
  assert.ok(sink.ingest(body([...raw(3, 2), ...gen(2, 5)], true)));
  assert.ok(sink.ingest(body(gen(4))));
  const c = sink.counts;
  assert.equal(c.rawSeries, 3);
  assert.equal(c.rawSamples, 6, 'labels named format/fo/forx are not `for`');
  assert.equal(c.generatedSeries, 6);
  assert.equal(c.generatedSamples, 14);
  assert.equal(c.requests, 2);
  assert.equal(c.errors, 0);
  assert.ok(c.lastRawAtMs > 0 && c.lastRawAtMs <= c.lastAtMs);
});

test('raw mode counts raw samples exactly and generated requests without walking them', () => {
  const sink = new CountingSink('raw');
  sink.ingest(body(raw(5)));
  sink.ingest(body(gen(50)));
  sink.ingest(body(raw(1, 3)));
  const c = sink.counts;
  assert.equal(c.rawSamples, 8);
  assert.equal(c.generatedSamples, 0);
  assert.equal(c.generatedRequestsUncounted, 1);
  assert.ok(c.generatedBytesUncounted > 0);
});

test('malformed bodies are errors, not counts', () => {
  const sink = new CountingSink('exact');
  assert.equal(sink.ingest(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff)), false);
  const good = body(raw(2));
  assert.equal(sink.ingest(good.subarray(0, good.length - 2)), false);
  assert.equal(sink.counts.errors, 2);
  assert.equal(sink.counts.rawSamples, 0);
  sink.reset();
  assert.equal(sink.counts.errors, 0);
});

test('over HTTP: 204 for a good request, 400 for a bad one, counts on GET /counts, POST /reset', async () => {
  const { server, port } = await startSink({ port: 0, mode: 'exact' });
  try {
    const url = `http://127.0.0.1:${port}`;
    const r1 = await fetch(`${url}/api/v1/write`, { method: 'POST', body: Buffer.from(body([...raw(2), ...gen(1)])), headers: { 'content-encoding': 'snappy' } });
    assert.equal(r1.status, 204);
    const r2 = await fetch(`${url}/api/v1/write`, { method: 'POST', body: Buffer.from([1, 2, 3]) });
    assert.equal(r2.status, 400);
    const c = (await (await fetch(`${url}/counts`)).json()) as { rawSamples: number; generatedSamples: number; errors: number; requests: number };
    assert.deepEqual([c.rawSamples, c.generatedSamples, c.errors, c.requests], [2, 1, 1, 2]);
    assert.equal((await fetch(`${url}/reset`, { method: 'POST' })).status, 204);
    const z = (await (await fetch(`${url}/counts`)).json()) as { requests: number };
    assert.equal(z.requests, 0);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
