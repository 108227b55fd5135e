import type { Logger } from 'pino';
import { BudgetError } from '../errors.js';
import { REMOTE_WRITE_HEADERS, type Downstream, type PostResult } from '../forward/downstream.js';
import { lbl, type Metric, type Registry } from '../metrics/registry.js';
import { SnappyCompressor } from '../wire/snappy-compress.js';
import { MemoryBudget, POOL_IDLE_MS, poolKeepBytes, type Trimmable } from './budget.js';
import { RawCoalescer, type CoalesceOptions } from './coalesce.js';
import type { ContentEncoding, ContentEncodings } from './encodings.js';

/** How often a datasource found not to read an encoding is offered one body as it came again. */
export const REPROBE_MS = 10 * 60_000;

/** What the datasource is known to do with one non-universal encoding (zstd). */
interface Reads {
  /** Bodies go as they came (true until the datasource refuses one and takes its re-encoding). */
  asIs: boolean;
  /** While !asIs: when the next body goes as it came (a re-probe). */
  probeAt: number;
  gauge: Metric;
  reencoded: Metric;
}

/**
 * The raw forward: each body goes to the datasource byte for byte, with its encoding's headers.
 *
 * An encoding not every datasource reads (zstd: VictoriaMetrics before 1.88 decodes every body as
 * snappy and answers 400 "snappy: corrupt input"; other receivers answer 415) is learnt from the
 * answers. A 400 or 415 to such a body -> the body is re-encoded as snappy from its decoded bytes
 * and sent again, and the sender gets the answer to that: a datasource's 400 to a zstd body never
 * reaches the sender (vmagent would re-pack the block as snappy and stay on snappy for good). When
 * the re-encoding is accepted, the datasource does not read the encoding: from then on its bodies
 * are re-encoded before the first send (one warning, `anomstream_downstream_<name>` 0). When the
 * re-encoding is refused too, the data was the problem, not the encoding: nothing is learnt.
 * Every REPROBE_MS one body goes as it came again, so an upgraded datasource is found; an old one
 * answers that body 400 once more (one line in its log every 10 minutes) and it is re-encoded.
 *
 * Snappy bodies (the universal encoding) go through a RawCoalescer when `coalesce` is given (the
 * proxy: Ingest): under load, the bodies waiting for a POST go as one (coalesce.ts). zstd bodies
 * and their re-encodings go one POST each: concatenated zstd frames are valid zstd, but whether a
 * datasource reads more than one frame per body depends on its decoder (VictoriaMetrics: the pure
 * Go build's DecodeAll reads every frame; the cgo build's gozstd sizes its output from the first
 * frame's content size in the versions read, and may fail), and VictoriaMetrics before 1.88 (the
 * Debian 1.79.5) reads no zstd at all.
 *
 * Memory: a re-encoding is made in a compressor of its own (Compressors) whose buffers are counted
 * in server.max_memory_bytes (`memory`): when they do not fit, post() throws BudgetError
 * ANOM_MEMORY_BUDGET (ingest answers 503, the sender retries) and nothing is sent.
 *
 * Metrics: anomstream_forward_posts_total{result} counts the POSTs of raw data (a merged POST once;
 * a re-encoding and a re-send of a refused merge each once more); Ingest's
 * anomstream_forward_requests_total counts the senders' requests.
 */
export class RawForward {
  private readonly compressors: Compressors;
  private readonly reads = new Map<ContentEncoding, Reads>();
  private readonly coalescer: RawCoalescer | undefined;
  private readonly posts: Record<PostResult['outcome'], Metric>;

  constructor(
    private readonly downstream: Downstream,
    encodings: ContentEncodings,
    registry: Registry,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    coalesce?: CoalesceOptions,
    memory: MemoryBudget = coalesce?.memory ?? new MemoryBudget(Infinity),
  ) {
    this.compressors = new Compressors(memory);
    const posts = (result: string): Metric =>
      registry.counter(
        'anomstream_forward_posts_total',
        'POSTs of raw data to the datasource, by result: one per request at low load, fewer under load (the requests waiting for a POST go as one); re-encodings and the one-by-one re-sends of a refused merged POST count too.',
        lbl('result', result),
      );
    this.posts = { accepted: posts('accepted'), rejected: posts('rejected'), retryable: posts('failed') };
    if (coalesce !== undefined)
      this.coalescer = new RawCoalescer(this.sendSnappy, coalesce, {
        merged: registry.counter('anomstream_forward_merged_requests_total', 'Raw requests forwarded in a POST together with others (snappy bodies waiting while raw POSTs were in flight).'),
        split: registry.counter('anomstream_forward_merge_splits_total', 'Merged raw POSTs refused (400, 409, 413) and re-sent request by request, so that only the sender of the refused data gets 400.'),
      });
    for (const e of encodings.all) {
      if (e.universal) continue;
      const gauge = registry.gauge(
        `anomstream_downstream_${e.name}`,
        `1 while ${e.name} bodies are forwarded as they came; 0 once the datasource refused one (400/415) and took it re-encoded as snappy (re-probed every ${REPROBE_MS / 60_000} minutes).`,
      );
      gauge.set(1);
      const reencoded = registry.counter('anomstream_forward_reencoded_total', 'Raw requests forwarded re-encoded as snappy because the datasource does not read their encoding.', lbl('from', e.name));
      this.reads.set(e, { asIs: true, probeAt: 0, gauge, reencoded });
    }
  }

  /**
   * POST `body` (encoded as `enc`) to `path`; `decoded` is its decoded WriteRequest, which must stay
   * valid until the returned promise settles (the request slot's own buffer). Rejects with
   * BudgetError when a re-encoding does not fit in server.max_memory_bytes (nothing sent then).
   */
  post(path: string, body: Uint8Array, enc: ContentEncoding, decoded: Uint8Array): Promise<PostResult> {
    const r = this.reads.get(enc);
    if (r !== undefined) return this.postLearning(path, body, enc, decoded, r);
    // Remote write 1.0 headers: a snappy block, which ingest decoded exactly (mergeable).
    return this.coalescer !== undefined && enc.forwardHeaders === REMOTE_WRITE_HEADERS ? this.coalescer.post(path, body) : this.send(path, body, enc.forwardHeaders);
  }

  /** One POST of raw data, counted in anomstream_forward_posts_total. */
  private async send(path: string, body: Uint8Array, headers: Record<string, string>): Promise<PostResult> {
    const res = await this.downstream.post(path, body, headers);
    this.posts[res.outcome].inc();
    return res;
  }

  private readonly sendSnappy = (path: string, body: Uint8Array): Promise<PostResult> => this.send(path, body, REMOTE_WRITE_HEADERS);

  private async postLearning(path: string, body: Uint8Array, enc: ContentEncoding, decoded: Uint8Array, r: Reads): Promise<PostResult> {
    const now = this.now();
    if (!r.asIs) {
      if (now < r.probeAt) return this.reencoded(path, decoded, r);
      r.probeAt = now + REPROBE_MS; // this body is the re-probe
    }
    const res = await this.send(path, body, enc.forwardHeaders);
    if (res.status !== 400 && res.status !== 415) {
      if (!r.asIs && res.outcome === 'accepted') {
        r.asIs = true;
        r.gauge.set(1);
        this.log.info({ encoding: enc.name }, `the datasource accepted a ${enc.name} body: forwarding ${enc.name} bodies as they come again`);
      }
      return res;
    }
    const again = await this.reencoded(path, decoded, r);
    if (r.asIs && again.outcome === 'accepted') {
      r.asIs = false;
      r.probeAt = now + REPROBE_MS;
      r.gauge.set(0);
      this.log.warn(
        { encoding: enc.name, reason: res.reason },
        `the datasource refused a ${enc.name} body and accepted it re-encoded as snappy: ${enc.name} bodies are re-encoded as snappy from now on (CPU per sample; tried as they came every ${REPROBE_MS / 60_000} minutes). A VictoriaMetrics 1.88 or newer reads zstd; or let the sender send snappy (vmagent -remoteWrite.forcePromProto)`,
      );
    }
    return again;
  }

  /** POST `decoded` re-encoded as snappy; BudgetError (nothing sent) when its compressor does not fit in the budget. */
  private async reencoded(path: string, decoded: Uint8Array, r: Reads): Promise<PostResult> {
    const k = this.compressors.take(decoded.length);
    try {
      const body = k.c.compressView(decoded);
      r.reencoded.inc();
      return await this.send(path, body, REMOTE_WRITE_HEADERS);
    } finally {
      this.compressors.release(k);
    }
  }
}

/** A compressor, the bytes of the budget it holds, and when it was last released (ms). */
interface Kept {
  readonly c: SnappyCompressor;
  charged: number;
  usedAt: number;
}

/**
 * The snappy compressors of the re-encodings, one per re-encoding in flight: a re-encoding is sent
 * from its compressor's output buffer (no copy), so that buffer is busy until the POST is answered.
 * Each is counted in server.max_memory_bytes like ingest's request slots: its growth (hash table,
 * output buffer grown to the body's bound) is taken from the budget before it is allocated
 * (refused: BudgetError), it stays charged while the re-encoding is sent and while it is kept for
 * the next one (up to poolKeepBytes() of them, as ingest's request slots: a burst of concurrent
 * re-encodings does not stay), and one unused for POOL_IDLE_MS is dropped and its bytes given back
 * (the budget's TrimSchedule, armed on release): an instance idle for that long holds none.
 */
class Compressors implements Trimmable {
  private readonly free: Kept[] = [];
  /** Bytes charged for the compressors in `free`. */
  private kept = 0;
  private readonly keepBytes: number;

  constructor(private readonly memory: MemoryBudget) {
    this.keepBytes = poolKeepBytes(memory);
  }

  /** A compressor for `n` input bytes, its growth taken from the budget; BudgetError when that does not fit. */
  take(n: number): Kept {
    // A kept one that needs no growth, else the most recently used one (grown if need be).
    let i = this.free.length - 1;
    for (let j = 0; j < this.free.length; j++)
      if (SnappyCompressor.memoryAfter(this.free[j].c, n) === this.free[j].charged) {
        i = j;
        break;
      }
    const k = i >= 0 ? this.free[i] : undefined;
    const need = SnappyCompressor.memoryAfter(k?.c, n) - (k?.charged ?? 0);
    if (need > 0 && !this.memory.take(need)) throw new BudgetError('ANOM_MEMORY_BUDGET', `server.max_memory_bytes reached: no room for the ${need} bytes re-encoding this request as snappy needs now; retry`);
    if (k === undefined) return { c: new SnappyCompressor(), charged: need, usedAt: 0 };
    this.free[i] = this.free[this.free.length - 1];
    this.free.pop();
    this.kept -= k.charged;
    k.charged += need;
    return k;
  }

  /** Keep `k` for the next re-encoding (charged exactly what it holds) until it has been unused for POOL_IDLE_MS. */
  release(k: Kept): void {
    k.charged = this.memory.recharge(k.charged, k.c.memoryBytes);
    if (this.kept + k.charged > this.keepBytes) {
      this.drop(k);
      return;
    }
    this.kept += k.charged;
    k.usedAt = Date.now();
    this.free.push(k);
    this.memory.trims.arm(this, k.usedAt + POOL_IDLE_MS);
  }

  /** Drop the compressors unused for POOL_IDLE_MS (by the clock `now`); when the next of the others is due. */
  shrink(now: number): number {
    const old = now - POOL_IDLE_MS;
    let next = Infinity;
    let n = 0;
    for (const k of this.free) {
      if (k.usedAt > old) {
        this.free[n++] = k;
        next = Math.min(next, k.usedAt + POOL_IDLE_MS);
        continue;
      }
      this.kept -= k.charged;
      this.drop(k);
    }
    this.free.length = n;
    return next;
  }

  private drop(k: Kept): void {
    this.memory.give(k.charged);
    this.memory.dropped(k.charged);
  }
}
