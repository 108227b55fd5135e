/**
 * The status page's labels of anomalous series come from one label store: the scoring state's
 * (snapshots on: nothing copied twice) or KeptLabels' own (snapshots off); either way the page
 * shows the series' labels and tenant, and an evicted series' labels are gone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { modelEntry, type ModelConfig } from '../../src/config/models.js';
import { Registry } from '../../src/metrics/registry.js';
import { anomalousNow } from '../../src/scoring/anomalous.js';
import { compileScoring } from '../../src/scoring/instances.js';
import { Scoring } from '../../src/scoring/scoring.js';
import { batchOf, CollectingSink } from './scoring-helpers.js';

const NOW = Date.UTC(2026, 11, 3, 12);

for (const keepLabels of [true, false]) {
  test(`anomalous series' labels for the status page (snapshots ${keepLabels ? 'on: the label store of the state' : 'off: a store of their own'})`, () => {
    const models = { z: modelEntry.parse({ class: 'zscore_online', min_n_samples_seen: 5, queries: ['cpu'] }) as ModelConfig };
    const s = new Scoring(compileScoring({ cpu: { expr: 'cpu', transform: 'none' } }, models), { maxSeries: 100, keepLabels }, new Registry());
    const ts = Array.from({ length: 30 }, (_, i) => NOW - (30 - i) * 15_000);
    const calm = { labels: { __name__: 'cpu', host: 'calm' }, ts, values: ts.map((_, i) => 10 + (i % 3)) };
    const spike = { labels: { __name__: 'cpu', host: 'spiky' }, ts, values: ts.map((_, i) => (i === 29 ? 1000 : 10 + (i % 3))) };
    s.score(batchOf([calm, spike]), '7:1', new CollectingSink(), NOW);
    assert.equal(s.state.labels !== null, keepLabels);
    const { top } = anomalousNow(s, Math.floor(NOW / 1000) - 120, 50);
    assert.equal(top.length, 1, 'only the spike scored above 1');
    assert.ok(top[0].score > 1);
    assert.deepEqual(top[0].labels, {
      tenant: '7:1',
      labels: [
        ['__name__', 'cpu'],
        ['host', 'spiky'],
      ],
    });
    assert.equal(s.evictIdle(1000, NOW + 10_000_000), 2);
    assert.equal(s.kept.labels(1), undefined, 'evicted: its labels are forgotten');
  });
}
