import assert from 'node:assert/strict';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import { WriteBatch, WriteRequestDecoder } from '../../src/ingest/write-request.js';
import { SeriesIndex, SeriesKey } from '../../src/scoring/series-index.js';
import { LabelNames } from '../../src/wire/label-names.js';

const root = protobuf.loadSync(new URL('../../../proto/remote.proto', import.meta.url).pathname);
const WR = root.lookupType('prometheus.WriteRequest');

function batchOf(series: { labels: [string, string][]; ts: number }[]): WriteBatch {
  const b = new WriteBatch();
  const msg = WR.fromObject({
    timeseries: series.map((s) => ({ labels: s.labels.map(([name, value]) => ({ name, value })), samples: [{ value: 1, timestamp: s.ts }] })),
  });
  new WriteRequestDecoder().decode(WR.encode(msg).finish(), b);
  return b;
}

const key = new SeriesKey();

function ids(index: SeriesIndex, b: WriteBatch, seed = 0): number[] {
  const out: number[] = [];
  for (let s = 0; s < b.seriesCount; s++) {
    index.hash(b, s, seed, key);
    let id = index.find(key);
    if (id < 0) id = index.add(key, 0);
    out.push(id);
  }
  return out;
}

test('the same labels get the same id across requests, distinct labels distinct ids', () => {
  const n = 100_000;
  const mk = (ts: number) =>
    batchOf(
      Array.from({ length: n }, (_, i) => ({
        labels: [
          ['__name__', 'm'],
          ['i', String(i)],
          // label boundaries matter: ("ab","c") and ("a","bc") are different series
          ['x', i % 2 ? 'ab' : 'a'],
          ['y', i % 2 ? 'c' : 'bc'],
        ] as [string, string][],
        ts,
      })),
    );
  const index = new SeriesIndex(1e6);
  const first = ids(index, mk(1000));
  assert.equal(new Set(first).size, n, 'no two series share an id');
  assert.deepEqual(ids(index, mk(2000)), first, 'a later request (other timestamps) finds the same ids');
  assert.equal(index.size, n);
});

test('the tenant seed separates identical label sets; the limit is enforced', () => {
  const b = batchOf([{ labels: [['__name__', 'up']], ts: 1 }]);
  const index = new SeriesIndex(2);
  const [a] = ids(index, b, 1);
  const [c] = ids(index, b, 2);
  assert.notEqual(a, c);
  const extra = batchOf([{ labels: [['__name__', 'other']], ts: 1 }]);
  index.hash(extra, 0, 0, key);
  assert.equal(index.find(key), -1);
  assert.equal(index.add(key, 0), -1, 'full: no id');
});

test('contiguous and interleaved label encodings are both indexed', () => {
  // Build a TimeSeries whose labels are interleaved with its samples on the wire.
  const label = (n: string, v: string) => {
    const nb = Buffer.from(n);
    const vb = Buffer.from(v);
    const inner = Buffer.concat([Buffer.from([0x0a, nb.length]), nb, Buffer.from([0x12, vb.length]), vb]);
    return Buffer.concat([Buffer.from([0x0a, inner.length]), inner]);
  };
  const sample = Buffer.from([0x12, 11, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0x05]);
  const ts = Buffer.concat([label('__name__', 'up'), sample, label('job', 'x')]);
  const req = Buffer.concat([Buffer.from([0x0a, ts.length]), ts]);
  const b = new WriteBatch();
  new WriteRequestDecoder().decode(req, b);
  assert.equal(b.lblStart[0], -1, 'interleaved labels are flagged');
  b.labels(0);
  assert.equal(b.labelValue(b.lblFirst[0]), 'up');
  assert.equal(b.labelValue(b.lblFirst[0] + 1), 'x');
  const index = new SeriesIndex(10);
  const [id1] = ids(index, b);
  const [id2] = ids(index, b);
  assert.equal(id1, id2);
});

test('idle series are evicted, their ids reused, and every other series still found (random ops vs a Map)', () => {
  const n = 5000;
  const b = batchOf(
    Array.from({ length: n }, (_, i) => ({
      labels: [
        ['__name__', 'm'],
        ['i', String(i)],
      ] as [string, string][],
      ts: 1,
    })),
  );
  const index = new SeriesIndex(1e6);
  const oracle = new Map<number, number>(); // series -> id
  let seed = 7;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  let now: number;
  for (let round = 1; round <= 40; round++) {
    now = round;
    // Touch or add a random third of the series.
    for (let k = 0; k < n / 3; k++) {
      const s = Math.floor(rand() * n);
      index.hash(b, s, 0, key);
      const id = index.find(key);
      if (oracle.has(s)) {
        assert.equal(id, oracle.get(s), `series ${s} keeps its id`);
        index.touch(id, now);
      } else {
        assert.equal(id, -1, `evicted/new series ${s} is not found`);
        const added = index.add(key, now);
        assert.ok(![...oracle.values()].includes(added), 'a new id is not in use');
        oracle.set(s, added);
      }
    }
    // Forget what was not seen in the last 3 rounds.
    const evicted = new Set<number>();
    index.evictIdle(round - 2, (id) => evicted.add(id));
    for (const [s, id] of oracle) if (evicted.has(id)) oracle.delete(s);
    assert.equal(index.size, oracle.size);
  }
  for (const [s, id] of oracle) {
    index.hash(b, s, 0, key);
    assert.equal(index.find(key), id);
  }
  assert.ok(index.end < n, `ids are reused (${index.end} ids handed out for ${n} series)`);
});

test('findFrom: a right guess is taken, a wrong, out-of-range or evicted guess falls back to the table', () => {
  const b = batchOf(
    Array.from({ length: 3 }, (_, i) => ({
      labels: [
        ['__name__', 'g'],
        ['i', String(i)],
      ] as [string, string][],
      ts: 1,
    })),
  );
  const index = new SeriesIndex(10);
  let now = 1;
  const ids = [0, 1, 2].map((s) => {
    index.hash(b, s, 0, key);
    return index.add(key, now);
  });
  index.hash(b, 1, 0, key);
  assert.equal(index.findFrom(key, ids[1]), ids[1]);
  assert.equal(index.findFrom(key, ids[2]), ids[1], 'wrong guess');
  assert.equal(index.findFrom(key, 99), ids[1], 'guess past the end');
  now = 5;
  index.hash(b, 0, 0, key);
  index.touch(index.find(key), now);
  index.hash(b, 2, 0, key);
  index.touch(index.find(key), now);
  index.evictIdle(2, () => {});
  index.hash(b, 1, 0, key);
  assert.equal(index.findFrom(key, ids[1]), -1, 'an evicted id is not found through a guess');
});

test('each 32-bit half of the series hash collides about as often as a random one (300k similar label sets)', () => {
  // Label sets that differ in a few bytes (scrape-like: host, cpu, mode), hashed in batches.
  const modes = ['idle', 'iowait', 'irq', 'nice', 'softirq', 'steal', 'system', 'user'];
  const n = 300_000;
  const h1 = new Uint32Array(n);
  const h2 = new Uint32Array(n);
  const index = new SeriesIndex(10);
  for (let s0 = 0; s0 < n; s0 += 2000) {
    const b = batchOf(
      Array.from({ length: 2000 }, (_, k) => {
        const i = s0 + k;
        const host = i >> 5;
        return {
          labels: [
            ['__name__', i % 3 === 0 ? 'node_cpu_seconds_total' : 'node_cpu_guest_seconds_total'],
            ['cpu', String((i >> 3) & 3)],
            ['instance', `10.${(host >> 16) & 255}.${(host >> 8) & 255}.${host & 255}:9100`],
            ['job', 'node'],
            ['mode', modes[i & 7]],
          ],
          ts: 1,
        };
      }),
    );
    for (let s = 0; s < b.seriesCount; s++) {
      index.hash(b, s, 0, key);
      h1[s0 + s] = key.h1;
      h2[s0 + s] = key.h2;
    }
  }
  const collisions = (h: Uint32Array): number => {
    const x = h.slice().sort();
    let c = 0;
    for (let i = 1; i < x.length; i++) if (x[i] === x[i - 1]) c++;
    return c;
  };
  // A random 32-bit hash: n^2 / 2^33 = 10.5 expected collisions; a weak one gives hundreds.
  assert.ok(collisions(h1) <= 40, `first half: ${collisions(h1)} collisions`);
  assert.ok(collisions(h2) <= 40, `second half: ${collisions(h2)} collisions`);
  const both = new Set<number>();
  for (let i = 0; i < n; i++) both.add(h1[i] * 2 ** 32 + h2[i]);
  assert.equal(both.size, n, 'no two label sets share the 64-bit hash');
});

test('ignore_labels: a series keys as the same series without its ignored labels, on the one-walk path and on the general one', () => {
  const index = new SeriesIndex(1000);
  const ignore = new LabelNames(['replica', 'zone']);
  const long = 'v'.repeat(200); // a value of 128+ bytes: the general path (labels filled, then gathered)
  const sets: [string, string][][] = [
    [
      ['__name__', 'up'],
      ['job', 'a'],
    ],
    [
      ['__name__', 'up'],
      ['job', long],
    ],
    [
      ['__name__', 'node_cpu'],
      ['cpu', '0'],
      ['mode', 'idle'],
    ],
  ];
  for (const labels of sets) {
    const plain = batchOf([{ labels, ts: 1 }]);
    const copies = batchOf([
      { labels: [...labels, ['replica', 'A']], ts: 1 },
      { labels: [['replica', 'B'], ...labels], ts: 1 },
      { labels: [labels[0], ['zone', 'z'], ...labels.slice(1), ['replica', 'C']], ts: 1 },
      { labels: [...labels, ['replica', long]], ts: 1 },
    ]);
    index.hash(plain, 0, 7, key);
    const want = [key.h1, key.h2];
    index.hashIgnoring(plain, 0, 7, key, ignore);
    assert.deepEqual([key.h1, key.h2], want, 'nothing ignored: the same key as hash()');
    for (let s = 0; s < copies.seriesCount; s++) {
      index.hashIgnoring(copies, s, 7, key, ignore);
      assert.deepEqual([key.h1, key.h2], want, `copy ${s} of ${JSON.stringify(labels).slice(0, 60)}`);
    }
  }
  // a label that is not ignored still counts
  const other = batchOf([
    {
      labels: [
        ['__name__', 'up'],
        ['job', 'b'],
        ['replica', 'A'],
      ],
      ts: 1,
    },
  ]);
  index.hashIgnoring(other, 0, 7, key, ignore);
  const a = [key.h1, key.h2];
  index.hashIgnoring(
    batchOf([
      {
        labels: [
          ['__name__', 'up'],
          ['job', 'a'],
          ['replica', 'A'],
        ],
        ts: 1,
      },
    ]),
    0,
    7,
    key,
    ignore,
  );
  assert.notDeepEqual([key.h1, key.h2], a);
});
