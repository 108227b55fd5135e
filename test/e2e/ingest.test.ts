/**
 * Issue 3 acceptance: a direct remote_write sender -> anomstream -> real VictoriaMetrics.
 * Raw samples arrive unchanged; generated series exist for the matched series only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VM_BIN, configYaml, encodeWriteRequest, requireBinaries, snappyCompress } from './harness.js';
import { MODELS_YAML, SELECTOR, QUERY_ALIAS, assertRawDelivered, assertScored, makeDataset, sendDataset } from './scenario.js';
import { withVictoriaMetrics } from './stack.js';

test('direct sender: raw data unchanged in VictoriaMetrics, scores for matched series only', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN)) return;
  const config = (port: number, datasourceUrl: string): string => configYaml({ port, datasourceUrl, queries: { [QUERY_ALIAS]: SELECTOR }, models: MODELS_YAML });
  await withVictoriaMetrics(t, config, async (vm, anom) => {
    const ds = makeDataset();
    // 40 requests of 10 points per series, on both write paths.
    await sendDataset(
      ds,
      10,
      (raw, path) => anom.write(snappyCompress(raw), {}, path),
      () => anom.proc.tail(),
    );
    await assertRawDelivered(vm, ds);
    await assertScored(vm, ds);
  });
});

test('16 concurrent senders: the requests waiting while raw POSTs are in flight go merged, fewer POSTs than requests; every raw sample in VictoriaMetrics once', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN)) return;
  const config = (port: number, datasourceUrl: string): string => configYaml({ port, datasourceUrl, queries: { [QUERY_ALIAS]: SELECTOR }, models: MODELS_YAML });
  await withVictoriaMetrics(t, config, async (vm, anom) => {
    const ds = makeDataset({ prefix: 'merge' });
    // One point per request (400 requests), 16 in flight: more arrive than one raw POST in flight carries one by one.
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let from = next++; from < ds.points; from = next++) {
        const r = await anom.write(snappyCompress(encodeWriteRequest(ds.all, from, from + 1)));
        assert.equal(r.status, 204, `point ${from}: ${r.status} ${r.body.toString()}\n${anom.proc.tail()}`);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    await assertRawDelivered(vm, ds);
    const names = [...new Set(ds.all.map((s) => s.labels.__name__))].join('|');
    const stored = (await vm.exportSeries(`{__name__=~"${names}"}`)).reduce((n, s) => n + s.timestamps.length, 0);
    assert.equal(stored, ds.all.length * ds.points, 'no sample stored twice');
    const requests = await anom.metric('anomstream_forward_requests_total{result="accepted"}');
    const posts = await anom.metric('anomstream_forward_posts_total{result="accepted"}');
    const merged = await anom.metric('anomstream_forward_merged_requests_total');
    t.diagnostic(`${requests} requests in ${posts} raw POSTs (${merged} merged)`);
    assert.equal(requests, ds.points);
    assert.ok(posts < requests && merged > 0, `fewer POSTs (${posts}) than requests (${requests}), ${merged} merged`);
    assert.equal(await anom.metric('anomstream_forward_posts_total{result="rejected"}'), 0);
  });
});
