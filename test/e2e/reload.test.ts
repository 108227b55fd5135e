/**
 * Issue 19: reloading the configuration of a running anomstream (the CLI process, in front of a
 * real VictoriaMetrics). SIGHUP and POST /-/reload re-read the file: a query added to a model
 * starts scoring (after its warm-up) while the unchanged (query, model) pair goes on scoring
 * without one (its state was kept); an invalid file is logged, answered 500, changes nothing and
 * shows in anomstream_config_last_reload_successful; a changed model starts afresh; a changed
 * server.listen is reported as needing a restart and the listener stays where it is; a new
 * datasource URL takes the raw and generated series from then on, the models keeping their state.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Anomstream, VM_BIN, VictoriaMetrics, buildWriteRequest, dumpProcesses, request, requireBinaries, waitFor, type InputSeries } from './harness.js';
import { parseMetrics, sumOf } from './metrics-text.js';

const T0 = Math.floor(Date.now() / 1000) * 1000 - 600_000;
const SCORED = { __name__: 'reload_load', job: 'r' };
const ADDED = { __name__: 'reload_other', job: 'r' };

function config(port: number, vmUrl: string, o: { queries: string; models: string; listen?: number }): string {
  return [`server: { listen: "127.0.0.1:${o.listen ?? port}" }`, 'reader:', '  queries:', o.queries, `writer: { datasource_url: "${vmUrl}" }`, 'models:', o.models, ''].join('\n');
}

const LOAD = `    load: 'reload_load{job="r"}'`;
const BOTH = `${LOAD}\n    other: 'reload_other{job="r"}'`;
const Z = (queries: string, threshold = 2.5): string => `  z: { class: zscore_online, min_n_samples_seen: 16, z_threshold: ${threshold}, queries: [${queries}] }`;

/** Points [from, to) of both series, 1 s apart. */
function points(from: number, to: number): InputSeries[] {
  return [SCORED, ADDED].map((labels, s) => {
    const timestamps = Array.from({ length: to - from }, (_, k) => T0 + (from + k) * 1000);
    return { labels, timestamps, values: timestamps.map((_, k) => 10 * (s + 1) + ((from + k) % 3) * 0.5) };
  });
}

test('reload: SIGHUP and POST /-/reload apply a new config, keeping the state of unchanged pairs; an invalid one changes nothing', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN)) return;
  let vm: VictoriaMetrics | undefined;
  let vm2: VictoriaMetrics | undefined;
  let anom: Anomstream | undefined;
  try {
    vm = await VictoriaMetrics.start();
    const vmUrl = vm.url;
    let port = 0;
    anom = await Anomstream.start((p) => config((port = p), vmUrl, { queries: BOTH, models: Z('load') }));
    const a = anom;
    const file = join(a.dir, 'config.yaml');
    const metrics = async (): Promise<Map<string, number>> => parseMetrics((await request(`${a.url}/metrics`)).body.toString('utf8'));
    /** Sends points [from, to) and returns the timestamps VictoriaMetrics then holds an anomaly_score at, per source metric. */
    const send = async (from: number, to: number, expectScored: number): Promise<Map<string, number[]>> => {
      const r = await a.write(buildWriteRequest(points(from, to)));
      assert.equal(r.status, 204, r.body.toString());
      return waitFor(`anomaly_score of points ${from}..${to - 1}`, async () => {
        const got = new Map((await vm!.exportSeries('anomaly_score{for=~"load|other"}')).map((s) => [s.metric.source_metric, s.timestamps.filter((ts) => ts >= T0 + from * 1000)]));
        const n = [...got.values()].reduce((x, ts) => x + ts.length, 0);
        return n === expectScored ? got : undefined;
      });
    };
    const reloads = async (result: string): Promise<number> => sumOf(await metrics(), 'anomstream_config_reloads_total', `result="${result}"`);

    // Start: only `load` is scored (16 points of warm-up, then a score per point).
    const first = await send(0, 40, 40 - 16);
    assert.equal(first.get(SCORED.__name__)?.length, 24);
    let m = await metrics();
    assert.equal(sumOf(m, 'anomstream_config_last_reload_successful'), 1);
    const startedAt = sumOf(m, 'anomstream_config_last_reload_success_timestamp_seconds');

    // SIGHUP: model z now scores `other` too; load/z is unchanged.
    writeFileSync(file, config(port, vmUrl, { queries: BOTH, models: Z('load, other') }));
    await new Promise((r) => setTimeout(r, 1100)); // the success timestamp has 1 s resolution
    a.proc.child.kill('SIGHUP');
    await waitFor('the SIGHUP reload', async () => ((await reloads('success')) === 1 ? true : undefined));
    const afterHup = await send(40, 45, 5);
    assert.deepEqual(
      afterHup.get(SCORED.__name__),
      [40, 41, 42, 43, 44].map((i) => T0 + i * 1000),
      'load/z kept its state: a score for every point at once',
    );
    assert.equal(afterHup.get(ADDED.__name__)?.length ?? 0, 0, 'other/z is warming up');
    m = await metrics();
    assert.equal(sumOf(m, 'anomstream_config_last_reload_successful'), 1);
    assert.ok(sumOf(m, 'anomstream_config_last_reload_success_timestamp_seconds') > startedAt);
    assert.equal(sumOf(m, 'anomstream_scored_series', 'query="other"'), 1);
    assert.equal(sumOf(m, 'anomstream_series_warming_up', 'query="other"'), 1);
    assert.equal(sumOf(m, 'anomstream_series_warming_up', 'query="load"'), 0);

    // An invalid file: 500 with the problem, logged, metric 0, and the running config stays in force.
    writeFileSync(file, config(port, vmUrl, { queries: `    load: 'rate(reload_load[5m])'`, models: Z('load') }));
    const bad = await request(`${a.url}/-/reload`, { method: 'POST' });
    assert.equal(bad.status, 500);
    assert.match(bad.body.toString(), /reader\.queries\.load\.expr/);
    m = await metrics();
    assert.equal(sumOf(m, 'anomstream_config_last_reload_successful'), 0);
    assert.equal(await reloads('failure'), 1);
    assert.match(a.proc.output(), /configuration reload failed/);
    const stillOld = await send(45, 50, 5);
    assert.equal(stillOld.get(SCORED.__name__)?.length, 5, 'still scoring with the running config');
    assert.equal((await request(`${a.url}/-/reload`)).status, 405, 'GET /-/reload');

    // A changed model (z_threshold) starts afresh; a changed listen address needs a restart.
    writeFileSync(file, config(port, vmUrl, { queries: BOTH, models: Z('load, other', 3), listen: port + 1 }));
    const good = await request(`${a.url}/-/reload`, { method: 'PUT' });
    assert.equal(good.status, 200, good.body.toString());
    assert.match(good.body.toString(), /2 changed \(state reset\).*not applied until a restart: server\.listen/);
    assert.equal(sumOf(await metrics(), 'anomstream_config_last_reload_successful'), 1, 'still listening on the old port, and the reload applied');
    const r = await a.write(buildWriteRequest(points(50, 55)));
    assert.equal(r.status, 204);
    await waitFor('points 50..54 learnt', async () => (sumOf(await metrics(), 'anomstream_samples_scored_total', 'query="load"') === 55 ? true : undefined));
    assert.equal(sumOf(await metrics(), 'anomstream_series_warming_up', 'query="load"'), 1);
    const fresh = await vm.exportSeries(`anomaly_score{for="load"}`);
    assert.deepEqual(
      fresh.flatMap((s) => s.timestamps.filter((ts) => ts >= T0 + 50_000)),
      [],
      'load/z changed: warming up again, no score',
    );

    // A new writer.datasource_url: raw and generated series go to the new datasource from now on;
    // the models keep their state (load/z finishes the warm-up it began at point 50: 16 points).
    vm2 = await VictoriaMetrics.start();
    writeFileSync(file, config(port, vm2.url, { queries: BOTH, models: Z('load, other', 3), listen: port + 1 }));
    const moved = await request(`${a.url}/-/reload`, { method: 'POST' });
    assert.equal(moved.status, 200, moved.body.toString());
    assert.match(moved.body.toString(), /2 kept their state.*writer changed/);
    const w = await a.write(buildWriteRequest(points(55, 70)));
    assert.equal(w.status, 204, w.body.toString());
    const v2 = vm2;
    const scores = await waitFor('scores of points 66..69 in the new datasource', async () => {
      const got = await v2.exportSeries('anomaly_score{for="load"}');
      const ts = got.flatMap((x) => x.timestamps);
      return ts.length === 4 ? ts.sort() : undefined;
    });
    assert.deepEqual(
      scores,
      [66, 67, 68, 69].map((i) => T0 + i * 1000),
      'load/z kept its state across the writer change',
    );
    const rawNew = await v2.exportSeries('{job="r", __name__=~"reload_.*"}');
    assert.equal(
      rawNew.reduce((n, x) => n + x.timestamps.length, 0),
      2 * 15,
      'every raw sample after the reload in the new datasource',
    );
    const rawOld = await vm.exportSeries('{job="r", __name__=~"reload_.*"}');
    assert.equal(rawOld.flatMap((x) => x.timestamps).filter((ts) => ts >= T0 + 55_000).length, 0, 'none in the old one');
  } catch (e) {
    dumpProcesses(t, [anom?.proc, vm?.proc, vm2?.proc]);
    throw e;
  } finally {
    await anom?.close();
    await vm?.close();
    await vm2?.close();
  }
});
