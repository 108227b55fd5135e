import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MODEL_CLASSES, compileModel } from '../../src/config/models.js';
import { Prediction } from '../../src/models/model.js';
import { config, noise, regular, scores } from './models-helpers.js';

/**
 * Issue 15's acceptance: after a burst of 1-3 points that returns to the previous normal, a
 * sustained deviation of the same size starting 40 points later scores above 1 within its first 3
 * points, at 1 s, 15 s and 5 min steps, for every model class. (Seen live: one 2-second burst on a
 * 1 s scrape widened the band for a day and hid 25 s of CPU saturation 40 s later.)
 * Series: 100 ± 1 (bounded noise) for 600 points, the burst (+20, once to three times), back to
 * normal, then +20 from 40 points after the burst on.
 */
const HISTORY = 600;
for (const cls of MODEL_CLASSES) {
  for (const step of [1_000, 15_000, 300_000]) {
    for (const burst of [1, 2, 3]) {
      test(`${cls}: at a ${step / 1000} s step, a deviation 40 points after a ${burst}-point burst of the same size scores > 1`, () => {
        const n = HISTORY + burst + 40 + 20;
        const ts = regular(n, step, 1_790_000_000_000);
        const e = noise(n, 11);
        const start = HISTORY + burst + 40;
        const ys = Float64Array.from(e, (x, i) => 100 + x + ((i >= HISTORY && i < HISTORY + burst) || i >= start ? 20 : 0));
        const s = scores(config({ class: cls }), ts, ys);
        assert.ok(s[HISTORY] > 1, `the burst scored ${s[HISTORY]}`);
        const first = Array.from(s.subarray(start, start + 3));
        assert.ok(Math.max(...first) > 1, `first 3 points of the deviation scored ${first.map((x) => x.toFixed(2)).join(' ')}`);
      });
    }
  }
}

/**
 * The live case behind issue 15, for every class: node_exporter's idle-CPU rate at a 1 s scrape,
 * 0.96 ± 0.02; a 2-second burst of other work (idle 0.58, 0, 0) scores above 1; 40 s later, 25 s of
 * total saturation (idle 0) must score above 1 within 3 points, and by then the band must be back
 * near the series (it stayed at [-0.50, 2.35] for a day before).
 */
for (const cls of MODEL_CLASSES) {
  test(`${cls}: idle CPU at 1 s: a 2-second burst does not hide saturation 40 s later`, () => {
    const history = 600;
    const burst = [0.58, 0, 0];
    const start = history + burst.length + 40;
    const n = start + 25;
    const ts = regular(n, 1_000, 1_790_000_000_000);
    const e = noise(n, 5);
    const ys = Float64Array.from(e, (x, i) => (i >= history && i < history + burst.length ? burst[i - history] : i >= start ? 0 : 0.96 + 0.02 * x));
    const cfg = config({ class: cls });
    const s = scores(cfg, ts, ys);
    assert.ok(s[history] > 1, `burst scored ${s[history]}`);
    const first = Array.from(s.subarray(start, start + 3));
    assert.ok(Math.max(...first) > 1, `saturation scored ${first.map((x) => x.toFixed(2)).join(' ')}`);
    const band = bandAt(cfg, ts, ys, start - 1);
    assert.ok(band[0] > 0.5 && band[1] < 1.5, `band before the saturation [${band[0]}, ${band[1]}]`);
  });
}

/** yhat_lower and yhat_upper written for point `at`. */
function bandAt(cfg: ReturnType<typeof config>, ts: Float64Array, ys: Float64Array, at: number): [number, number] {
  const scorer = compileModel(cfg);
  const state = new Float64Array(scorer.slots);
  scorer.init(state, 0);
  const out = new Prediction();
  for (let i = 0; i <= at; i++) scorer.update(state, 0, out.at(ts[i], ys[i]));
  return [out.lower, out.upper];
}
