/**
 * Every config key naming a label takes the names VictoriaMetrics stores: OpenTelemetry's dotted
 * `host.name` / `service.name`, other scripts, and whatever else vmagent and VictoriaMetrics
 * accept; only the empty name (VictoriaMetrics reads it as the metric name) and a lone surrogate
 * (no UTF-8 form) are refused, each with the path of the key.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { configErrorOf } from './config-helpers.js';
import { generatedSelector, inputSelector } from '../../src/emit/format.js';
import { identifierOf, labelNameProblem, parseSelector } from '../../src/scoring/selector.js';

const ACCEPTED = ['host.name', 'service.name', 'température', 'ホスト名', 'k8s.pod.uid', 'a-b', '1st', 'instance', '__name__'];

type Raw = Record<string, unknown>;

function config(o: { reader?: Raw; shard?: Raw; writer?: Raw }): Raw {
  return {
    reader: { queries: { cpu: 'system.cpu.utilization' }, ...o.reader },
    writer: { datasource_url: 'http://127.0.0.1:8428', ...o.writer },
    ...(o.shard === undefined ? {} : { shard: o.shard }),
  };
}

test('label names: the rule selectors and config share', () => {
  for (const n of ACCEPTED) assert.equal(labelNameProblem(n), null, n);
  assert.match(labelNameProblem('') ?? '', /empty label name/);
  assert.match(labelNameProblem('a\ud800') ?? '', /lone UTF-16 surrogate/);
  assert.match(labelNameProblem('\udc00b') ?? '', /lone UTF-16 surrogate/);
  assert.equal(labelNameProblem('a\ud83d\ude00'), null, 'a surrogate pair (an emoji) is a character');
  // Selectors: the same names load, the same two are refused.
  assert.deepEqual(
    parseSelector('m{"host.name"="a", service.name="b"}').matchers.map((m) => m.name),
    ['__name__', 'host.name', 'service.name'],
  );
  assert.throws(() => parseSelector('m{""="a"}'), /empty label name/);
  assert.throws(() => parseSelector('m{a\\uD800b="a"}'), /lone UTF-16 surrogate/);
});

test('reader.ignore_labels: dotted and non-ASCII names load; an empty one is an error at its index', () => {
  const cfg = parseConfig(config({ reader: { ignore_labels: ACCEPTED.filter((n) => n !== '__name__') } }));
  assert.deepEqual(
    cfg.reader.ignore_labels,
    ACCEPTED.filter((n) => n !== '__name__'),
  );
  assert.equal(configErrorOf(config({ reader: { ignore_labels: ['host.name', ''] } })), "reader.ignore_labels[1]: expected a label name, got '' (VictoriaMetrics reads an empty label name as the metric name)");
  assert.match(configErrorOf(config({ reader: { ignore_labels: ['x\ud800'] } })), /^reader\.ignore_labels\[0\]: label name "x\\ud800" holds a lone UTF-16 surrogate/);
  assert.match(configErrorOf(config({ reader: { ignore_labels: ['__name__'] } })), /^reader\.ignore_labels: '__name__' cannot be ignored/);
});

test('shard: source_labels (hashmod), labels and ignore_labels (shard_by_url) take the same names', () => {
  const hashmod = parseConfig(config({ shard: { count: 2, index: 0, source_labels: ['__name__', 'host.name', 'service.name'] } }));
  assert.deepEqual(hashmod.shard?.source_labels, ['__name__', 'host.name', 'service.name']);
  const byUrl = parseConfig(config({ shard: { method: 'shard_by_url', count: 2, index: 1, labels: ['host.name', 'température'] } }));
  assert.deepEqual(byUrl.shard?.labels, ['host.name', 'température']);
  const ignoring = parseConfig(config({ reader: { ignore_labels: ['service.instance.id'] }, shard: { method: 'shard_by_url', count: 2, index: 0, ignore_labels: ['service.instance.id', 'k8s.pod.uid'] } }));
  assert.deepEqual(ignoring.shard?.ignore_labels, ['service.instance.id', 'k8s.pod.uid']);

  assert.match(configErrorOf(config({ shard: { count: 2, index: 0, source_labels: ['host.name', ''] } })), /^shard\.source_labels\[1\]: expected a label name, got ''/);
  assert.match(configErrorOf(config({ shard: { method: 'shard_by_url', count: 2, index: 0, labels: [''] } })), /^shard\.labels\[0\]: expected a label name, got ''/);
  assert.match(configErrorOf(config({ shard: { method: 'shard_by_url', count: 2, index: 0, ignore_labels: ['a', ''] } })), /^shard\.ignore_labels\[1\]: expected a label name, got ''/);
  // The cross-checks compare dotted names like any other.
  assert.match(
    configErrorOf(config({ reader: { ignore_labels: ['service.instance.id'] }, shard: { count: 2, index: 0, source_labels: ['__name__', 'service.instance.id'] } })),
    /^shard\.source_labels: 'service\.instance\.id' is in reader\.ignore_labels/,
  );
});

test('writer.metric_format: dotted and non-ASCII keys load; an empty key is an error naming the key', () => {
  const format = { __name__: 'anomstream_$VAR', 'service.name': 'anomstream', 'anomaly.query': '$QUERY_KEY', modèle: 'z' };
  assert.deepEqual(parseConfig(config({ writer: { metric_format: format } })).writer.metric_format, format);
  assert.equal(
    configErrorOf(config({ writer: { metric_format: { __name__: '$VAR', '': 'x' } } })),
    `writer.metric_format[""]: '' is not allowed here: expected a label name, got '' (VictoriaMetrics reads an empty label name as the metric name)`,
  );
  // A path through a dotted key stays readable.
  assert.match(configErrorOf(config({ writer: { metric_format: { 'service.name': 'x' } } })), /^writer\.metric_format\.__name__: expected a value containing \$VAR/);
});

test('aliases keep their own rule: a query or model alias is still [a-zA-Z_][a-zA-Z0-9_]*', () => {
  assert.match(
    configErrorOf({ reader: { queries: { 'cpu.busy': 'up' } }, writer: { datasource_url: 'http://127.0.0.1:8428' } }),
    /^reader\.queries\["cpu\.busy"\]: 'cpu\.busy' is not allowed here: .*write 'cpu_busy'/,
  );
});

test('vmui links: every label name is written so MetricsQL reads it back (dots and letters as they are, others escaped)', () => {
  const names = ['host.name', 'température', 'a-b', '1st', 'sp ace', 'x"y', 'tab\tname', 'ok✓', '__name__', '_:a.b'];
  for (const n of names) {
    const m = parseSelector(`{${identifierOf(n)}="v"}`).matchers;
    assert.deepEqual([m[0].name, m[0].value], [n, 'v'], `${n} as ${identifierOf(n)}`);
  }
  assert.equal(identifierOf('host.name'), 'host.name');
  assert.equal(identifierOf('a-b'), 'a\\-b');
  assert.equal(identifierOf('1st'), '\\1st');
  assert.equal(identifierOf('tab\tname'), 'tab\\x09name');
  const format = { __name__: '$VAR', for: '$QUERY_KEY', 'service.name': 'anomstream', 'k8s-cluster': 'c1' };
  const input: [string, string][] = [
    ['__name__', 'system.cpu.utilization'],
    ['host.name', 'a'],
    ['a-b', 'x'],
  ];
  const sel = generatedSelector(format, ['anomaly_score'], 'otel', null, input);
  assert.equal(sel, '{__name__="anomaly_score", for="otel", service.name="anomstream", k8s\\-cluster="c1", source_metric="system.cpu.utilization", host.name="a", a\\-b="x"}');
  assert.deepEqual(
    parseSelector(sel).matchers.map((m) => m.name),
    ['__name__', 'for', 'service.name', 'k8s-cluster', 'source_metric', 'host.name', 'a-b'],
  );
  assert.deepEqual(
    parseSelector(inputSelector(input)).matchers.map((m) => [m.name, m.value]),
    input,
  );
});
