import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SelectorError } from '../../src/errors.js';
import { matches, parseSelector } from '../../src/scoring/selector.js';

const labels = (o: Record<string, string>) => new Map(Object.entries(o));

test('selectors match like Prometheus: =, !=, =~ (anchored), !~, missing label as ""', () => {
  const cpu = labels({ __name__: 'node_cpu_seconds_total', mode: 'idle', cpu: '0', job: 'node' });
  const cases: [string, boolean][] = [
    ['node_cpu_seconds_total', true],
    ['node_cpu_seconds', false],
    ['node_cpu_seconds_total{mode="idle"}', true],
    ["node_cpu_seconds_total{mode='user'}", false],
    ['{__name__=~"node_cpu.*", mode=~"idle|user"}', true],
    ['{__name__=~"cpu"}', false], // anchored: no partial match
    ['node_cpu_seconds_total{mode!="idle"}', false],
    ['node_cpu_seconds_total{mode!~"i.*"}', false],
    ['node_cpu_seconds_total{missing=""}', true],
    ['node_cpu_seconds_total{missing!=""}', false],
    ['node_cpu_seconds_total{ job = "node" , }', true],
    ['{job=`node`}', true],
  ];
  for (const [sel, want] of cases) assert.equal(matches(parseSelector(sel), cpu), want, sel);
});

test('string escapes are decoded', () => {
  const s = parseSelector('m{path="a\\"b\\\\c"}');
  assert.equal(s.matchers[1].value, 'a"b\\c');
});

test('bad selectors are errors that say what is wrong', () => {
  assert.throws(() => parseSelector('rate(http_requests_total[5m])'), /MetricsQL function.*transform: rate/);
  assert.throws(() => parseSelector('{}'), (e: unknown) => e instanceof SelectorError && e.code === 'ANOM_SELECTOR_SYNTAX');
  assert.throws(() => parseSelector('{job=~".*"}'), /does not match the empty string/);
  assert.throws(() => parseSelector('m{job="x"'), SelectorError);
  assert.throws(() => parseSelector('m{job=~"("}'), /invalid regex/);
  assert.throws(() => parseSelector('m{job~"x"}'), /expected =, !=, =~ or !~/);
  assert.throws(() => parseSelector('m extra'), /unexpected text/);
});
