import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { Registry } from '../../src/metrics/registry.js';
import { compileScoring, type ScoringSpec } from '../../src/scoring/instances.js';
import { NameFilter } from '../../src/scoring/name-filter.js';
import { Scoring } from '../../src/scoring/scoring.js';
import { parseSelector } from '../../src/scoring/selector.js';
import { Utf8Strings } from '../../src/wire/strings.js';
import { CollectingSink, batchOf, metricValue, type TestSeries } from './scoring-helpers.js';

const T0 = 1_700_000_000_000;

function spec(queries: Record<string, string>): ScoringSpec {
  const cfg = parseConfig({ reader: { queries }, models: { z: { class: 'zscore_online', min_n_samples_seen: 3 } }, writer: { datasource_url: 'http://127.0.0.1:8428' } });
  return compileScoring(cfg.reader.queries, cfg.models);
}

test('name filter: active only when every query restricts the metric name', () => {
  const from = (...sel: string[]): NameFilter | null =>
    NameFilter.from(
      sel.map((s) => parseSelector(s)),
      new Utf8Strings(),
    );
  assert.notEqual(from('up'), null);
  assert.notEqual(from('{__name__=~"node_.*"}', 'up{job="a"}'), null);
  assert.equal(from('{job="a"}'), null, 'no name matcher: any name');
  assert.equal(from('{__name__=~".*", job="a"}'), null, 'a name regex matching everything restricts nothing');
  assert.equal(from('up', '{__name__=~".+", job="x"}'), null, 'one query taking any name is enough');
});

/**
 * Series of several metrics, some with __name__ not first or a name too long for the filter's
 * fast read (they take the full match), values noisy with a spike.
 */
function series(round: number): TestSeries[] {
  const names = ['node_cpu_seconds_total', 'node_memory_bytes', 'other_metric', 'up', `node_${'x'.repeat(120)}`, 'process_open_fds'];
  const out: TestSeries[] = [];
  for (let i = 0; i < 120; i++) {
    const name = names[i % names.length];
    const labels: Record<string, string> = i % 7 === 3 ? { i: String(i), __name__: name, job: 'j' } : { __name__: name, i: String(i), job: 'j' };
    const ts = [T0 + round * 15_000];
    out.push({ labels, ts, values: [100 + (i % 5) + (round === 6 && i % 4 === 0 ? 60 : (round * 7 + i) % 3)] });
  }
  return out;
}

test('name filter: the same rows as the full match, unselected names not tracked', () => {
  // `filtered` has the filter on; `full` the same query plus one without a name matcher that
  // selects nothing (job="none"), which turns the filter off: every series goes the old way.
  const filtered = new Scoring(spec({ q: '{__name__=~"node_.*|up"}' }), { maxSeries: 1000 }, new Registry());
  const full = new Scoring(spec({ q: '{__name__=~"node_.*|up"}', none: '{job="none"}' }), { maxSeries: 1000 }, new Registry());
  const a = new CollectingSink();
  const b = new CollectingSink();
  for (let r = 0; r < 8; r++) {
    filtered.score(batchOf(series(r)), null, a, T0 + r * 15_000);
    full.score(batchOf(series(r)), null, b, T0 + r * 15_000);
  }
  assert.ok(a.got.length > 100);
  assert.deepEqual(a.got, b.got, 'rows bit for bit');
  assert.deepEqual(a.added, b.added);
  assert.equal(full.state.index.size, 120, 'the full match tracks every series (matched or not)');
  // Not tracked: other_metric and process_open_fds with __name__ first (i % 7 !== 3).
  const skipped = series(0).filter((s, i) => (s.labels.__name__ === 'other_metric' || s.labels.__name__ === 'process_open_fds') && i % 7 !== 3).length;
  assert.ok(skipped > 20);
  assert.equal(filtered.state.index.size, 120 - skipped);
});

test('name filter: a reload that selects a skipped name scores it from its next sample', () => {
  const reg = new Registry();
  const s = new Scoring(spec({ q: 'up' }), { maxSeries: 1000 }, reg);
  const sink = new CollectingSink();
  const one = (r: number): TestSeries[] => [
    { labels: { __name__: 'up', i: 'a' }, ts: [T0 + r * 15_000], values: [1 + (r % 2)] },
    { labels: { __name__: 'other', i: 'b' }, ts: [T0 + r * 15_000], values: [5 + (r % 3)] },
  ];
  for (let r = 0; r < 5; r++) s.score(batchOf(one(r)), null, sink, T0 + r * 15_000);
  assert.equal(s.state.index.size, 1);
  assert.equal(metricValue(reg, 'anomstream_series'), 1);
  assert.ok(sink.got.every((row) => row.series === 'a'));
  s.reload(spec({ q: 'up', o: 'other' }), 1000);
  for (let r = 5; r < 10; r++) s.score(batchOf(one(r)), null, sink, T0 + r * 15_000);
  assert.equal(s.state.index.size, 2);
  assert.ok(sink.got.some((row) => row.series === 'b'));
});
