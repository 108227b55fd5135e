// The Emitter holds a block that is not full for the next requests of the same tenant (one POST
// for several requests that come one by one), sends it within HOLD_MS, at once for another
// tenant, on drain() and on a reload.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import { Emitter } from '../../src/emit/emitter.js';
import type { GeneratedSink } from '../../src/emit/sinks.js';
import type { PostResult } from '../../src/forward/downstream.js';
import { WriteBatch, WriteRequestDecoder } from '../../src/ingest/write-request.js';
import { Registry } from '../../src/metrics/registry.js';
import { compileScoring } from '../../src/scoring/instances.js';
import { Scoring } from '../../src/scoring/scoring.js';
import { SnappyReader } from '../../src/wire/snappy.js';
import { writeRequestToJsonLines } from '../../src/emit/json-lines.js';
import { encodeWriteRequest } from '../e2e/harness.js';

function setup() {
  const cfg = parseConfig({ reader: { queries: { q: '{__name__=~".+"}' } }, models: { z: { class: 'zscore_online', min_n_samples_seen: 0 } }, writer: { datasource_url: 'http://127.0.0.1:1' } });
  const spec = compileScoring(cfg.reader.queries, cfg.models);
  const registry = new Registry();
  const scoring = new Scoring(spec, { maxSeries: 1000 }, registry);
  const sent: { tenant: string | null; series: string[] }[] = [];
  const snappy = new SnappyReader();
  const sink: GeneratedSink = {
    name: 'test',
    send: (tenant: string | null, body: Uint8Array): Promise<PostResult> => {
      const lines = writeRequestToJsonLines(snappy.decompress(body, 1 << 26))
        .trim()
        .split('\n');
      sent.push({ tenant, series: lines.map((l) => `${JSON.parse(l).metric.__name__} ${JSON.parse(l).metric.host}`) });
      return Promise.resolve({ status: 204, outcome: 'accepted', reason: '' });
    },
  };
  const emit = new Emitter(cfg.writer, spec.instances, sink, registry, pino({ level: 'silent' }));
  const decoder = new WriteRequestDecoder();
  const batch = new WriteBatch();
  const request = (tenant: string | null, host: string): Promise<void> => {
    decoder.decode(encodeWriteRequest([{ labels: { __name__: 'm', host }, timestamps: [Date.now() - 2000, Date.now() - 1000], values: [1, 2] }]), batch);
    scoring.score(batch, tenant, emit.begin(tenant));
    return emit.done(tenant);
  };
  return { emit, sent, request, cfg, spec };
}

test('requests that come one by one share one generated block, sent within 100 ms', async () => {
  const { sent, request } = setup();
  await request(null, 'a');
  await request(null, 'b');
  assert.equal(sent.length, 0, 'held for more series');
  await sleep(250);
  assert.equal(sent.length, 1, 'one write for both requests');
  assert.equal(sent[0].tenant, null);
  assert.ok(sent[0].series.includes('anomaly_score a') && sent[0].series.includes('anomaly_score b'), sent[0].series.join(', '));
  await request(null, 'c');
  await sleep(250);
  assert.equal(sent.length, 2, 'the next request starts a new block');
  assert.deepEqual(
    sent[1].series.filter((s) => s.startsWith('anomaly_score')),
    ['anomaly_score c'],
  );
});

test('a held block goes at once when another tenant comes, on drain() and on a reload', async () => {
  const { emit, sent, request, cfg, spec } = setup();
  await request('1', 'a');
  await request('2', 'b');
  assert.equal(sent.length, 1, "tenant 1's block is sent when tenant 2's request is scored");
  assert.equal(sent[0].tenant, '1');
  await emit.drain();
  assert.equal(sent.length, 2, 'drain sends the held block');
  assert.equal(sent[1].tenant, '2');
  await request('2', 'c');
  emit.reconfigure(cfg.writer, spec.instances, emit.currentSink);
  assert.equal(sent.length, 3, 'a reload sends the held block first');
  await sleep(250);
  assert.equal(sent.length, 3, 'and nothing is sent twice');
});
