import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import snappy from 'snappyjs';
import { DecodeError } from '../../src/errors.js';
import { SnappyReader } from '../../src/wire/snappy.js';
import { SnappyWriter } from '../../src/wire/snappy-writer.js';
import { WriteBatch, WriteRequestDecoder } from '../../src/ingest/write-request.js';

const root = protobuf.loadSync(new URL('../../../proto/remote.proto', import.meta.url).pathname);
const WR = root.lookupType('prometheus.WriteRequest');

/** A WriteRequest with everything real senders put in: labels, samples, exemplars, histograms, metadata. */
function fixture(): Uint8Array {
  const now = 1_790_000_000_000;
  return WR.encode(
    WR.fromObject({
      timeseries: [
        {
          labels: [
            { name: '__name__', value: 'node_cpu_seconds_total' },
            { name: 'cpu', value: '0' },
            { name: 'mode', value: 'idle' },
          ],
          samples: [
            { value: 1.5, timestamp: now },
            { value: -2.25e300, timestamp: now + 15000 },
          ],
          exemplars: [{ labels: [{ name: 'trace_id', value: 'abc' }], value: 1, timestamp: now }],
        },
        {
          labels: [
            { name: '__name__', value: 'up' },
            { name: 'job', value: 'ünïcode ✓' },
          ],
          samples: [{ value: 1, timestamp: 2 ** 52 }],
        },
        // Strings of 128+ bytes: two-byte lengths, off the decoder's fast path.
        {
          labels: [
            { name: '__name__', value: 'm'.repeat(130) },
            { name: 'long', value: 'v'.repeat(200) },
          ],
          samples: [{ value: 3, timestamp: now }],
        },
        { labels: [{ name: '__name__', value: 'h' }], histograms: [{ countInt: 3, sum: 1.5, schema: 1, timestamp: now }] },
        { labels: [{ name: '__name__', value: 'neg' }], samples: [{ value: 0, timestamp: -1000 }] },
      ],
      metadata: [{ type: 1, metricFamilyName: 'up', help: 'Up.', unit: '' }],
    }),
  ).finish();
}

test('hand-written decoder agrees with protobufjs on every field it reads', () => {
  const bytes = fixture();
  const oracle = WR.toObject(WR.decode(bytes), { longs: Number }) as {
    timeseries: { labels?: { name: string; value: string }[]; samples?: { value: number; timestamp: number }[]; exemplars?: unknown[]; histograms?: unknown[] }[];
    metadata: unknown[];
  };
  const b = new WriteBatch();
  new WriteRequestDecoder().decode(bytes, b);
  assert.equal(b.seriesCount, oracle.timeseries.length);
  assert.equal(b.metadataCount, oracle.metadata.length);
  assert.equal(b.exemplarCount, 1);
  assert.equal(b.histogramCount, 1);
  // Labels filled on demand, series by series in reverse order (each fill stands alone), then all again.
  const first = new WriteBatch();
  new WriteRequestDecoder().decode(bytes, first);
  [...oracle.timeseries.entries()].reverse().forEach(([s, ts]) => {
    if (!ts.labels?.length) return;
    first.labels(s);
    assert.equal(first.labelName(first.lblFirst[s]), ts.labels[0].name);
    assert.equal(first.labelValue(first.lblFirst[s]), ts.labels[0].value);
  });
  oracle.timeseries.forEach((ts, s) => {
    const labels = ts.labels ?? [];
    assert.equal(b.lblCount[s], labels.length);
    b.labels(s);
    labels.forEach((l, j) => {
      assert.equal(b.labelName(b.lblFirst[s] + j), l.name);
      assert.equal(b.labelValue(b.lblFirst[s] + j), l.value);
    });
    const samples = ts.samples ?? [];
    assert.equal(b.smpCount[s], samples.length);
    samples.forEach((x, i) => {
      assert.equal(b.value[b.smpFirst[s] + i], x.value);
      assert.equal(b.ts[b.smpFirst[s] + i], x.timestamp);
    });
  });
});

test('16-byte samples (6-byte timestamps) read as protobufjs reads them, at the edges of that length', () => {
  // The decoder's straight-line path takes a Sample of exactly a double and a 6-byte timestamp
  // varint; everything around it (5 and 7 bytes, a non-minimal 6-byte varint, NaN) the general path.
  const times = [2 ** 35 - 1, 2 ** 35, 2 ** 35 + 1, 1_790_000_000_000, 2 ** 42 - 1, 2 ** 42, 2 ** 42 + 12345, 0, 127, 2 ** 53 - 1];
  const values = [0, -0, 1.5, -2.25e300, Number.MIN_VALUE, Infinity, -Infinity, NaN, 42];
  const samples = times.flatMap((t, i) => values.map((v, j) => ({ value: v, timestamp: t + ((i * 7 + j) % 3) })));
  const bytes = WR.encode(WR.fromObject({ timeseries: [{ labels: [{ name: '__name__', value: 'x' }], samples }] })).finish();
  const b = new WriteBatch();
  new WriteRequestDecoder().decode(bytes, b);
  assert.equal(b.smpCount[0], samples.length);
  samples.forEach((x, i) => {
    assert.equal(b.ts[i], x.timestamp, `sample ${i}`);
    assert.ok(Object.is(b.value[i], x.value), `sample ${i}: ${b.value[i]} vs ${x.value}`);
    assert.equal(b.stale[i], 0);
  });
  // 1 ms as a 6-byte varint (continuation bits on zero bytes): valid protobuf, read as 1.
  const s16 = [0x12, 16, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00];
  const series = [0x0a, 5, 0x0a, 1, 0x78, 0x12, 0x00, ...s16];
  const manual = Uint8Array.from([0x0a, series.length, ...series]);
  const m = new WriteBatch();
  new WriteRequestDecoder().decode(manual, m);
  assert.equal(m.sampleCount, 1);
  assert.equal(m.ts[0], 1);
  assert.equal(m.value[0], 1);
});

test('stale markers are recognised by their exact bits, other NaNs are not', () => {
  const staleBits = new Uint8Array([2, 0, 0, 0, 0, 0, 0xf0, 0x7f]);
  const stale = new DataView(staleBits.buffer).getFloat64(0, true);
  const bytes = WR.encode(
    WR.fromObject({
      timeseries: [
        {
          labels: [{ name: '__name__', value: 'x' }],
          samples: [
            { value: stale, timestamp: 1 },
            { value: NaN, timestamp: 2 },
            { value: 1, timestamp: 3 },
          ],
        },
      ],
    }),
  ).finish();
  // protobufjs writes doubles through Float64Array, which may canonicalise NaN; patch the bits in.
  const patched = Uint8Array.from(bytes);
  const first = patched.indexOf(0x09) + 1;
  patched.set(staleBits, first);
  const b = new WriteBatch();
  new WriteRequestDecoder().decode(patched, b);
  assert.deepEqual([...b.stale.subarray(0, 3)], [1, 0, 0]);
  assert.equal(b.staleCount, 1);
});

test('the decoder rejects what is not a remote write 1.0 WriteRequest', () => {
  const d = new WriteRequestDecoder();
  const b = new WriteBatch();
  const good = fixture();
  for (const bad of [good.subarray(0, good.length - 3), Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0x0f]), new TextEncoder().encode('hello, this is not protobuf')]) {
    assert.throws(
      () => d.decode(bad, b),
      (e: unknown) => e instanceof DecodeError && e.code === 'ANOM_DECODE_PROTOBUF',
    );
  }
  for (let i = 0; i < 200; i++) assert.throws(() => d.decode(randomBytes(64 + i), b), DecodeError);
  d.decode(good, b); // still works after failures
  assert.equal(b.seriesCount, 5);
});

test('snappy decompression matches snappyjs and reuses its buffer', () => {
  const s = new SnappyReader();
  // Periods 1..26 make copies at every short offset (overlapping, 4- and 8-byte-at-a-time paths),
  // with every copy-length remainder mod 8.
  const periodic = Array.from({ length: 26 }, (_, k) => new TextEncoder().encode('abcdefghijklmnopqrstuvwxyz'.slice(0, k + 1).repeat(400) + 'xyz'.repeat(k)));
  const inputs = [new Uint8Array(0), fixture(), new TextEncoder().encode('abcabcabcabcabcabcabcabc'.repeat(5000)), randomBytes(100_000), ...periodic];
  for (const raw of inputs) {
    const c = snappy.compress(raw);
    assert.deepEqual(Buffer.from(s.decompress(c, 1 << 24)), Buffer.from(raw));
  }
});

test('the snappy writer: literals and copies (merged runs, 2- and 4-byte distances) read back by snappyjs and our reader', () => {
  const w = new SnappyWriter();
  const r = new SnappyReader();
  const periodic = new TextEncoder().encode('label="value",'.repeat(2000));
  const inputs = [new Uint8Array(0), randomBytes(70_000), Buffer.concat([periodic, randomBytes(70_000), periodic]), fixture()];
  for (const raw of inputs) {
    for (let round = 0; round < 2; round++) {
      w.reset();
      // Chunks of 37 bytes: a copy when they repeat at one of a few distances, else a literal.
      for (let i = 0; i < raw.length; i += 37) {
        const len = Math.min(37, raw.length - i);
        const d = [14, 28, 37, periodic.length + 70_000].find((d) => i >= d && Buffer.compare(raw.subarray(i, i + len), raw.subarray(i - d, i - d + len)) === 0);
        if (d !== undefined) w.copy(d, len);
        else w.literalBytes(raw, i, len);
      }
      assert.equal(w.raw, raw.length);
      const block = w.finish();
      assert.deepEqual(Buffer.from(snappy.uncompress(block)), Buffer.from(raw));
      assert.deepEqual(Buffer.from(r.decompress(block, 1 << 24)), Buffer.from(raw));
      if (raw.length > 50_000) assert.ok(block.length < raw.length * (raw === inputs[2] ? 0.6 : 1.01), `${block.length} bytes for ${raw.length}`);
      w.recycle(block); // the next round writes into this buffer again
    }
  }
});

test('snappy rejects a header announcing more than the limit before allocating', () => {
  const s = new SnappyReader();
  const fourGiB = Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x10]);
  assert.throws(
    () => s.decompress(fourGiB, 32 << 20),
    (e: unknown) => e instanceof DecodeError && e.code === 'ANOM_DECODE_TOO_LARGE',
  );
  assert.equal(s.announced, 4294967296);
  // Random bytes: either an unreadable block or, when the random header announces more than 1 GiB, too large.
  assert.throws(
    () => s.decompress(randomBytes(1000), 1 << 30),
    (e: unknown) => e instanceof DecodeError && (e.code === 'ANOM_DECODE_SNAPPY' || e.code === 'ANOM_DECODE_TOO_LARGE'),
  );
  assert.throws(
    () => s.decompress(Uint8Array.from([0x05, 0x00, 0x41]), 100),
    (e: unknown) => e instanceof DecodeError && e.code === 'ANOM_DECODE_SNAPPY',
  );
});
