/**
 * Shared by the sharding e2e tests (shard-scale, shard-restart): anomstream configs with
 * `shard:`, vmagent's per-URL hashmod relabel files (deploy/scale-out.md's form), and the share
 * each shard owns, computed with our hashmod from the labels as sent.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Hashmod } from '../../src/scoring/hashmod.js';
import { Anomstream, VictoriaMetrics, VmAgent, dumpProcesses, seriesKey, tempDir, waitFor, type Diagnosable, type InputSeries } from './harness.js';

export const SOURCE_LABELS = ['__name__', 'instance'];

export interface ShardConfig {
  vm: string;
  count: number;
  index: number;
  /** min_n_samples_seen of the one zscore_online model. */
  warmup: number;
  /** Selector of the scored series. */
  expr: string;
  /** reader.ignore_labels. */
  ignore?: string[];
  /** state: section (YAML flow mapping body), e.g. `path: "/tmp/x", interval: 1s`. */
  state?: string;
}

export function shardConfig(port: number, c: ShardConfig): string {
  return [
    `server: { listen: "127.0.0.1:${port}" }`,
    'reader:',
    `  queries: { node: '${c.expr}' }`,
    ...(c.ignore ? [`  ignore_labels: [${c.ignore.join(', ')}]`] : []),
    `models: { z: { class: zscore_online, min_n_samples_seen: ${c.warmup} } }`,
    `writer: { datasource_url: "${c.vm}" }`,
    `shard: { count: ${c.count}, index: ${c.index}, source_labels: [${SOURCE_LABELS.join(', ')}] }`,
    ...(c.state ? [`state: { ${c.state} }`] : []),
    '',
  ].join('\n');
}

/** A vmagent sending instance i's share to anoms[i] (one -remoteWrite.url + hashmod/keep relabel file each). */
export async function shardingVmAgent(dir: string, anoms: Anomstream[]): Promise<VmAgent> {
  const args: string[] = [];
  anoms.forEach((a, i) => {
    const file = join(dir, `shard-${anoms.length}-${i}.yml`);
    writeFileSync(
      file,
      `- action: hashmod\n  source_labels: [${SOURCE_LABELS.join(', ')}]\n  modulus: ${anoms.length}\n  target_label: __tmp_shard\n- action: keep\n  source_labels: [__tmp_shard]\n  regex: "${i}"\n`,
    );
    if (i > 0) args.push(`-remoteWrite.url=${a.url}/api/v1/write`);
    args.push(`-remoteWrite.urlRelabelConfig=${file}`);
  });
  return VmAgent.start(`${anoms[0].url}/api/v1/write`, args);
}

/** Imports points [from, to) one timestamp at a time, each waited for until vmagent has sent `requests` more remote-write requests. */
export async function pushRounds(agent: VmAgent, series: InputSeries[], from: number, to: number, requests: number): Promise<void> {
  for (let k = from; k < to; k++) {
    const before = await agent.metric('vmagent_remotewrite_requests_total');
    await agent.importJsonLines(series, k, k + 1);
    await waitFor(`vmagent to remote-write round ${k}`, async () => ((await agent.metric('vmagent_remotewrite_requests_total')) >= before + requests ? true : undefined));
  }
}

/** How many of `series` each of `count` shards owns. */
export function shares(series: InputSeries[], count: number): number[] {
  const h = new Hashmod({ sourceLabels: SOURCE_LABELS, count });
  const out = new Array<number>(count).fill(0);
  for (const s of series) out[h.ofPairs(Object.entries(s.labels))]++;
  return out;
}

/** A sharding test's stack: one VictoriaMetrics, the instances it starts, the vmagent in front (replaceable). */
export interface ShardStack {
  vm: VictoriaMetrics;
  /** Temp dir for relabel files and state paths, removed after. */
  dir: string;
  /** Every instance the test starts (all closed after). */
  anoms: Anomstream[];
  agent?: VmAgent;
}

/** Runs `body` with a fresh VictoriaMetrics; dumps every process's output when it fails; stops everything after. */
export async function withShardStack(t: Diagnosable, name: string, body: (s: ShardStack) => Promise<void>): Promise<void> {
  const s: Omit<ShardStack, 'vm'> & { vm?: VictoriaMetrics } = { dir: tempDir(name), anoms: [] };
  try {
    s.vm = await VictoriaMetrics.start();
    await body(s as ShardStack);
  } catch (e) {
    dumpProcesses(t, [s.agent?.proc, ...s.anoms.map((a) => a.proc), s.vm?.proc]);
    throw e;
  } finally {
    await s.agent?.close();
    for (const a of s.anoms) await a.close();
    await s.vm?.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
}

/** Every raw sample of `sent` in VictoriaMetrics (`selector` picks the raw series), each exactly once. */
export async function rawExactlyOnce(vm: VictoriaMetrics, selector: string, sent: InputSeries[]): Promise<void> {
  const want = sent.reduce((n, s) => n + s.timestamps.length, 0);
  const got = await waitFor(
    'every raw sample in VictoriaMetrics',
    async () => {
      const e = await vm.exportSeries(selector);
      return e.reduce((n, s) => n + s.timestamps.length, 0) >= want ? e : undefined;
    },
    60_000,
    500,
  );
  const byKey = new Map(got.map((s) => [seriesKey(s.metric), s]));
  assert.equal(got.length, sent.length, 'one stored series per sent series');
  for (const s of sent) {
    const g = byKey.get(seriesKey(s.labels));
    assert.ok(g, `raw series ${seriesKey(s.labels)} stored`);
    assert.deepEqual(g.timestamps, s.timestamps, `${seriesKey(s.labels)}: each sample exactly once`);
    assert.deepEqual(g.values, s.values);
  }
}
