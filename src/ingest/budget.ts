import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * server.max_memory_bytes: the bytes of request data anomstream may hold at once. Every large
 * allocation of the write path is taken from it *before* it is made, and given back when the
 * memory is dropped:
 *   - request bodies, chunk by chunk as they arrive (receive/), until their write has finished;
 *   - per request slot (ingest/): the decompressed WriteRequest (its size read from the snappy
 *     header, or the zstd frame header, before decompressing) and the decoded columns as they
 *     grow, while the request is decoded, forwarded and waiting to be scored, and while the slot
 *     is kept for reuse (at most a pool's share, see Ingest);
 *   - the decoder an encoding shares between the slots (zstd's WebAssembly memory: ingest/
 *     SharedDecoders), from the frame header before it grows, until it is replaced after a burst;
 *   - the buffers raw snappy bodies are merged into for one POST (ingest/coalesce.ts), before they
 *     are allocated (no room: the bodies go one by one), while in use or kept for reuse;
 *   - the snappy compressors a zstd body is re-encoded with for a datasource that reads no zstd
 *     (ingest/raw-forward.ts): their output buffer's growth before it is allocated, while the
 *     re-encoding is sent and while the compressor is kept for reuse.
 * A request that does not fit is answered 503 (the sender retries later), never an OOM.
 * The pools holding such buffers for reuse shrink back after a burst on one schedule, `trims`.
 * Single-threaded: no locks.
 */
export class MemoryBudget {
  /** Bytes taken now. */
  used = 0;
  /** Highest `used` seen (for tests and metrics). */
  peak = 0;

  /** When the pools of this budget's buffers are trimmed (one timer, only while one holds something grown). */
  readonly trims = new TrimSchedule();

  constructor(readonly capacity: number) {}

  /** Take `n` bytes if they fit; false (nothing taken) otherwise. */
  take(n: number): boolean {
    if (this.used + n > this.capacity) return false;
    this.used += n;
    if (this.used > this.peak) this.peak = this.used;
    return true;
  }

  /** Take `n` bytes whether they fit or not: for memory already allocated that must be counted. */
  force(n: number): void {
    this.used += n;
    if (this.used > this.peak) this.peak = this.used;
  }

  /** Give back `n` bytes taken earlier. */
  give(n: number): void {
    this.used -= n;
  }

  /** A holder charged `charged` bytes now holds `held`: give back the difference or force the excess; returns `held` (its new charge). */
  recharge(charged: number, held: number): number {
    if (held < charged) this.give(charged - held);
    else if (held > charged) this.force(held - charged);
    return held;
  }

  /**
   * `n` bytes of buffers were just dropped (a trimmed request slot). V8 frees an ArrayBuffer only
   * when a garbage collection finds it, and after a burst nothing allocates any more, so none comes
   * by itself: the memory of the burst would stay resident. Once RECLAIM_BYTES have been dropped,
   * a full collection runs RECLAIM_DELAY_MS later (at most one per RECLAIM_DELAY_MS; a few ms on
   * anomstream's small heap: series state lives in typed arrays).
   */
  dropped(n: number): void {
    this.droppedBytes += n;
    if (this.droppedBytes < RECLAIM_BYTES || this.reclaimTimer !== undefined) return;
    this.reclaimTimer = setTimeout(() => {
      this.reclaimTimer = undefined;
      this.droppedBytes = 0;
      collectGarbage();
    }, RECLAIM_DELAY_MS).unref();
  }

  private droppedBytes = 0;
  private reclaimTimer: NodeJS.Timeout | undefined;
}

/**
 * A pool of buffers counted in a MemoryBudget that keeps some for reuse past their base size (a
 * slot grown by a large request, a grown decoder, a kept compressor): shrink(now) trims what has
 * been unused since `now - POOL_IDLE_MS` and returns when the next of the rest becomes trimmable
 * (Infinity: nothing above the base size is left).
 */
export interface Trimmable {
  shrink(now: number): number;
}

/**
 * One timer for every pool of a budget (ingest's request slots, the shared zstd decoder, the
 * re-encoding compressors), armed only while a pool holds something above its base size: a pool
 * arms it with the time its grown buffer becomes trimmable (when it grows or is released grown),
 * each run trims what is due and re-arms for the earliest of what is left, and nothing is left
 * armed once every pool is back to its base size. An idle instance with nothing grown has no
 * timer (the two setIntervals this replaced woke every idle instance every 2.5 s forever).
 * A run comes TRIM_SLACK_MS after the due time, so that the buffers released together (a burst)
 * are trimmed by one run, not one timer each.
 */
export class TrimSchedule {
  private readonly armed = new Set<Trimmable>();
  private timer: NodeJS.Timeout | undefined;
  /** When the timer fires (Infinity: no timer). */
  private at = Infinity;

  /** `pool` holds something grown that becomes trimmable at `due` (ms, Date.now() clock). */
  arm(pool: Trimmable, due: number): void {
    this.armed.add(pool);
    if (due + TRIM_SLACK_MS >= this.at) return; // the timer fires by then: that run re-arms
    this.set(due + TRIM_SLACK_MS);
  }

  /** True while a run is scheduled (for tests and bench/idle-cost.ts' claim: none on an idle instance). */
  get pending(): boolean {
    return this.timer !== undefined;
  }

  /** Trim every armed pool by the clock `now` (a test's; the timer passes Date.now()) and re-arm for what is left. */
  run(now = Date.now()): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.at = Infinity;
    let next = Infinity;
    for (const p of this.armed) {
      const due = p.shrink(now);
      if (due === Infinity) this.armed.delete(p);
      else if (due < next) next = due;
    }
    if (next !== Infinity) this.set(Math.max(next, now) + TRIM_SLACK_MS);
  }

  private set(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.at = at;
    this.timer = setTimeout(this.fire, Math.max(0, at - Date.now())).unref();
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.run();
  };
}

/** A pooled buffer (request slot, shared decoder, compressor) grown by a large request is trimmed once unused this long. */
export const POOL_IDLE_MS = 5_000;

/** Free buffers a pool keeps for reuse (request slots, compressors): at most this many bytes, and a quarter of server.max_memory_bytes. */
const POOL_KEEP_BYTES = 128 << 20;

/** The bytes of free buffers a pool of `memory` may keep for reuse. */
export function poolKeepBytes(memory: MemoryBudget): number {
  return Math.min(POOL_KEEP_BYTES, memory.capacity / 4);
}

/** How long after a buffer became trimmable its trim may wait, so that buffers due together go in one run. */
const TRIM_SLACK_MS = 500;

const RECLAIM_BYTES = 16 << 20;
const RECLAIM_DELAY_MS = 1000;

let gc: ((options: object) => void) | undefined;

/**
 * A full garbage collection that also gives memory back (node's --expose-gc function, obtained
 * once without the flag on the command line; flavor 'last-resort' is V8's
 * CollectAllAvailableGarbage: it shrinks the young generation grown by the burst too, ~20 MB that
 * a regular collection kept in 2 of 5 runs of the bombs test).
 */
function collectGarbage(): void {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as (options: object) => void;
  }
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}

/** Share of the memory available to the process that the default budget takes. */
const DEFAULT_SHARE = 0.25;

/**
 * The default of server.max_memory_bytes: a quarter of the memory available to the process: the
 * cgroup v2 limit (/sys/fs/cgroup/memory.max, what a container or a systemd MemoryMax= gives)
 * when there is one, else the machine's total memory. The rest is for the series index and model
 * state (limits.max_series), the generated-series buffers and Node itself.
 */
export function defaultMemoryBudget(cgroupFile = '/sys/fs/cgroup/memory.max'): number {
  return Math.floor(availableMemory(cgroupFile) * DEFAULT_SHARE);
}

function availableMemory(cgroupFile: string): number {
  const total = totalmem();
  try {
    const text = readFileSync(cgroupFile, 'utf8').trim();
    const limit = Number(text); // 'max' when unlimited: NaN
    if (Number.isFinite(limit) && limit > 0) return Math.min(limit, total);
  } catch {
    // no cgroup v2 file: not in a limited cgroup, or cgroup v1
  }
  return total;
}
