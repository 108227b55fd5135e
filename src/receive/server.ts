import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { TENANT_RE } from '../forward/paths.js';
import { lbl, type Registry } from '../metrics/registry.js';
import type { WriteResult } from '../ingest/ingest.js';

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
  registry: Registry;
  log: Logger;
}

const WRITE_PATHS = new Set(['/api/v1/write', '/prometheus/api/v1/write']);
const TENANT_PATH = /^\/insert\/([^/]+)\/prometheus\/api\/v1\/write$/;

export class Receiver {
  readonly server: Server;
  private ready = false;
  private inFlight = 0;
  private idle: (() => void) | null = null;
  private readonly codes = new Map<number, ReturnType<Registry['counter']>>();

  constructor(private readonly o: ReceiverOptions) {
    this.server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 120_000 }, (req, res) => this.route(req, res));
    const inFlight = o.registry.gauge('anomstream_requests_in_flight', 'Write requests being processed.');
    o.registry.onCollect(() => inFlight.set(this.inFlight));
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

  private route(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    let tenant: string | null = null;
    let isWrite = WRITE_PATHS.has(path);
    if (!isWrite) {
      const m = TENANT_PATH.exec(path);
      if (m) {
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
    if (path === '/health' || path === '/ready' || path === '/metrics') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return this.reply(res, 405, 'use GET', { allow: 'GET, HEAD' });
      if (path === '/health') return this.reply(res, 200, 'OK');
      if (path === '/ready') return this.ready ? this.reply(res, 200, `OK\n${this.o.readyDetail()}`) : this.reply(res, 503, 'not ready');
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      return void res.end(this.o.registry.render());
    }
    this.reply(res, 404, `unknown path ${path}; remote write goes to /api/v1/write`);
  }

  private async write(req: IncomingMessage, res: ServerResponse, tenant: string | null): Promise<void> {
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
      res.setHeader('connection', 'close');
      this.reply(res, 400, `request body of ${declared} bytes exceeds server.max_request_bytes ${max}`);
      req.destroy();
      return;
    }
    this.inFlight++;
    try {
      const body = await readBody(req, max);
      if (body === null) {
        res.setHeader('connection', 'close');
        this.reply(res, 400, `request body exceeds server.max_request_bytes ${max}`);
        req.destroy();
        return;
      }
      const r = await this.o.write(body, tenant, enc);
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
   * so no newline).
   */
  private handshake(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    this.count(200);
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('1');
  }

  private count(status: number): void {
    let c = this.codes.get(status);
    if (!c) this.codes.set(status, (c = this.o.registry.counter('anomstream_http_responses_total', 'HTTP responses by status code.', lbl('code', String(status)))));
    c.inc();
  }

  private reply(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
    this.count(status);
    if (res.headersSent) return;
    if (status === 204) {
      res.writeHead(204, headers);
      res.end();
      return;
    }
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
    res.end(message ? `${message}\n` : '');
  }
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
