/**
 * Scorer.update's short path for the default policy (`plain`) against the general policy()
 * with the same settings: identical outputs and state, bit for bit (NaN payloads, -0 included), on
 * every model with random data, steps, zeros, NaN, ±Inf, absurd values, duplicate and older
 * timestamps and the first points, and on a scripted model whose band takes every edge value.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MODEL_CLASSES, compileModel, modelEntry } from '../../src/config/models.js';
import { Model, Prediction } from '../../src/models/model.js';
import { Scorer, type ScorerParams } from '../../src/models/scorer.js';
import { noise } from './models-helpers.js';

const isPlain = (s: Scorer): boolean => (s as unknown as { plain: boolean }).plain;

/** The same scorer taking policy() (the short path switched off). */
function general(s: Scorer): Scorer {
  const g = new Scorer(s.model, s.p);
  (g as unknown as { plain: boolean }).plain = false;
  return g;
}

const bits = (x: number): bigint => new BigUint64Array(Float64Array.of(x).buffer)[0];

function sameBits(a: Float64Array, b: Float64Array, what: string): void {
  const ua = new BigUint64Array(a.buffer, a.byteOffset, a.length);
  const ub = new BigUint64Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++) if (ua[i] !== ub[i]) assert.fail(`${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

/** Runs (ts, y) through both paths (each on its own copy of the state): every output and the state bit-identical. */
function check(plain: Scorer, ts: ArrayLike<number>, ys: ArrayLike<number>, what: string): void {
  const gen = general(plain);
  assert.equal(isPlain(plain), true);
  const sa = new Float64Array(plain.slots);
  const sb = new Float64Array(gen.slots);
  plain.init(sa, 0);
  gen.init(sb, 0);
  const a = new Prediction();
  const b = new Prediction();
  for (let i = 0; i < ys.length; i++) {
    a.at(ts[i], ys[i]);
    b.at(ts[i], ys[i]);
    const la = plain.update(sa, 0, a);
    const lb = gen.update(sb, 0, b);
    assert.equal(la, lb, `${what}: learned at ${i}`);
    if (!la) {
      plain.predict(sa, 0, a);
      gen.predict(sb, 0, b);
    }
    const oa = Float64Array.of(a.score, a.yhat, a.lower, a.upper, a.y);
    const ob = Float64Array.of(b.score, b.yhat, b.lower, b.upper, b.y);
    sameBits(oa, ob, `${what}: point ${i} (score, yhat, lower, upper, y)`);
    assert.equal(a.ready, b.ready, `${what}: ready at ${i}`);
    sameBits(sa, sb, `${what}: state after point ${i}`);
  }
}

const T0 = 1_790_000_000_000;
const STEP = 15_000;

/** Named sequences of values, each a new series (a NaN or ±Inf poisons a model's state for the rest of its series). */
function sequences(n: number): [string, Float64Array][] {
  const e = noise(n, 3);
  const seq: [string, Float64Array][] = [
    ['noise', Float64Array.from(e, (x) => 100 + 5 * x)],
    ['negative', Float64Array.from(e, (x) => -1e6 + 1e3 * x)],
    ['zeros', new Float64Array(n)],
    ['negative zeros', new Float64Array(n).fill(-0)],
    ['constant', new Float64Array(n).fill(42)],
    ['zeros then a step', Float64Array.from(e, (_, i) => (i < n / 2 ? 0 : 1))],
    ['steps', Float64Array.from(e, (x, i) => (Math.floor(i / 37) % 2) * 50 + x)],
    ['spikes', Float64Array.from(e, (x, i) => (i % 29 === 0 ? 1e300 : i % 31 === 0 ? -1e300 : x))],
    ['tiny', Float64Array.from(e, (x) => x * 1e-300)],
    ['quantised', Float64Array.from(e, (x) => Math.round(x * 2) / 2)],
  ];
  for (const bad of [NaN, Infinity, -Infinity, Number.MAX_VALUE, -Number.MAX_VALUE]) {
    for (const at of [0, 1, 20, n - 1]) {
      const ys = Float64Array.from(e, (x) => 10 + x);
      ys[at] = bad;
      seq.push([`${bad} at ${at}`, ys]);
    }
  }
  return seq;
}

for (const cls of MODEL_CLASSES) {
  test(`${cls}: the default policy's short path and policy() give bit-identical outputs and state`, () => {
    const n = 300;
    const scorer = compileModel(modelEntry.parse({ class: cls }));
    const regular = Float64Array.from({ length: n }, (_, i) => T0 + i * STEP);
    // duplicates, an older point, a gap of a day, irregular steps: learned or judged by predict()
    const ragged = Float64Array.from(regular, (t, i) => (i % 17 === 5 ? t - STEP : i % 23 === 7 ? t - 3 * STEP : i > n / 2 ? t + 86_400_000 : t + (i % 5) * 1000));
    for (const [name, ys] of sequences(n)) {
      check(scorer, regular, ys, `${cls} ${name}`);
      check(scorer, ragged, ys, `${cls} ${name}, ragged timestamps`);
    }
  });
}

test('the short path on a scripted band: every edge value of yhat, lower, upper and y', () => {
  const edges = [0, -0, 1, -1, 1e-13, 1e-12, 1e300, -1e300, Number.MAX_VALUE, Infinity, -Infinity, NaN];
  let k = 0;
  const pred = { yhat: 0, lower: 0, upper: 0 };
  const scripted: Model = {
    slots: 0,
    init() {},
    update(_s, _o, out) {
      out.yhat = pred.yhat;
      out.lower = pred.lower;
      out.upper = pred.upper;
    },
  };
  const p: ScorerParams = { ...compileModel(modelEntry.parse({})).p, minNSamplesSeen: 0 };
  const plain = new Scorer(scripted, p);
  assert.equal(isPlain(plain), true);
  const gen = general(plain);
  const state = new Float64Array(plain.slots);
  const a = new Prediction();
  const b = new Prediction();
  for (const yhat of edges)
    for (const lower of edges)
      for (const upper of edges)
        for (const y of edges) {
          pred.yhat = yhat;
          pred.lower = lower;
          pred.upper = upper;
          plain.init(state, 0);
          plain.update(state, 0, a.at(T0, y));
          gen.init(state, 0);
          gen.update(state, 0, b.at(T0, y));
          for (const f of ['score', 'yhat', 'lower', 'upper', 'y'] as const) {
            assert.equal(bits(a[f]), bits(b[f]), `yhat ${yhat} lower ${lower} upper ${upper} y ${y}: ${f} ${a[f]} vs ${b[f]}`);
          }
          k++;
        }
  assert.equal(k, edges.length ** 4);
});
