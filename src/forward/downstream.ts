import { Agent, Pool, request } from 'undici';

// One connection pool to the datasource (VictoriaMetrics, vminsert or vmagent), used for the
// raw bodies and for generated series alike. Outcomes are classified once, here:
//   2xx                         -> accepted
//   400, 409                    -> rejected for good: the datasource cannot use this data
//                                  (passed back as 400; vmagent drops the block); except
//                                  VictoriaMetrics' 400 "unsupported path requested", which is
//                                  about the URL (a tenant path on single-node), treated as a 404,
//                                  and vmauth's 400s about its own config: "missing route for"
//                                  (a 404) and, in older releases (1.79), "cannot find the provided auth token"
//                                  (a 401)
//   429, 408, 5xx, no answer    -> retryable (the sender gets 503 and retries)
//   every other 4xx             -> retryable too, with `setting`: the configuration to check.
//                                  401/403: anomstream's credentials, not the data, are wrong;
//                                  404/405: a wrong datasource_url path or vmauth route; 413:
//                                  the datasource's size limit. A sender must not drop data
//                                  while a token is rotated or a path fixed.

export interface PostResult {
  /** 0 when no HTTP answer came (connection refused, timeout). */
  status: number;
  outcome: 'accepted' | 'retryable' | 'rejected';
  /** One line: the downstream's answer or the transport error. */
  reason: string;
  /**
   * A 4xx other than 400/409 (retryable although the datasource answered): the setting to
   * check, for an error log. Undefined otherwise.
   */
  setting?: string;
}

export interface DownstreamOptions {
  url: URL;
  timeoutMs: number;
  /** Headers sent with every request (auth). Called per request so rotated tokens apply. */
  headers?: () => Record<string, string>;
  connect?: ConstructorParameters<typeof Pool>[1] extends infer O ? (O extends { connect?: infer C } ? C : never) : never;
  connections?: number;
}

export class Downstream {
  private pool: Pool;
  /** For a health_path on another origin than datasource_url; made on first use. */
  private other: Agent | undefined;
  readonly basePath: string;

  constructor(private readonly o: DownstreamOptions) {
    this.pool = new Pool(o.url.origin, {
      connections: o.connections ?? 32,
      keepAliveTimeout: 30_000,
      headersTimeout: o.timeoutMs,
      bodyTimeout: o.timeoutMs,
      connect: o.connect,
    });
    this.basePath = o.url.pathname.replace(/\/+$/, '');
    this.query = o.url.search;
  }

  /** datasource_url's query (`?authKey=...`), sent with every write as vmagent sends -remoteWrite.url's. */
  private readonly query: string;

  /**
   * POST one body. Dispatched with a minimal handler of undici's core interface (status and
   * the first line of an error answer; no response stream, no AbortSignal per request): this is
   * the hot path, once per raw request. A request still open after `timeoutMs` is aborted by
   * a sweep that runs every timeoutMs / 8 (so it ends within 1.125 x timeoutMs).
   */
  post(path: string, body: Uint8Array, headers: Record<string, string>): Promise<PostResult> {
    return new Promise((resolve) => {
      const h = new PostHandler(resolve, this.open, Date.now() + this.o.timeoutMs);
      this.open.add(h);
      this.sweep ??= setInterval(this.abortOverdue, Math.max(10, this.o.timeoutMs / 8)).unref();
      try {
        this.pool.dispatch({ method: 'POST', path: this.basePath + path + this.query, headers: this.o.headers ? { ...headers, ...this.o.headers() } : headers, body }, h);
      } catch (e) {
        h.onError(e as Error);
      }
    });
  }

  /** Requests in flight, for the timeout sweep. */
  private readonly open = new Set<PostHandler>();
  private sweep: NodeJS.Timeout | undefined;
  private readonly abortOverdue = (): void => {
    const now = Date.now();
    for (const h of this.open) if (now >= h.deadline) h.timeout(this.o.timeoutMs);
  };

  /**
   * GET `target` resolved as a URL against datasource_url (with a trailing '/'): a full URL is
   * used as is, '/health' is absolute on the datasource's origin, 'health' is relative to its
   * path (vmanomaly's "absolute or relative URL address"). Same auth and TLS as every request.
   * Returns the status, 0 when no answer came.
   */
  async get(target: string): Promise<number> {
    const u = this.resolve(target);
    try {
      const opts = { method: 'GET' as const, headers: this.o.headers ? this.o.headers() : {}, signal: AbortSignal.timeout(this.o.timeoutMs) };
      const res =
        u.origin === this.o.url.origin ? await this.pool.request({ ...opts, path: u.pathname + u.search }) : await request(u, { ...opts, dispatcher: (this.other ??= new Agent({ connect: this.o.connect })) });
      await res.body.dump();
      return res.statusCode;
    } catch {
      return 0;
    }
  }

  /** `target` as a URL against datasource_url (see get()). */
  resolve(target: string): URL {
    const base = this.o.url.href.endsWith('/') ? this.o.url.href : `${this.o.url.href}/`;
    return new URL(target, base);
  }

  async close(): Promise<void> {
    if (this.sweep) clearInterval(this.sweep);
    await Promise.all([this.pool.close(), this.other?.close()]);
  }
}

/** 2xx accepted; 400 and 409 rejected; everything else retryable (see the top of this file). */
function answered(status: number, text: string): PostResult {
  if (status >= 200 && status < 300) return { status, outcome: 'accepted', reason: '' };
  // vmauth quotes the Authorization header it did not know ("Basic <base64 of user:password>"):
  // the reason goes to the log and to the sender, so the credentials are cut out.
  const reason = `${status} from downstream: ${text.trim().split('\n')[0].slice(0, 300).replace(CREDENTIALS, '$1 ***')}`;
  // VictoriaMetrics answers a path it does not serve 400, not 404 (single-node for /insert/<tenant>/
  // when writer.tenant_id or a tenant path is used, vminsert for /api/v1/write), and so does
  // vmauth for a path none of its routes take: the data is fine, and passing the 400 back had the
  // sender drop every raw sample.
  if (status === 400 && (text.includes('unsupported path requested') || text.includes('missing route for'))) return { status, outcome: 'retryable', reason, setting: settingFor(404) };
  // vmauth 1.79 answers credentials it does not know 400 (later releases 401): a password being
  // rotated must not make the sender drop data.
  if (status === 400 && text.includes('cannot find the provided auth token')) return { status, outcome: 'retryable', reason, setting: settingFor(401) };
  if (status === 400 || status === 409) return { status, outcome: 'rejected', reason };
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) return { status, outcome: 'retryable', reason, setting: settingFor(status) };
  return { status, outcome: 'retryable', reason };
}

/** An HTTP auth scheme and its credentials, as an answer may quote them. */
const CREDENTIALS = /\b(Basic|Bearer)\s+[^\s"'\\]+/gi;

/** The configuration a 4xx (other than 400/408/409/429) from the datasource points at. */
function settingFor(status: number): string {
  switch (status) {
    case 401:
    case 403:
      return "writer.user/password, writer.bearer_token or writer.bearer_token_file (anomstream's credentials for the datasource)";
    case 404:
    case 405:
      return 'writer.datasource_url and writer.tenant_id (the write path: single-node /api/v1/write, vminsert /insert/<tenant>/prometheus/api/v1/write, or a vmauth route allowing POST)';
    case 413:
      return "server.max_request_bytes against the datasource's -maxInsertRequestSize (and any proxy's body limit in between)";
    default:
      return "writer.datasource_url (what answers there) and the datasource's own log";
  }
}

function unreachable(e: unknown): PostResult {
  const err = e as Error & { code?: string; cause?: { code?: string; message?: string } };
  const code = err.cause?.code ?? err.code ?? err.name;
  return { status: 0, outcome: 'retryable', reason: `downstream unreachable: ${code}: ${err.cause?.message ?? err.message}` };
}

/** undici's core dispatch handler for post(): keeps the status and up to 1 KiB of a non-2xx body. */
class PostHandler {
  private status = 0;
  private text = '';
  private abort: ((err?: Error) => void) | null = null;
  private settled = false;

  constructor(
    private readonly done: (r: PostResult) => void,
    private readonly open: Set<PostHandler>,
    readonly deadline: number,
  ) {}

  onConnect(abort: (err?: Error) => void): void {
    if (this.settled) abort(new Error('timed out before it was sent'));
    else this.abort = abort;
  }

  onHeaders(status: number): boolean {
    this.status = status;
    return true;
  }

  onData(chunk: Buffer): boolean {
    if ((this.status < 200 || this.status >= 300) && this.text.length < 1024) this.text += chunk.toString('utf8', 0, Math.min(chunk.length, 1024));
    return true;
  }

  onComplete(): void {
    this.settle(answered(this.status, this.text));
  }

  onError(err: Error): void {
    this.settle(unreachable(err));
  }

  timeout(ms: number): void {
    const err = Object.assign(new Error(`no answer within ${ms} ms`), { code: 'TIMEOUT' });
    if (this.abort) this.abort(err);
    this.settle(unreachable(err));
  }

  private settle(r: PostResult): void {
    if (this.settled) return;
    this.settled = true;
    this.open.delete(this);
    this.done(r);
  }
}

export const REMOTE_WRITE_HEADERS = {
  'content-type': 'application/x-protobuf',
  'content-encoding': 'snappy',
  'x-prometheus-remote-write-version': '0.1.0',
};

/** VictoriaMetrics' remote write protocol: the WriteRequest zstd-compressed (as vmagent sends it). */
export const VM_REMOTE_WRITE_HEADERS = {
  'content-type': 'application/x-protobuf',
  'content-encoding': 'zstd',
  'x-victoriametrics-remote-write-version': '1',
};
