/**
 * Issue 19 acceptance, run on deploy/'s own files (deploy-stack.ts: the compose topology on
 * 127.0.0.1): a real vmalert with deploy/alerts.yml fires the anomaly alert for an injected
 * anomaly and never for the calm series; the self-monitoring rules evaluate without error and
 * one of them fires when its condition is made true; every query of deploy/grafana/dashboards
 * runs against the VictoriaMetrics fed through anomstream.
 *
 * Time from anomaly to alert: printed as a test diagnostic. The stack here runs VictoriaMetrics
 * with -search.latencyOffset=1s and vmalert with -evaluationInterval=1s; to measure other values:
 *   OPS_LATENCY_OFFSET=5s OPS_EVALUATION_INTERVAL=15s node --test dist/test/e2e/operate.test.js
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NODE_EXPORTER_BIN, VMALERT_BIN, instantQuery, promApi, rangeQuery, seriesOf, type VmAlertAlert } from './peers.js';
import { REMOTE_WRITE_HEADERS, VMAGENT_BIN, VM_BIN, dumpProcesses, request, requireBinaries, rng, seriesKey, sleep, waitFor, type InputSeries } from './harness.js';
import { DeployStack } from './deploy-stack.js';
import { parse as parseYaml } from 'yaml';
import { DEPLOY, deployFile, documentedMetrics, metricNames } from '../deploy/files.js';
import { formatValue, labelValuesQuery, substitute, targets, type Dashboard, type DashboardVariable } from './grafana.js';
import { parseDurationMs } from '../../src/config/duration.js';

const LATENCY_OFFSET = process.env.OPS_LATENCY_OFFSET ?? '1s';
const EVALUATION_INTERVAL = process.env.OPS_EVALUATION_INTERVAL ?? '1s';
const STEP_MS = 1000; // the injected series' sample interval (and the scrape interval)
/** How long an alert may take: the offset, two evaluations, and 30 s for everything else. */
const ALERT_WAIT_MS = 30_000 + parseDurationMs(LATENCY_OFFSET)! + 2 * parseDurationMs(EVALUATION_INTERVAL)!;

/** The injected series: labels of the query `injected` below; `spiky` gets one anomalous point. */
const INJECTED = 'ops_test_load';
const SPIKY = { __name__: INJECTED, job: 'ops-test', instance: 'spiky', region: 'eu' };
const CALM = { __name__: INJECTED, job: 'ops-test', instance: 'calm' };
const HISTORY = 120;

/**
 * A rule a reader might write instead of deploy/alerts.yml's: `anomaly_score > 1` with a `for:`
 * longer than the sample interval. It never fires for a one-point anomaly (README: Alerts).
 */
const NAIVE_RULES = `groups:
  - name: naive
    rules:
      - alert: NaiveAnomaly
        expr: anomaly_score > 1
        for: 3s
`;

/** Bounded two-level noise around `base` (as scenario.ts), 3 decimals. */
function noise(r: () => number, base: number): number {
  const sign = r() < 0.5 ? -1 : 1;
  return Math.round((base + sign * (0.8 + 0.4 * r())) * 1000) / 1000;
}

function isInjected(a: VmAlertAlert): boolean {
  return a.labels.source_metric === INJECTED;
}

describe('operating anomstream with deploy/ (vmalert, alert rules, dashboards)', { timeout: 120_000 + 2 * ALERT_WAIT_MS }, () => {
  let stack: DeployStack | undefined;
  const bins = [VM_BIN, VMAGENT_BIN, VMALERT_BIN, NODE_EXPORTER_BIN];
  /** Every alert vmalert listed, polled every 100 ms from the start of the first test. */
  const seen: { at: number; alert: VmAlertAlert }[] = [];
  let polling = true;
  let poller: Promise<void> | undefined;

  before(async () => {
    if (!bins.every((b) => existsSync(b))) return; // each test then skips, or fails under CI=true
    stack = await DeployStack.start({
      warmup: 5,
      extraQueries: { injected: `${INJECTED}{job="ops-test"}` },
      // A short memory, so that 120 points of history are enough to know the noise (scenario.ts).
      extraModels: { injected: { class: 'zscore_online', queries: ['injected'], min_n_samples_seen: 16, half_life: '2m' } },
      extraRules: NAIVE_RULES,
      scrapeInterval: `${STEP_MS / 1000}s`,
      evaluationInterval: EVALUATION_INTERVAL,
      vmArgs: [`-search.latencyOffset=${LATENCY_OFFSET}`],
    });
    const vmalert = stack.vmalert!;
    poller = (async () => {
      while (polling) {
        const at = Date.now();
        for (const alert of await vmalert.alerts().catch(() => [])) seen.push({ at, alert });
        await sleep(100);
      }
    })();
  });

  after(async () => {
    polling = false;
    try {
      await poller;
    } finally {
      await stack?.close();
    }
  });

  /** Skips (or fails under CI=true) when a binary is missing. */
  const ready = (t: Parameters<typeof requireBinaries>[0]): boolean => requireBinaries(t, ...bins);

  it('the Anomaly rule fires for an injected anomaly, with the series labels and a vmui link, and never for the calm series', async (t) => {
    if (!ready(t) || !stack) return;
    const { vm, agent, notifier } = stack as Required<DeployStack>;
    try {
      const r = rng(19);
      const start = Math.floor(Date.now() / STEP_MS) * STEP_MS - HISTORY * STEP_MS;
      const history = (labels: Record<string, string>, base: number): InputSeries => {
        const timestamps = Array.from({ length: HISTORY }, (_, i) => start + i * STEP_MS);
        return { labels, timestamps, values: timestamps.map(() => noise(r, base)) };
      };
      await agent.importJsonLines([history(SPIKY, 50), history(CALM, 20)]);

      // Live points every second; the 9th live point of `spiky` is +40.
      let spikeTs = 0;
      for (let i = 0; i < 8 + 1 + 6; i++) {
        const ts = Date.now();
        const spike = i === 8;
        if (spike) spikeTs = ts;
        const point = (labels: Record<string, string>, v: number): InputSeries => ({ labels, timestamps: [ts], values: [v] });
        await agent.importJsonLines([point(SPIKY, spike ? noise(r, 50) + 40 : noise(r, 50)), point(CALM, noise(r, 20))]);
        if (i === 7) {
          // Before the spike: the history and the live points were scored, and nothing fired.
          const scored = await vm.exportSeries(`anomaly_score{source_metric="${INJECTED}"}`);
          assert.equal(scored.length, 2, 'both injected series are scored');
          assert.deepEqual(
            seen.filter((s) => isInjected(s.alert)),
            [],
            'no alert for the injected series before the anomaly',
          );
        }
        await sleep(Math.max(0, ts + STEP_MS - Date.now()));
      }

      const firing = await waitFor(
        'the Anomaly alert for the spiky series',
        async () => seen.find((s) => s.alert.name === 'Anomaly' && s.alert.state === 'firing' && s.alert.labels.instance === 'spiky'),
        ALERT_WAIT_MS,
      );
      const note = await waitFor('its notification', async () => notifier.notifications.find((n) => n.labels.alertname === 'Anomaly' && n.labels.instance === 'spiky'));
      t.diagnostic(
        `anomaly -> alert (-search.latencyOffset=${LATENCY_OFFSET}, -evaluationInterval=${EVALUATION_INTERVAL}, vmagent flush 200 ms): ` +
          `vmalert activeAt ${Date.parse(firing.alert.activeAt) - spikeTs} ms, listed firing ${firing.at - spikeTs} ms, ` +
          `notification received ${note.receivedAt - spikeTs} ms after the sample's timestamp`,
      );

      // Labels carried through: the generated series' labels (no __name__), plus the rule's.
      const { __name__: _name, ...inputLabels } = SPIKY;
      const seriesLabels = { ...inputLabels, for: 'injected', source_metric: INJECTED };
      assert.deepEqual(firing.alert.labels, { ...seriesLabels, alertname: 'Anomaly', alertgroup: 'anomstream-anomalies', severity: 'warning' });
      assert.ok(Number(firing.alert.value) > 1, `value is the score: ${firing.alert.value}`);
      assert.match(note.annotations.summary, new RegExp(`^${INJECTED} is anomalous \\(query injected, score \\d+\\.\\d\\d\\)$`));

      // The vmui link selects exactly this series' generated series (g0) and its raw series (g1).
      const link = new URL(note.annotations.vmui);
      assert.equal(`${link.origin}${link.pathname}`, `${vm.url}/vmui/`);
      const params = new URLSearchParams(link.hash.replace(/^#\/\?/, ''));
      const since = Math.floor(start / 1000);
      const g0 = (await seriesOf(vm.url, params.get('g0.expr')!, since)).map(seriesKey).sort();
      assert.deepEqual(g0, ['anomaly_score', 'yhat', 'yhat_lower', 'yhat_upper'].map((v) => seriesKey({ ...seriesLabels, __name__: v })).sort(), `g0.expr ${params.get('g0.expr')}`);
      const g1 = (await seriesOf(vm.url, params.get('g1.expr')!, since)).map(seriesKey);
      assert.deepEqual(g1, [seriesKey(SPIKY)], `g1.expr ${params.get('g1.expr')}`);

      // A few evaluations later: still nothing for the calm series, and the naive rule never fired.
      await sleep(3000);
      const calm = seen.filter((s) => isInjected(s.alert) && s.alert.labels.instance === 'calm');
      assert.deepEqual(calm, [], 'no alert (pending or firing) for the calm series');
      assert.deepEqual(
        seen.filter((s) => s.alert.name === 'NaiveAnomaly' && s.alert.state === 'firing' && isInjected(s.alert)),
        [],
        'anomaly_score > 1 with for: 3s never fires for a one-point anomaly',
      );
    } catch (e) {
      dumpProcesses(t, stack.procs());
      throw e;
    }
  });

  it('the self-monitoring rules evaluate without error, and AnomstreamRejectingWrites fires after an unreadable request', async (t) => {
    if (!ready(t) || !stack) return;
    const { anom, vmalert } = stack as Required<DeployStack>;
    try {
      const bad = await request(`${anom.url}/api/v1/write`, { method: 'POST', body: Buffer.from('not snappy at all'), headers: REMOTE_WRITE_HEADERS });
      assert.equal(bad.status, 400);
      const instance = `127.0.0.1:${anom.port}`;
      await waitFor(
        'AnomstreamRejectingWrites firing',
        async () => seen.find((s) => s.alert.name === 'AnomstreamRejectingWrites' && s.alert.state === 'firing' && s.alert.labels.instance === instance),
        ALERT_WAIT_MS,
      );
      const rules = await vmalert.rules();
      const deployRules = [...rules].filter(([k]) => k.startsWith('anomstream-'));
      const inFile = (parseYaml(deployFile('alerts.yml')) as { groups: { rules: unknown[] }[] }).groups.flatMap((g) => g.rules).length;
      assert.equal(deployRules.length, inFile, `deploy/alerts.yml's ${inFile} rules are loaded: ${[...rules.keys()].join(', ')}`);
      for (const [name, rule] of deployRules) {
        assert.equal(rule.lastError, '', `${name} evaluates without error`);
        assert.equal(rule.health, 'ok', `${name} health`);
      }
      const otherFiring = seen.filter((s) => s.alert.name.startsWith('Anomstream') && s.alert.name !== 'AnomstreamRejectingWrites' && s.alert.state === 'firing');
      assert.deepEqual(otherFiring, [], 'no other self-monitoring alert fires in a healthy stack');
    } catch (e) {
      dumpProcesses(t, stack.procs());
      throw e;
    }
  });

  it("every query of deploy/grafana's dashboards runs on VictoriaMetrics, non-empty where its metrics exist", async (t) => {
    if (!ready(t) || !stack) return;
    const { vm } = stack as Required<DeployStack>;
    // The data is a minute old at most: a 2 s step (what Grafana picks for a few minutes) sees it.
    const step = 2;
    const builtins = { rateInterval: '1m', interval: `${step}s`, range: '15m' };
    try {
      // anomstream's own metrics and the node_exporter query's y (after its warm-up) are in.
      await waitFor('5 points of y of node_cpu_rate', async () => ((await instantQuery(vm.url, 'count_over_time(y{for="node_cpu_rate"}[1m]) >= 5')).length > 0 ? true : undefined), 30_000, 250);
      await vm.forceFlush();
      const end = Math.floor(Date.now() / 1000);
      const start = end - 15 * 60;
      const names = new Set(await promApi<string[]>(vm.url, '/api/v1/label/__name__/values', { start: String(start) }));
      const documented = documentedMetrics();
      let ran = 0;
      for (const file of ['anomstream-health.json', 'anomstream-anomalies.json']) {
        const d = JSON.parse(readFileSync(join(DEPLOY, 'grafana', 'dashboards', file), 'utf8')) as Dashboard;
        // Variables in order (later ones may use earlier ones); multi/All ones at All, single ones
        // at each of their values in turn.
        const combos: Record<string, string>[] = [{}];
        for (const v of d.templating.list.filter((x: DashboardVariable) => x.type === 'query')) {
          const next: Record<string, string>[] = [];
          for (const values of combos) {
            const [selector, label] = labelValuesQuery(substitute(v.definition ?? '', values, builtins));
            const got = await promApi<string[]>(vm.url, `/api/v1/label/${label}/values`, { 'match[]': selector, start: String(start) });
            assert.ok(got.length > 0, `${file}: $${v.name} = label_values(${selector}, ${label}) has values`);
            for (const value of v.includeAll ? ['All'] : got) next.push({ ...values, [v.name]: formatValue(v, value) });
          }
          combos.splice(0, combos.length, ...next);
        }
        for (const values of combos) {
          for (const target of targets(d)) {
            const expr = substitute(target.expr, values, builtins);
            const where = `${file} "${target.panel}" ${target.refId}: ${expr}`;
            const result = target.instant ? await instantQuery(vm.url, expr) : await rangeQuery(vm.url, expr, start, end, step);
            const used = metricNames(expr);
            for (const n of used) assert.ok(names.has(n) || documented.has(n), `${where}: ${n} is neither in VictoriaMetrics nor documented in the README`);
            if (used.every((n) => names.has(n))) assert.ok(result.length > 0, `${where}: empty, although its metrics exist`);
            ran++;
            // The band panel's y: the raw series for a query without transform, y with one.
            if (target.panel.startsWith('y and the band') && target.refId === 'D') {
              const want = values.source_metric === INJECTED ? INJECTED : values.source_metric === 'node_cpu_seconds_total' ? 'y' : undefined;
              if (want) assert.deepEqual([...new Set(result.map((s) => s.metric.__name__))], [want], where);
            }
          }
        }
      }
      t.diagnostic(`${ran} dashboard queries ran`);
    } catch (e) {
      dumpProcesses(t, stack.procs());
      throw e;
    }
  });
});
