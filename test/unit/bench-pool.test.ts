// The load generator's pool, checked against protobufjs + snappyjs as the oracle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import protobuf from 'protobufjs';
import { buildPool, materialize, putTs6 } from '../../bench/load/pool.js';
import { valueAt, HOST_SERIES } from '../../bench/load/labels.js';
import { compressWithSlots } from '../../bench/load/snappy.js';
import { DecodeError } from '../../src/errors.js';
import { SnappyReader } from '../../src/wire/snappy.js';

const require = createRequire(import.meta.url);
const snappy = require('snappyjs') as { uncompress(b: Uint8Array): Uint8Array; compress(b: Uint8Array): Uint8Array };
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const WriteRequest = protobuf.loadSync(path.join(root, 'proto/remote.proto')).lookupType('prometheus.WriteRequest');

interface Decoded {
  timeseries: Array<{ labels: Array<{ name: string; value: string }>; samples: Array<{ value: number; timestamp: number }> }>;
}
function decode(body: Uint8Array): Decoded {
  return WriteRequest.toObject(WriteRequest.decode(snappy.uncompress(body)), { longs: Number, defaults: true }) as Decoded;
}

test('every request decodes to sorted labels, one sample per series, the right value and timestamp', () => {
  const nowMs = Date.UTC(2026, 10, 29, 8, 0, 0);
  const pool = buildPool({ series: 300, samplesPerSeries: 4, samplesPerRequest: 128, intervalMs: 15_000, nowMs });
  assert.equal(pool.requestsPerRound, 3);
  assert.equal(pool.totalRequests, 12);
  assert.equal(pool.startMs, nowMs - 60_000 - 3 * 15_000);
  let samples = 0;
  for (let i = 0; i < pool.totalRequests; i++) {
    const round = Math.floor(i / 3);
    const req = decode(materialize(pool, i));
    assert.equal(req.timeseries.length, i % 3 === 2 ? 300 - 256 : 128);
    req.timeseries.forEach((ts, k) => {
      const s = (i % 3) * 128 + k;
      const names = ts.labels.map((l) => l.name);
      assert.deepEqual(names, [...names].sort(), `labels sorted in request ${i}`);
      assert.equal(new Set(names).size, names.length);
      assert.equal(names[0], '__name__');
      assert.deepEqual(
        ts.labels.map((l) => [l.name, l.value]),
        pool.specs[s].labels,
      );
      assert.equal(ts.samples.length, 1);
      assert.equal(ts.samples[0].timestamp, pool.startMs + round * 15_000);
      assert.equal(ts.samples[0].value, valueAt(pool.specs[s], s, round));
      samples++;
    });
  }
  assert.equal(samples, pool.totalSamples);
});

test('label sets are node_exporter-like, about 10% node_cpu_seconds_total{mode=~"idle|user|system"}', () => {
  const pool = buildPool({ series: 10 * HOST_SERIES, samplesPerSeries: 1, samplesPerRequest: 2000, intervalMs: 10_000, nowMs: Date.now() });
  const keys = new Set(pool.specs.map((s) => JSON.stringify(s.labels)));
  assert.equal(keys.size, pool.specs.length, 'series are distinct');
  const cpu = pool.specs.filter((s) => {
    const l = Object.fromEntries(s.labels);
    return l.__name__ === 'node_cpu_seconds_total' && /^(idle|user|system)$/.test(l.mode);
  }).length;
  assert.equal(cpu, 120);
  assert.ok(cpu / pool.specs.length > 0.09 && cpu / pool.specs.length < 0.11);
});

test("the product's snappy reader reads the load generator's blocks like snappyjs, and can stop early", () => {
  const pool = buildPool({ series: 2500, samplesPerSeries: 2, samplesPerRequest: 2000, intervalMs: 10_000, nowMs: Date.now() });
  const body = materialize(pool, 2);
  const want = snappy.uncompress(body);
  const reader = new SnappyReader();
  assert.ok(Buffer.from(reader.decompress(body, 1 << 24)).equals(want), 'same bytes as snappyjs');
  assert.equal(reader.announced, want.length);
  const theirs = snappy.compress(want);
  assert.ok(Buffer.from(reader.decompress(theirs, 1 << 24)).equals(want), 'same bytes from a snappyjs block');
  const head = reader.decompress(theirs, 1 << 24, 100);
  assert.ok(head.length >= 100 && head.length < want.length);
  assert.ok(Buffer.from(head).equals(want.subarray(0, head.length)));
  assert.throws(
    () => reader.decompress(body.subarray(0, body.length - 3), 1 << 24),
    (e: unknown) => e instanceof DecodeError && e.code === 'ANOM_DECODE_SNAPPY',
    'truncated block',
  );
  assert.throws(
    () => reader.decompress(body, 10),
    (e: unknown) => e instanceof DecodeError && e.code === 'ANOM_DECODE_TOO_LARGE',
    'announces more than the limit',
  );
});

test('compressWithSlots keeps masked bytes literal and reports where they landed', () => {
  const src = new TextEncoder().encode('abcdabcdabcdXYZabcdabcdabcdXYZabcdabcd');
  const mask = new Uint8Array(src.length);
  mask.fill(1, 12, 15);
  mask.fill(1, 27, 30);
  const { block, trackedAt } = compressWithSlots(src, mask, Uint32Array.of(12, 13, 27));
  assert.ok(block.length < src.length, 'repeats are compressed');
  assert.deepEqual(snappy.uncompress(block), src);
  assert.deepEqual(
    [...trackedAt].map((o) => String.fromCharCode(block[o])),
    ['X', 'Y', 'X'],
  );
  block[trackedAt[2]] = 0x51; // patch the second X into Q: only that byte changes
  const out = new TextDecoder().decode(snappy.uncompress(block));
  assert.equal(out, 'abcdabcdabcdXYZabcdabcdabcdQYZabcdabcd');
});

test('putTs6 writes a 6-byte varint', () => {
  const b = new Uint8Array(6);
  putTs6(b, 0, 1_796_000_000_123);
  let v = 0;
  for (let i = 5; i >= 0; i--) v = v * 128 + (b[i] & 0x7f);
  assert.equal(v, 1_796_000_000_123);
  assert.ok(b[5] < 0x80 && b.slice(0, 5).every((x) => x >= 0x80));
});

test('vmagent shape: 6-9 labels, __name__ first, exporter labels, instance, job, then az, env, region; same series as the prometheus shape', () => {
  const n = 3 * HOST_SERIES;
  const nowMs = Date.UTC(2026, 11, 3, 8, 0, 0);
  const pool = buildPool({ series: n, samplesPerSeries: 1, samplesPerRequest: 2000, intervalMs: 10_000, nowMs, shape: 'vmagent' });
  const prom = buildPool({ series: n, samplesPerSeries: 1, samplesPerRequest: 2000, intervalMs: 10_000, nowMs });
  const req = decode(materialize(pool, 0));
  assert.equal(req.timeseries.length, n);
  const counts = new Set<number>();
  let unsorted = 0;
  req.timeseries.forEach((ts, s) => {
    const names = ts.labels.map((l) => l.name);
    counts.add(names.length);
    assert.equal(names[0], '__name__');
    assert.deepEqual(names.slice(-5), ['instance', 'job', 'az', 'env', 'region'], `series ${s}`);
    const own = names.slice(1, -5);
    assert.deepEqual(own, [...own].sort(), 'exporter labels in exposition order (sorted)');
    if (names.join() !== [...names].sort().join()) unsorted++;
    // The same label set as the prometheus shape plus the external labels, in another order.
    const extra = Object.fromEntries(ts.labels.map((l) => [l.name, l.value]));
    assert.match(extra.az, new RegExp(`^${extra.region}[abc]$`));
    assert.ok(extra.env === 'prod' || extra.env === 'staging');
    const base = ts.labels.filter((l) => !['az', 'env', 'region'].includes(l.name)).map((l) => [l.name, l.value]);
    assert.deepEqual(base.sort(), [...prom.specs[s].labels].sort());
  });
  assert.deepEqual([...counts].sort(), [6, 7, 8, 9]);
  assert.equal(unsorted, n, 'no series is sorted by name (az, env, region come after instance and job)');
  const regions = new Set(req.timeseries.map((ts) => ts.labels.find((l) => l.name === 'region')!.value));
  assert.equal(regions.size, 3);
});

test('--shard-exact: each shard gets exactly series / count series of its own shard, none twice, and endAgoMs moves the last round', async () => {
  const { Hashmod } = await import('../../src/scoring/hashmod.js');
  const nowMs = Date.UTC(2026, 11, 3, 18, 0, 0);
  const sourceLabels = ['__name__', 'instance'];
  const h = new Hashmod({ sourceLabels, count: 2 });
  const seen = new Set<string>();
  for (const index of [0, 1]) {
    const pool = buildPool({ series: 800, samplesPerSeries: 1, samplesPerRequest: 200, intervalMs: 10_000, nowMs, endAgoMs: 5 * 60_000, shard: { count: 2, index, sourceLabels, exact: true } });
    assert.equal(pool.specs.length, 400);
    assert.equal(pool.requestsPerRound, 2);
    assert.equal(pool.startMs, nowMs - 5 * 60_000);
    for (const s of pool.specs) {
      assert.equal(h.ofPairs(s.labels), index);
      const key = JSON.stringify(s.labels);
      assert.ok(!seen.has(key), 'a series in both shards');
      seen.add(key);
    }
  }
  // Without `exact` a shard keeps its share of the first 800 series only.
  const loose = buildPool({ series: 800, samplesPerSeries: 1, samplesPerRequest: 200, intervalMs: 10_000, nowMs, shard: { count: 2, index: 0, sourceLabels } });
  assert.ok(loose.specs.length < 800 && loose.specs.length !== 400, `loose share ${loose.specs.length}`);
});
