/**
 * src/scoring/hashmod.ts against a real vmagent's routing (Debian vmagent 1.79.5): one -remoteWrite.url
 * per shard, each with a -remoteWrite.urlRelabelConfig that computes `hashmod` and keeps its own share
 * (the documented sharding form, deploy/scale-out.md). Series go in through vmagent's remote_write
 * endpoint with labels not sorted by name, some without a source label, some with non-ASCII values,
 * some labels with dotted (OpenTelemetry) or non-ASCII names; small node:http sinks record which
 * series each URL got. Every series must arrive at exactly one
 * sink, and our function must name that sink for every series: from the labels as sent (pairs) and
 * from the bytes the sink received (our decoder's WriteBatch).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { parseConfig } from '../../src/config/load.js';
import { WriteBatch, WriteRequestDecoder } from '../../src/ingest/write-request.js';
import { Hashmod, type LabelPairs } from '../../src/scoring/hashmod.js';
import {
  CaptureServer,
  REMOTE_WRITE_HEADERS,
  REPO_ROOT,
  VMAGENT_BIN,
  VmAgent,
  decodeWriteRequest,
  dumpProcesses,
  request,
  requireBinaries,
  snappyCompress,
  snappyUncompress,
  tempDir,
  waitFor,
} from './harness.js';

const WR = protobuf.loadSync(join(REPO_ROOT, 'proto', 'remote.proto')).lookupType('prometheus.WriteRequest');
const SERIES = 2000;
const NOW = Date.now() - 60_000;

/** node_exporter-like series in vmagent's order (not sorted); every 10th has no `instance`. */
function makeSeries(): LabelPairs[] {
  const out: LabelPairs[] = [];
  for (let i = 0; i < SERIES; i++) {
    const host = i % 97;
    const l: Array<[string, string]> = [
      ['__name__', `node_metric_${i % 23}_total`],
      ['cpu', String(i % 8)],
      ['mode', ['idle', 'user', 'sÿstem ✓'][i % 3]],
    ];
    if (i % 10 !== 3) l.push(['instance', `10.1.${host >> 4}.${host & 15}:9100`]);
    l.push(['job', 'node'], ['az', `eu-west-1${'abc'[host % 3]}`], ['env', host % 4 === 3 ? 'staging' : 'prod'], ['region', 'eu-west-1'], ['series', String(i)]);
    // OpenTelemetry's dotted names and a non-ASCII one, as VictoriaMetrics stores them; some absent.
    if (i % 7 !== 2) l.push(['host.name', `node-${host}`]);
    l.push(['service.name', ['api', 'db', 'cache'][i % 3]], ['pièce', `salle ${i % 5}`]);
    out.push(l);
  }
  return out;
}

const key = (l: LabelPairs): string => l.find(([n]) => n === 'series')![1];

async function routeThroughVmagent(t: { diagnostic(m: string): void }, count: number, sourceLabels: string[], separator: string | undefined): Promise<void> {
  const sent = makeSeries();
  const sinks: CaptureServer[] = [];
  let agent: VmAgent | undefined;
  const dir = tempDir('shard-relabel');
  try {
    for (let i = 0; i < count; i++) sinks.push(await CaptureServer.start(204));
    const args: string[] = [];
    sinks.forEach((sink, i) => {
      const file = join(dir, `shard-${i}.yml`);
      writeFileSync(
        file,
        [
          '- action: hashmod',
          `  source_labels: ${JSON.stringify(sourceLabels)}`,
          ...(separator === undefined ? [] : [`  separator: ${JSON.stringify(separator)}`]),
          `  modulus: ${count}`,
          '  target_label: __tmp_shard',
          '- action: keep',
          '  source_labels: [__tmp_shard]',
          `  regex: "${i}"`,
          '',
        ].join('\n'),
      );
      if (i > 0) args.push(`-remoteWrite.url=${sink.url}/api/v1/write`);
      args.push(`-remoteWrite.urlRelabelConfig=${file}`);
    });
    agent = await VmAgent.start(`${sinks[0].url}/api/v1/write`, args);
    const body = WR.encode(WR.fromObject({ timeseries: sent.map((l, i) => ({ labels: l.map(([name, value]) => ({ name, value })), samples: [{ value: i, timestamp: NOW }] })) })).finish();
    const r = await request(`${agent.url}/api/v1/write`, { method: 'POST', body: snappyCompress(body), headers: REMOTE_WRITE_HEADERS });
    assert.equal(r.status, 204, r.body.toString());

    // Which sink got which series, read with protobufjs (pairs, as received) and with our decoder.
    const got = new Map<string, number[]>();
    const received = (): number => {
      got.clear();
      sinks.forEach((sink, i) => {
        for (const req of sink.requests) {
          if (req.path !== '/api/v1/write') continue;
          for (const ts of decodeWriteRequest(req.body).timeseries ?? []) {
            const k = key((ts.labels ?? []).map((x) => [x.name, x.value]));
            got.set(k, [...(got.get(k) ?? []), i]);
          }
        }
      });
      return got.size;
    };
    await waitFor(`all ${SERIES} series at the sinks`, async () => (received() >= SERIES ? true : undefined), 30_000);
    await new Promise((res) => setTimeout(res, 500)); // anything vmagent would still send twice
    assert.equal(received(), SERIES);

    // The shard: section these source labels make (the config must take every name vmagent does).
    const shard = parseConfig({ reader: { queries: { q: 'up' } }, writer: { datasource_url: 'http://127.0.0.1:8428' }, shard: { count, index: 0, source_labels: sourceLabels, separator } }).shard!;
    const h = new Hashmod({ sourceLabels: shard.source_labels!, separator: shard.separator, count: shard.count! });
    const perShard = new Array<number>(count).fill(0);
    let mismatches = 0;
    for (const l of sent) {
      const at = got.get(key(l))!;
      assert.equal(at.length, 1, `series ${key(l)} arrived ${at.length} times (sinks ${at})`);
      perShard[at[0]]++;
      if (h.ofPairs(l) !== at[0]) mismatches++;
    }
    assert.equal(mismatches, 0, `our hashmod disagrees with vmagent's routing for ${mismatches} of ${SERIES} series`);
    assert.ok(
      perShard.every((n) => n > SERIES / count / 2),
      `every shard gets its share: ${perShard}`,
    );

    // The same on the bytes each sink received (the instance's view: WriteBatch label ranges).
    const batch = new WriteBatch();
    const dec = new WriteRequestDecoder();
    let sortedOnArrival = 0;
    let checked = 0;
    sinks.forEach((sink, i) => {
      for (const req of sink.requests) {
        if (req.path !== '/api/v1/write') continue;
        dec.decode(snappyUncompress(req.body), batch);
        for (let s = 0; s < batch.seriesCount; s++) {
          assert.equal(h.ofSeries(batch, s), i, `series ${s} of a request to sink ${i}`);
          const names: string[] = [];
          for (let j = batch.lblFirst[s]; j < batch.lblFirst[s] + batch.lblCount[s]; j++) names.push(batch.labelName(j));
          assert.ok(!names.includes('__tmp_shard'), 'vmagent drops the __tmp_ label before sending');
          if (names.join() === [...names].sort().join()) sortedOnArrival++;
          checked++;
        }
      }
    });
    assert.equal(checked, SERIES);
    // vmagent 1.79's relabeling sorts the labels it passes on (promrelabel Apply -> SortLabels); newer
    // ones keep the order (deploy/scale-out.md). Either way hashmod looks labels up by name.
    t.diagnostic(`${count} shards ${perShard}; ${sortedOnArrival} of ${SERIES} series arrived sorted by name (all sent unsorted)`);
  } catch (e) {
    dumpProcesses(t, [agent?.proc]);
    throw e;
  } finally {
    await agent?.close();
    for (const s of sinks) await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('hashmod: the shard of every series is the -remoteWrite.url a real vmagent routed it to (2 shards, default separator)', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, VMAGENT_BIN)) return;
  await routeThroughVmagent(t, 2, ['__name__', 'instance'], undefined);
});

test('hashmod: same with 4 shards, three source labels and a custom separator', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, VMAGENT_BIN)) return;
  await routeThroughVmagent(t, 4, ['instance', 'mode', '__name__'], '/');
});

test("hashmod: same with OpenTelemetry's dotted and non-ASCII label names in source_labels (3 shards)", { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, VMAGENT_BIN)) return;
  await routeThroughVmagent(t, 3, ['host.name', 'service.name', 'pièce', '__name__'], undefined);
});
