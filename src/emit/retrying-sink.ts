import type { Logger } from 'pino';
import type { PostResult } from '../forward/downstream.js';
import { lbl, type Registry } from '../metrics/registry.js';
import { Throttle } from '../metrics/throttle.js';
import type { GeneratedSink } from './sinks.js';

export interface RetryOptions {
  /** writer.connection_retry_attempts: immediate resends of a write that got no answer at all (vmanomaly's meaning). */
  connectionRetries: number;
  /** writer.generated_buffer_bytes: bytes of failed blocks kept for retrying; 0: none. */
  budgetBytes: number;
  registry: Registry;
  log: Logger;
  /** First backoff and its cap (ms); tests shorten them. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** [0, 1): the jitter's randomness (tests fix it). */
  random?: () => number;
}

/** A block kept for retrying: a copy of its body (the Emitter reuses the original's buffer). */
interface Held {
  tenant: string | null;
  body: Uint8Array;
  /** Its retry is in flight (it is not the one dropped for room then). */
  sending: boolean;
}

/** vmagent's -remoteWrite.retryMinInterval (1 s); the cap is half its maxRetryInterval (1 m). */
const MIN_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;

/**
 * Generated series are not a best effort (issue 16): a block the datasource did not take is
 * retried until it is, within a memory budget.
 *
 *  - no answer at all: resent at once up to writer.connection_retry_attempts times (what
 *    vmanomaly's setting means), then handled as below;
 *  - 429, 5xx, 408, 401/403, no answer: a copy of the block joins the retry queue and send()
 *    settles (the Emitter recycles its buffer and goes on); the queue is retried oldest first,
 *    one block at a time, after a backoff that doubles from 1 s to 30 s with jitter (each wait
 *    is 50-100 % of the backoff, so instances do not retry in step); a success resets it and the
 *    next block goes at once;
 *  - any other 4xx: the block can never be taken; dropped, with the reason logged;
 *  - past writer.generated_buffer_bytes queued, the oldest blocks are dropped (counted).
 * On shutdown, flush(deadline) retries what is queued until the deadline and drops the rest.
 */
export class RetryingSink implements GeneratedSink {
  readonly name: string;
  private readonly queue: Held[] = [];
  private bytes = 0;
  private backoffMs: number;
  private looping = false;
  /** Resolves the current backoff wait early (flush). */
  private wake: (() => void) | null = null;
  /** Set by flush(): the wall-clock deadline after which a failed retry is dropped, not queued again. */
  private deadlineMs = Infinity;
  private readonly minMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;
  private readonly dropLog = new Throttle(10_000);
  private readonly failLog = new Throttle(10_000);
  private readonly m: ReturnType<typeof retryMetrics>;
  /** The sink of the writer a reload put in this one's place (handOver): what fails here from then on goes there. */
  private successor: RetryingSink | null = null;

  constructor(
    private readonly inner: GeneratedSink,
    private readonly o: RetryOptions,
  ) {
    this.name = inner.name;
    this.minMs = o.minBackoffMs ?? MIN_BACKOFF_MS;
    this.maxMs = o.maxBackoffMs ?? MAX_BACKOFF_MS;
    this.backoffMs = this.minMs;
    this.random = o.random ?? Math.random;
    this.m = retryMetrics(o.registry);
  }

  /** Bytes of blocks waiting to be retried. */
  get bufferedBytes(): number {
    return this.bytes;
  }

  /** First attempt (+ immediate resends on no answer); settles once `body` is no longer needed. */
  async send(tenant: string | null, body: Uint8Array): Promise<PostResult> {
    let r = await this.inner.send(tenant, body);
    for (let i = 0; i < this.o.connectionRetries && r.status === 0; i++) {
      this.failed(r);
      this.m.retries.inc();
      r = await this.inner.send(tenant, body);
    }
    if (r.outcome === 'accepted') return r;
    this.failed(r);
    if (r.outcome === 'rejected') this.drop('rejected', r.reason);
    else this.hold(tenant, body);
    return r;
  }

  /**
   * Retry what is queued now until `deadlineMs` (wall clock), without waiting out the backoff
   * more than the minimum; what is still queued then is dropped (counted as shutdown), and a
   * retry still in flight is dropped if it fails.
   */
  async flush(deadlineMs: number): Promise<void> {
    this.deadlineMs = deadlineMs;
    this.wake?.();
    while (this.queue.length > 0 && Date.now() < deadlineMs) await sleep(Math.min(50, deadlineMs - Date.now()));
    while (this.dropOldest('shutdown'));
  }

  /**
   * A reload replaced the writer (a new datasource URL, auth, tenant or transport; bodies are
   * remote write blocks for every transport): `next` writes from now on. The blocks queued here,
   * which the old datasource never accepted, move to `next`'s queue, and a block here that fails
   * later (a first attempt or a retry in flight now) goes there too, so no generated block is
   * left retrying a retired connection.
   */
  handOver(next: RetryingSink): void {
    if (next === this) return;
    this.successor = next;
    this.moveQueued();
    this.wake?.();
  }

  /** Move every queued block not in flight to the successor. */
  private moveQueued(): void {
    const next = this.successor!;
    for (const h of this.queue.filter((q) => !q.sending)) {
      this.queue.splice(this.queue.indexOf(h), 1);
      this.bytes -= h.body.length;
      next.hold(h.tenant, h.body);
    }
    this.m.buffered.set(this.bytes + next.bytes);
  }

  private failed(r: PostResult): void {
    this.m.errors.inc();
    const suppressed = this.failLog.take();
    if (suppressed >= 0) this.o.log.warn({ reason: r.reason, transport: this.name, queued_bytes: this.bytes, suppressed }, 'writing generated series failed');
  }

  private hold(tenant: string | null, body: Uint8Array): void {
    if (this.successor !== null) return this.successor.hold(tenant, body);
    if (body.length > this.o.budgetBytes) {
      this.drop('buffer_full', `block of ${body.length} bytes exceeds writer.generated_buffer_bytes ${this.o.budgetBytes}`);
      return;
    }
    this.queue.push({ tenant, body: body.slice(), sending: false });
    this.bytes += body.length;
    while (this.bytes > this.o.budgetBytes && this.dropOldest('buffer_full'));
    this.m.buffered.set(this.bytes);
    if (!this.looping) void this.loop();
  }

  /** Drop the oldest block not being sent (its retry cannot be called back); false when there is none. */
  private dropOldest(reason: 'buffer_full' | 'shutdown'): boolean {
    const i = this.queue.findIndex((h) => !h.sending);
    if (i < 0) return false;
    const h = this.queue.splice(i, 1)[0];
    this.bytes -= h.body.length;
    this.m.buffered.set(this.bytes);
    this.drop(reason, reason === 'shutdown' ? 'not accepted before server.shutdown_timeout' : `more than writer.generated_buffer_bytes ${this.o.budgetBytes} waiting`);
    return true;
  }

  private drop(reason: 'rejected' | 'buffer_full' | 'shutdown', why: string): void {
    this.m.dropped[reason].inc();
    const suppressed = this.dropLog.take();
    if (suppressed >= 0) this.o.log.warn({ reason: why, drop: reason, transport: this.name, suppressed }, 'dropped a block of generated series');
  }

  /** Retry the queue, oldest first, one block at a time, until it is empty. */
  private async loop(): Promise<void> {
    this.looping = true;
    try {
      let wait = true;
      while (this.queue.length > 0) {
        if (this.successor === null && wait) await this.backoff();
        if (this.successor !== null) {
          this.moveQueued();
          break;
        }
        const h = this.queue[0];
        if (h === undefined) break; // dropped while waiting (flush at the deadline)
        h.sending = true;
        this.m.retries.inc();
        const r = await this.inner.send(h.tenant, h.body);
        h.sending = false;
        if (r.outcome === 'retryable' && Date.now() < this.deadlineMs) {
          this.failed(r);
          this.backoffMs = Math.min(this.maxMs, 2 * this.backoffMs);
          wait = true;
          continue;
        }
        this.queue.splice(this.queue.indexOf(h), 1);
        this.bytes -= h.body.length;
        this.m.buffered.set(this.bytes);
        if (r.outcome === 'retryable') {
          this.failed(r);
          this.drop('shutdown', 'not accepted before server.shutdown_timeout');
        } else if (r.outcome === 'rejected') {
          this.failed(r);
          this.drop('rejected', r.reason);
        } else this.m.retried.inc();
        this.backoffMs = this.minMs;
        wait = false;
      }
    } finally {
      this.looping = false;
    }
  }

  /** Wait 50-100 % of the current backoff (the minimum while flushing); flush() ends it early. */
  private backoff(): Promise<void> {
    const ms = (this.deadlineMs < Infinity ? this.minMs : this.backoffMs) * (0.5 + 0.5 * this.random());
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms).unref();
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    }).finally(() => {
      this.wake = null;
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}

function retryMetrics(r: Registry) {
  const dropped =
    'Blocks of generated series given up, by reason (rejected: a 4xx other than 429/408/401/403; buffer_full: past writer.generated_buffer_bytes; shutdown: not accepted before server.shutdown_timeout).';
  return {
    errors: r.counter('anomstream_generated_write_errors_total', 'Attempts to write a block of generated series that failed (first attempts and retries).'),
    retries: r.counter('anomstream_generated_retries_total', 'Attempts to write a block of generated series again after a failure.'),
    retried: r.counter('anomstream_generated_retried_blocks_total', 'Blocks of generated series accepted on a retry.'),
    dropped: {
      rejected: r.counter('anomstream_generated_dropped_total', dropped, lbl('reason', 'rejected')),
      buffer_full: r.counter('anomstream_generated_dropped_total', dropped, lbl('reason', 'buffer_full')),
      shutdown: r.counter('anomstream_generated_dropped_total', dropped, lbl('reason', 'shutdown')),
    },
    buffered: r.gauge('anomstream_generated_buffer_bytes', 'Bytes of generated-series blocks waiting to be retried (at most writer.generated_buffer_bytes).'),
  };
}
