import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { lbl, type Metric, type Registry } from '../metrics/registry.js';
import type { ScoreSink } from './output.js';
import type { Scoring } from './scoring.js';
import { SNAPSHOT_BAD, SNAPSHOT_FILE } from './snapshot-format.js';
import { SnapshotUnusable, readSnapshot } from './snapshot-read.js';
import { writeSnapshot } from './snapshot-write.js';

export interface SnapshotsOptions {
  /** state.path: the directory ('' = persistence off). */
  dir: string;
  /** state.interval (ms). */
  intervalMs: number;
  /** limits.series_idle_timeout (ms). */
  idleTimeoutMs: number;
  /** anomstream's version, for the header. */
  version: string;
  registry: Registry;
  log: Logger;
}

const RESTORE_RESULTS = ['restored', 'missing', 'corrupt', 'incompatible', 'failed'] as const;
type RestoreResultLabel = (typeof RESTORE_RESULTS)[number];

/**
 * Model state across restarts (issue 16): restore() at start-up, before anything is served;
 * then a snapshot every state.interval (write(): at most one at a time) and a last one on
 * shutdown, after the drain. Nothing here throws: a snapshot that cannot be read is logged
 * once, moved aside (`scoring.snapshot.bad`) and ignored (start cold); one that cannot be
 * written is logged and counted, and the previous one stays in place.
 */
export class Snapshots {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<boolean> | null = null;
  private lastOkMs = Date.now();
  /** Wall time the last snapshot took (ms). */
  lastDurationMs = 0;
  private readonly m: ReturnType<typeof snapshotMetrics>;

  constructor(
    private readonly scoring: Scoring,
    private readonly o: SnapshotsOptions,
  ) {
    this.m = snapshotMetrics(o.registry);
    if (this.enabled) {
      const age = o.registry.gauge('anomstream_state_snapshot_age_seconds', 'Seconds since the last snapshot was written (since start before the first); absent when state.path is "".');
      o.registry.onCollect(() => age.set((Date.now() - this.lastOkMs) / 1000));
    }
  }

  get enabled(): boolean {
    return this.o.dir !== '';
  }

  /** The newest valid snapshot into the (empty) scoring state, telling `sink` of each series. */
  restore(sink: ScoreSink, nowMs = Date.now()): RestoreResultLabel | 'off' {
    if (!this.enabled) return 'off';
    const log = this.o.log;
    const file = join(this.o.dir, SNAPSHOT_FILE);
    try {
      mkdirSync(this.o.dir, { recursive: true });
    } catch (e) {
      log.warn({ err: e, path: this.o.dir }, 'state.path cannot be created: snapshots will fail until it can');
    }
    if (!existsSync(file)) {
      log.info({ path: file }, 'no model-state snapshot: every series starts cold');
      return this.restored('missing');
    }
    try {
      const r = readSnapshot(this.scoring, file, sink, { idleTimeoutMs: this.o.idleTimeoutMs, nowMs });
      this.m.restoredSeries.set(r.series);
      this.m.droppedIdle.set(r.droppedIdle);
      this.m.droppedLimit.set(r.droppedLimit);
      this.m.droppedNotOwned.set(r.droppedNotOwned);
      this.m.coldModels.set(r.coldModels);
      log.info(
        {
          path: file,
          series: r.series,
          warm_models: r.warmModels,
          cold_models: r.coldModels,
          dropped_idle: r.droppedIdle,
          dropped_series_limit: r.droppedLimit,
          dropped_not_owned: r.droppedNotOwned,
          bytes: r.bytes,
          ms: Math.round(r.ms),
        },
        'model state restored',
      );
      return this.restored('restored');
    } catch (e) {
      this.scoring.clear();
      const outcome: RestoreResultLabel = e instanceof SnapshotUnusable ? e.outcome : 'failed';
      const bad = join(this.o.dir, SNAPSHOT_BAD);
      let movedTo: string | null = bad;
      try {
        renameSync(file, bad);
      } catch {
        movedTo = null;
      }
      log.warn({ path: file, moved_to: movedTo, reason: (e as Error).message }, `model-state snapshot ${outcome === 'failed' ? 'cannot be read' : `is ${outcome}`}: every series starts cold`);
      return this.restored(outcome);
    }
  }

  private restored(r: RestoreResultLabel): RestoreResultLabel {
    this.m.restores[RESTORE_RESULTS.indexOf(r)].inc();
    return r;
  }

  /** Snapshot every state.interval (no-op when persistence is off). */
  start(): void {
    if (!this.enabled || this.timer) return;
    this.timer = setInterval(() => {
      if (this.writing === null) void this.write();
    }, this.o.intervalMs).unref();
  }

  /** Stop the periodic snapshots (a write in progress finishes). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Resolves once no snapshot is being written (a reload waits for it: a snapshot walks the current instances). */
  async idle(): Promise<void> {
    while (this.writing !== null) await this.writing;
  }

  /** Write a snapshot now, after the one in progress if any; resolves true when it was written. */
  write(): Promise<boolean> {
    if (!this.enabled) return Promise.resolve(false);
    const prev = this.writing ?? Promise.resolve(true);
    const next = prev.then(() => this.writeOnce());
    this.writing = next;
    void next.then(() => {
      if (this.writing === next) this.writing = null;
    });
    return next;
  }

  private async writeOnce(): Promise<boolean> {
    try {
      mkdirSync(this.o.dir, { recursive: true });
      const r = await writeSnapshot(this.scoring, this.o.dir, { version: this.o.version });
      this.lastOkMs = Date.now();
      this.lastDurationMs = r.ms;
      this.m.ok.inc();
      this.m.duration.set(r.ms / 1000);
      this.m.bytes.set(r.bytes);
      this.m.series.set(r.series);
      this.m.maxPause.set(r.maxSliceMs / 1000);
      this.o.log.debug({ series: r.series, bytes: r.bytes, ms: Math.round(r.ms), max_pause_ms: Math.round(r.maxSliceMs) }, 'model state written');
      return true;
    } catch (e) {
      this.m.failed.inc();
      this.o.log.error({ err: e, path: this.o.dir }, 'writing the model-state snapshot failed; the previous one stays');
      return false;
    }
  }
}

function snapshotMetrics(r: Registry) {
  const restores = 'Model-state restores at start-up, by result (restored; missing: no snapshot; corrupt, incompatible: moved aside, started cold; failed: unreadable).';
  return {
    ok: r.counter('anomstream_state_snapshots_total', 'Model-state snapshots written, by result.', lbl('result', 'ok')),
    failed: r.counter('anomstream_state_snapshots_total', 'Model-state snapshots written, by result.', lbl('result', 'failed')),
    duration: r.gauge('anomstream_state_snapshot_duration_seconds', 'Wall time of the last snapshot written.'),
    bytes: r.gauge('anomstream_state_snapshot_bytes', 'Size of the last snapshot written.'),
    series: r.gauge('anomstream_state_snapshot_series', 'Scored series in the last snapshot written.'),
    maxPause: r.gauge('anomstream_state_snapshot_max_pause_seconds', 'Longest stretch the last snapshot held the event loop.'),
    restores: RESTORE_RESULTS.map((result): Metric => r.counter('anomstream_state_restores_total', restores, lbl('result', result))),
    restoredSeries: r.gauge('anomstream_state_restored_series', 'Series restored from the snapshot at start-up.'),
    droppedIdle: r.gauge('anomstream_state_restore_dropped_series', 'Series of the snapshot not restored at start-up, by reason.', lbl('reason', 'idle')),
    droppedLimit: r.gauge('anomstream_state_restore_dropped_series', 'Series of the snapshot not restored at start-up, by reason.', lbl('reason', 'series_limit')),
    droppedNotOwned: r.gauge('anomstream_state_restore_dropped_series', 'Series of the snapshot not restored at start-up, by reason.', lbl('reason', 'not_owned')),
    coldModels: r.gauge('anomstream_state_restore_cold_models', 'Models of the snapshot not restored at start-up because their query, model or settings changed (they start cold).'),
  };
}
