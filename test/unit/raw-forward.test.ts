// The content-encoding registry (which encoding reads a body) and the raw forward's zstd policy
// (src/ingest/raw-forward.ts) against real HTTP servers on 127.0.0.1 that read zstd, do not read
// it (as VictoriaMetrics 1.79.5: 400 "snappy: corrupt input"), or refuse everything.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import { Downstream } from '../../src/forward/downstream.js';
import { defaultEncodings, foreignFormat } from '../../src/ingest/encodings.js';
import { RawForward, REPROBE_MS } from '../../src/ingest/raw-forward.js';
import { Registry } from '../../src/metrics/registry.js';
import { SnappyReader } from '../../src/wire/snappy.js';
import { isZstd } from '../../src/wire/zstd.js';
import { datasource, haveCli, LIMIT, metric, request, snappyOnly, zstdCli } from './forward-helpers.js';

function setup(url: URL, now: () => number = Date.now) {
  const registry = new Registry();
  const encodings = defaultEncodings();
  // The answer budget is not under test here (no test waits for it): wide, so a starved process is not a failure.
  const downstream = new Downstream({ url, timeoutMs: 30_000 });
  const forward = new RawForward(downstream, encodings, registry, pino({ level: 'silent' }), now);
  return { registry, forward, downstream, snappy: encodings.get('snappy')!, zstd: encodings.get('zstd')! };
}

test('pick: the body decides, whatever its header; foreignFormat names gzip, framed snappy and lz4', () => {
  const e = defaultEncodings();
  const zstdBody = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x20, 0, 1, 0, 0]);
  const { snappy, raw } = request(3);
  const gzip = gzipSync(raw);
  const framed = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59, 0x01]);
  const lz4 = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x64, 0x40, 0xa7]);
  assert.equal(e.pick(zstdBody).name, 'zstd');
  assert.equal(e.pick(snappy).name, 'snappy');
  assert.equal(e.pick(new Uint8Array(0)).name, 'snappy');
  assert.equal(foreignFormat(snappy), null);
  assert.equal(foreignFormat(zstdBody), null);
  assert.equal(foreignFormat(new Uint8Array(0)), null);
  assert.equal(foreignFormat(gzip), 'gzip');
  assert.equal(foreignFormat(framed), 'framed snappy (the stream format)');
  assert.equal(foreignFormat(lz4), 'lz4 frame');
  // None of them is a snappy block: our reader refuses each (so naming them costs no readable body).
  for (const b of [gzip, framed, lz4]) assert.throws(() => new SnappyReader().decompress(b, 1 << 20), /snappy/);
});

test('announcedSize: the decoded size from the header, before decompressing', (t) => {
  if (!haveCli(t)) return;
  const e = defaultEncodings();
  const { snappy, raw } = request(300);
  assert.equal(e.get('snappy')!.announcedSize(snappy), raw.length);
  assert.equal(e.get('zstd')!.announcedSize(zstdCli(raw)), raw.length);
  assert.equal(e.get('snappy')!.announcedSize(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])), -1, 'a length header longer than 5 bytes');
  assert.equal(e.get('snappy')!.announcedSize(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x10])), 2 ** 32);
});

test('a datasource that reads zstd gets the zstd body byte for byte with VictoriaMetrics headers', async (t) => {
  if (!haveCli(t)) return;
  const ds = await datasource(() => 204);
  const { registry, forward, downstream, zstd } = setup(ds.url);
  try {
    for (let i = 0; i < 3; i++) {
      const { raw } = request(200, i);
      const body = zstdCli(raw);
      const r = await forward.post('/api/v1/write', body, zstd, raw);
      assert.equal(r.outcome, 'accepted');
      assert.deepEqual(ds.got[i].body, body);
      assert.equal(ds.got[i].headers['content-encoding'], 'zstd');
      assert.equal(ds.got[i].headers['x-victoriametrics-remote-write-version'], '1');
      assert.equal(ds.got[i].headers['content-type'], 'application/x-protobuf');
    }
    assert.equal(ds.got.length, 3, 'one request each');
    assert.equal(metric(registry, 'anomstream_downstream_zstd'), 1);
    assert.equal(metric(registry, 'anomstream_forward_reencoded_total{from="zstd"}'), 0);
  } finally {
    await downstream.close();
    await ds.close();
  }
});

test('a datasource without zstd: the 400 is not the answer; re-encoded as snappy, learnt, re-probed every 10 minutes', async (t) => {
  if (!haveCli(t)) return;
  const ds = await datasource(snappyOnly);
  let clock = 1_000_000;
  const { registry, forward, downstream, zstd, snappy } = setup(ds.url, () => clock);
  const send = async (round: number): Promise<void> => {
    const { raw } = request(150, round);
    const r = await forward.post('/api/v1/write', zstdCli(raw), zstd, raw);
    assert.equal(r.outcome, 'accepted', `round ${round}: ${r.reason}`);
    const last = ds.got[ds.got.length - 1];
    assert.equal(last.headers['content-encoding'], 'snappy');
    assert.equal(last.headers['x-prometheus-remote-write-version'], '0.1.0');
    assert.deepEqual(Buffer.from(new SnappyReader().decompress(last.body, LIMIT)), Buffer.from(raw), `round ${round}: the re-encoding holds the same WriteRequest`);
  };
  try {
    await send(0);
    assert.deepEqual(
      ds.got.map((g) => g.headers['content-encoding']),
      ['zstd', 'snappy'],
      'first: as it came, then re-encoded',
    );
    assert.equal(metric(registry, 'anomstream_downstream_zstd'), 0);
    await send(1);
    clock += REPROBE_MS - 1;
    await send(2);
    assert.equal(ds.got.length, 4, 'once learnt, one request per body, re-encoded before the first send');
    clock += 1;
    await send(3);
    assert.deepEqual(
      ds.got.slice(4).map((g) => g.headers['content-encoding']),
      ['zstd', 'snappy'],
      'after 10 minutes: one re-probe',
    );
    await send(4);
    assert.equal(ds.got.length, 7);
    assert.equal(metric(registry, 'anomstream_forward_reencoded_total{from="zstd"}'), 5);
    // Snappy bodies are not touched.
    const { snappy: body, raw } = request(10, 5);
    await forward.post('/api/v1/write', body, snappy, raw);
    assert.deepEqual(ds.got[7].body, body);
  } finally {
    await downstream.close();
    await ds.close();
  }
});

test('an upgraded datasource is found by the re-probe; a refusal of the data itself (400 to both) is passed on and teaches nothing', async (t) => {
  if (!haveCli(t)) return;
  let reads = false;
  let refuseAll = false;
  const ds = await datasource((g) => (refuseAll ? 400 : reads || !isZstd(g.body) ? 204 : 415));
  let clock = 0;
  const { registry, forward, downstream, zstd } = setup(ds.url, () => clock);
  try {
    const { raw } = request(50);
    const body = zstdCli(raw);
    assert.equal((await forward.post('/api/v1/write', body, zstd, raw)).outcome, 'accepted', '415 is handled as 400');
    assert.equal(metric(registry, 'anomstream_downstream_zstd'), 0);
    reads = true;
    clock += REPROBE_MS;
    assert.equal((await forward.post('/api/v1/write', body, zstd, raw)).outcome, 'accepted');
    assert.equal(metric(registry, 'anomstream_downstream_zstd'), 1, 'the re-probe was accepted');
    const n = ds.got.length;
    await forward.post('/api/v1/write', body, zstd, raw);
    assert.equal(ds.got.length, n + 1);
    assert.equal(ds.got[n].headers['content-encoding'], 'zstd');

    refuseAll = true;
    const r = await forward.post('/api/v1/write', body, zstd, raw);
    assert.equal(r.status, 400);
    assert.equal(r.outcome, 'rejected');
    assert.deepEqual(
      ds.got.slice(n + 1).map((g) => g.headers['content-encoding']),
      ['zstd', 'snappy'],
    );
    assert.equal(metric(registry, 'anomstream_downstream_zstd'), 1, 'still forwarded as it came');
  } finally {
    await downstream.close();
    await ds.close();
  }
});

test('a retryable answer to a zstd body is the answer: no re-encoding', async (t) => {
  if (!haveCli(t)) return;
  const ds = await datasource(() => 503);
  const { forward, downstream, zstd } = setup(ds.url);
  try {
    const { raw } = request(20);
    const r = await forward.post('/api/v1/write', zstdCli(raw), zstd, raw);
    assert.equal(r.outcome, 'retryable');
    assert.equal(ds.got.length, 1);
  } finally {
    await downstream.close();
    await ds.close();
  }
});
