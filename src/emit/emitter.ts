import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Registry } from '../metrics/registry.js';
import type { InstanceSpec } from '../scoring/instances.js';
import type { LabelLimits } from '../scoring/scoring.js';
import { GeneratedBlock } from './block.js';
import type { GeneratedSink } from './sinks.js';
import { TenancyCheck } from './tenancy.js';

/** A block closes past this many uncompressed bytes (~4 requests of 2,000 scored samples). */
const BLOCK_BYTES = 4 << 20;
/** 64 blocks in flight (~0.7 MB each at 2,000 scored samples) = ~45 MB at most. */
const MAX_IN_FLIGHT = 64;

/**
 * Generated series from the scoring unit to a GeneratedSink: one block (a WriteRequest for one
 * tenant) is filled at a time through `block` (the scoring unit's sink), then sent in the
 * background. Past MAX_IN_FLIGHT blocks outstanding, send() waits for the oldest (backpressure
 * instead of unbounded memory); a block's buffer is recycled once the sink is done with it (the
 * retrying sink keeps a copy of a failed one). Failures are the sink's to count, log and retry,
 * never passed to the sender of the raw data.
 */
export class Emitter {
  block: GeneratedBlock;
  private inFlight = 0;
  private readonly pending = new Set<Promise<void>>();
  private readonly m: ReturnType<typeof emitMetrics>;
  private readonly tenancy: TenancyCheck;

  constructor(
    w: Config['writer'],
    instances: InstanceSpec[],
    private sink: GeneratedSink,
    private readonly registry: Registry,
    private readonly log: Logger,
    ignoredLabels: readonly string[] = [],
    labelLimits?: LabelLimits,
  ) {
    this.tenancy = new TenancyCheck(registry, log);
    this.block = new GeneratedBlock(w, instances, this.tenancy, ignoredLabels, labelLimits, registry);
    this.m = emitMetrics(registry);
  }

  /**
   * A reload: blocks from now on are built for `instances` with `w`'s metric_format and go to
   * `sink`. Blocks in flight finish on the old sink. The new block knows no series: the scoring
   * unit hands every series to it again (seriesAdded) on its next sample after the reload.
   */
  reconfigure(w: Config['writer'], instances: InstanceSpec[], sink: GeneratedSink, ignoredLabels: readonly string[] = [], labelLimits?: LabelLimits): void {
    this.block = new GeneratedBlock(w, instances, this.tenancy, ignoredLabels, labelLimits, this.registry);
    this.sink = sink;
  }

  /** The sink blocks go to now. */
  get currentSink(): GeneratedSink {
    return this.sink;
  }

  /** Start a new block; scoring then writes into `block`. */
  begin(): GeneratedBlock {
    this.block.encoder.reset();
    return this.block;
  }

  /** The block is large enough to be sent. */
  get full(): boolean {
    return this.block.encoder.rawLength >= BLOCK_BYTES;
  }

  /** Send the block (if it holds any series) for `tenant`; waits only when MAX_IN_FLIGHT blocks are already outstanding. */
  async send(tenant: string | null): Promise<void> {
    const enc = this.block.encoder;
    if (enc.series === 0) return;
    this.m.generated.inc(enc.samples);
    const body = enc.body();
    this.inFlight++;
    const sink = this.sink;
    const p: Promise<void> = sink.send(tenant, body).then(
      (): void => this.sent(p, enc, body),
      (e: unknown): void => {
        this.log.error({ err: e, transport: sink.name }, 'writing generated series failed unexpectedly');
        this.sent(p, enc, body);
      },
    );
    this.pending.add(p);
    if (this.inFlight > MAX_IN_FLIGHT) await p;
  }

  private sent(p: Promise<void>, enc: GeneratedBlock['encoder'], body: Uint8Array): void {
    this.inFlight--;
    this.pending.delete(p);
    this.m.writes.inc();
    enc.recycle(body); // the encoder that made it (a reload may have replaced the block since)
  }

  /**
   * Resolves when the blocks in flight now have settled; with a deadline (shutdown), also once
   * the sink has sent what it holds for retrying, or dropped what it could not by then.
   */
  async drain(deadlineMs?: number): Promise<void> {
    await Promise.all(this.pending);
    if (deadlineMs !== undefined) await this.sink.flush?.(deadlineMs);
  }
}

function emitMetrics(r: Registry) {
  return {
    generated: r.counter('anomstream_generated_samples_total', 'Generated samples (anomaly_score, yhat, ...) built.'),
    writes: r.counter('anomstream_generated_writes_total', 'Blocks of generated series sent (counted once each, when the sink is done with them: accepted, or buffered for retrying).'),
  };
}
