import { createServer, IncomingMessage, ServerResponse, type Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { TENANT_RE } from '../forward/paths.js';
import { lbl, type Histogram, type Metric, type Registry } from '../metrics/registry.js';
import { DecodeErrors, type WriteResult } from '../ingest/ingest.js';

// The HTTP face of anomstream: routes, body limits, content negotiation, status codes.
//
//   POST /api/v1/write, /prometheus/api/v1/write            remote write 1.0 (snappy) and
//                                                           VictoriaMetrics' protocol (zstd)
//   POST /insert/<A[:B]|multitenant>/prometheus/api/v1/write  same, for that cluster tenant
//   ...?get_vm_proto_version=1 on any of them: 200 "1" (vminsert's answer to vmagent 1.88-1.115's
//                 handshake, which then sends zstd)
//   GET  /health  200 while the process runs
//   GET  /ready   200 once the config is loaded and the listener accepts (downstream health
//                 is the anomstream_downstream_up metric, so an instance is not taken out of
//                 service exactly when it should be buffering)
//   GET  /metrics self-monitoring
//   GET  /        the status page (HTML)
//   POST /-/reload  re-read the config file (as SIGHUP); 200, or 500 with the problems
//
// Status codes are chosen for vmagent/Prometheus retry rules: 400 only for a request that can
// never be read (it is dropped by the sender), 415 for an encoding we cannot read (gzip, lz4,
// ...), 503 for anything transient (retried).

export type WriteHandler = (body: Uint8Array, tenant: string | null, encoding: string) => Promise<WriteResult>;

export interface ReceiverOptions {
  host: string;
  port: number;
  maxRequestBytes: number;
  /** Write requests processed at once; more are answered 503 (retryable) without reading them. */
  maxInFlight: number;
  /** Can a body of this Content-Encoding (lower case) be read? Others get 415 without being read. */
  readable: (encoding: string) => boolean;
  write: WriteHandler;
  /** Extra text for GET /ready (e.g. the downstream's health); readiness itself does not depend on it. */
  readyDetail: () => string;
  /** The status page for GET /. */
  statusPage: () => string;
  /** POST /-/reload: re-read the config; resolves with whether it now applies and one line why not. */
  reload: () => Promise<{ ok: boolean; message: string }>;
  registry: Registry;
  log: Logger;
}

/** A response that knows its route (the `path` label) and when its request arrived. */
class Response extends ServerResponse {
  route = 'other';
  started = 0;
}

const WRITE_PATHS = new Set(['/api/v1/write', '/prometheus/api/v1/write']);
const TENANT_PATH = /^\/insert\/([^/]+)\/prometheus\/api\/v1\/write$/;
/** The `path` label of a tenant's write path (the tenant is left out: unbounded). */
const TENANT_ROUTE = '/insert/{tenant}/prometheus/api/v1/write';
const READ_PATHS = new Set(['/health', '/ready', '/metrics', '/']);
const RELOAD_PATH = '/-/reload';

export class Receiver {
  readonly server: Server<typeof IncomingMessage, typeof Response>;
  private ready = false;
  private inFlight = 0;
  private idle: (() => void) | null = null;
  private readonly m: ReceiverMetrics;

  constructor(private readonly o: ReceiverOptions) {
    this.server = createServer<typeof IncomingMessage, typeof Response>({ keepAliveTimeout: 65_000, requestTimeout: 120_000, ServerResponse: Response }, (req, res) => this.route(req, res));
    this.m = new ReceiverMetrics(o.registry);
    const inFlight = o.registry.gauge('anomstream_requests_in_flight', 'Write requests being processed.');
    o.registry.onCollect(() => inFlight.set(this.inFlight));
  }

  /** Write requests read so far and their samples. */
  get totals(): { requests: number; samples: number } {
    return this.m.totals;
  }

  /** A reload: limits for the requests that arrive from now on. */
  setLimits(maxRequestBytes: number, maxInFlight: number): void {
    this.o.maxRequestBytes = maxRequestBytes;
    this.o.maxInFlight = maxInFlight;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.o.port, this.o.host, () => {
        this.server.off('error', reject);
        this.ready = true;
        resolve();
      });
    });
  }

  address(): { host: string; port: number } {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('not listening');
    return { host: a.address, port: a.port };
  }

  /** Stop accepting, let in-flight writes finish (up to `graceMs`), then close idle sockets. */
  async close(graceMs: number): Promise<void> {
    this.ready = false;
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeIdleConnections();
    if (this.inFlight > 0) {
      await Promise.race([new Promise<void>((r) => (this.idle = r)), new Promise((r) => setTimeout(r, graceMs).unref())]);
    }
    this.server.closeAllConnections();
    await closed;
  }

  private route(req: IncomingMessage, res: Response): void {
    res.started = performance.now();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    let tenant: string | null = null;
    let isWrite = WRITE_PATHS.has(path);
    res.route = path;
    if (!isWrite) {
      const m = TENANT_PATH.exec(path);
      if (m) {
        res.route = TENANT_ROUTE;
        if (!TENANT_RE.test(m[1])) return this.reply(res, 400, `invalid tenant '${m[1]}' in path: expected 'A', 'A:B' (integers) or 'multitenant'`);
        tenant = m[1];
        isWrite = true;
      }
    }
    if (isWrite) {
      if (q >= 0 && asksVmProtoVersion(url.slice(q + 1))) return this.handshake(req, res);
      if (req.method !== 'POST') return this.reply(res, 405, 'use POST', { allow: 'POST' });
      return void this.write(req, res, tenant);
    }
    if (READ_PATHS.has(path)) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return this.reply(res, 405, 'use GET', { allow: 'GET, HEAD' });
      if (path === '/health') return this.reply(res, 200, 'OK');
      if (path === '/ready') return this.ready ? this.reply(res, 200, `OK\n${this.o.readyDetail()}`) : this.reply(res, 503, 'not ready');
      if (path === '/') return this.reply(res, 200, this.o.statusPage(), { 'content-type': 'text/html; charset=utf-8' });
      return this.reply(res, 200, this.o.registry.render(), { 'content-type': 'text/plain; version=0.0.4' });
    }
    if (path === RELOAD_PATH) {
      if (req.method !== 'POST' && req.method !== 'PUT') return this.reply(res, 405, 'use POST', { allow: 'POST, PUT' });
      req.resume();
      return void this.o.reload().then((r) => this.reply(res, r.ok ? 200 : 500, r.message));
    }
    res.route = 'other';
    this.reply(res, 404, `unknown path ${path}; remote write goes to /api/v1/write`);
  }

  private async write(req: IncomingMessage, res: Response, tenant: string | null): Promise<void> {
    const enc = (req.headers['content-encoding'] ?? 'snappy').toLowerCase().trim();
    if (!this.o.readable(enc)) {
      req.resume();
      return this.reply(res, 415, `unsupported Content-Encoding '${enc}': anomstream reads snappy (remote write 1.0) and zstd (VictoriaMetrics' remote write protocol)`);
    }
    const ctype = req.headers['content-type'] ?? '';
    if (ctype.includes('io.prometheus.write.v2')) {
      req.resume();
      return this.reply(res, 415, 'remote write 2.0 is not supported: send remote write 1.0 (prometheus.WriteRequest)');
    }
    if (this.inFlight >= this.o.maxInFlight) {
      // Bounded memory: each write in flight holds its body and decoded batch. Retryable.
      req.resume();
      return this.reply(res, 503, `too many write requests in flight (server.max_in_flight ${this.o.maxInFlight}); retry`, { 'retry-after': '1' });
    }
    const max = this.o.maxRequestBytes;
    const declared = Number(req.headers['content-length'] ?? -1);
    if (declared > max) {
      this.m.tooLarge();
      res.setHeader('connection', 'close');
      this.reply(res, 400, `request body of ${declared} bytes exceeds server.max_request_bytes ${max}`);
      req.destroy();
      return;
    }
    this.inFlight++;
    try {
      const body = await readBody(req, max);
      if (body === null) {
        this.m.tooLarge();
        res.setHeader('connection', 'close');
        this.reply(res, 400, `request body exceeds server.max_request_bytes ${max}`);
        req.destroy();
        return;
      }
      const r = await this.o.write(body, tenant, enc);
      this.m.received(res.route, r.status, r.samples);
      this.reply(res, r.status, r.message);
    } catch (e) {
      this.o.log.error({ err: e }, 'write failed unexpectedly');
      this.reply(res, 503, `internal error: ${(e as Error).message}`);
    } finally {
      if (--this.inFlight === 0 && this.idle) this.idle();
    }
  }

  /**
   * vminsert's (and vmagent's) answer to the handshake of vmagent 1.88-1.115, which then sends
   * zstd: exactly the body "1" with 200, whatever the method (VictoriaMetrics
   * lib/protoparser/protoparserutil/vmproto_handshake.go; vmagent parses the body as an integer,
   * so no newline: a content-type given makes reply() send the message as it is).
   */
  private handshake(req: IncomingMessage, res: Response): void {
    req.resume();
    this.reply(res, 200, '1', { 'content-type': 'text/plain; charset=utf-8' });
  }

  /** Answer (text, one line per message, unless `headers` give another content-type), counted by route and status. */
  private reply(res: Response, status: number, message: string, headers: Record<string, string> = {}): void {
    this.m.answered(res.route, status, performance.now() - res.started);
    if (res.headersSent) return;
    if (status === 204) {
      res.writeHead(204, headers);
      res.end();
      return;
    }
    const text = headers['content-type'] === undefined;
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
    res.end(text && message ? `${message}\n` : message);
  }
}

/**
 * Requests by route and status, their duration by route, samples by route and status. Label
 * values are bounded: the route is one of the paths above (a tenant's write path as
 * TENANT_ROUTE, anything unknown as `other`), the status one of the few anomstream answers.
 */
class ReceiverMetrics {
  private readonly requests = new Map<string, Metric>();
  private readonly sampleCounts = new Map<string, Metric>();
  private readonly durations = new Map<string, Histogram>();
  private readonly decodeErrors: DecodeErrors;

  constructor(private readonly r: Registry) {
    this.decodeErrors = new DecodeErrors(r);
  }

  answered(route: string, status: number, ms: number): void {
    const key = `${route} ${status}`;
    let c = this.requests.get(key);
    if (!c) this.requests.set(key, (c = this.r.counter('anomstream_http_requests_total', 'HTTP requests answered, by path and status code.', labels(route, status))));
    c.inc();
    let h = this.durations.get(route);
    if (!h)
      this.durations.set(
        route,
        (h = this.r.histogram('anomstream_http_request_duration_seconds', 'Time from a request to its answer, by path (a write: read, decode, forward, answer), seconds.', lbl('path', route))),
      );
    h.observe(ms / 1000);
  }

  /** Write requests that were read (decoded or not), and their samples, for the status page. */
  readonly totals = { requests: 0, samples: 0 };

  /** A write request to `route` that was read, answered `status`, held `samples`. */
  received(route: string, status: number, samples: number): void {
    const key = `${route} ${status}`;
    let c = this.sampleCounts.get(key);
    if (!c)
      this.sampleCounts.set(
        key,
        (c = this.r.counter(
          'anomstream_samples_received_total',
          'Samples of the write requests received, by path and the status answered (a request answered 503 is counted again when it is retried).',
          labels(route, status),
        )),
      );
    c.inc(samples);
    this.totals.requests++;
    this.totals.samples += samples;
  }

  /** A body refused for its size before it was read. */
  tooLarge(): void {
    this.decodeErrors.inc('ANOM_DECODE_TOO_LARGE');
  }
}

function labels(route: string, status: number): string {
  return `${lbl('path', route)},${lbl('code', String(status))}`;
}

/** VictoriaMetrics' test: the query has a non-empty `get_vm_proto_version`. */
function asksVmProtoVersion(query: string): boolean {
  return query.includes('get_vm_proto_version') && !!new URLSearchParams(query).get('get_vm_proto_version');
}

/** The whole body, or null once it passes `max` bytes. */
function readBody(req: IncomingMessage, max: number): Promise<Uint8Array | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.removeAllListeners('data');
        resolve(null);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

/** "host:port" -> parts; ":8490" means all interfaces. Never handed to listen() as a string. */
export function parseListen(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  let host = s.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host: host || '0.0.0.0', port: Number(s.slice(i + 1)) };
}
