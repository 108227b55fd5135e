/**
 * Issue 16 acceptance against a real VictoriaMetrics (behind FaultyProxy where it must fail):
 *  - VictoriaMetrics answering 503 for 2 x series_idle_timeout: anomstream_series_evicted_total
 *    does not move, and scoring continues without warm-up once it is back;
 *  - one sample at now + 1 year followed by 30 normal samples: all 30 are learned and scored,
 *    the bad one is counted;
 *  - generated writes answered 503 three times, then 204: every generated sample arrives.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Anomstream, VM_BIN, VictoriaMetrics, buildWriteRequest, configYaml, dumpProcesses, requireBinaries, sleep, waitFor, type InputSeries } from './harness.js';
import { FaultyProxy, isGenerated, type Fault } from './faulty-proxy.js';

const WARMUP = 16;
const MODELS = `  m: { class: zscore_online, min_n_samples_seen: ${WARMUP}, half_life: 2m }`;

/** VictoriaMetrics, a FaultyProxy in front of it, anomstream writing through the proxy. */
async function withFaultyStack(t: { diagnostic(m: string): void }, fault: Fault, extraYaml: string, body: (vm: VictoriaMetrics, anom: Anomstream, proxy: FaultyProxy) => Promise<void>): Promise<void> {
  let vm: VictoriaMetrics | undefined;
  let proxy: FaultyProxy | undefined;
  let anom: Anomstream | undefined;
  try {
    vm = await VictoriaMetrics.start();
    proxy = await FaultyProxy.start(vm.url, fault);
    const url = proxy.url;
    anom = await Anomstream.start((port) => configYaml({ port, datasourceUrl: url, queries: { cpu: 'df_cpu{job="node"}' }, models: MODELS }) + extraYaml);
    await body(vm, anom, proxy);
  } catch (e) {
    dumpProcesses(t, [vm?.proc, anom?.proc]);
    throw e;
  } finally {
    await anom?.close();
    await proxy?.close();
    await vm?.close();
  }
}

/** One scored series with points `ts` (values: bounded noise around 20). */
function series(i: string, ts: number[]): InputSeries {
  return { labels: { __name__: 'df_cpu', job: 'node', i }, timestamps: ts, values: ts.map((t) => 20 + ((t / 1000) % 7) * 0.1) };
}

/** Distinct timestamps of anomaly_score for input series `i` in VictoriaMetrics. */
async function scoredTimes(vm: VictoriaMetrics, i: string): Promise<Set<number>> {
  const out = new Set<number>();
  for (const s of await vm.exportSeries(`anomaly_score{source_metric="df_cpu",i="${i}"}`)) for (const t of s.timestamps) out.add(t);
  return out;
}

async function waitScored(vm: VictoriaMetrics, i: string, want: number[], what: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    what,
    async () => {
      const got = await scoredTimes(vm, i);
      return want.every((t) => got.has(t)) ? true : undefined;
    },
    timeoutMs,
    250,
  ).catch(async (e: Error) => {
    const got = await scoredTimes(vm, i);
    throw new Error(`${e.message}: ${want.filter((t) => !got.has(t)).length} of ${want.length} timestamps have no anomaly_score`);
  });
}

test('VictoriaMetrics answering 503 for 2 x series_idle_timeout: no model is evicted, and scoring continues without warm-up', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN)) return;
  let down = false;
  const idleS = 4;
  await withFaultyStack(
    t,
    () => (down ? 503 : null),
    `limits: { series_idle_timeout: ${idleS}s }\n`,
    async (vm, anom) => {
      const step = 1000;
      const t0 = Math.floor(Date.now() / step) * step - 120 * step;
      const at = (k: number): number[] => [t0 + k * step];
      const send = (k: number): Promise<number> => anom.write(buildWriteRequest([series('0', at(k))])).then((r) => r.status);
      for (let k = 0; k < 30; k++) assert.equal(await send(k), 204);
      await waitScored(
        vm,
        '0',
        Array.from({ length: 30 - WARMUP }, (_, k) => t0 + (WARMUP + k) * step),
        'scores after the warm-up',
      );
      down = true;
      const backlog: number[] = [];
      const until = Date.now() + 2 * idleS * 1000 + 1000;
      for (let k = 30; Date.now() < until; k++) {
        assert.equal(await send(k), 503, 'the sender is told to retry');
        backlog.push(k);
        await sleep(500);
      }
      assert.equal(await anom.metric('anomstream_series_evicted_total'), 0, `after ${2 * idleS + 1} s of 503 (idle timeout ${idleS} s, swept every second)`);
      down = false;
      for (const k of backlog) assert.equal(await send(k), 204, 'the retried backlog is accepted');
      const last = backlog[backlog.length - 1];
      for (let k = last + 1; k <= last + 3; k++) assert.equal(await send(k), 204);
      await waitScored(
        vm,
        '0',
        [...backlog, last + 1, last + 2, last + 3].map((k) => t0 + k * step),
        'a score for every point after the outage (no new warm-up)',
      );
      assert.equal(await anom.metric('anomstream_series_evicted_total'), 0);
    },
  );
});

test('one sample at now + 1 year, then 30 normal samples: all 30 learned and scored, the bad one counted', { timeout: 60_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN)) return;
  await withFaultyStack(
    t,
    () => null,
    '',
    async (vm, anom) => {
      const step = 1000;
      const t0 = Math.floor(Date.now() / step) * step - 120 * step;
      const warm = Array.from({ length: 20 }, (_, k) => t0 + k * step);
      assert.equal((await anom.write(buildWriteRequest([series('1', warm)]))).status, 204);
      assert.equal((await anom.write(buildWriteRequest([series('1', [Date.now() + 365 * 86_400_000])]))).status, 204, 'forwarded and accepted');
      const normal = Array.from({ length: 30 }, (_, k) => t0 + (20 + k) * step);
      for (let k = 0; k < 30; k += 5) assert.equal((await anom.write(buildWriteRequest([series('1', normal.slice(k, k + 5))]))).status, 204);
      await waitScored(vm, '1', normal, 'a score for each of the 30 normal samples');
      assert.equal(await anom.metric('anomstream_samples_not_learned_total{reason="future"}'), 1);
      assert.equal(await anom.metric('anomstream_samples_scored_total'), 50, '20 + 30 learned, not the future one');
    },
  );
});

test('generated writes answered 503 three times, then 204: every generated sample arrives', { timeout: 60_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN)) return;
  let refused = 0;
  const fault: Fault = (r) => (r.method === 'POST' && refused < 3 && isGenerated(r.body) ? (refused++, 503) : null);
  await withFaultyStack(t, fault, '', async (vm, anom) => {
    const step = 1000;
    const t0 = Math.floor(Date.now() / step) * step - 120 * step;
    const ts = Array.from({ length: 40 }, (_, k) => t0 + k * step);
    assert.equal((await anom.write(buildWriteRequest([series('2', ts)]))).status, 204);
    const want = ts.slice(WARMUP);
    await waitFor(
      'all four generated series, every point after the warm-up',
      async () => {
        let n = 0;
        for (const v of ['anomaly_score', 'yhat', 'yhat_lower', 'yhat_upper']) {
          const got = new Set((await vm.exportSeries(`${v}{source_metric="df_cpu",i="2"}`)).flatMap((s) => s.timestamps));
          n += want.filter((x) => got.has(x)).length;
        }
        return n === 4 * want.length ? true : undefined;
      },
      30_000,
      250,
    );
    assert.equal(refused, 3, 'the datasource refused the generated write three times');
    assert.ok((await anom.metric('anomstream_generated_retries_total')) >= 3);
    assert.equal(await anom.metric('anomstream_generated_retried_blocks_total'), 1);
    for (const reason of ['rejected', 'buffer_full', 'shutdown']) assert.equal(await anom.metric(`anomstream_generated_dropped_total{reason="${reason}"}`), 0);
  });
});
