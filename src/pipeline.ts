import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { Emitter } from './emit/emitter.js';
import { RetryingSink } from './emit/retrying-sink.js';
import { generatedSinkFor } from './emit/sinks.js';
import type { Downstream } from './forward/downstream.js';
import { MemoryBudget, defaultMemoryBudget } from './ingest/budget.js';
import { defaultEncodings } from './ingest/encodings.js';
import { Ingest, type AcceptedQueue, type WriteResult } from './ingest/ingest.js';
import type { Registry } from './metrics/registry.js';
import { compileScoring, type ScoringSpec } from './scoring/instances.js';
import { Scoring, type LabelLimits } from './scoring/scoring.js';

/**
 * The three units, wired in data order:
 *   ingest  (body -> decoded batch; raw forward; 204/400/503; backpressure)
 *     --AcceptedQueue: decoded batches of accepted requests-->
 *   scoring (series index, matching, model state, transforms: score(batch, tenant, sink))
 *     --ScoreSink rows-->
 *   emit    (generated-series encoder; blocks to a GeneratedSink in the background).
 * Scoring and encoding run synchronously, so the model state and the encoder are never shared
 * between two requests.
 */
export class Pipeline {
  readonly ingest: Ingest;
  readonly scoring: Scoring;
  readonly emit: Emitter;
  /** server.max_memory_bytes: request bodies (counted by the receiver) and ingest's slots. */
  readonly memory: MemoryBudget;

  constructor(
    cfg: Config,
    private downstream: Downstream,
    private readonly registry: Registry,
    private readonly log: Logger,
  ) {
    this.memory = new MemoryBudget(cfg.server.max_memory_bytes ?? defaultMemoryBudget());
    const spec = compileScoring(cfg.reader.queries, cfg.models, { ignoreLabels: cfg.reader.ignore_labels, shard: cfg.shard });
    const l = cfg.limits;
    const labelLimits = labelLimitsOf(l);
    this.scoring = new Scoring(spec, { maxSeries: l.max_series, maxFutureMs: l.max_future, keepLabels: cfg.state.path !== '' }, registry, labelLimits);
    this.emit = new Emitter(cfg.writer, spec.instances, generatedSinkFor(cfg.writer, downstream, registry, log), registry, log, spec.ignoreLabels, labelLimits);
    this.ingest = new Ingest({
      maxBytes: cfg.server.max_request_bytes,
      maxSeriesPerRequest: cfg.limits.max_series_per_request,
      maxSamplesPerRequest: cfg.limits.max_samples_per_request,
      memory: this.memory,
      defaultTenant: cfg.writer.tenant_id ?? null, // already 'A', 'A:B' or 'multitenant' (schema)
      encodings: defaultEncodings(),
      downstream,
      consume: this.scoreAccepted,
      datasourceUp: this.datasourceUp,
      registry,
      log,
    });
  }

  /**
   * A config reload (`spec` compiled from `cfg`, by the caller, before anything changed), applied
   * at once (synchronously, so between two requests' scoring): the
   * scoring unit keeps the state of unchanged (query, model) pairs, the emitter builds blocks for
   * the new instances and writer, ingest forwards with the new limit, tenant and datasource.
   * Returns, per new instance, the old instance whose state it kept (-1: none).
   */
  reconfigure(cfg: Config, spec: ScoringSpec, downstream: Downstream): Int32Array {
    const l = cfg.limits;
    const labelLimits = labelLimitsOf(l);
    const kept = this.scoring.reload(spec, l.max_series, l.max_future, labelLimits);
    // A new sink only for a new writer, and the blocks the old one holds for retrying move to it.
    let sink = this.emit.currentSink;
    if (downstream !== this.downstream) {
      const next = generatedSinkFor(cfg.writer, downstream, this.registry, this.log);
      if (sink instanceof RetryingSink) sink.handOver(next);
      sink = next;
    }
    this.downstream = downstream;
    this.emit.reconfigure(cfg.writer, spec.instances, sink, spec.ignoreLabels, labelLimits);
    this.ingest.configure({ maxBytes: cfg.server.max_request_bytes, defaultTenant: cfg.writer.tenant_id ?? null, downstream });
    return kept;
  }

  write(body: Uint8Array, tenant: string | null, encoding: string): Promise<WriteResult> {
    return this.ingest.write(body, tenant, encoding);
  }

  /**
   * Score what was accepted and wait for the generated series in flight; with a deadline
   * (graceful shutdown), also retry the failed ones until then.
   */
  async drain(deadlineMs?: number): Promise<void> {
    await this.ingest.drain();
    await this.emit.drain(deadlineMs);
  }

  /** The idle clock stops while the datasource fails (outages do not age models). */
  private readonly datasourceUp = (up: boolean): void => {
    if (up) this.scoring.clock.up(Date.now());
    else this.scoring.clock.down(Date.now());
  };

  /**
   * Score the oldest accepted request, and every request of the same tenant waiting behind it,
   * into one block of generated series (fewer, larger writes under load), then send it.
   */
  private readonly scoreAccepted = async (queue: AcceptedQueue): Promise<void> => {
    const tenant = queue.oldestTenant;
    const block = this.emit.begin();
    try {
      while (queue.length > 0 && queue.oldestTenant === tenant && !this.emit.full) {
        const a = queue.take()!;
        try {
          this.scoring.score(a.batch, tenant, block);
        } catch (e) {
          this.log.error({ err: e }, 'scoring failed');
        } finally {
          queue.release(a);
        }
      }
      await this.emit.send(tenant);
    } catch (e) {
      this.log.error({ err: e }, 'sending generated series failed');
    }
  };
}

/** limits.max_labels_per_series, max_label_name_len, max_label_value_len. */
function labelLimitsOf(l: Config['limits']): LabelLimits {
  return { maxLabels: l.max_labels_per_series, maxNameLen: l.max_label_name_len, maxValueLen: l.max_label_value_len };
}
