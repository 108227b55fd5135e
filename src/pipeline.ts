import type { Logger } from 'pino';
import { OUTPUT_VARS, compileModel, defaultProvideSeries, modelEntry, type ModelConfig } from './config/models.js';
import type { Config } from './config/schema.js';
import { DecodeError } from './errors.js';
import { SnappyReader } from './wire/snappy.js';
import { WriteBatch, WriteRequestDecoder } from './ingest/write-request.js';
import { Downstream, REMOTE_WRITE_HEADERS, type PostResult } from './forward/downstream.js';
import { GeneratedWriter } from './emit/sinks.js';
import { writePath } from './forward/paths.js';
import { matches, parseSelector, type Selector } from './scoring/selector.js';
import { Prediction } from './models/model.js';
import type { Scorer } from './models/scorer.js';
import { lbl, type Registry } from './metrics/registry.js';
import { Throttle } from './metrics/throttle.js';
import { GeneratedEncoder } from './emit/encoder.js';
import { encodeLabels, formatLabels, replacedLabelNames } from './emit/format.js';
import { SeriesIndex } from './scoring/series-index.js';
import { Links } from './scoring/links.js';

/**
 * The one place the stages meet, in data order:
 *   decode (snappy -> WriteRequest columns, 400 if unreadable) -> forward the raw body as is
 *   -> once the datasource accepted it: series index -> match (once per new series)
 *   -> models (per sample) -> output encoder -> generated series sent in the background.
 * Each request in flight owns its decoded batch (from a pool); scoring and encoding run
 * synchronously, so the model state and the encoder are never shared between two requests.
 */
export interface WriteResult {
  status: 204 | 400 | 503;
  /** One line for the sender, empty on success. */
  message: string;
}

const enum Transform {
  None = 0,
  Rate = 1,
  Increase = 2,
}

/** One (query, model) pair: its scorer, its columnar state, its output prefixes. */
interface Instance {
  scorer: Scorer;
  slots: number;
  state: Float64Array;
  used: number;
  /** State offsets of evicted series, reused before `used` grows. */
  freeOffsets: number[];
  transform: Transform;
  /** Indices into OUTPUT_VARS written for this instance, and their encoded label prefixes. */
  vars: Int32Array;
  prefixes: Uint8Array[];
  /** Encoder prefix id of OUTPUT_VARS[0]; var v is prefixBase + v. */
  prefixBase: number;
}

interface Query {
  selector: Selector;
  instances: number[];
}

export class Pipeline {
  private readonly decoder = new WriteRequestDecoder();
  /**
   * Decoded requests waiting for their raw forward: one (decompressor, batch) pair per request
   * in flight, reused. A request is scored only once the datasource accepted its raw data, so
   * a sender's retry after a 503 is scored then, not skipped as a duplicate.
   */
  private readonly free: Decoded[] = [];
  /** Accepted requests not scored yet, oldest first. */
  private readonly pending: Decoded[] = [];
  /** The batch being scored (set by score(), read by scoreLink() and newSeries()). */
  private batch = new WriteBatch();
  /** Generated-series requests in flight; past the limit the sender's answer waits for them. */
  private generatedInFlight = 0;
  private readonly generatedDone = new Set<Promise<void>>();
  private readonly index: SeriesIndex;
  private readonly links = new Links();
  private readonly queries: Query[] = [];
  private readonly instances: Instance[] = [];
  private readonly encoder: GeneratedEncoder;
  private readonly pred = new Prediction();
  /** Output columns, one per OUTPUT_VARS entry, plus timestamps: reused for every series. */
  private cols: Float64Array[] = OUTPUT_VARS.map(() => new Float64Array(256));
  private colTs = new Float64Array(256);
  private readonly defaultTenant: string | null;
  private readonly maxBytes: number;
  private readonly m: ReturnType<typeof pipelineMetrics>;
  /** Generated-series transport (remote_write or JSON lines) and the multitenancy check. */
  private readonly out: GeneratedWriter;
  /** Failure logs: at most one line per kind every 10 s (every failure is counted in metrics). */
  private readonly rejectLog = new Throttle(10_000);
  private readonly retryLog = new Throttle(10_000);
  private readonly generatedLog = new Throttle(10_000);
  /** Tenant of the request being scored (read by newSeries()). */
  private tenant: string | null = null;

  constructor(
    cfg: Config,
    private readonly downstream: Downstream,
    registry: Registry,
    private readonly log: Logger,
  ) {
    this.maxBytes = cfg.server.max_request_bytes;
    this.index = new SeriesIndex(cfg.limits.max_series);
    this.defaultTenant = cfg.writer.tenant_id ?? null; // already 'A', 'A:B' or 'multitenant' (schema)
    this.m = pipelineMetrics(registry);
    this.out = new GeneratedWriter(cfg.writer, downstream, registry, log);
    const models: [string, ModelConfig][] = cfg.models ? Object.entries(cfg.models) : [['default', modelEntry.parse({}) as ModelConfig]];
    for (const [alias, q] of Object.entries(cfg.reader.queries)) {
      const mine = models.filter(([, m]) => !m.queries || m.queries.includes(alias));
      const query: Query = { selector: parseSelector(q.expr), instances: [] };
      for (const [modelAlias, mc] of mine) {
        const scorer = compileModel(mc, q);
        const vars = defaultProvideSeries(mc, q.transform);
        const label = mine.length > 1 ? modelAlias : null;
        query.instances.push(this.instances.length);
        this.instances.push({
          scorer,
          slots: scorer.slots,
          state: new Float64Array(scorer.slots * 64),
          used: 0,
          freeOffsets: [],
          transform: q.transform === 'rate' ? Transform.Rate : q.transform === 'increase' ? Transform.Increase : Transform.None,
          vars: Int32Array.from(vars.map((v) => OUTPUT_VARS.indexOf(v))),
          prefixes: OUTPUT_VARS.map((v) => encodeLabels(formatLabels(cfg.writer.metric_format, v, alias, label))),
          prefixBase: this.instances.length * OUTPUT_VARS.length,
        });
      }
      this.queries.push(query);
    }
    this.encoder = new GeneratedEncoder(replacedLabelNames(cfg.writer.metric_format), this.instances.length * OUTPUT_VARS.length);
    registry.onCollect(() => {
      this.m.series.set(this.index.size);
      this.m.scoredSeries.set(this.links.live);
    });
  }

  /**
   * Handle one remote_write body (snappy, WriteRequest 1.0). `tenant` comes from the URL path.
   * Order: decode (400 if unreadable; nothing is forwarded) -> forward the raw body as is ->
   * once accepted: answer 204 and score right after (the sender's next request need not wait
   * for our CPU work; at most MAX_PENDING_SCORES requests wait to be scored, past that the
   * answer waits for the scoring: backpressure) -> otherwise 503/400.
   */
  async write(body: Uint8Array, tenant: string | null): Promise<WriteResult> {
    // A tenant from the receiver's path (/insert/<tenant>/...) wins over writer.tenant_id.
    const t = tenant ?? this.defaultTenant;
    const d = this.free.pop() ?? new Decoded();
    let handedOver = false;
    try {
      try {
        this.decode(body, d);
      } catch (e) {
        if (e instanceof DecodeError) {
          this.m.rejected.inc();
          return { status: 400, message: e.message };
        }
        throw e;
      }
      const raw = await this.downstream.post(writePath(t), body, REMOTE_WRITE_HEADERS);
      if (raw.outcome !== 'accepted') return this.failed(raw);
      this.m.forwardOk.inc();
      this.m.downstreamUp.set(1);
      d.tenant = t;
      if (this.pending.length >= MAX_PENDING_SCORES) await this.scoreNext();
      this.pending.push(d);
      handedOver = true;
      if (this.pending.length === 1) setImmediate(this.scoreSoon);
      return { status: 204, message: '' };
    } finally {
      if (!handedOver) this.free.push(d);
    }
  }

  /** Score the accepted requests waiting (in arrival order), one per macrotask. */
  private readonly scoreSoon = (): void => {
    void this.scoreNext().then(() => {
      if (this.pending.length > 0) setImmediate(this.scoreSoon);
    });
  };

  /** Score the oldest accepted request and send its generated series. */
  private async scoreNext(): Promise<void> {
    if (this.pending.length === 0) return;
    const tenant = this.pending[0].tenant;
    const enc = this.encoder;
    enc.reset();
    try {
      // Every waiting request of the same tenant goes into one generated request (fewer, larger
      // writes under load), up to GENERATED_BATCH_BYTES uncompressed.
      while (this.pending.length > 0 && this.pending[0].tenant === tenant && enc.rawLength < GENERATED_BATCH_BYTES) {
        const d = this.pending.shift()!;
        try {
          this.score(d.batch, tenant);
        } catch (e) {
          this.log.error({ err: e }, 'scoring failed');
        } finally {
          this.free.push(d);
        }
      }
      if (enc.series === 0) return;
      this.m.generated.inc(enc.samples);
      await this.sendGenerated(tenant, enc.body());
    } catch (e) {
      this.log.error({ err: e }, 'sending generated series failed');
    }
  }

  /**
   * Forget series not seen for `idleMs`: their model state and index entry are freed for new
   * series (a series that comes back starts a new warm-up). Returns how many were evicted.
   */
  evictIdle(idleMs: number): number {
    const before = Math.floor((Date.now() - idleMs) / 1000);
    const n = this.index.evictIdle(before, (id) => this.links.drop(id, this.release));
    if (n > 0) this.m.evicted.inc(n);
    return n;
  }

  private readonly release = (inst: number, offset: number): void => {
    this.instances[inst].freeOffsets.push(offset);
  };

  /** Wait for generated-series requests still in flight (graceful shutdown). */
  async drain(): Promise<void> {
    while (this.pending.length > 0) await this.scoreNext();
    await Promise.all(this.generatedDone);
  }

  private failed(raw: PostResult): WriteResult {
    this.m.forwardErr.inc();
    if (raw.outcome === 'rejected') {
      const suppressed = this.rejectLog.take();
      if (suppressed >= 0) this.log.warn({ reason: raw.reason, suppressed }, 'downstream rejected a raw request; passing 400 back to the sender');
      return { status: 400, message: raw.reason };
    }
    if (raw.status === 0) this.m.downstreamUp.set(0);
    const suppressed = this.retryLog.take();
    if (suppressed >= 0) this.log.warn({ reason: raw.reason, suppressed }, 'raw forward failed; answering 503 so the sender retries');
    return { status: 503, message: raw.reason };
  }

  /**
   * Send generated series (snappy WriteRequest) to the tenant's path, as remote_write or JSON
   * lines, in the background: the sender's answer waits only when MAX_GENERATED_IN_FLIGHT
   * requests are already outstanding (backpressure instead of unbounded memory).
   */
  private async sendGenerated(tenant: string | null, body: Uint8Array): Promise<void> {
    this.generatedInFlight++;
    const p = this.out.send(tenant, body).then((r) => {
      this.generatedInFlight--;
      this.generatedDone.delete(p);
      this.encoder.recycle(body);
      if (r.outcome === 'accepted') return;
      this.m.generatedErr.inc();
      const suppressed = this.generatedLog.take();
      if (suppressed >= 0) this.log.warn({ reason: r.reason, transport: this.out.mode, suppressed }, 'writing generated series failed');
    });
    this.generatedDone.add(p);
    if (this.generatedInFlight > MAX_GENERATED_IN_FLIGHT) await p;
  }

  /** Decompress and decode into `d`; throws DecodeError when the body cannot be read. */
  private decode(body: Uint8Array, d: Decoded): void {
    if (body.length > this.maxBytes) throw new DecodeError('ANOM_DECODE_TOO_LARGE', `request body of ${body.length} bytes exceeds server.max_request_bytes ${this.maxBytes}`);
    const b = d.batch;
    this.decoder.decode(d.snappy.decompress(body, this.maxBytes), b);
    this.m.requests.inc();
    this.m.samples.inc(b.sampleCount);
    if (b.metadataCount) this.m.metadata.inc(b.metadataCount);
  }

  /** Score an accepted batch, appending its generated series to the encoder's request. */
  private score(b: WriteBatch, tenant: string | null): void {
    this.batch = b;
    this.tenant = tenant;
    const seed = tenant === null ? 0 : hashString(tenant);
    const index = this.index;
    index.now = Math.floor(Date.now() / 1000);
    const links = this.links;
    const enc = this.encoder;
    enc.newBatch();
    let id = -1;
    for (let s = 0; s < b.seriesCount; s++) {
      index.hash(b, s, seed);
      id = index.findFrom(id + 1);
      if (id < 0) {
        id = this.newSeries(s);
        if (id < 0) continue;
      } else index.touch(id);
      let begun = false;
      for (let k = links.first[id]; k >= 0; k = links.next[k]) {
        const n = this.scoreLink(k, s);
        if (n === 0) continue;
        if (!begun) {
          enc.beginSeries(b, s, id);
          begun = true;
        }
        const inst = this.instances[links.inst[k]];
        enc.timestamps(this.colTs, n);
        for (let v = 0; v < inst.vars.length; v++) {
          const vi = inst.vars[v];
          enc.writeSeries(inst.prefixBase + vi, inst.prefixes[vi], this.cols[vi]);
        }
      }
    }
  }

  /** Run link k's model over series s's samples; fills the output columns, returns rows. */
  private scoreLink(k: number, s: number): number {
    const b = this.batch;
    const links = this.links;
    const inst = this.instances[links.inst[k]];
    const scorer = inst.scorer;
    const state = inst.state;
    const off = links.offset[k];
    const pred = this.pred;
    const first = b.smpFirst[s];
    const last = first + b.smpCount[s];
    if (last - first > this.colTs.length) this.growCols(last - first);
    const cTs = this.colTs;
    const cols = this.cols;
    const cScore = cols[0], cYhat = cols[1], cLo = cols[2], cHi = cols[3], cY = cols[4]; // prettier-ignore
    let n = 0;
    let skipped = 0;
    let learned = 0;
    for (let i = first; i < last; i++) {
      let y = b.value[i];
      const t = b.ts[i];
      if (t < 0) {
        skipped++; // before 1970: forwarded, not scored (and not encodable as a varint)
        continue;
      }
      if (y - y !== 0) {
        // NaN or ±Inf: forwarded raw, never learned. A stale marker ends the generated series too.
        if (b.stale[i] === 1 && scorer.isReady(state, off)) {
          cTs[n] = t;
          cScore[n] = cYhat[n] = cLo[n] = cHi[n] = cY[n] = NaN;
          n++;
        } else if (b.stale[i] === 0) this.m.nonFinite.inc();
        continue;
      }
      if (inst.transform !== Transform.None) {
        const pt = links.prevTs[k];
        const pv = links.prevValue[k];
        if (!(t > pt)) {
          if (pt !== pt) {
            links.prevTs[k] = t;
            links.prevValue[k] = y;
          } else skipped++;
          continue;
        }
        const inc = y >= pv ? y - pv : y; // a drop is a counter reset: it restarted from 0
        links.prevTs[k] = t;
        links.prevValue[k] = y;
        y = inst.transform === Transform.Rate ? inc / ((t - pt) / 1000) : inc;
      }
      if (!scorer.update(state, off, t, y, pred)) {
        skipped++;
        continue;
      }
      learned++;
      if (!pred.ready) continue;
      cTs[n] = t;
      cScore[n] = pred.score;
      cYhat[n] = pred.yhat;
      cLo[n] = pred.lower;
      cHi[n] = pred.upper;
      cY[n] = y;
      n++;
    }
    this.m.scored.inc(learned);
    if (skipped) this.m.outOfOrder.inc(skipped);
    return n;
  }

  /** First sight of series s: match it against every query once, allocate model state. */
  private newSeries(s: number): number {
    const id = this.index.add();
    if (id < 0) {
      this.m.seriesLimit.inc();
      return -1;
    }
    const b = this.batch;
    const labels = new Map<string, string>();
    b.labels(s);
    for (let j = b.lblFirst[s], e = j + b.lblCount[s]; j < e; j++) labels.set(b.labelName(j), b.labelValue(j));
    let first = -1;
    for (const q of this.queries) {
      if (!matches(q.selector, labels)) continue;
      for (const ii of q.instances) {
        const inst = this.instances[ii];
        const off = inst.freeOffsets.length > 0 ? inst.freeOffsets.pop()! : inst.used++ * inst.slots;
        if (off + inst.slots > inst.state.length) {
          const st = new Float64Array(inst.state.length * 2);
          st.set(inst.state);
          inst.state = st;
        }
        inst.scorer.init(inst.state, off);
        first = this.links.add(ii, off, first);
      }
    }
    if (first >= 0) this.out.tenancy.check(this.tenant, labels);
    this.links.setFirst(id, first);
    if (first >= 0) this.encoder.plan(b, s, id);
    return id;
  }

  private growCols(n: number): void {
    this.colTs = new Float64Array(n);
    this.cols = OUTPUT_VARS.map(() => new Float64Array(n));
  }
}

/** A decompressor and a batch: one per request between decode and scoring. */
class Decoded {
  readonly snappy = new SnappyReader();
  readonly batch = new WriteBatch();
  tenant: string | null = null;
}

/** Accepted requests waiting to be scored (each holds its decoded batch, ~100 KB at 2,000 samples). */
const MAX_PENDING_SCORES = 16;
/** A generated request closes past this many uncompressed bytes (~4 requests of 2,000 scored samples). */
const GENERATED_BATCH_BYTES = 4 << 20;

/** 64 requests of generated series (~0.7 MB each at 2,000 scored samples) = ~45 MB at most. */
const MAX_GENERATED_IN_FLIGHT = 64;

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function pipelineMetrics(r: Registry) {
  return {
    requests: r.counter('anomstream_write_requests_total', 'Remote write requests decoded.'),
    rejected: r.counter('anomstream_write_requests_rejected_total', 'Requests answered 400 because they cannot be read.'),
    samples: r.counter('anomstream_samples_received_total', 'Raw samples received (all forwarded).'),
    metadata: r.counter('anomstream_metadata_received_total', 'Metric metadata entries received (forwarded).'),
    scored: r.counter('anomstream_samples_scored_total', 'Samples learnt by a model (per model: a sample of a query with two models counts twice).'),
    outOfOrder: r.counter('anomstream_samples_out_of_order_total', 'Scored-series samples not after the previous one (duplicates, retries): forwarded, not learned.'),
    nonFinite: r.counter('anomstream_samples_non_finite_total', 'NaN/Inf samples of scored series (not stale markers): forwarded, not learned.'),
    generated: r.counter('anomstream_generated_samples_total', 'Generated samples (anomaly_score, yhat, ...) built.'),
    generatedErr: r.counter('anomstream_generated_write_errors_total', 'Requests of generated series the downstream did not accept.'),
    forwardOk: r.counter('anomstream_forward_requests_total', 'Raw requests forwarded', lbl('result', 'accepted')),
    forwardErr: r.counter('anomstream_forward_requests_total', 'Raw requests forwarded', lbl('result', 'failed')),
    downstreamUp: r.gauge('anomstream_downstream_up', '1 when the datasource answered the last request or health check.'),
    series: r.gauge('anomstream_series', 'Series in the index (scored or not).'),
    scoredSeries: r.gauge('anomstream_scored_series', 'Series x model pairs with model state.'),
    evicted: r.counter('anomstream_series_evicted_total', 'Series forgotten after limits.series_idle_timeout without a sample.'),
    seriesLimit: r.counter('anomstream_series_limit_reached_total', 'New series not scored because limits.max_series was reached.'),
  };
}
