/**
 * Timestamps a model must not learn (issue 16 item 4), through Scoring.score(): a sample far in
 * the future, out-of-order samples (scored against the current model, not learned), duplicates
 * of the newest point; and the idle clock that stops while the datasource is down (item 3).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileModel, modelEntry, type ModelConfig } from '../../src/config/models.js';
import { Registry } from '../../src/metrics/registry.js';
import { Prediction } from '../../src/models/model.js';
import { compileScoring } from '../../src/scoring/instances.js';
import { Scoring } from '../../src/scoring/scoring.js';
import { UpClock } from '../../src/scoring/clock.js';
import { batchOf, CollectingSink, metricValue } from './scoring-helpers.js';

const NOW = Date.UTC(2026, 11, 3, 12);
const STEP = 15_000;
const WARMUP = 5;

function unit(maxFutureMs = 600_000) {
  const reg = new Registry();
  const models = { m: modelEntry.parse({ class: 'zscore_online', min_n_samples_seen: WARMUP }) as ModelConfig };
  const scoring = new Scoring(compileScoring({ q: { expr: 'cpu', transform: 'none' } }, models), { maxSeries: 100, maxFutureMs }, reg);
  const sink = new CollectingSink();
  const send = (ts: number[], values = ts.map((_, i) => 10 + (i % 3) * 0.5)): void => scoring.score(batchOf([{ labels: { __name__: 'cpu', i: 'a' }, ts, values }]), null, sink, NOW);
  const notLearned = (reason: string): number => metricValue(reg, 'anomstream_samples_not_learned_total', `reason="${reason}"`);
  return { scoring, sink, send, notLearned, reg };
}

const times = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => NOW - 3_600_000 + (from + i) * STEP);

test('one sample a year ahead, then 30 normal ones: the bad one is counted, not learned, not scored; all 30 are learned and (after warm-up) scored', () => {
  const { send, sink, notLearned, reg } = unit();
  send([NOW + 365 * 86_400_000]);
  assert.equal(notLearned('future'), 1);
  assert.equal(metricValue(reg, 'anomstream_samples_scored_total'), 0);
  const ts = times(0, 30);
  send(ts);
  assert.equal(metricValue(reg, 'anomstream_samples_scored_total'), 30, 'all 30 learned');
  assert.deepEqual(
    sink.got.map((r) => r.ts),
    ts.slice(WARMUP),
    'scored after the warm-up, at their own timestamps',
  );
});

test('max_future is relative to the wall clock: 9 minutes ahead is learned, 11 minutes ahead is not', () => {
  const { send, notLearned, reg } = unit(600_000);
  send([NOW + 9 * 60_000]);
  send([NOW + 11 * 60_000]);
  assert.equal(metricValue(reg, 'anomstream_samples_scored_total'), 1);
  assert.equal(notLearned('future'), 1);
});

test('an out-of-order sample is scored against the current model without being learned; a duplicate of the newest point gets no second score', () => {
  const { send, sink, scoring, notLearned, reg } = unit();
  send(times(10, 20));
  const inst = scoring.state.instances[0];
  const before = Float64Array.from(inst.state.subarray(0, inst.slots));
  const rowsBefore = sink.got.length;
  send(times(0, 10)); // a backlog replayed after newer data (vmagent's concurrent queues)
  assert.deepEqual(Float64Array.from(inst.state.subarray(0, inst.slots)), before, 'the model state is bit for bit unchanged');
  assert.equal(sink.got.length - rowsBefore, 10, 'every older sample got a row');
  assert.deepEqual(
    sink.got.slice(rowsBefore).map((r) => r.ts),
    times(0, 10),
  );
  assert.equal(notLearned('out_of_order'), 10);
  assert.equal(metricValue(reg, 'anomstream_samples_scored_total'), 20, 'only the in-order samples were learned');
  send([times(10, 20)[19]]); // the newest point again
  assert.equal(sink.got.length - rowsBefore, 10, 'no row for the duplicate');
  assert.equal(notLearned('duplicate'), 1);
});

test('an out-of-order sample of a series still in warm-up is not scored (nothing is written before min_n_samples_seen points)', () => {
  const { send, sink, notLearned } = unit();
  send(times(3, 2));
  send(times(0, 2));
  assert.equal(sink.got.length, 0);
  assert.equal(notLearned('out_of_order'), 2);
});

test('every model judges an older point with finite, ordered predictions and leaves its state untouched', () => {
  for (const cls of ['auto', 'zscore_online', 'mad_online', 'quantile_online', 'holtwinters_online', 'seasonal_quantile_online']) {
    const scorer = compileModel(modelEntry.parse({ class: cls, min_n_samples_seen: 3 }) as ModelConfig);
    const state = new Float64Array(scorer.slots);
    scorer.init(state, 0);
    const out = new Prediction();
    for (let i = 0; i < 200; i++) scorer.update(state, 0, out.at(NOW + i * STEP, 5 + Math.sin(i / 7) + (i % 5) * 0.1));
    const copy = Float64Array.from(state);
    for (const back of [STEP / 3, STEP * 50, 86_400_000]) {
      scorer.predict(state, 0, out.at(NOW + 199 * STEP - back, 5.3));
      assert.ok(out.ready, cls);
      for (const v of [out.yhat, out.lower, out.upper, out.score]) assert.ok(Number.isFinite(v), `${cls} ${back}: ${v}`);
      assert.ok(out.lower <= out.yhat && out.yhat <= out.upper && out.score >= 0, `${cls} ${back}: ${out.lower} ${out.yhat} ${out.upper}`);
      assert.deepEqual(state, copy, `${cls}: state unchanged`);
    }
  }
});

test('under transform: rate an older sample is neither learned nor scored (its increase is unknown), and counted', () => {
  const reg = new Registry();
  const scoring = new Scoring(compileScoring({ q: { expr: 'req', transform: 'rate' } }, { m: modelEntry.parse({ class: 'zscore_online', min_n_samples_seen: 2 }) as ModelConfig }), { maxSeries: 10 }, reg);
  const sink = new CollectingSink();
  const send = (ts: number[]): void => scoring.score(batchOf([{ labels: { __name__: 'req', i: 'a' }, ts, values: ts.map((t) => t / 1000) }]), null, sink, NOW);
  send(times(5, 10));
  const n = sink.got.length;
  send(times(0, 3));
  assert.equal(sink.got.length, n);
  assert.equal(metricValue(reg, 'anomstream_samples_not_learned_total', 'reason="out_of_order_counter"'), 3);
});

test('the idle clock stops while the datasource is down: an outage longer than the idle timeout evicts nothing; silence of the series itself does', () => {
  const clock = new UpClock();
  const reg = new Registry();
  const scoring = new Scoring(compileScoring({ q: { expr: 'cpu', transform: 'none' } }, undefined), { maxSeries: 10, clock }, reg);
  const sink = new CollectingSink();
  const idle = 4000;
  scoring.score(batchOf([{ labels: { __name__: 'cpu', i: 'a' }, ts: [NOW - 1000], values: [1] }]), null, sink, NOW);
  clock.down(NOW + 1000);
  assert.equal(scoring.evictIdle(idle, NOW + 9000), 0, '8 s of outage (2 x the idle timeout): nothing evicted');
  clock.up(NOW + 9000);
  assert.equal(scoring.evictIdle(idle, NOW + 10_000), 0, '2 s of up time since the last sample');
  assert.equal(scoring.evictIdle(idle, NOW + 14_000), 1, '5 s of up time without a sample: evicted');
  assert.equal(metricValue(reg, 'anomstream_series_evicted_total'), 1);
});
