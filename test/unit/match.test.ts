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

test('bad selectors are errors with a code per kind of mistake', () => {
  const code = (c: string) => (e: unknown) => e instanceof SelectorError && e.code === c;
  assert.throws(() => parseSelector('rate(http_requests_total[5m])'), code('ANOM_SELECTOR_FUNCTION'));
  // The one message whose words are the feature: it names the transform that replaces the function.
  assert.throws(() => parseSelector('rate(http_requests_total[5m])'), /transform: rate/);
  assert.throws(() => parseSelector('{}'), code('ANOM_SELECTOR_EMPTY'));
  assert.throws(() => parseSelector('{job=~".*"}'), code('ANOM_SELECTOR_EMPTY'));
  assert.throws(() => parseSelector('m{job="x"'), code('ANOM_SELECTOR_SYNTAX'));
  assert.throws(() => parseSelector('m{job=~"("}'), code('ANOM_SELECTOR_REGEX'));
  assert.throws(() => parseSelector('m{job~"x"}'), code('ANOM_SELECTOR_SYNTAX'));
  assert.throws(() => parseSelector('m extra'), code('ANOM_SELECTOR_SYNTAX'));
});
