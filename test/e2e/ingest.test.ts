/**
 * Issue 3 acceptance: a direct remote_write sender -> anomstream -> real VictoriaMetrics.
 * Raw samples arrive unchanged; generated series exist for the matched series only.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpResult, VM_BIN, buildWriteRequest, configYaml, requireBinaries } from './harness.js';
import { MODELS_YAML, SELECTOR, QUERY_ALIAS, assertRawDelivered, assertScored, makeDataset } from './scenario.js';
import { withVictoriaMetrics } from './stack.js';

test('direct sender: raw data unchanged in VictoriaMetrics, scores for matched series only', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN)) return;
  const config = (port: number, datasourceUrl: string): string => configYaml({ port, datasourceUrl, queries: { [QUERY_ALIAS]: SELECTOR }, models: MODELS_YAML });
  await withVictoriaMetrics(t, config, async (vm, anom) => {
    const ds = makeDataset();
    // 40 requests of 10 points per series; alternate the two write paths.
    const perRequest = 10;
    for (let from = 0, n = 0; from < ds.points; from += perRequest, n++) {
      const path = n % 2 === 0 ? '/api/v1/write' : '/prometheus/api/v1/write';
      const r: HttpResult = await anom.write(buildWriteRequest(ds.all, from, from + perRequest), {}, path);
      assert.equal(r.status, 204, `POST ${path} #${n}: ${r.status} ${r.body.toString()}\n${anom.proc.tail()}`);
    }
    await assertRawDelivered(vm, ds);
    await assertScored(vm, ds);
  });
});
