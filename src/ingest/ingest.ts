import type { Logger } from 'pino';
import { BudgetError, DecodeError } from '../errors.js';
import type { Downstream, PostResult } from '../forward/downstream.js';
import { writePath } from '../forward/paths.js';
import { lbl, type Metric, type Registry } from '../metrics/registry.js';
import { Throttle } from '../metrics/throttle.js';
import { MemoryBudget, POOL_IDLE_MS, poolKeepBytes, type Trimmable } from './budget.js';
import { foreignFormat, type ContentEncoding, type ContentEncodings, type Decompressor, type SharedDecoder } from './encodings.js';
import { RawForward } from './raw-forward.js';
import { RecentRequests } from './recent.js';
import { WriteBatch, WriteRequestDecoder } from './write-request.js';
import { bufferSize } from '../wire/grow.js';

/** The answer to one write request. */
export interface WriteResult {
  status: 204 | 400 | 415 | 503;
  /** One line for the sender, empty on success. */
  message: string;
  /** Samples the request held (0 when it could not be decoded). */
  samples: number;
}

/**
 * One request between decode and scoring: its decoded batch (whose bytes are its decompressor's
 * buffer) and its tenant. Requests in flight and waiting each hold one; they are reused.
 *
 * A slot's buffers (decompressors, the batch's columns) are counted in server.max_memory_bytes
 * (`charged`): growth is taken from the budget before it is allocated (reserveFor() before a
 * decompress, the batch's `reserve` as its columns grow), and settle() then charges exactly what
 * the slot holds. trim() drops the buffers of a slot the pool does not keep.
 */
export class Accepted {
  batch = new WriteBatch();
  tenant: string | null = null;
  /** Bytes of the budget this slot holds. */
  charged = 0;
  /** When the slot was last given back to the pool (ms). */
  releasedAt = 0;
  private readonly decompressors = new Map<ContentEncoding, Decompressor>();

  constructor(private readonly memory: MemoryBudget) {
    this.batch.reserve = this.reserve;
    this.settle();
  }

  private readonly reserve = (n: number): boolean => {
    if (!this.memory.take(n)) return false;
    this.charged += n;
    return true;
  };

  decompressor(e: ContentEncoding): Decompressor {
    let d = this.decompressors.get(e);
    if (d === undefined) this.decompressors.set(e, (d = e.decompressor()));
    return d;
  }

  /**
   * Set aside what decompressing `body` (encoded as `enc`) with `d` may add to the slot, from the
   * size its header announces (unknown: `limit`); false when it does not fit. A body announcing
   * more than `limit` takes nothing: decompress() refuses it before allocating.
   */
  reserveFor(enc: ContentEncoding, d: Decompressor, body: Uint8Array, limit: number): boolean {
    const announced = enc.announcedSize(body);
    if (announced > limit) return true;
    const need = bufferSize(announced < 0 ? limit : announced);
    return need <= d.memoryBytes || this.reserve(need - d.memoryBytes);
  }

  /** Charge exactly the bytes the slot holds now (gives back what was set aside and not used). */
  settle(): void {
    let held = this.batch.columnBytes();
    for (const d of this.decompressors.values()) held += d.memoryBytes;
    this.charged = this.memory.recharge(this.charged, held);
  }

  /** Drop the slot's buffers (new, small ones are made): memory goes back after a burst. */
  trim(): void {
    const before = this.charged;
    this.batch = new WriteBatch();
    this.batch.reserve = this.reserve;
    this.decompressors.clear();
    this.settle();
    this.memory.dropped(before - this.charged);
  }
}

/**
 * Accepted requests waiting to be scored, oldest first. The consumer takes them with take()
 * (the batch is valid until release()) and gives each back with release().
 *
 * Free slots are kept for reuse up to `keepBytes` in all (a released slot that would pass it is
 * trimmed first), so that a burst of large requests reuses its buffers (a fresh 32 MiB buffer
 * costs ~300 ms of page faults, reusing one ~0) yet holds at most `keepBytes` of them; a free
 * slot that grew past its first size and has not been used for POOL_IDLE_MS is trimmed (on the
 * budget's TrimSchedule, armed when such a slot is released), so the pool shrinks back once the
 * burst is over.
 */
export class AcceptedQueue implements Trimmable {
  private readonly items: Accepted[] = [];
  private readonly free: Accepted[] = [];
  /** Bytes held by the slots in `free`. */
  private pooled = 0;

  private readonly baseBytes: number;

  constructor(
    private readonly memory: MemoryBudget,
    private readonly keepBytes: number,
  ) {
    this.baseBytes = new Accepted(new MemoryBudget(Infinity)).charged;
  }

  /** Trim the free slots grown past their first size and unused for POOL_IDLE_MS; when the next of the others is due. */
  shrink(now: number): number {
    const old = now - POOL_IDLE_MS;
    let next = Infinity;
    for (const a of this.free) {
      if (a.charged <= this.baseBytes) continue;
      if (a.releasedAt > old) {
        next = Math.min(next, a.releasedAt + POOL_IDLE_MS);
        continue;
      }
      this.pooled -= a.charged;
      a.trim();
      this.pooled += a.charged;
    }
    return next;
  }

  get length(): number {
    return this.items.length;
  }

  /** Tenant of the oldest waiting request (the queue must not be empty). */
  get oldestTenant(): string | null {
    return this.items[0].tenant;
  }

  take(): Accepted | undefined {
    return this.items.shift();
  }

  release(a: Accepted): void {
    if (this.pooled + a.charged > this.keepBytes) a.trim();
    this.pooled += a.charged;
    a.releasedAt = Date.now();
    this.free.push(a);
    if (a.charged > this.baseBytes) this.memory.trims.arm(this, a.releasedAt + POOL_IDLE_MS);
  }

  /** @internal ingest's side: a request slot to decode into, and handing one over. */
  slot(): Accepted {
    const a = this.free.pop();
    if (a === undefined) return new Accepted(this.memory);
    this.pooled -= a.charged;
    return a;
  }
  push(a: Accepted): void {
    this.items.push(a);
  }
}

/** One encoding's shared decoder and the bytes of the budget it holds. */
interface Held {
  readonly decoder: SharedDecoder;
  charged: number;
  usedAt: number;
}

/**
 * The encodings' shared decoders (zstd's WebAssembly instance, used by every request slot) in
 * server.max_memory_bytes, like a slot's own buffers: before a body is decompressed, what the
 * decoder may grow to is taken from the budget (reserveFor(), from the size the body's header
 * announces; unknown counts as `limit`), afterwards settle() charges what it holds. A decoder
 * that grew and has not been used for POOL_IDLE_MS is trimmed (replaced by a fresh one) and the
 * bytes given back: WebAssembly memory cannot shrink otherwise. The budget's TrimSchedule runs
 * that, armed by settle() when the decoder is left grown.
 */
export class SharedDecoders implements Trimmable {
  private readonly held = new Map<ContentEncoding, Held>();

  constructor(
    private readonly memory: MemoryBudget,
    encodings: readonly ContentEncoding[],
    registry: Registry,
  ) {
    for (const e of encodings) {
      if (e.shared === undefined) continue;
      const h: Held = { decoder: e.shared, charged: 0, usedAt: 0 };
      this.held.set(e, h);
      const g = registry.gauge(
        'anomstream_memory_decoder_bytes',
        "Bytes held by an encoding's decoder shared by all requests (zstd's WebAssembly memory), part of anomstream_memory_bytes.",
        lbl('encoding', e.name),
      );
      registry.onCollect(() => g.set(h.charged));
    }
  }

  /** Set aside what decompressing `body` may grow `enc`'s shared decoder to; false when it does not fit. */
  reserveFor(enc: ContentEncoding, body: Uint8Array, limit: number): boolean {
    const h = this.held.get(enc);
    if (h === undefined) return true;
    const announced = enc.announcedSize(body);
    const need = h.decoder.memoryAfter(body.length, announced > limit ? 0 : announced < 0 ? limit : announced);
    if (need <= h.charged) return true;
    if (!this.memory.take(need - h.charged)) return false;
    h.charged = need;
    return true;
  }

  /** Charge exactly what `enc`'s shared decoder holds now; it was just used. */
  settle(enc: ContentEncoding): void {
    const h = this.held.get(enc);
    if (h === undefined) return;
    this.charge(h);
    h.usedAt = Date.now();
    if (h.decoder.grown) this.memory.trims.arm(this, h.usedAt + POOL_IDLE_MS);
  }

  private charge(h: Held): void {
    h.charged = this.memory.recharge(h.charged, h.decoder.memoryBytes);
  }

  /** Trim the decoders unused for POOL_IDLE_MS (by the clock `now`: a test's); when the next grown one is due. */
  shrink(now: number): number {
    const old = now - POOL_IDLE_MS;
    let next = Infinity;
    for (const h of this.held.values()) {
      if (!h.decoder.grown) continue;
      if (h.usedAt > old) {
        next = Math.min(next, h.usedAt + POOL_IDLE_MS);
        continue;
      }
      const dropped = h.decoder.trim();
      this.charge(h);
      this.memory.dropped(dropped);
    }
    return next;
  }
}

/** Scores the oldest accepted requests of `queue` (at least one; each released once scored). */
export type Consumer = (queue: AcceptedQueue) => Promise<void>;

/** Accepted requests that may wait to be scored (each holds its decoded batch, ~100 KB at 2,000 samples). */
const MAX_WAITING = 16;

export interface IngestOptions {
  /** server.max_request_bytes: largest body, compressed or decompressed. */
  maxBytes: number;
  /** limits.max_series_per_request, limits.max_samples_per_request (more: 400). */
  maxSeriesPerRequest: number;
  maxSamplesPerRequest: number;
  /** server.max_memory_bytes: slots are counted in it. */
  memory: MemoryBudget;
  /** writer.tenant_id (normalised by the schema), used when the path names no tenant. */
  defaultTenant: string | null;
  encodings: ContentEncodings;
  downstream: Downstream;
  consume: Consumer;
  registry: Registry;
  log: Logger;
  /**
   * Told each raw forward's verdict on the datasource: false when it failed as retryable (down,
   * 5xx, 429, no answer), true when it accepted (the idle clock stops while it is down).
   */
  datasourceUp?: (up: boolean) => void;
}

/**
 * Body -> decoded batch, raw forward, backpressure. Per request, in this order: decompress with
 * the Content-Encoding's decompressor (the body's magic number decides when it contradicts the
 * header: ContentEncodings.pick) and decode (400 if unreadable; nothing is forwarded) -> forward
 * the raw body byte for byte (RawForward: re-encoded as snappy for a datasource that does not
 * read zstd; under load a snappy body may go in one POST with others waiting: coalesce.ts) ->
 * once the datasource accepted it: answer 204 and queue
 * the batch for scoring right after (the sender's next request need not wait for our CPU work);
 * with MAX_WAITING requests already waiting, the answer waits until the consumer has scored the
 * oldest (backpressure) -> otherwise 503 (retryable) or 400 (the datasource rejected the data).
 * Decompressing is counted in server.max_memory_bytes: the slot's buffers (Accepted) and the
 * encoding's shared decoder (SharedDecoders), both taken before the memory grows (503 if it does not
 * fit); so is a re-encoding as snappy (RawForward's compressors: 503 too). Their pools shrink back
 * after a burst on the budget's TrimSchedule, which runs only while one holds something grown.
 * A request is scored only once its raw data was accepted, so a sender's retry after a 503 is
 * scored then, not skipped as a duplicate. A body identical to one accepted lately (a retry
 * whose 204 was lost: RecentRequests) is forwarded and answered as always, but not scored again.
 */
export class Ingest {
  private readonly decoder: WriteRequestDecoder;
  private readonly queue: AcceptedQueue;
  private readonly shared: SharedDecoders;
  private readonly recent = new RecentRequests();
  /** Failure logs: at most one line per kind every 10 s (every failure is counted in metrics). */
  private readonly rejectLog = new Throttle(10_000);
  private readonly retryLog = new Throttle(10_000);
  private readonly configLog = new Throttle(10_000);
  private readonly neverFitsLog = new Throttle(10_000);
  private readonly m: ReturnType<typeof ingestMetrics>;
  private readonly decodeErrors: DecodeErrors;
  private forward: RawForward;

  constructor(private readonly o: IngestOptions) {
    this.m = ingestMetrics(o.registry);
    this.decodeErrors = new DecodeErrors(o.registry);
    this.decoder = new WriteRequestDecoder({ maxSeries: o.maxSeriesPerRequest, maxSamples: o.maxSamplesPerRequest });
    this.queue = new AcceptedQueue(o.memory, poolKeepBytes(o.memory));
    this.shared = new SharedDecoders(o.memory, o.encodings.all, o.registry);
    const used = o.registry.gauge(
      'anomstream_memory_bytes',
      'Bytes of request data held (bodies, decompressed requests, decoded columns, kept buffers, the shared zstd decoder, merged POSTs, snappy re-encodings of zstd bodies), counted against server.max_memory_bytes.',
    );
    const limit = o.registry.gauge('anomstream_memory_limit_bytes', 'server.max_memory_bytes.');
    o.registry.onCollect(() => {
      used.set(o.memory.used);
      limit.set(o.memory.capacity);
    });
    for (const e of o.encodings.all)
      this.m.byEncoding.set(e, o.registry.counter('anomstream_write_requests_by_encoding_total', 'Remote write requests decoded, by the encoding read (the body decides).', lbl('encoding', e.name)));
    this.forward = this.rawForward(o.downstream);
  }

  /** The raw forward to `downstream`; snappy bodies waiting while raw POSTs are in flight go as one (coalesce.ts). */
  private rawForward(downstream: Downstream): RawForward {
    return new RawForward(downstream, this.o.encodings, this.o.registry, this.o.log, Date.now, { memory: this.o.memory, maxBytes: () => this.o.maxBytes });
  }

  /**
   * A reload: the limit, default tenant and datasource for the requests that arrive from now on
   * (a new datasource is not known to refuse any encoding: RawForward learns it afresh).
   */
  configure(o: Pick<IngestOptions, 'maxBytes' | 'defaultTenant' | 'downstream'>): void {
    if (o.downstream !== this.o.downstream) this.forward = this.rawForward(o.downstream);
    Object.assign(this.o, o);
  }

  /** Handle one remote_write body; `tenant` comes from the URL path (it wins over writer.tenant_id). */
  async write(body: Uint8Array, tenant: string | null, encoding: string): Promise<WriteResult> {
    const foreign = foreignFormat(body);
    if (foreign !== null) {
      this.decodeErrors.inc('ANOM_DECODE_ENCODING');
      return { status: 415, message: `the body is ${foreign} (Content-Encoding '${encoding}'): anomstream reads snappy blocks (remote write 1.0) and zstd (VictoriaMetrics' remote write protocol)`, samples: 0 };
    }
    const enc = this.o.encodings.pick(body);
    const t = tenant ?? this.o.defaultTenant;
    const a = this.queue.slot();
    let handedOver = false;
    try {
      try {
        const d = a.decompressor(enc);
        if (!a.reserveFor(enc, d, body, this.o.maxBytes) || !this.shared.reserveFor(enc, body, this.o.maxBytes)) throw this.noRoomToDecompress(enc, body);
        this.decode(body, enc, d, a.batch);
      } catch (e) {
        if (e instanceof DecodeError) {
          this.decodeErrors.inc(e.code);
          return { status: 400, message: e.message, samples: 0 };
        }
        if (e instanceof BudgetError) return this.overBudget(e);
        throw e;
      } finally {
        a.settle();
        this.shared.settle(enc);
      }
      const samples = a.batch.sampleCount;
      let raw: PostResult;
      try {
        raw = await this.forward.post(writePath(t), body, enc, a.batch.buf);
      } catch (e) {
        // No room to re-encode the body as snappy for a datasource that reads no zstd.
        if (!(e instanceof BudgetError)) throw e;
        return this.overBudget(e);
      }
      this.m.forwarded[raw.outcome].add(samples, body.length);
      if (raw.outcome !== 'accepted') return this.failed(raw, samples);
      this.m.downstreamUp.set(1);
      this.o.datasourceUp?.(true);
      if (this.recent.seen(body, Date.now())) {
        this.m.duplicates.inc();
        return { status: 204, message: '', samples };
      }
      a.tenant = t;
      if (this.queue.length >= MAX_WAITING) await this.o.consume(this.queue);
      this.queue.push(a);
      handedOver = true;
      if (this.queue.length === 1) setImmediate(this.consumeSoon);
      return { status: 204, message: '', samples };
    } finally {
      if (!handedOver) this.queue.release(a);
    }
  }

  /** Score every accepted request still waiting (graceful shutdown). */
  async drain(): Promise<void> {
    while (this.queue.length > 0) await this.o.consume(this.queue);
  }

  /** Hand the waiting requests to the consumer, one call per macrotask. */
  private readonly consumeSoon = (): void => {
    if (this.queue.length === 0) return;
    void this.o.consume(this.queue).then(() => {
      if (this.queue.length > 0) setImmediate(this.consumeSoon);
    });
  };

  /** Decompress and decode into `batch`; throws DecodeError when the body cannot be read. */
  private decode(body: Uint8Array, enc: ContentEncoding, d: Decompressor, batch: WriteBatch): void {
    const max = this.o.maxBytes;
    if (body.length > max) throw new DecodeError('ANOM_DECODE_TOO_LARGE', `request body of ${body.length} bytes exceeds server.max_request_bytes ${max}`);
    this.decoder.decode(d.decompress(body, max), batch);
    this.m.byEncoding.get(enc)!.inc();
    if (batch.metadataCount) this.m.metadata.inc(batch.metadataCount);
    if (batch.exemplarCount) this.m.exemplars.inc(batch.exemplarCount);
    if (batch.histogramCount) this.m.histograms.inc(batch.histogramCount);
    if (batch.staleCount) this.m.stale.inc(batch.staleCount);
  }

  /**
   * No room to decompress `body`. Transient, unless its body and decompressed size alone exceed
   * server.max_memory_bytes: then no retry can succeed until the setting is raised. Still 503 (the
   * sender keeps the data until then, as for a datasource's 413), but said so, and logged as an
   * error: "now; retry" had a sender retry it forever (vmagent stalls that queue) with nothing
   * pointing at the setting.
   */
  private noRoomToDecompress(enc: ContentEncoding, body: Uint8Array): BudgetError {
    const announced = enc.announcedSize(body);
    const capacity = this.o.memory.capacity;
    if (announced < 0 || body.length + announced <= capacity) return new BudgetError('ANOM_MEMORY_BUDGET', 'server.max_memory_bytes reached: no room to decompress this request now; retry');
    const message =
      `server.max_memory_bytes (${capacity}) can never hold this request (a ${body.length}-byte body, ${announced} bytes decompressed): ` +
      "raise server.max_memory_bytes, or make the sender's requests smaller (vmagent -remoteWrite.maxBlockSize, Prometheus queue_config.max_samples_per_send)";
    const suppressed = this.neverFitsLog.take();
    if (suppressed >= 0) this.o.log.error({ body_bytes: body.length, decompressed_bytes: announced, max_memory_bytes: capacity, suppressed }, message);
    return new BudgetError('ANOM_MEMORY_BUDGET', message);
  }

  /** server.max_memory_bytes had no room for this request (decompressing it or re-encoding it): 503, the sender retries. */
  private overBudget(e: BudgetError): WriteResult {
    this.m.overBudget.inc();
    return { status: 503, message: e.message, samples: 0 };
  }

  /** The forward failure policy: the datasource's rejection (400, 409) is the sender's 400; anything else is retryable. */
  private failed(raw: PostResult, samples: number): WriteResult {
    if (raw.outcome === 'rejected') {
      const suppressed = this.rejectLog.take();
      if (suppressed >= 0) this.o.log.warn({ reason: raw.reason, suppressed }, 'downstream rejected a raw request; passing 400 back to the sender');
      return { status: 400, message: raw.reason, samples };
    }
    if (raw.status === 0) this.m.downstreamUp.set(0);
    this.o.datasourceUp?.(false);
    if (raw.setting !== undefined) {
      // The datasource answered, but not about the data: a configuration problem. An error, since
      // the sender keeps retrying (and buffering) until someone fixes it.
      const suppressed = this.configLog.take();
      if (suppressed >= 0)
        this.o.log.error({ answer: raw.reason, check: raw.setting, suppressed }, `the datasource answered ${raw.status} to a raw request; answering 503 so the sender keeps the data: check ${raw.setting}`);
      return { status: 503, message: raw.reason, samples };
    }
    const suppressed = this.retryLog.take();
    if (suppressed >= 0) this.o.log.warn({ reason: raw.reason, suppressed }, 'raw forward failed; answering 503 so the sender retries');
    return { status: 503, message: raw.reason, samples };
  }
}

/** Raw forwards of one outcome: requests, samples and bytes (the body as received, compressed). */
class Forwarded {
  private readonly requests: Metric;
  private readonly samples: Metric;
  private readonly bytes: Metric;
  constructor(r: Registry, result: string) {
    const l = lbl('result', result);
    this.requests = r.counter(
      'anomstream_forward_requests_total',
      'Raw requests forwarded to the datasource, by result (accepted; rejected: 4xx, passed back as 400; failed: no answer, 5xx, 429, 401/403, answered 503).',
      l,
    );
    this.samples = r.counter('anomstream_forward_samples_total', 'Samples of the raw requests forwarded, by result.', l);
    this.bytes = r.counter('anomstream_forward_bytes_total', 'Bytes of the raw request bodies forwarded (as received, compressed), by result.', l);
  }
  add(samples: number, bytes: number): void {
    this.requests.inc();
    this.samples.inc(samples);
    this.bytes.inc(bytes);
  }
}

/** DecodeError codes -> the `reason` label of anomstream_decode_errors_total. */
const DECODE_REASONS: Readonly<Record<string, string>> = {
  ANOM_DECODE_TOO_LARGE: 'too_large',
  ANOM_DECODE_SNAPPY: 'snappy',
  ANOM_DECODE_ZSTD: 'zstd',
  ANOM_DECODE_PROTOBUF: 'protobuf',
  ANOM_DECODE_LIMIT: 'limits',
  ANOM_DECODE_ENCODING: 'encoding',
};

/**
 * anomstream_decode_errors_total{reason}: every reason exported from the start (0), so rate()
 * has a series. The receiver makes one too, for the bodies it refuses before reading them (too
 * large): the registry gives both the same counters.
 */
export class DecodeErrors {
  private readonly byReason = new Map<string, Metric>();
  constructor(r: Registry) {
    for (const [code, reason] of Object.entries(DECODE_REASONS)) {
      this.byReason.set(
        code,
        r.counter(
          'anomstream_decode_errors_total',
          'Write requests that cannot be read (answered 400, or 415 for a body in a format anomstream does not read: reason encoding; dropped by the sender), by reason.',
          lbl('reason', reason),
        ),
      );
    }
  }
  inc(code: string): void {
    (this.byReason.get(code) ?? this.byReason.get('ANOM_DECODE_PROTOBUF')!).inc();
  }
}

function ingestMetrics(r: Registry) {
  return {
    overBudget: r.counter(
      'anomstream_write_requests_refused_total',
      'Write requests refused before processing (503; the sender retries), by the setting that refused them.',
      lbl('reason', 'server.max_memory_bytes'),
    ),
    duplicates: r.counter('anomstream_write_requests_duplicate_total', 'Accepted requests identical to one accepted in the last 5 minutes (a retry): forwarded, not scored again.'),
    metadata: r.counter('anomstream_metadata_received_total', 'Metric metadata entries received (forwarded).'),
    exemplars: r.counter('anomstream_exemplars_received_total', 'Exemplars received (forwarded, not decoded).'),
    histograms: r.counter('anomstream_histograms_received_total', 'Native histogram samples received (forwarded, not scored).'),
    stale: r.counter('anomstream_stale_markers_received_total', 'Stale markers received (forwarded; on a scored series they end its generated series).'),
    forwarded: { accepted: new Forwarded(r, 'accepted'), rejected: new Forwarded(r, 'rejected'), retryable: new Forwarded(r, 'failed') },
    byEncoding: new Map<ContentEncoding, Metric>(),
    downstreamUp: r.gauge('anomstream_downstream_up', '1 when the datasource answered the last request or health check.'),
  };
}
