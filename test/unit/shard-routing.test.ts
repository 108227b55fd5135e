/**
 * Issue 20, ownership and HA pairs, in-process (the proxy's own pipeline, a real HTTP server as the
 * datasource): `shard:` scores only the series this instance owns and counts the others;
 * `reader.ignore_labels` gives the copies of a series one model and one set of generated series,
 * learns a timestamp once and writes one score per timestamp; generated series do not depend on
 * which instance made them. The `shard` and `reader.ignore_labels` config checks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { parse as parseYaml } from 'yaml';
import { startApp, type App } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { WriteBatch, WriteRequestDecoder } from '../../src/ingest/write-request.js';
import { Hashmod } from '../../src/scoring/hashmod.js';
import { SeriesIndex, SeriesKey } from '../../src/scoring/series-index.js';
import { LabelNames } from '../../src/wire/label-names.js';
import { CaptureServer, REMOTE_WRITE_HEADERS, decodeWriteRequest, encodeWriteRequest, metricIn, request, snappyCompress, type InputSeries } from '../e2e/harness.js';

const T0 = 1_790_000_000_000;
const POINTS = 12;

function yaml(url: string, extra: string, reader = ''): unknown {
  return parseYaml(
    [
      'server: { listen: "127.0.0.1:0" }',
      'reader:',
      '  queries: { q: \'{__name__=~"m_.*"}\' }',
      reader,
      'models: { z: { class: zscore_online, min_n_samples_seen: 2 } }',
      `writer: { datasource_url: "${url}" }`,
      'state: { path: "" }',
      extra,
      '',
    ].join('\n'),
  );
}

/** `n` series m_<i % 7>{instance, i}, POINTS points each, 15 s apart. */
function series(n: number, extra: Record<string, string> = {}): InputSeries[] {
  return Array.from({ length: n }, (_, i) => ({
    labels: { __name__: `m_${i % 7}`, instance: `host-${i % 13}:9100`, i: String(i), ...extra },
    timestamps: Array.from({ length: POINTS }, (_, k) => T0 + 15_000 * k),
    values: Array.from({ length: POINTS }, (_, k) => 100 + i + Math.sin(k + i)),
  }));
}

const pairs = (s: InputSeries): [string, string][] => Object.entries(s.labels);

async function withApp(cfg: unknown, sink: CaptureServer, run: (app: App, write: (body: Uint8Array) => Promise<void>) => Promise<void>): Promise<void> {
  const app = await startApp(parseConfig(cfg), pino({ level: 'silent' }));
  try {
    const url = `http://127.0.0.1:${app.receiver.address().port}/api/v1/write`;
    await run(app, async (body) => {
      const r = await request(url, { method: 'POST', body, headers: REMOTE_WRITE_HEADERS });
      assert.equal(r.status, 204, r.body.toString());
    });
    await app.drain();
  } finally {
    await app.close();
  }
}

/** One request per timestamp (as a scrape), every series of `all` in it. */
async function sendRounds(write: (body: Uint8Array) => Promise<void>, all: InputSeries[]): Promise<void> {
  for (let k = 0; k < POINTS; k++) await write(snappyCompress(encodeWriteRequest(all, k, k + 1)));
}

interface Generated {
  /** canonical label set -> timestamps written (in order, repeats kept). */
  series: Map<string, number[]>;
  raw: number;
}

/** What the datasource got: generated series by label set, and how many raw requests. */
function captured(sink: CaptureServer): Generated {
  const out: Generated = { series: new Map(), raw: 0 };
  for (const r of sink.requests) {
    if (r.path !== '/api/v1/write') continue;
    const wr = decodeWriteRequest(r.body);
    const ts = wr.timeseries ?? [];
    if (!ts.some((t) => t.labels?.some((l) => l.name === 'for'))) {
      out.raw++;
      continue;
    }
    for (const t of ts) {
      const key = JSON.stringify((t.labels ?? []).map((l) => [l.name, l.value]).sort());
      out.series.set(key, [...(out.series.get(key) ?? []), ...(t.samples ?? []).map((s) => s.timestamp)]);
    }
  }
  return out;
}

function metric(app: App, name: string): number {
  return metricIn(app.registry.render(), name);
}

test('shard: only the owned series are scored; the others are forwarded and counted once each', async () => {
  const sink = await CaptureServer.start();
  try {
    const all = series(300);
    const h = new Hashmod({ sourceLabels: ['__name__', 'instance'], count: 3 });
    const owned = all.filter((s) => h.ofPairs(pairs(s)) === 1);
    assert.ok(owned.length > 50 && owned.length < 150, `a third or so: ${owned.length}`);
    await withApp(yaml(sink.url, 'shard: { count: 3, index: 1, source_labels: [__name__, instance] }'), sink, async (app, write) => {
      await sendRounds(write, all);
      await app.drain();
      assert.equal(metric(app, 'anomstream_series_not_owned_total'), all.length - owned.length, 'each series not owned counted once, not per request');
      assert.equal(metric(app, 'anomstream_scored_series'), owned.length);
      assert.equal(metric(app, 'anomstream_samples_scored_total'), owned.length * POINTS);
    });
    const got = captured(sink);
    assert.equal(got.raw, POINTS, 'every raw request forwarded');
    const scored = new Set([...got.series.keys()].map((k) => (JSON.parse(k) as [string, string][]).find(([n]) => n === 'i')![1]));
    assert.deepEqual([...scored].sort(), owned.map((s) => s.labels.i).sort(), 'generated series exist for exactly the owned series');
  } finally {
    await sink.close();
  }
});

test('shard_by_url: the same with vmagent 1.116+ rendezvous over the URL list', async () => {
  const sink = await CaptureServer.start();
  try {
    const all = series(120);
    const urls = ['http://a:8490/api/v1/write', 'http://b:8490/api/v1/write'];
    await withApp(yaml(sink.url, `shard: { method: shard_by_url, index: 0, urls: ['${urls[0]}', '${urls[1]}'] }`), sink, async (app, write) => {
      await sendRounds(write, all);
      await app.drain();
      const notOwned = metric(app, 'anomstream_series_not_owned_total');
      const scored = metric(app, 'anomstream_scored_series');
      assert.ok(notOwned > 20 && scored > 20, `both non-empty: ${scored} owned, ${notOwned} not`);
      assert.equal(notOwned + scored, all.length);
    });
  } finally {
    await sink.close();
  }
});

test('ignore_labels: an HA pair shares one model and one set of generated series, without the replica label; each timestamp learnt and scored once', async () => {
  const sink = await CaptureServer.start();
  try {
    const base = series(40);
    // Replica "b" first for half of the rounds, a copy without any replica label for one series.
    const a = series(40, { replica: 'a' });
    const b = series(40, { replica: 'bb' });
    const bare = series(1);
    const learnt = new Map<string, number>();
    await withApp(yaml(sink.url, '', '  ignore_labels: [replica]'), sink, async (app, write) => {
      for (let k = 0; k < POINTS; k++) {
        const order = k % 2 ? [...a, ...b] : [...b, ...a];
        await write(snappyCompress(encodeWriteRequest(k < 3 ? [...bare, ...order] : [...order, ...bare], k, k + 1)));
      }
      await app.drain();
      learnt.set('scored', metric(app, 'anomstream_samples_scored_total'));
      learnt.set('dup', metric(app, 'anomstream_samples_not_learned_total{reason="duplicate"}'));
      learnt.set('models', metric(app, 'anomstream_scored_series'));
      learnt.set('series', metric(app, 'anomstream_series'));
    });
    assert.equal(learnt.get('models'), base.length, 'one model per pair (the bare copy of series 0 shares it too)');
    assert.equal(learnt.get('series'), base.length);
    assert.equal(learnt.get('scored'), base.length * POINTS, 'each timestamp learnt once');
    assert.equal(learnt.get('dup'), (base.length + 1) * POINTS, 'the other copies: not learnt');
    const got = captured(sink);
    const scores = [...got.series.entries()].filter(([k]) => k.includes('"anomaly_score"'));
    assert.equal(scores.length, base.length, 'one anomaly_score series per pair');
    for (const [k, ts] of scores) {
      assert.ok(!k.includes('replica'), `no replica label: ${k}`);
      assert.equal(new Set(ts).size, ts.length, `one score per timestamp: ${k}`);
      assert.equal(ts.length, POINTS - 2, `every timestamp after warm-up: ${k}`);
    }
  } finally {
    await sink.close();
  }
});

test('identity: the generated series of a series are the same bytes whichever instance scores it', async () => {
  const bodies: string[] = [];
  const all = series(60);
  const owned = all.filter((s) => new Hashmod({ sourceLabels: ['__name__', 'instance'], count: 2 }).ofPairs(pairs(s)) === 0);
  for (const extra of ['', 'shard: { count: 2, index: 0, source_labels: [__name__, instance] }']) {
    const sink = await CaptureServer.start();
    try {
      await withApp(yaml(sink.url, extra), sink, (_app, write) => sendRounds(write, owned));
      bodies.push(JSON.stringify([...captured(sink).series.entries()].sort()));
    } finally {
      await sink.close();
    }
  }
  assert.ok(bodies[0].includes('anomaly_score'));
  assert.equal(bodies[1], bodies[0]);
});

test('hashIgnoring: the key of a series with ignored labels is the key of the series without them', () => {
  const dec = new WriteRequestDecoder();
  const batch = new WriteBatch();
  const labels = [
    ['__name__', 'up'],
    ['instance', 'h:1'],
    ['replica', 'a'],
    ['zone', 'z'],
  ];
  const withR = (l: string[][]): InputSeries => ({ labels: Object.fromEntries(l), timestamps: [T0], values: [1] });
  dec.decode(encodeWriteRequest([withR(labels), withR(labels.filter(([n]) => n !== 'replica')), withR([...labels.slice(0, 2), ['replica', 'other'], labels[3]])]), batch);
  const index = new SeriesIndex(10);
  const ignore = new LabelNames(['replica', 'prometheus_replica']);
  const keys = [0, 1, 2].map((s) => {
    const k = new SeriesKey();
    index.hashIgnoring(batch, s, 0, k, ignore);
    return `${k.h1}:${k.h2}`;
  });
  assert.equal(keys[0], keys[1]);
  assert.equal(keys[2], keys[1]);
  const plain = new SeriesKey();
  index.hash(batch, 1, 0, plain);
  assert.equal(`${plain.h1}:${plain.h2}`, keys[1], 'a series without ignored labels keeps its key');
  index.hash(batch, 0, 0, plain);
  assert.notEqual(`${plain.h1}:${plain.h2}`, keys[1], 'hash() does see the replica label');
});

function configError(extra: string, reader = ''): string {
  try {
    parseConfig(yaml('http://127.0.0.1:8428', extra, reader));
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    assert.equal(e.code, 'ANOM_CONFIG_INVALID');
    return e.issues.map((i) => i.path.join('.')).join(' ');
  }
  assert.fail(`expected a ConfigError for ${extra} ${reader}`);
}

test('shard and ignore_labels: every inconsistent setting is an error naming its path', () => {
  assert.equal(configError('shard: { count: 2, index: 0 }'), 'shard.source_labels');
  assert.equal(configError('shard: { index: 0, source_labels: [instance] }'), 'shard.count');
  assert.equal(configError('shard: { count: 2, index: 2, source_labels: [instance] }'), 'shard.index');
  assert.equal(configError('shard: { count: 2, index: 0, source_labels: [instance], urls: [x] }'), 'shard.urls');
  assert.equal(configError('shard: { method: shard_by_url, index: 0 }'), 'shard.urls');
  assert.equal(configError('shard: { method: shard_by_url, index: 0, count: 2, urls: [x, y] }'), 'shard.urls');
  assert.equal(configError('shard: { method: shard_by_url, index: 0, count: 2, separator: "/" }'), 'shard.separator');
  assert.equal(configError('shard: { method: shard_by_url, index: 1, urls: [x] }'), 'shard.index');
  assert.equal(configError('shard: { method: shard_by_url, index: 0, count: 2, labels: [a], ignore_labels: [b] }'), 'shard.ignore_labels');
  assert.equal(configError('shard: { count: 2, index: 0, source_labels: [instance, replica] }', '  ignore_labels: [replica]'), 'shard.source_labels');
  assert.equal(configError('shard: { method: shard_by_url, index: 0, count: 2 }', '  ignore_labels: [replica]'), 'shard.ignore_labels');
  assert.equal(configError('shard: { method: shard_by_url, index: 0, count: 2, labels: [__name__, replica] }', '  ignore_labels: [replica]'), 'shard.labels');
  assert.equal(configError('', '  ignore_labels: [__name__]'), 'reader.ignore_labels');
  assert.equal(configError('', '  ignore_labels: [""]'), 'reader.ignore_labels.0');
  // Consistent ones load.
  const ok = parseConfig(yaml('http://x:1', 'shard: { method: shard_by_url, index: 1, count: 2, ignore_labels: [replica, dc] }', '  ignore_labels: [replica]'));
  assert.deepEqual(ok.reader.ignore_labels, ['replica']);
  assert.equal(ok.shard?.method, 'shard_by_url');
  assert.equal(parseConfig(yaml('http://x:1', 'shard: { count: 4, index: 3, source_labels: [instance], separator: "/" }')).shard?.method, 'hashmod');
});
