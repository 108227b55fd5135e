import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { ConfigError, UsageError } from '../errors.js';
import { Registry } from '../metrics/registry.js';
import { compileScoring } from '../scoring/instances.js';
import type { ScoreSink } from '../scoring/output.js';
import { Scoring } from '../scoring/scoring.js';
import { SNAPSHOT_FILE } from '../scoring/snapshot-format.js';
import { SnapshotUnusable, readSnapshot } from '../scoring/snapshot-read.js';
import { writeSnapshot } from '../scoring/snapshot-write.js';
import { VERSION } from '../version.js';

/**
 * `anomstream state export|import`: model-state snapshots handed over when the number of
 * instances changes (issue 20, deploy/scale-out.md "Adding or removing an instance").
 *
 *   export --config FILE [--shard COUNT/INDEX] --output DIR  SNAPSHOT...
 *     the series of the given snapshot files (the old instances' `<state.path>/scoring.snapshot`)
 *     that the config's `shard:` owns, with `--shard` replacing its count and index, written as
 *     `DIR/scoring.snapshot`: a state.path for that instance.
 *   import --config FILE SNAPSHOT...
 *     the same into the config's own state.path, merged with the snapshot already there; run it
 *     while that instance is stopped (a running one overwrites the file at its next snapshot).
 *
 * Each file goes through the restore the proxy runs at start-up (scoring/snapshot-read.ts) into
 * one Scoring built from the config, then out through the writer the proxy snapshots with: so
 * exactly what the instance would restore is kept (its shard's series, not idle longer than
 * limits.series_idle_timeout, models whose query, model and state-shaping settings are the
 * config's), every file is checked whole (CRC) before any of it is used, and a series found in
 * two files keeps the state seen last. Exit codes: 0 written, 1 a file unreadable, 2 usage or
 * configuration.
 */
const USAGE = ['usage: anomstream state export --config FILE [--shard COUNT/INDEX] --output DIR SNAPSHOT...', '       anomstream state import --config FILE SNAPSHOT...'].join('\n');

export async function runState(argv: string[]): Promise<number> {
  const cmd = argv[0];
  if (cmd === '-h' || cmd === '--help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (cmd !== 'export' && cmd !== 'import') throw new UsageError('ANOM_USAGE', `state: expected export or import, got '${cmd ?? ''}'\n${USAGE}`);
  const opt: Record<string, string> = {};
  const inputs: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const m = /^--(config|shard|output)(?:=(.*))?$/.exec(argv[i]);
    if (m === null) {
      if (argv[i].startsWith('-')) throw new UsageError('ANOM_USAGE', `state ${cmd}: unknown flag '${argv[i]}'\n${USAGE}`);
      inputs.push(argv[i]);
      continue;
    }
    const v = m[2] ?? argv[++i];
    if (v === undefined || v === '') throw new UsageError('ANOM_USAGE', `state ${cmd}: --${m[1]} needs a value\n${USAGE}`);
    opt[m[1]] = v;
  }
  if (opt.config === undefined) throw new UsageError('ANOM_USAGE', `state ${cmd}: --config is required (its shard:, queries and models decide what is kept)\n${USAGE}`);
  if (cmd === 'export' && opt.output === undefined) throw new UsageError('ANOM_USAGE', `state export: --output DIR is required\n${USAGE}`);
  if (cmd === 'import' && (opt.output !== undefined || opt.shard !== undefined))
    throw new UsageError('ANOM_USAGE', `state import: --output and --shard belong to export (import writes the config's own state.path)\n${USAGE}`);
  if (inputs.length === 0) throw new UsageError('ANOM_USAGE', `state ${cmd}: no snapshot file given\n${USAGE}`);

  const cfg = loadConfigFile(opt.config);
  const shard = opt.shard === undefined ? cfg.shard : withShard(cfg.shard, opt.shard);
  const dir = cmd === 'export' ? opt.output : cfg.state.path;
  if (dir === '') throw new ConfigError('ANOM_CONFIG_INVALID', 'state.path: "" (persistence off): import has nowhere to write; set state.path');
  const own = join(dir, SNAPSHOT_FILE);
  if (cmd === 'import' && existsSync(own) && !inputs.includes(own)) inputs.unshift(own);

  const spec = compileScoring(cfg.reader.queries, cfg.models, { ignoreLabels: cfg.reader.ignore_labels, shard });
  const scoring = new Scoring(spec, { maxSeries: cfg.limits.max_series, keepLabels: true }, new Registry());
  const nowMs = Date.now();
  for (const file of inputs) {
    try {
      const r = readSnapshot(scoring, file, NO_SINK, { idleTimeoutMs: cfg.limits.series_idle_timeout, nowMs });
      process.stderr.write(
        `${file}: ${r.series} series taken, ${r.droppedNotOwned} of other shards, ${r.duplicates} already taken, ${r.droppedIdle} idle longer than limits.series_idle_timeout, ${r.droppedLimit} over limits.max_series; ${r.coldModels} models not in this config\n`,
      );
    } catch (e) {
      const why = e instanceof SnapshotUnusable ? `${e.outcome}: ${e.message}` : (e as Error).message;
      process.stderr.write(`state ${cmd}: ${file}: ${why}; nothing written\n`);
      return 1;
    }
  }
  mkdirSync(dir, { recursive: true });
  const w = await writeSnapshot(scoring, dir, { version: VERSION, nowMs });
  process.stderr.write(`${own}: ${w.series} series, ${w.bytes} bytes (shard ${shardName(shard)})\n`);
  return 0;
}

/** cfg.shard with `COUNT/INDEX` from --shard. */
function withShard(shard: Config['shard'], arg: string): Config['shard'] {
  const m = /^(\d+)\/(\d+)$/.exec(arg);
  const count = m === null ? NaN : Number(m[1]);
  const index = m === null ? NaN : Number(m[2]);
  if (!(count >= 1 && index < count)) throw new UsageError('ANOM_USAGE', `state export: --shard: expected COUNT/INDEX with 0 <= INDEX < COUNT (e.g. 3/0), got '${arg}'`);
  if (shard === undefined) throw new UsageError('ANOM_USAGE', 'state export: --shard needs a config with a shard: section (its source_labels, or its shard_by_url labels)');
  if (shard.method === 'shard_by_url' && shard.urls !== undefined)
    throw new UsageError('ANOM_USAGE', 'state export: --shard with shard.urls (vmagent 1.116+ routes by URL): put the new URL list and index in the config instead');
  return { ...shard, count, index };
}

function shardName(shard: Config['shard']): string {
  if (shard === undefined) return 'none: every series';
  return `${shard.index} of ${shard.urls?.length ?? shard.count}`;
}

/** Restored series need no generated-series plans here. */
const NO_SINK: ScoreSink = {
  beginBatch: () => undefined,
  seriesAdded: () => undefined,
  rows: () => undefined,
};
