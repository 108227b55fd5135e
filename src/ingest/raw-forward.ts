import type { Logger } from 'pino';
import { REMOTE_WRITE_HEADERS, type Downstream, type PostResult } from '../forward/downstream.js';
import { lbl, type Metric, type Registry } from '../metrics/registry.js';
import { SnappyCompressor } from '../wire/snappy-compress.js';
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
 * Metrics: anomstream_forward_posts_total{result} counts the POSTs of raw data (a merged POST once;
 * a re-encoding and a re-send of a refused merge each once more); Ingest's
 * anomstream_forward_requests_total counts the senders' requests.
 */
export class RawForward {
  private readonly compressor = new SnappyCompressor();
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
  ) {
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
   * valid until the returned promise settles (the request slot's own buffer).
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

  private reencoded(path: string, decoded: Uint8Array, r: Reads): Promise<PostResult> {
    r.reencoded.inc();
    return this.send(path, this.compressor.compress(decoded), REMOTE_WRITE_HEADERS);
  }
}
