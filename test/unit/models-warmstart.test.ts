import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MODEL_CLASSES } from '../../src/config/models.js';
import { config, noise, regular, scores } from './models-helpers.js';

// A new series at a 15 s scrape: 100 ± 3 (bounded noise). Its first scored points (right after the
// 16-point warm-up) must not be anomalies: half-lives of hours or days span thousands of such
// points, so estimates that crept up from 0 would leave the band far too narrow there.
for (const cls of MODEL_CLASSES) {
  test(`${cls}: a new, calm series does not score above 1 on its first scored points (warm start)`, () => {
    const n = 200;
    const ts = regular(n, 15_000, 1_790_000_000_000);
    const e = noise(n, 7);
    const ys = Float64Array.from(e, (x) => 100 + 3 * x);
    const s = scores(config({ class: cls }), ts, ys);
    const first = Array.from(s.subarray(16, 40));
    const worst = Math.max(...first);
    // Quantile estimators need a few more points to open their band; allow one marginal point.
    const over = first.filter((x) => x > 1).length;
    assert.ok(over <= (cls.includes('quantile') ? 3 : 1) && worst < 3, `${cls}: first scored points ${first.map((x) => x.toFixed(2)).join(' ')}`);
  });
}
