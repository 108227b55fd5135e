// vmagent's shard functions (src/scoring/hashmod.ts): the semantics read from VictoriaMetrics' source,
// each checked against a plain transcription here; the real vmagent's routing is checked in
// test/e2e/shard-hashmod.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { AnomstreamError } from '../../src/errors.js';
import { WriteBatch, WriteRequestDecoder } from '../../src/ingest/write-request.js';
import { Hashmod, ShardByUrl, type LabelPairs } from '../../src/scoring/hashmod.js';
import { U64, fastHashUint64, xxh64 } from '../../src/wire/xxhash64.js';

const WR = protobuf.loadSync(new URL('../../../proto/remote.proto', import.meta.url).pathname).lookupType('prometheus.WriteRequest');
const enc = new TextEncoder();

function hashOf(s: string): U64 {
  const b = enc.encode(s);
  return xxh64(b, 0, b.length, new U64());
}

/** A decoded batch of these series (one sample each). */
function batchOf(series: LabelPairs[]): WriteBatch {
  const bytes = WR.encode(WR.fromObject({ timeseries: series.map((l) => ({ labels: l.map(([name, value]) => ({ name, value })), samples: [{ value: 1, timestamp: 1_790_000_000_000 }] })) })).finish();
  const b = new WriteBatch();
  new WriteRequestDecoder().decode(bytes, b);
  return b;
}

const SERIES: LabelPairs[] = [];
for (let i = 0; i < 300; i++) {
  SERIES.push([
    ['__name__', `node_metric_${i % 7}`],
    ['cpu', String(i % 4)],
    ['instance', `10.0.${i >> 4}.${i & 15}:9100`],
    ['job', 'node'],
    ['az', 'eu-west-1b'],
    ['env', i % 3 ? 'prod' : 'stägïng ✓'],
  ]);
}

test('hashmod: xxh64 of the source label values in config order, joined by ";", mod count', () => {
  const h = new Hashmod({ sourceLabels: ['instance', '__name__'], count: 4 });
  const seen = new Set<number>();
  for (const l of SERIES) {
    const want = hashOf(`${l.find(([n]) => n === 'instance')![1]};${l[0][1]}`).mod(4);
    assert.equal(h.joined(l), `${l[2][1]};${l[0][1]}`);
    assert.equal(h.ofPairs(l), want);
    seen.add(want);
  }
  assert.deepEqual([...seen].sort(), [0, 1, 2, 3], 'every shard gets series');
});

test('hashmod: label order does not matter; a missing label is an empty value; the first of two equal names counts; separator is configurable', () => {
  const h = new Hashmod({ sourceLabels: ['job', 'missing', 'env'], separator: '/', count: 1000 });
  const l: LabelPairs = [
    ['env', 'prod'],
    ['job', 'node'],
    ['env', 'dev'],
  ];
  assert.equal(h.joined(l), 'node//prod');
  assert.equal(h.ofPairs(l), hashOf('node//prod').mod(1000));
  assert.equal(
    h.ofPairs([
      ['env', 'prod'],
      ['job', 'node'],
    ]),
    h.ofPairs([
      ['job', 'node'],
      ['env', 'prod'],
    ]),
  );
  // A single source label: the value alone, no separator.
  const one = new Hashmod({ sourceLabels: ['instance'], count: 7 });
  assert.equal(one.ofPairs(SERIES[5]), hashOf(SERIES[5][2][1]).mod(7));
  assert.equal(one.ofPairs([]), hashOf('').mod(7));
});

test('hashmod: ofSeries on a decoded batch (raw label bytes) agrees with ofPairs, UTF-8 included', () => {
  const batch = batchOf(SERIES);
  for (const sources of [['instance'], ['__name__', 'instance', 'env'], ['env', 'nope']]) {
    for (const count of [2, 3, 16]) {
      const h = new Hashmod({ sourceLabels: sources, count });
      for (let s = 0; s < SERIES.length; s++) assert.equal(h.ofSeries(batch, s), h.ofPairs(SERIES[s]), `${sources} / ${count}, series ${s}`);
    }
  }
});

test('hashmod: configuration errors carry a code and name the path', () => {
  const bad = [
    () => new Hashmod({ sourceLabels: [], count: 2 }),
    () => new Hashmod({ sourceLabels: ['a'], count: 0 }),
    () => new Hashmod({ sourceLabels: ['a'], count: 2.5 }),
    () => new ShardByUrl({ count: 2, urls: ['x'] }),
    () => new ShardByUrl({ count: 2, labels: ['a'], ignoreLabels: ['b'] }),
  ];
  for (const f of bad) assert.throws(f, (e: unknown) => e instanceof AnomstreamError && e.code === 'ANOM_CONFIG_INVALID' && /^shard\./.test(e.message));
});

/** vmagent's getLabelsHash over the labels kept, in their order. */
function labelsHash(l: LabelPairs, keep: (name: string) => boolean = () => true): U64 {
  return hashOf(
    l
      .filter(([n]) => keep(n))
      .map(([n, v]) => n + v)
      .join(''),
  );
}

test('shardByURL before 1.116: xxh64 of name+value of every label in wire order, mod the URL count; order matters; labels / ignoreLabels filter', () => {
  const all = new ShardByUrl({ count: 3 });
  const only = new ShardByUrl({ count: 3, labels: ['instance', '__name__'] });
  const ignore = new ShardByUrl({ count: 3, ignoreLabels: ['az', 'env'] });
  let orderMatters = 0;
  for (const l of SERIES) {
    assert.equal(all.ofPairs(l), labelsHash(l).mod(3));
    assert.equal(only.ofPairs(l), labelsHash(l, (n) => n === 'instance' || n === '__name__').mod(3));
    assert.equal(ignore.ofPairs(l), labelsHash(l, (n) => n !== 'az' && n !== 'env').mod(3));
    if (all.ofPairs([...l].reverse()) !== all.ofPairs(l)) orderMatters++;
  }
  assert.ok(orderMatters > 50, `reversed label order changes the shard of ${orderMatters} of 300`);
});

test('shardByURL 1.116+: rendezvous over "<i>:<url>" node hashes, as lib/consistenthash GetNodeIdx', () => {
  const urls = ['http://10.0.0.1:8490/api/v1/write', 'http://10.0.0.2:8490/api/v1/write', 'http://10.0.0.3:8490/api/v1/write'];
  const r = new ShardByUrl({ urls });
  const nodes = urls.map((u, i) => hashOf(`${i + 1}:${u}`));
  const counts = [0, 0, 0];
  const m = new U64();
  for (const l of SERIES) {
    const h = labelsHash(l);
    let idx = 0;
    let best = 0n;
    nodes.forEach((nh, i) => {
      fastHashUint64((nh.hi ^ h.hi) >>> 0, (nh.lo ^ h.lo) >>> 0, m);
      const v = (BigInt(m.hi) << 32n) | BigInt(m.lo);
      if (v > best) {
        best = v;
        idx = i;
      }
    });
    assert.equal(r.ofPairs(l), idx);
    counts[idx]++;
  }
  assert.ok(
    counts.every((c) => c > 60),
    `spread ${counts}`,
  );
});

test('shardByURL: ofSeries on a decoded batch agrees with ofPairs', () => {
  const batch = batchOf(SERIES);
  for (const sh of [new ShardByUrl({ count: 4 }), new ShardByUrl({ count: 2, ignoreLabels: ['env'] }), new ShardByUrl({ urls: ['a', 'b'], labels: ['job', 'cpu'] })]) {
    for (let s = 0; s < SERIES.length; s++) assert.equal(sh.ofSeries(batch, s), sh.ofPairs(SERIES[s]), `series ${s}`);
  }
});
