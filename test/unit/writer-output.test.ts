/**
 * Issue 5: the JSON-lines encoder (VictoriaMetrics /api/v1/import format) and the rate
 * limiting of the multitenancy warnings.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { TenancyCheck, WARN_EVERY_MS } from '../../src/emit/tenancy.js';
import { Registry } from '../../src/metrics/registry.js';
import { writeRequestToJsonLines } from '../../src/emit/json-lines.js';
import { encodeWriteRequest } from '../e2e/harness.js';

test('JSON lines: one line per series, labels escaped, timestamps exact, stale NaN -> null, ±Inf as strings on a line of their own', () => {
  const raw = encodeWriteRequest([
    { labels: { __name__: 'anomaly_score', for: 'cpu', path: 'C:\\x "q"\nnl', unicode: 'é→' }, timestamps: [1700000000000, 1700000015000, 1700000030000], values: [0.25, 1e-7, NaN] },
    { labels: { __name__: 'yhat' }, timestamps: [2 ** 52, 1], values: [Infinity, -Infinity] },
  ]);
  const text = writeRequestToJsonLines(raw);
  const lines = text.split('\n');
  assert.equal(lines.length, 4);
  assert.equal(lines[3], '');
  // VictoriaMetrics 1.79 skips a whole line holding null or "Inf": finite values never share one.
  const metric = { __name__: 'anomaly_score', for: 'cpu', path: 'C:\\x "q"\nnl', unicode: 'é→' };
  assert.deepEqual(JSON.parse(lines[0]), { metric, values: [0.25, 1e-7], timestamps: [1700000000000, 1700000015000] });
  assert.deepEqual(JSON.parse(lines[1]), { metric, values: [null], timestamps: [1700000030000] });
  assert.deepEqual(JSON.parse(lines[2]), { metric: { __name__: 'yhat' }, values: ['Inf', '-Inf'], timestamps: [2 ** 52, 1] });
  assert.equal(writeRequestToJsonLines(new Uint8Array(0)), '');
});

test('multitenancy warnings: one line per case per minute with the suppressed count; every series counted', () => {
  const logs: { msg: string; case: number; suppressed: number }[] = [];
  const log = pino({ level: 'warn' }, { write: (l: string) => void logs.push(JSON.parse(l)) });
  const reg = new Registry();
  let now = 1_000_000;
  const c = new TenancyCheck(reg, log, () => now);
  const plain = new Map([['__name__', 'm']]);
  const acc = new Map([
    ['__name__', 'm'],
    ['vm_account_id', '1'],
  ]);
  assert.equal(c.check('0:0', plain), 1);
  assert.equal(c.check('multitenant', acc), 2);
  for (let i = 0; i < 1000; i++) assert.equal(c.check('multitenant', plain), 3);
  for (let i = 0; i < 10; i++) assert.equal(c.check(null, acc), 4);
  assert.deepEqual(
    logs.map((l) => [l.case, l.suppressed]),
    [
      [3, 0],
      [4, 0],
    ],
  );
  now += WARN_EVERY_MS;
  c.check('multitenant', plain);
  assert.deepEqual(
    logs.map((l) => [l.case, l.suppressed]),
    [
      [3, 0],
      [4, 0],
      [3, 999],
    ],
  );
  const text = reg.render();
  assert.match(text, /anomstream_multitenancy_warnings_total\{case="3"\} 1001/);
  assert.match(text, /anomstream_multitenancy_warnings_total\{case="4"\} 10/);
});
