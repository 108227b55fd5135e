/**
 * Issue 3 acceptance: a direct remote_write sender -> anomstream -> real VictoriaMetrics.
 * Raw samples arrive unchanged; generated series exist for the matched series only.
 */
import { test } from 'node:test';
import { VM_BIN, configYaml, requireBinaries, snappyCompress } from './harness.js';
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
