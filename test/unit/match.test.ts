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

test('regexes have RE2 semantics: fully anchored, dot matches newline, linear time, RE2 syntax only', () => {
  const m = (sel: string, l: Record<string, string>) => matches(parseSelector(sel), labels(l));
  assert.equal(m('{__name__=~"a|b"}', { __name__: 'ab' }), false, 'anchored around the whole alternation');
  assert.equal(m('{__name__=~"a|b"}', { __name__: 'b' }), true);
  assert.equal(m('{x=~"a.b"}', { x: 'a\nb' }), true, '(?s): . matches a newline, as in Prometheus');
  assert.equal(m('{x=~"(?i)abc"}', { x: 'ABC' }), true, 'RE2 inline flags');
  assert.equal(m('{x=~"\\\\d+"}', { x: '123' }), true, 'escapes: \\d');
  // The acceptance case of issue 17: a backtracking engine takes ~1 s here; RE2 is linear (the
  // < 10 ms figure is a benchmark, bench/selector.ts; this checks the answers).
  const long = 'a'.repeat(32 * 1024);
  const sel = parseSelector('{__name__=~".*_(.*)_total"}');
  assert.equal(matches(sel, labels({ __name__: long })), false);
  assert.equal(matches(sel, labels({ __name__: '_'.repeat(32 * 1024) })), false);
  assert.equal(matches(sel, labels({ __name__: `x_${long}_total` })), true);
  assert.equal(matches(sel, labels({ __name__: 'node_network_receive_bytes_total' })), true);
});

test('a regex RE2 rejects is ANOM_SELECTOR_REGEX, and a config error naming the query', async () => {
  const code = (e: unknown) => e instanceof SelectorError && e.code === 'ANOM_SELECTOR_REGEX';
  for (const re of ['(a)\\1', '(?=a)b', '(?<!a)b', 'a{1001}', 'a++']) assert.throws(() => parseSelector(`{x=~"${re}"}`), code, re);
  const { checkConfig } = await import('../../src/config/load.js');
  const c = checkConfig({ reader: { queries: { lookahead: '{job=~"(?=x)y"}' } }, writer: { datasource_url: 'http://127.0.0.1:8428' } });
  assert.equal(c.config, undefined);
  assert.deepEqual(
    c.issues.map((i) => i.path.join('.')),
    ['reader.queries.lookahead.expr'],
  );
});
