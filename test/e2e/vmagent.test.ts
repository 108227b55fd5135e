/**
 * Issue 3 acceptance: a real vmagent (Debian package, 1.79.5) as the sender.
 * Data is pushed into vmagent's /api/v1/import; vmagent remote-writes it to anomstream.
 */
import { test } from 'node:test';
import { VMAGENT_BIN, VM_BIN, configYaml, requireBinaries, waitFor } from './harness.js';
import { MODELS_YAML, QUERY_ALIAS, SELECTOR, assertRawDelivered, assertScored, makeDataset } from './scenario.js';
import { withVmagent } from './stack.js';

test('vmagent sender: raw data unchanged in VictoriaMetrics, scores for matched series only', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN, VMAGENT_BIN)) return;
  const config = (port: number, datasourceUrl: string): string => configYaml({ port, datasourceUrl, queries: { [QUERY_ALIAS]: SELECTOR }, models: MODELS_YAML });
  await withVmagent(t, config, async (vm, _anom, agent) => {
    const ds = makeDataset({ seed: 11 });
    // 8 imports of 50 points per series, each waited for until vmagent has remote-written it, so
    // anomstream sees many requests (vmagent would otherwise batch everything into one block).
    for (let from = 0; from < ds.points; from += 50) {
      const sent = await agent.metric('vmagent_remotewrite_requests_total');
      await agent.importJsonLines(ds.all, from, from + 50);
      await waitFor(`vmagent to remote-write points ${from}..${from + 49}`, async () => ((await agent.metric('vmagent_remotewrite_requests_total')) > sent ? true : undefined));
    }
    await assertRawDelivered(vm, ds, 60_000);
    await assertScored(vm, ds, 30_000);
  });
});
