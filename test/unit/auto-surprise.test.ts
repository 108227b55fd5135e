/**
 * auto runs surprise.ts' discipline written out in its own update() (in locals, no calls: bench/RESULTS.md,
 * issue 20 session 10). This holds the copy to the original: at every point, the band auto writes and
 * its surprise slots after the point are, bit for bit, what surprise.ts' age(), firstDay(), band() and
 * learn() (learnAs() on the first day) make of the state before the point, auto's yhat and auto's own
 * half-width w0 = z·1.25·max(v, floor), times first_day_scale on the first day. Series long enough to
 * settle (the range pull), with alarms that end (the record), NaN, ±Inf, older and repeated timestamps.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileModel, modelEntry } from '../../src/config/models.js';
import { AutoModel, Slot } from '../../src/models/auto.js';
import { Prediction } from '../../src/models/model.js';
import { SURPRISE_SLOTS, Surprise } from '../../src/models/surprise.js';
import { noise } from './models-helpers.js';

const bits = (x: number): bigint => new BigUint64Array(Float64Array.of(x).buffer)[0];

function sameBits(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  for (let i = 0; i < a.length; i++) if (bits(a[i]) !== bits(b[i])) assert.fail(`${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

/** What surprise.ts makes of one point, from auto's state before it (`pre`, changed in place) and auto's yhat. */
function reference(model: AutoModel, s: Surprise, pre: Float64Array, n: number, point: Prediction, yhat: number): Prediction {
  const p = model.p;
  const sp = Slot.SURPRISE;
  const r = new Prediction().at(point.t, point.y);
  r.ready = point.ready;
  r.yhat = yhat;
  const last = pre[Slot.T];
  s.dt = last === last ? point.t - last : 0;
  s.age(pre, sp, r);
  // auto's own half-width: z·1.25·max(v, floor), floor = max(rel_floor·|yhat|, abs_floor, step_floor·q)
  let floor = p.relFloor * (yhat < 0 ? -yhat : yhat);
  if (floor < p.absFloor) floor = p.absFloor;
  if (floor < p.qFloor * pre[Slot.Q]) floor = p.qFloor * pre[Slot.Q];
  const v = pre[Slot.V];
  const w1 = p.z * 1.25 * (v > floor ? v : floor);
  const guard = p.firstDayScale !== 1 && s.firstDay(pre, sp, r);
  const w0 = guard ? w1 * p.firstDayScale : w1;
  s.w0 = w0;
  s.band(pre, sp, n, r);
  const band = new Prediction();
  band.upper = r.upper;
  band.lower = r.lower;
  if (last === last) {
    s.w0 = guard ? w1 : w0;
    if (guard) s.learnAs(pre, sp, r);
    else s.learn(pre, sp, r);
  }
  return band;
}

function check(raw: Record<string, unknown>, ts: ArrayLike<number>, ys: ArrayLike<number>, what: string): number {
  const scorer = compileModel(modelEntry.parse(raw));
  const model = scorer.model as AutoModel;
  const s = new Surprise(model.p);
  const state = new Float64Array(model.slots);
  model.init(state, 0);
  const out = new Prediction();
  let alarms = 0;
  for (let i = 0; i < ys.length; i++) {
    const pre = state.slice();
    out.at(ts[i], ys[i]);
    out.ready = i >= scorer.p.minNSamplesSeen;
    model.update(state, 0, out, i);
    const band = reference(model, s, pre, i, out, out.yhat);
    sameBits([out.upper, out.lower], [band.upper, band.lower], `${what}: point ${i} (upper, lower)`);
    const sp = Slot.SURPRISE;
    sameBits(state.subarray(sp, sp + SURPRISE_SLOTS), pre.subarray(sp, sp + SURPRISE_SLOTS), `${what}: surprise slots after point ${i}`);
    if (state[sp + 1] > 0) alarms++; // R1: a run that held an alarm has ended
  }
  return alarms;
}

const T0 = 1_790_000_000_000;
const STEP = 5 * 60_000;

test("auto's written-out surprise discipline is surprise.ts', bit for bit", () => {
  const n = 1200; // over 4 days at 5 minutes: the first day's guard, then the range pull
  const e = noise(n, 7);
  const regular = Float64Array.from({ length: n }, (_, i) => T0 + i * STEP);
  const ragged = Float64Array.from(regular, (t, i) => (i % 17 === 5 ? t - STEP : i % 23 === 7 ? t - 3 * STEP : i % 29 === 3 ? regular[i - 1] : t));
  const series: [string, Float64Array][] = [
    ['noise', Float64Array.from(e, (x) => 100 + 5 * x)],
    ['daily swing with spikes and dips', Float64Array.from(e, (x, i) => 50 + 20 * Math.sin((2 * Math.PI * i) / 288) + x + (i % 97 === 40 ? 60 : i % 131 === 7 ? -45 : 0))],
    ['spike runs', Float64Array.from(e, (x, i) => 10 + x + (i % 211 < 3 ? 30 + 10 * (i % 211) : 0))],
    ['level shifts', Float64Array.from(e, (x, i) => (Math.floor(i / 300) % 2) * 80 + x)],
    ['zeros then a step', Float64Array.from(e, (_, i) => (i < n / 2 ? 0 : 1))],
    ['quantised', Float64Array.from(e, (x) => Math.round(x * 2) / 2)],
    ['negative', Float64Array.from(e, (x) => -1e6 + 1e3 * x)],
  ];
  for (const bad of [NaN, Infinity, -Infinity]) {
    for (const at of [0, 1, 500]) {
      const ys = Float64Array.from(e, (x) => 10 + x);
      ys[at] = bad;
      series.push([`${bad} at ${at}`, ys]);
    }
  }
  const configs: Record<string, unknown>[] = [{}, { first_day_scale: 1 }, { weekly_buckets: 0 }, { buckets: 0 }, { range_margin: 0, record_points: 5 }];
  let alarms = 0;
  for (const raw of configs) {
    for (const [name, ys] of series) {
      alarms += check(raw, regular, ys, `${JSON.stringify(raw)} ${name}`);
      alarms += check(raw, ragged, ys, `${JSON.stringify(raw)} ${name}, ragged timestamps`);
    }
  }
  assert.ok(alarms > 0, 'some alarm runs ended (the record was exercised)');
});
