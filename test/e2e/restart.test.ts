/**
 * Issue 16 acceptance: models survive restarts. A real vmagent sends to anomstream, which
 * writes to a real VictoriaMetrics and keeps its model state in state.path (snapshots every
 * second here). anomstream is killed (kill -9) or stopped (SIGTERM) mid-load, vmagent keeps
 * the data coming (it retries while anomstream is away), anomstream is started again on the
 * same state.path:
 *  - every raw sample is in VictoriaMetrics;
 *  - kill -9: >= 90% of the scored series have an anomaly_score at their first point after the
 *    restart (no new warm-up; the snapshot is at most a second old);
 *  - SIGTERM: 100%, exit code 0, the snapshot written within server.shutdown_timeout;
 *  - a snapshot corrupted (one byte flipped, truncated): one warning, a cold start, the metric
 *    says so, exit code 0 when stopped.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Anomstream, VMAGENT_BIN, VM_BIN, VictoriaMetrics, VmAgent, configYaml, distinctSamples, requireBinaries, seriesKey, sleep, waitFor, type InputSeries } from './harness.js';
import { withVmagent } from './stack.js';

const WARMUP = 16;
const SCORED = 20;
const STEP = 1000;
const POINTS = 60;
/** Points sent before the stop; the rest while anomstream is away. */
const BEFORE = 40;
const SHUTDOWN_TIMEOUT_S = 10;

function dataset(prefix: string): { scored: InputSeries[]; all: InputSeries[] } {
  const t0 = Math.floor(Date.now() / STEP) * STEP - 10 * 60_000;
  const ts = Array.from({ length: POINTS }, (_, k) => t0 + k * STEP);
  const scored = Array.from({ length: SCORED }, (_, i) => ({ labels: { __name__: `${prefix}_cpu`, job: 'node', i: String(i) }, timestamps: ts, values: ts.map((t, k) => 30 + i + ((k * 7 + i) % 5) * 0.2) }));
  const other = Array.from({ length: 5 }, (_, i) => ({ labels: { __name__: `${prefix}_mem`, job: 'node', i: String(i) }, timestamps: ts, values: ts.map(() => 1000 + i) }));
  return { scored, all: [...scored, ...other] };
}

function config(prefix: string) {
  return (port: number, url: string): string =>
    configYaml({
      port,
      datasourceUrl: url,
      queries: { cpu: `${prefix}_cpu{job="node"}` },
      models: `  m: { class: zscore_online, min_n_samples_seen: ${WARMUP}, half_life: 2m }`,
      server: `shutdown_timeout: ${SHUTDOWN_TIMEOUT_S}s`,
    }) + 'state: { interval: 1s }\n';
}

/** Imports points [from, to) into vmagent in chunks of 10, each waited for until vmagent has sent it. */
async function push(agent: VmAgent, ds: InputSeries[], from: number, to: number): Promise<void> {
  for (let k = from; k < to; k += 10) {
    const sent = await agent.metric('vmagent_remotewrite_requests_total');
    await agent.importJsonLines(ds, k, Math.min(to, k + 10));
    await waitFor(`vmagent to send points ${k}..`, async () => ((await agent.metric('vmagent_remotewrite_requests_total')) > sent ? true : undefined));
  }
}

/** Distinct timestamps of anomaly_score per input series `i`. */
async function scoredTimes(vm: VictoriaMetrics, prefix: string): Promise<Map<string, Set<number>>> {
  const out = new Map<string, Set<number>>();
  for (const s of await vm.exportSeries(`anomaly_score{source_metric="${prefix}_cpu"}`)) {
    const set = out.get(s.metric.i) ?? new Set<number>();
    for (const t of s.timestamps) set.add(t);
    out.set(s.metric.i, set);
  }
  return out;
}

async function allRaw(vm: VictoriaMetrics, prefix: string, ds: InputSeries[]): Promise<void> {
  const got = await waitFor(
    'every raw sample in VictoriaMetrics',
    async () => {
      const e = await vm.exportSeries(`{__name__=~"${prefix}_.*"}`);
      return e.reduce((n, s) => n + distinctSamples(s).size, 0) >= ds.length * POINTS ? e : undefined;
    },
    90_000,
    500,
  );
  const byKey = new Map(got.map((s) => [seriesKey(s.metric), distinctSamples(s)]));
  for (const s of ds) assert.deepEqual(byKey.get(seriesKey(s.labels)), new Map(s.timestamps.map((t, k) => [t, s.values[k]])), seriesKey(s.labels));
}

/** Until every scored series has an anomaly_score at each of `points` (or the deadline); returns how many series have one at the first. */
async function scoredFrom(vm: VictoriaMetrics, prefix: string, ds: InputSeries[], points: number[], timeoutMs: number): Promise<number> {
  const full = (m: Map<string, Set<number>>, s: InputSeries): boolean => points.every((k) => m.get(s.labels.i)?.has(s.timestamps[k]));
  const m = await waitFor('scores after the restart', async () => {
    const got = await scoredTimes(vm, prefix);
    return ds.every((s) => full(got, s)) ? got : undefined;
  }, timeoutMs, 500).catch(() => scoredTimes(vm, prefix)); // prettier-ignore
  return ds.filter((s) => m.get(s.labels.i)?.has(s.timestamps[points[0]])).length;
}

/** Phase 1: the first BEFORE points through vmagent, all scored, then a snapshot written after that. */
async function warmUp(vm: VictoriaMetrics, anom: Anomstream, agent: VmAgent, prefix: string, ds: { scored: InputSeries[]; all: InputSeries[] }): Promise<void> {
  await push(agent, ds.all, 0, BEFORE);
  const want = Array.from({ length: BEFORE - WARMUP }, (_, k) => WARMUP + k);
  assert.equal(await scoredFrom(vm, prefix, ds.scored, want, 30_000), SCORED, 'every scored series scored before the stop');
  const ok = await anom.metric('anomstream_state_snapshots_total{result="ok"}');
  await waitFor('two more snapshots (one begun after the last scores)', async () => ((await anom.metric('anomstream_state_snapshots_total{result="ok"}')) >= ok + 2 ? true : undefined), 10_000);
}

test(
  'kill -9 mid-load behind a real vmagent, restarted on the same state.path: every raw sample arrives, >= 90% of the scored series are scored from their first point after the restart',
  { timeout: 180_000 },
  async (t) => {
    if (!requireBinaries(t, VM_BIN, VMAGENT_BIN)) return;
    const prefix = 'rk';
    const ds = dataset(prefix);
    await withVmagent(t, config(prefix), async (vm, anom, agent) => {
      await warmUp(vm, anom, agent, prefix, ds);
      // Mid-load: the remaining points come one by one every 100 ms; the kill lands while vmagent
      // is sending them (some accepted and scored, some accepted and not yet scored, some not sent).
      let next = BEFORE;
      let killed = false;
      const feed = (async () => {
        for (; next < POINTS; next++) {
          // The last points wait for the kill, so that it lands mid-load however long vmagent takes
          // to send the first ones (a fresh machine once took longer than the whole feed).
          while (!killed && next >= POINTS - 7) await sleep(50);
          await agent.importJsonLines(ds.all, next, next + 1); // vmagent holds them and retries while anomstream is away
          await sleep(100);
        }
      })();
      const requests = await anom.metric('anomstream_forward_requests_total');
      await waitFor('vmagent sending the points after the warm-up', async () => ((await anom.metric('anomstream_forward_requests_total')) > requests + 1 ? true : undefined));
      anom.proc.child.kill('SIGKILL');
      killed = true;
      // Points imported from now on can only reach anomstream after the restart (the one being imported may go either way).
      const firstAfter = next + 1;
      await anom.proc.wait();
      await feed;
      assert.ok(firstAfter < POINTS - 5, `killed mid-load (at point ${firstAfter} of ${POINTS})`);
      await anom.restart();
      assert.equal(await anom.metric('anomstream_state_restores_total{result="restored"}'), 1);
      assert.equal(await anom.metric('anomstream_state_restored_series'), SCORED);
      await allRaw(vm, prefix, ds.all);
      const after = Array.from({ length: POINTS - firstAfter }, (_, k) => firstAfter + k);
      const n = await scoredFrom(vm, prefix, ds.scored, after, 30_000);
      t.diagnostic(`killed at point ${firstAfter - 1} of ${POINTS}; ${n} of ${SCORED} scored series have a score at point ${firstAfter}`);
      assert.ok(n >= 0.9 * SCORED, `${n} of ${SCORED} scored series have a score at their first point after the restart`);
    });
  },
);

test(
  'SIGTERM mid-load: exit 0 with the snapshot written within shutdown_timeout, 100% scored after the restart; a corrupted snapshot means a cold start with one warning and exit 0',
  { timeout: 180_000 },
  async (t) => {
    if (!requireBinaries(t, VM_BIN, VMAGENT_BIN)) return;
    const prefix = 'rt';
    const ds = dataset(prefix);
    await withVmagent(t, config(prefix), async (vm, anom, agent) => {
      await warmUp(vm, anom, agent, prefix, ds);
      const file = join(anom.dir, 'anomstream-state', 'scoring.snapshot');
      // The interval (1 s) may have written one already: the stop's snapshot is a new file renamed
      // over it (a new inode). Not the mtime: the file system's clock is coarser than Date.now().
      const before = existsSync(file) ? statSync(file).ino : -1;
      const t0 = Date.now();
      anom.proc.child.kill('SIGTERM');
      assert.equal(await anom.proc.wait(), 0, 'exit code 0');
      const took = Date.now() - t0;
      assert.ok(took < SHUTDOWN_TIMEOUT_S * 1000, `stopped in ${took} ms`);
      assert.notEqual(statSync(file).ino, before, 'the snapshot was written during the stop');
      assert.match(anom.proc.output(), /"snapshot":"written".*stopped gracefully|stopped gracefully.*"snapshot":"written"/);

      await agent.importJsonLines(ds.all, BEFORE, POINTS);
      await anom.restart();
      await allRaw(vm, prefix, ds.all);
      const after = Array.from({ length: POINTS - BEFORE }, (_, k) => BEFORE + k);
      assert.equal(await scoredFrom(vm, prefix, ds.scored, after, 30_000), SCORED, 'every scored series, from its first point after the restart');

      for (const [what, corrupt] of [
        ['one byte flipped', (f: string) => writeFileSync(f, flipped(readFileSync(f)))],
        ['truncated', (f: string) => truncateSync(f, statSync(f).size - 100)],
      ] as const) {
        anom.proc.child.kill('SIGTERM');
        assert.equal(await anom.proc.wait(), 0);
        corrupt(file);
        await anom.restart();
        assert.equal(await anom.metric('anomstream_state_restores_total{result="corrupt"}'), 1, what);
        assert.equal(await anom.metric('anomstream_state_restored_series'), 0, what);
        const warnings = anom.proc
          .output()
          .split('\n')
          .filter((l) => l.includes('"level":40'));
        assert.equal(warnings.length, 1, `${what}: one warning:\n${warnings.join('\n')}`);
        assert.match(warnings[0], /snapshot is corrupt/);
      }
      anom.proc.child.kill('SIGTERM');
      assert.equal(await anom.proc.wait(), 0, 'exit code 0 after a cold start');
    });
  },
);

function flipped(b: Buffer): Buffer {
  const c = Buffer.from(b);
  c[c.length >> 1] ^= 0x40;
  return c;
}
