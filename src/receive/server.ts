import { createServer, IncomingMessage, ServerResponse, type Server, type ServerOptions } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import { Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { TENANT_RE } from '../forward/paths.js';
import { lbl, type Histogram, type Metric, type Registry } from '../metrics/registry.js';
import { DecodeErrors, type WriteResult } from '../ingest/ingest.js';
import { Throttle } from '../metrics/throttle.js';
import { Slots } from './admission.js';
import { BodyBuffers, type BodyMemory } from './bodies.js';
import type { Authenticator } from './auth.js';

// The HTTP face of anomstream: routes, body limits, content negotiation, status codes.
//
//   POST /api/v1/write, /prometheus/api/v1/write            remote write 1.0 (snappy) and
//                                                           VictoriaMetrics' protocol (zstd)
//   POST /insert/<A[:B]|multitenant>/prometheus/api/v1/write  same, for that cluster tenant, only
//                 with server.tenant_paths, and one of server.allowed_tenants (else 503 + reason)
//   ...?get_vm_proto_version=1 on any of them: 200 "1" (vminsert's answer to vmagent 1.88-1.115's
//                 handshake, which then sends zstd)
//   GET  /health  200 while the process runs (always open)
//   GET  /ready   200 once the config is loaded and the listener accepts (downstream health
//                 is the anomstream_downstream_up metric, so an instance is not taken out of
//                 service exactly when it should be buffering)
//   GET  /metrics self-monitoring
//   GET  /        the status page (HTML)
//   POST /-/reload  re-read the config file (as SIGHUP); 200, or 500 with the problems
// With server.auth, writes without the right credentials get 503 (Prometheus drops a batch
// answered 401) and /metrics, /ready (unless server.metrics_auth is false), / and /-/reload get
// 401, all with WWW-Authenticate; nothing is read or forwarded. With
// server.tls_cert_file/tls_key_file the listener speaks HTTPS only (client certificates required
// with server.tls_client_ca_file).
//
// Status codes are chosen for vmagent/Prometheus retry rules: 400 only for a request that can
// never be read (it is dropped by the sender), 415 for a body in a format we cannot read (gzip,
// lz4, ...: the body decides, not its Content-Encoding header), 503 for anything transient
// (retried), a body that did not arrive in time included: Prometheus retries only 5xx and 429
// and drops a batch answered any other 4xx (408 too).
//
// Admission, so that no sender can stall or exhaust the receiver:
//   - connections: at most server.max_connections open (node closes the ones beyond); idle
//     keep-alive ones are closed after server.idle_timeout;
//   - reading: headers within min(10 s, server.read_timeout), the whole request within
//     server.read_timeout, and after its first 5 s a body must average server.min_read_rate
//     bytes/s; otherwise 503 and the connection is closed (node answers 408 to headers that do
//     not arrive in time, before any request exists). A body is read before anything else
//     is taken, its bytes counted against server.max_memory_bytes as they arrive (503 when they
//     do not fit, sent once the rest of the body was read to nothing: the sender reads it);
//   - processing: a write takes one of server.max_in_flight slots only once its body is in
//     memory, waiting up to server.max_queue_duration for one (then 503 + Retry-After).

export type WriteHandler = (body: Uint8Array, tenant: string | null, encoding: string) => Promise<WriteResult>;

export interface ReceiverOptions {
  /** undefined: every interface (see parseListen). */
  host: string | undefined;
  port: number;
  maxRequestBytes: number;
  /** Write requests processed at once; more wait up to maxQueueMs for a slot, then get 503. */
  maxInFlight: number;
  maxQueueMs: number;
  maxConnections: number;
  /** Whole request (headers and body); headers within min(10 s, this). */
  readTimeoutMs: number;
  /** Bytes/s a body must average once it has been arriving for MIN_RATE_GRACE_MS. */
  minReadRate: number;
  /** Keep-alive connections idle this long are closed. */
  idleTimeoutMs: number;
  /** server.max_memory_bytes: `capacity` is the setting. */
  memory: BodyMemory & { readonly capacity: number };
  /** server.auth; null: none. */
  auth: Authenticator | null;
  /** /metrics and /ready need the credentials too. */
  metricsAuth: boolean;
  /** HTTPS (PEM); `ca`: require client certificates signed by it. */
  tls?: { cert: Buffer; key: Buffer; ca?: Buffer };
  /** Accept /insert/<tenant>/... paths; `allowedTenants`: only these (null: any). */
  tenantPaths: boolean;
  allowedTenants: ReadonlySet<string> | null;
  write: WriteHandler;
  /** Extra text for GET /ready (e.g. the downstream's health); readiness itself does not depend on it. */
  readyDetail: () => string;
  /** The status page for GET / (behind server.auth like /metrics). */
  statusPage: () => string;
  /** POST /-/reload: re-read the config; resolves with whether it now applies and one line why not. */
  reload: () => Promise<{ ok: boolean; message: string }>;
  registry: Registry;
  log: Logger;
}

/** A request that knows the body being read from it (the body listeners below find it on `this`). */
class Request extends IncomingMessage {
  reading: Reading | null = null;
}

/** A response that knows its route (the `path` label) and when its request arrived. */
class Response extends ServerResponse<Request> {
  route = 'other';
  started = 0;
}

const WRITE_PATHS = new Set(['/api/v1/write', '/prometheus/api/v1/write']);
const TENANT_PATH = /^\/insert\/([^/]+)\/prometheus\/api\/v1\/write$/;
/** The `path` label of a tenant's write path (the tenant is left out: unbounded). */
const TENANT_ROUTE = '/insert/{tenant}/prometheus/api/v1/write';
const READ_PATHS = new Set(['/health', '/ready', '/metrics', '/']);
const RELOAD_PATH = '/-/reload';
/** A body is judged by server.min_read_rate only after this long (a first packet may lag). */
const MIN_RATE_GRACE_MS = 5_000;
/** How often bodies being read are checked against the read timeout and the minimum rate. */
const READ_CHECK_MS = 500;
/** Checks in a row with no body being read after which the check timer stops (5 s). */
const READ_TIMER_QUIET = 10;
const HEADERS_TIMEOUT_MS = 10_000;
/**
 * At shutdown, how long a keep-alive connection must stay without a request before it is closed:
 * a sender writes its next request within a few ms of the last answer (200 ms covers a loaded
 * sender's turn-around), and one that raced the stop is then read and answered, not reset.
 */
const QUIET_MS = 200;
/** Body buffer taken before any of the body has arrived (Content-Length, at most this). */
const FIRST_BODY_BYTES = 4 << 20;
const OVER_BUDGET = 'server.max_memory_bytes reached: too much request data in memory; retry';
/** The body buffer of a request whose body is not kept (BodyBuffers.release ignores it). */
const EMPTY_BODY = Buffer.from(new ArrayBuffer(0));
const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;
const RETRY_AFTER: Record<string, string> = Object.freeze({ 'retry-after': '1' });

/**
 * A write request whose body is being read: one object per request, no closures. The body's
 * listeners are the shared functions onBodyData/onBodyEnd/onBodyAbort, which find it on the
 * request they are called on; the write goes on in Receiver.bodyEnd once the body is in.
 */
class Reading {
  bytes = 0;
  /** Ended (read, cut, or the sender went away); later events do nothing. */
  settled = false;
  /**
   * Refused for memory (server.max_memory_bytes): the 503's message, the rest of the body read to
   * nothing (Receiver.drain) and the answer sent at its end; null while the body is kept.
   */
  refusal: string | null = null;
  constructor(
    readonly req: Request,
    readonly res: Response,
    readonly receiver: Receiver,
    /** The body buffer (from BodyBuffers), replaced by a larger one as the body grows. */
    public body: Buffer,
    readonly max: number,
    readonly declared: number,
    readonly tenant: string | null,
    readonly encoding: string,
    readonly start: number,
  ) {}
}

function onBodyData(this: Request, c: Buffer): void {
  const r = this.reading!;
  if (!r.settled) r.receiver.bodyData(r, c);
}

function onBodyEnd(this: Request): void {
  const r = this.reading!;
  if (!r.settled) r.receiver.bodyEnd(r, true);
}

/** 'close' (after 'end' it does nothing; before it, the sender went away) and 'error'. */
function onBodyAbort(this: Request): void {
  const r = this.reading!;
  if (!r.settled) r.receiver.bodyEnd(r, false);
}

type RefusedReason = 'server.max_queue_duration' | 'server.max_memory_bytes' | 'server.read_timeout' | 'server.min_read_rate';

export class Receiver {
  readonly server: Server<typeof Request, typeof Response> | TlsServer<typeof Request, typeof Response>;
  private ready = false;
  private readonly slots: Slots;
  /** Writes between their body's end and their answer (in a slot or waiting for one). */
  private pending = 0;
  /** Set by close(): every answer from then on says `Connection: close`. */
  private closing = false;
  private idle: (() => void) | null = null;
  private readonly reading = new Set<Reading>();
  private readTimer: NodeJS.Timeout | undefined;
  private quietChecks = 0;
  private connections = 0;
  private readonly extraLabelLog = new Throttle(10_000);
  private readonly tenantLog = new Throttle(10_000);
  private readonly authLog = new Throttle(10_000);
  private readonly neverFitsLog = new Throttle(10_000);
  private readonly m: ReceiverMetrics;
  private readonly refused = new Map<RefusedReason, Metric>();
  private readonly bodies: BodyBuffers;

  constructor(private readonly o: ReceiverOptions) {
    this.bodies = new BodyBuffers(o.memory);
    // node's own whole-request timeout answers 408, which Prometheus drops (checkReads answers a
    // late body 503): it runs from the headers' start, so it is set one headers timeout later than
    // checkReads' read_timeout, which runs from the body's start, and stays a backstop.
    const requestTimeout = o.readTimeoutMs + Math.min(HEADERS_TIMEOUT_MS, o.readTimeoutMs);
    const http: ServerOptions<typeof Request, typeof Response> = {
      IncomingMessage: Request,
      ServerResponse: Response,
      keepAliveTimeout: o.idleTimeoutMs,
      requestTimeout,
      headersTimeout: Math.min(HEADERS_TIMEOUT_MS, o.readTimeoutMs),
      // node checks the two timeouts above on this interval (default 30 s: a request could live 2x read_timeout).
      connectionsCheckingInterval: Math.min(1000, o.readTimeoutMs),
    };
    const onRequest = (req: Request, res: Response): void => this.route(req, res);
    const tls = o.tls;
    this.server = tls ? createTlsServer({ ...http, cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}) }, onRequest) : createServer(http, onRequest);
    this.server.maxConnections = o.maxConnections;
    this.server.maxHeadersCount = 100;
    this.slots = new Slots(o.maxInFlight, o.maxQueueMs);
    const r = o.registry;
    this.m = new ReceiverMetrics(r);
    const inFlight = r.gauge('anomstream_requests_in_flight', 'Write requests being processed (holding one of server.max_in_flight slots).');
    const queued = r.gauge('anomstream_requests_queued', 'Write requests whose body is in memory, waiting for a slot (at most server.max_queue_duration).');
    const reading = r.gauge('anomstream_requests_reading', 'Write requests whose body is being read.');
    const conns = r.gauge('anomstream_connections', 'Open client connections (at most server.max_connections).');
    const dropped = r.counter('anomstream_connections_dropped_total', 'Connections closed at once because server.max_connections were open.');
    for (const reason of ['server.max_queue_duration', 'server.max_memory_bytes', 'server.read_timeout', 'server.min_read_rate'] as const) {
      this.refused.set(
        reason,
        r.counter('anomstream_write_requests_refused_total', 'Write requests refused before processing (503; the sender retries), by the setting that refused them.', lbl('reason', reason)),
      );
    }
    r.onCollect(() => {
      inFlight.set(this.slots.active);
      queued.set(this.slots.queued);
      reading.set(this.reading.size);
      conns.set(this.connections);
    });
    this.server.on(tls ? 'secureConnection' : 'connection', (socket: import('node:net').Socket) => {
      this.connections++;
      socket.once('close', () => this.connections--);
    });
    this.server.on('drop', () => dropped.inc());
    const clientErrors = new Map<ClientErrorReason, Metric>();
    for (const reason of CLIENT_ERROR_REASONS)
      clientErrors.set(
        reason,
        r.counter(
          'anomstream_http_client_errors_total',
          "Connections closed on an HTTP protocol error before a request existed (node's clientError), by reason: parse (not HTTP/1.x), header_overflow (431), timeout (408: headers too slow), reset (the client went away mid-request), tls (a TLS handshake failed: no or a wrong client certificate, a plain-HTTP client).",
          lbl('reason', reason),
        ),
      );
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      const reason = clientErrorReason(err.code);
      clientErrors.get(reason)!.inc();
      answerClientError(reason, socket);
    });
  }

  /** Write requests read so far and their samples. */
  get totals(): { requests: number; samples: number } {
    return this.m.totals;
  }

  /** A reload: limits for the requests that arrive from now on. */
  setLimits(maxRequestBytes: number, maxInFlight: number): void {
    this.o.maxRequestBytes = maxRequestBytes;
    this.o.maxInFlight = maxInFlight;
    this.slots.max = maxInFlight;
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

  /**
   * Stop accepting, let in-flight writes finish (up to `graceMs`), then close the connections. A
   * write in flight is one whose body is being read too: cutting it would reset the sender's
   * connection. A keep-alive sender (vmagent, Prometheus) writes its next request as soon as the
   * last is answered, so a connection idle here may already carry one on the wire; closing it then
   * resets the sender (ECONNRESET in its log, and a retry). So: every answer from now on says
   * `Connection: close` (node closes the connection after it; the sender opens a new one, refused
   * here, for its next request, and retries it elsewhere), and a connection is closed while idle
   * only once it stayed without a request for QUIET_MS since the stop began.
   */
  async close(graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs;
    this.ready = false;
    this.closing = true;
    // net.Server's close only stops accepting; http.Server's also closes the idle connections
    // at once (node >= 19), the very reset this avoids. Called for real at the end (below).
    const closed = new Promise<void>((r) => NetServer.prototype.close.call(this.server, () => r()));
    let gone = false;
    void closed.then(() => (gone = true));
    const until = (ms: number): Promise<unknown> => Promise.race([closed, new Promise((r) => setTimeout(r, Math.max(0, Math.min(ms, deadline - Date.now()))).unref())]);
    // The requests racing the stop arrive (and are answered with Connection: close, which closes
    // their connection); then the connections that stayed quiet are closed, every QUIET_MS (a
    // connection answered during the stop normally closes itself before that).
    if (this.connections > 0) await until(QUIET_MS);
    this.server.closeIdleConnections();
    if (this.pending > 0 || this.reading.size > 0) {
      await Promise.race([new Promise<void>((r) => (this.idle = r)), until(graceMs)]);
    }
    while (!gone && Date.now() < deadline) {
      await until(QUIET_MS);
      this.server.closeIdleConnections();
    }
    this.server.closeAllConnections();
    clearInterval(this.readTimer);
    await closed;
    // http.Server's close: clears node's request-timeout checking interval (nothing left to close).
    this.server.close();
  }

  private route(req: Request, res: Response): void {
    res.started = performance.now();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    let tenant: string | null = null;
    let isWrite = WRITE_PATHS.has(path);
    res.route = path;
    const m = isWrite ? null : TENANT_PATH.exec(path);
    if (m) {
      isWrite = true;
      res.route = TENANT_ROUTE;
    }
    if (isWrite) {
      if (q >= 0 && asksVmProtoVersion(url.slice(q + 1))) return this.handshake(req, res);
      if (req.method !== 'POST') return this.reply(res, 405, 'use POST', { allow: 'POST' });
      if (!this.authorized(req, res, 503)) return;
      if (q >= 0 && hasExtraLabel(url.slice(q + 1))) return this.refuseMisconfigured(req, res, this.extraLabelLog, EXTRA_LABEL_REFUSED);
      if (m) {
        const why = this.tenantRefused(m[1]);
        if (why !== null) return this.refuseMisconfigured(req, res, this.tenantLog, why);
        tenant = m[1];
      }
      return this.write(req, res, tenant);
    }
    if (READ_PATHS.has(path)) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return this.reply(res, 405, 'use GET', { allow: 'GET, HEAD' });
      if (path === '/health') return this.reply(res, 200, 'OK');
      if (this.o.metricsAuth && !this.authorized(req, res)) return;
      if (path === '/ready') return this.ready ? this.reply(res, 200, `OK\n${this.o.readyDetail()}`) : this.reply(res, 503, 'not ready');
      if (path === '/') return this.reply(res, 200, this.o.statusPage(), { 'content-type': 'text/html; charset=utf-8' });
      return this.reply(res, 200, this.o.registry.render(), { 'content-type': 'text/plain; version=0.0.4' });
    }
    if (path === RELOAD_PATH) {
      if (req.method !== 'POST' && req.method !== 'PUT') return this.reply(res, 405, 'use POST', { allow: 'POST, PUT' });
      // Changes what runs: behind server.auth whatever server.metrics_auth says.
      if (!this.authorized(req, res)) return;
      req.resume();
      return void this.o.reload().then((r) => this.reply(res, r.ok ? 200 : 500, r.message));
    }
    res.route = 'other';
    this.reply(res, 404, `unknown path ${path}; remote write goes to /api/v1/write`);
  }

  /**
   * True with server.auth's credentials (or without server.auth); otherwise answers `status`
   * (body unread) with the challenge. A write gets 503, not 401: Prometheus (and senders built on
   * its client) retries only 5xx and 429 and drops a batch answered 401, so a sender whose
   * credentials are missing or not yet rotated would lose its data instead of keeping it until
   * they are fixed (vmagent retries both). Those refusals are logged, at most once per 10 s.
   */
  private authorized(req: IncomingMessage, res: Response, status = 401): boolean {
    const auth = this.o.auth;
    if (auth === null || auth.check(req.headers.authorization)) return true;
    const what = req.headers.authorization === undefined ? 'missing' : 'wrong';
    const message = `${what} credentials: this anomstream requires server.auth (${auth.method})`;
    if (status !== 401) {
      const suppressed = this.authLog.take();
      if (suppressed >= 0) this.o.log.warn({ url: req.url, remote: req.socket.remoteAddress, suppressed }, `write refused (503, the sender keeps the data and retries): ${message}`);
    }
    this.refuseUnread(req, res, status, message, { 'www-authenticate': auth.challenge });
    return false;
  }

  /** Why a tenant path may not be used (server.tenant_paths, server.allowed_tenants), or null. */
  private tenantRefused(t: string): string | null {
    if (!this.o.tenantPaths) return `tenant paths are off (server.tenant_paths: false): write to /api/v1/write (writer.tenant_id decides the tenant), or set server.tenant_paths: true`;
    if (!TENANT_RE.test(t)) return `invalid tenant '${t}' in path: expected 'A', 'A:B' (integers) or 'multitenant'`;
    if (this.o.allowedTenants !== null && !this.o.allowedTenants.has(t)) return `tenant '${t}' is not in server.allowed_tenants`;
    return null;
  }

  /** A write: checks that need no body, then its body is read (bodyData, bodyEnd) and processed (process). */
  private write(req: Request, res: Response, tenant: string | null): void {
    // The header is kept for logs and answers only: the body's first bytes decide how it is read (ingest).
    const enc = (req.headers['content-encoding'] ?? 'snappy').toLowerCase().trim();
    const ctype = req.headers['content-type'] ?? '';
    if (ctype.includes('io.prometheus.write.v2')) {
      req.resume();
      return this.reply(res, 415, 'remote write 2.0 is not supported: send remote write 1.0 (prometheus.WriteRequest)');
    }
    const max = this.o.maxRequestBytes;
    const declared = Number(req.headers['content-length'] ?? -1);
    if (declared > max) {
      this.m.tooLarge();
      return this.refuseUnread(req, res, 400, `request body of ${declared} bytes exceeds server.max_request_bytes ${max}`);
    }
    const capacity = this.o.memory.capacity;
    if (declared > capacity) {
      const r = this.startReading(req, res, EMPTY_BODY, max, declared, tenant, enc);
      return this.drain(r, this.neverFits(declared, capacity));
    }
    this.readBody(req, res, max, Number.isSafeInteger(declared) ? declared : -1, tenant, enc);
  }

  /**
   * Read the whole body, counted against the memory budget chunk by chunk; refused when too
   * large (400), over the budget (503) or too slow (503, see checkReads), dropped when the sender
   * goes away. A body read is processed by bodyEnd -> process, which releases it (BodyBuffers.release).
   */
  private readBody(req: Request, res: Response, max: number, declared: number, tenant: string | null, enc: string): void {
    // Each chunk is copied at once into one body buffer (sized from Content-Length when the
    // sender gives it; a kept one when one fits: BodyBuffers): the socket's 64 KiB read buffers
    // are dropped as they come instead of living, interleaved with every other body's, until the
    // body ends (which left tens of MB of the malloc heap fragmented and resident after a burst
    // of large requests). Up front at most FIRST_BODY_BYTES: a sender announcing 32 MiB and
    // sending one byte a second holds no more of the budget than that.
    const first = this.bodies.take(declared > 0 ? Math.min(declared, FIRST_BODY_BYTES) : 0);
    const r = this.startReading(req, res, first ?? EMPTY_BODY, max, declared, tenant, enc);
    if (first === null) this.drain(r, OVER_BUDGET);
  }

  /** Listen to req's body (bodyData, bodyEnd), read into `first`. */
  private startReading(req: Request, res: Response, first: Buffer, max: number, declared: number, tenant: string | null, enc: string): Reading {
    // Per request: this object and the listeners' registrations, no closures or promise (the
    // listeners are shared functions; 'on', not 'once', which wraps each in a new closure).
    const r = new Reading(req, res, this, first, max, declared, tenant, enc, Date.now());
    req.reading = r;
    this.reading.add(r);
    this.readTimer ??= setInterval(this.checkReads, READ_CHECK_MS).unref();
    req.on('data', onBodyData);
    req.on('end', onBodyEnd);
    req.on('close', onBodyAbort);
    req.on('error', onBodyAbort);
    return r;
  }

  /**
   * The 503 for a body of `bytes`, larger than the whole budget, with a throttled error log:
   * retryable, as ingest's for a request that decompresses past it, so the sender keeps it until
   * the setting is raised, but worded (and logged) as a setting to change.
   */
  private neverFits(bytes: number, capacity: number): string {
    const message =
      `server.max_memory_bytes (${capacity}) can never hold this request (a ${bytes}-byte body): ` +
      "raise server.max_memory_bytes, or make the sender's requests smaller (vmagent -remoteWrite.maxBlockSize, Prometheus queue_config.max_samples_per_send)";
    const suppressed = this.neverFitsLog.take();
    if (suppressed >= 0) this.o.log.error({ body_bytes: bytes, max_memory_bytes: capacity, suppressed }, message);
    return message;
  }

  /**
   * Refuse r's body for memory (503, `message`) but read the rest of it to nothing first, counted
   * against server.max_request_bytes (400 past it, as for any body) and within server.read_timeout
   * and min_read_rate (checkReads): the answer goes out at the body's end. Cutting the body short
   * closed the connection under a sender still writing it, which then read a reset, not the 503.
   */
  private drain(r: Reading, message: string): void {
    this.refused.get('server.max_memory_bytes')!.inc();
    r.refusal = message;
    this.bodies.release(r.body);
    r.body = EMPTY_BODY;
  }

  /** A chunk of r's body: copied into its buffer (grown as needed), or the body refused. */
  bodyData(r: Reading, c: Buffer): void {
    const need = r.bytes + c.length;
    if (need > r.max) {
      this.m.tooLarge();
      this.refuseUnread(r.req, r.res, 400, `request body exceeds server.max_request_bytes ${r.max}`);
      return this.bodyEnd(r, false);
    }
    if (r.refusal !== null) {
      r.bytes = need;
      return;
    }
    let body = r.body;
    if (need > body.length) {
      const grown = this.bodies.take(Math.min(r.max, Math.max(need, body.length * 2, r.declared)));
      if (grown === null) {
        this.drain(r, OVER_BUDGET);
        r.bytes = need;
        return;
      }
      body.copy(grown, 0, 0, r.bytes);
      this.bodies.release(body);
      r.body = body = grown;
    }
    c.copy(body, r.bytes);
    r.bytes = need;
  }

  /** r's body ended: read whole (`ok`: processed), or cut / abandoned (its buffer released). Once per body. */
  bodyEnd(r: Reading, ok: boolean): void {
    r.settled = true;
    this.reading.delete(r);
    if (!ok || r.refusal !== null) {
      if (ok) {
        // A body that turned out larger than the whole budget (chunked, or announcing less than it
        // sent) can never fit: said so, not "retry".
        const capacity = this.o.memory.capacity;
        const never = r.refusal === OVER_BUDGET && r.bytes > capacity;
        this.refuseUnread(r.req, r.res, 503, never ? this.neverFits(r.bytes, capacity) : r.refusal!);
      }
      this.bodies.release(r.body);
      if (this.pending === 0 && this.reading.size === 0 && this.idle) this.idle();
      return;
    }
    void this.process(r.res, r.body.subarray(0, r.bytes), r.tenant, r.encoding);
  }

  /** Refuse r's body (answered `status` now, the rest unread). */
  private cut(r: Reading, status: number, reason: RefusedReason, message: string): void {
    // A body being drained was refused (and counted) for memory already: one refusal per request.
    if (r.refusal === null) this.refused.get(reason)!.inc();
    this.refuseUnread(r.req, r.res, status, message);
    this.bodyEnd(r, false);
  }

  /** A body in memory: wait for a write slot, hand it to the write handler, answer; the body is released after. */
  private async process(res: Response, body: Uint8Array, tenant: string | null, enc: string): Promise<void> {
    this.pending++;
    try {
      if (!this.slots.tryAcquire() && !(await this.slots.wait())) {
        this.refused.get('server.max_queue_duration')!.inc();
        const s = this.o.maxQueueMs / 1000;
        return this.reply(res, 503, `no write slot free within server.max_queue_duration ${s}s (server.max_in_flight ${this.o.maxInFlight} writes in progress); retry`, RETRY_AFTER);
      }
      try {
        const r = await this.o.write(body, tenant, enc);
        this.m.received(res.route, r.status, r.samples);
        this.reply(res, r.status, r.message);
      } catch (e) {
        this.o.log.error({ err: e }, 'write failed unexpectedly');
        this.reply(res, 503, `internal error: ${(e as Error).message}`);
      } finally {
        this.slots.release();
      }
    } finally {
      this.bodies.release(body);
      if (--this.pending === 0 && this.reading.size === 0 && this.idle) this.idle();
    }
  }

  /** Cut bodies past server.read_timeout, or slower than server.min_read_rate after the grace period. */
  private readonly checkReads = (): void => {
    // Stopped after READ_TIMER_QUIET checks with no body being read (an idle instance does not
    // wake for it), started again by the next body: under load it keeps running.
    if (this.reading.size === 0) {
      if (++this.quietChecks >= READ_TIMER_QUIET) {
        clearInterval(this.readTimer);
        this.readTimer = undefined;
        this.quietChecks = 0;
      }
      return;
    }
    this.quietChecks = 0;
    const now = Date.now();
    for (const r of this.reading) {
      const age = now - r.start;
      if (age >= this.o.readTimeoutMs) this.cut(r, 503, 'server.read_timeout', `request body not received within server.read_timeout ${this.o.readTimeoutMs / 1000}s; retry`);
      else if (age >= MIN_RATE_GRACE_MS && r.bytes * 1000 < this.o.minReadRate * age) {
        this.cut(r, 503, 'server.min_read_rate', `request body arriving at ${Math.round((r.bytes * 1000) / age)} bytes/s, below server.min_read_rate ${this.o.minReadRate}; retry`);
      }
    }
  };

  /**
   * A write the sender's configuration makes unwritable (its URL: extra_label, a tenant path this
   * instance does not take): 503 and the reason, logged as an error at most once per 10 s per kind.
   * Not 400: vmagent and Prometheus drop a block answered 400, and the data is fine; answered 503
   * the sender keeps it until its URL or server.tenant_paths / allowed_tenants are fixed.
   */
  private refuseMisconfigured(req: IncomingMessage, res: Response, log: Throttle, message: string): void {
    const suppressed = log.take();
    if (suppressed >= 0) this.o.log.error({ url: req.url, suppressed }, message);
    this.refuseUnread(req, res, 503, message);
  }

  /** Answer without reading (the rest of) the body, and close the connection once the answer is out. */
  private refuseUnread(req: IncomingMessage, res: Response, status: number, message: string, headers: Record<string, string> = NO_HEADERS): void {
    if (!res.headersSent) res.setHeader('connection', 'close');
    res.once('finish', () => req.socket.destroy());
    this.reply(res, status, message, headers);
  }

  /**
   * vminsert's (and vmagent's) answer to the handshake of vmagent 1.88-1.115, which then sends
   * zstd: exactly the body "1" with 200, whatever the method (VictoriaMetrics
   * lib/protoparser/protoparserutil/vmproto_handshake.go; vmagent parses the body as an integer,
   * so no newline).
   */
  private handshake(req: IncomingMessage, res: Response): void {
    req.resume();
    this.reply(res, 200, '1', { 'content-type': 'text/plain; charset=utf-8' });
  }

  /** Answer (text, one line per message, unless `headers` give another content-type), counted by route and status. */
  private reply(res: Response, status: number, message: string, headers: Record<string, string> = NO_HEADERS): void {
    this.m.answered(res.route, status, performance.now() - res.started);
    if (res.headersSent) return;
    if (this.closing) res.setHeader('connection', 'close');
    if (status === 204) {
      // The answer to nearly every write: no header object for node to walk.
      if (headers === NO_HEADERS) res.writeHead(204);
      else res.writeHead(204, headers);
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
  private readonly routes = new Map<string, RouteMetrics>();
  private readonly decodeErrors: DecodeErrors;

  constructor(private readonly r: Registry) {
    this.decodeErrors = new DecodeErrors(r);
  }

  /** A route's metrics, found by one Map lookup (no key string built per request). */
  private route(route: string): RouteMetrics {
    let m = this.routes.get(route);
    if (!m) {
      const duration = this.r.histogram('anomstream_http_request_duration_seconds', 'Time from a request to its answer, by path (a write: read, decode, forward, answer), seconds.', lbl('path', route));
      this.routes.set(route, (m = { route, duration, requests: new Map(), samples: new Map() }));
    }
    return m;
  }

  answered(route: string, status: number, ms: number): void {
    const m = this.route(route);
    let c = m.requests.get(status);
    if (!c) m.requests.set(status, (c = this.r.counter('anomstream_http_requests_total', 'HTTP requests answered, by path and status code.', labels(route, status))));
    c.inc();
    m.duration.observe(ms / 1000);
  }

  /** Write requests that were read (decoded or not), and their samples, for the status page. */
  readonly totals = { requests: 0, samples: 0 };

  /** A write request to `route` that was read, answered `status`, held `samples`. */
  received(route: string, status: number, samples: number): void {
    const m = this.route(route);
    let c = m.samples.get(status);
    if (!c)
      m.samples.set(
        status,
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

/** One route's counters by status code and its duration histogram. */
interface RouteMetrics {
  route: string;
  duration: Histogram;
  requests: Map<number, Metric>;
  samples: Map<number, Metric>;
}

function labels(route: string, status: number): string {
  return `${lbl('path', route)},${lbl('code', String(status))}`;
}

/**
 * VictoriaMetrics' `extra_label=name=value` write argument (a sender URL pasted from a datasource's,
 * or vmauth enforcing a label): anomstream cannot honour it (the raw body is forwarded unchanged
 * and its series are scored as sent), and ignoring it stored the data without the label that was
 * meant to be enforced. A sender configuration to fix, so 503 with the reason and an error log:
 * the sender keeps its data until the URL is fixed (400 would have it drop every block).
 */
function hasExtraLabel(query: string): boolean {
  return query.includes('extra_label') && new URLSearchParams(query).has('extra_label');
}

const EXTRA_LABEL_REFUSED =
  'the extra_label query argument is not supported: anomstream forwards each request unchanged and would store it without that label; add the label at the sender (vmagent -remoteWrite.label, Prometheus external_labels or write_relabel_configs) and drop extra_label from the URL';

/** VictoriaMetrics' test: the query has a non-empty `get_vm_proto_version`. */
function asksVmProtoVersion(query: string): boolean {
  return query.includes('get_vm_proto_version') && !!new URLSearchParams(query).get('get_vm_proto_version');
}

/**
 * "host:port" -> parts; ":8490" means all interfaces, IPv6 and IPv4 as Go's ":8490" (vmagent,
 * VictoriaMetrics): no host, so node listens on "::" dual-stack, or on 0.0.0.0 where the host
 * has no IPv6 (0.0.0.0 alone left an IPv6-only pod unreachable). Never handed to listen() as a
 * string.
 */
export function parseListen(s: string): { host: string | undefined; port: number } {
  const i = s.lastIndexOf(':');
  let host = s.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host: host || undefined, port: Number(s.slice(i + 1)) };
}

const CLIENT_ERROR_REASONS = ['parse', 'header_overflow', 'timeout', 'reset', 'tls'] as const;
type ClientErrorReason = (typeof CLIENT_ERROR_REASONS)[number];

/** The reason of a clientError's code. An HTTPS listener emits a failed TLS handshake as clientError too (and tlsClientError: not counted again). */
function clientErrorReason(code: string | undefined): ClientErrorReason {
  if (code?.startsWith('ERR_SSL_')) return 'tls';
  if (code === 'HPE_HEADER_OVERFLOW') return 'header_overflow';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'HPE_HEADERS_TIMEOUT') return 'timeout';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'reset';
  return 'parse';
}

/**
 * What node answers when nothing handles 'clientError' (lib/_http_server.js): 431 to headers too
 * large, 408 to a request timeout, 400 otherwise, then the connection is closed; nothing to a
 * socket that is gone or already answering. Handling the event (to count it) replaces that
 * default, so it is written here (as node does: the answer, then the socket destroyed).
 */
function answerClientError(reason: ClientErrorReason, socket: Duplex): void {
  const busy = (socket as Duplex & { _httpMessage?: { _headerSent?: boolean } })._httpMessage?._headerSent === true;
  if (reason === 'reset' || reason === 'tls' || !socket.writable || busy) {
    socket.destroy();
    return;
  }
  const status = reason === 'header_overflow' ? '431 Request Header Fields Too Large' : reason === 'timeout' ? '408 Request Timeout' : '400 Bad Request';
  socket.write(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
  socket.destroy();
}
