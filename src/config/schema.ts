import { z } from 'zod';
import { duration } from './duration.js';
import { labelNameProblem, parseSelector } from '../scoring/selector.js';
import { modelEntry, perQueryScoring, tz } from './models.js';
import { TENANT_RE } from '../forward/paths.js';
import { show } from './forms.js';
import { redactUrl } from './redact.js';

/**
 * The whole configuration: one zod schema, the single source of every default.
 * Unknown keys are errors everywhere (`.strict()`), so a typo never silently means "default".
 * vmanomaly's forms are turned into these before validation (migration.ts); cross-field checks
 * run even when a field has an error (`when`), so one run reports every problem of a file.
 */
const ALWAYS = { when: () => true };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

/** A string; a YAML number (`password: 12345`) is taken as its text. */
const text = z.union([z.string(), z.number()]).transform(String);

const hostPort = z.string().refine((s) => /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]*):\d{1,5}$/.test(s), {
  message: "expected 'host:port' (e.g. '127.0.0.1:8490', ':8490', '[::1]:8490')",
});

const ALIAS_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A query or model alias: [a-zA-Z_][a-zA-Z0-9_]*, with the spelling that would do. */
const alias = (what: string) =>
  z.string().superRefine((v, ctx) => {
    if (!ALIAS_RE.test(v)) {
      const fixed = v.replace(/[^a-zA-Z0-9_]/g, '_').replace(/^(?=\d)/, '_') || '_';
      ctx.addIssue({ code: 'custom', message: `a ${what} may hold letters, digits and '_' only, not starting with a digit ([a-zA-Z_][a-zA-Z0-9_]*): write '${fixed}'` });
    }
  });

/**
 * A label name as VictoriaMetrics stores it: any non-empty text, OpenTelemetry's `host.name` and
 * other scripts included (scoring/selector.ts labelNameProblem, the rule selectors follow too).
 */
const labelName = z.string().superRefine((v, ctx) => {
  const problem = labelNameProblem(v);
  if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
});

const absPath = z.string().regex(/^\/[^\s?#]*$/, "expected an absolute path such as '/api/v1/import'");

export const TRANSFORMS = ['none', 'rate', 'increase'] as const;

const queryLong = z
  .object({
    /** A Prometheus series selector: `metric{label="v", other=~"re.*"}`. */
    expr: z
      .string()
      .min(1)
      .superRefine((v, ctx) => {
        try {
          parseSelector(v);
        } catch (e) {
          const msg = (e as Error).message;
          // A syntax error says where; add what a selector looks like.
          ctx.addIssue({ code: 'custom', message: /:\s|use /.test(msg) ? msg : `${msg}: expected a series selector such as 'metric{label="value"}'` });
        }
      }),
    /** Counters: score the per-second rate (or the increase) between samples, with resets handled. */
    transform: z.enum(TRANSFORMS).default('none'),
    ...perQueryScoring,
    /** The data's time zone (vmanomaly's per-query tz): overrides the tz of the seasonal models scoring this query. */
    tz: tz.optional(),
  })
  .strict();
const query = z.preprocess((v) => (typeof v === 'string' ? { expr: v } : v), queryLong);

export const serverSchema = z
  .object({
    /** host:port to listen on. */
    listen: hostPort.default('127.0.0.1:8490'),
    /** Largest accepted request body, compressed or not (VictoriaMetrics' -maxInsertRequestSize). */
    max_request_bytes: z
      .number()
      .int()
      .positive()
      .default(32 * 1024 * 1024),
    /**
     * Write requests processed at once. A write takes a slot only once its body is in memory (a
     * slow sender holds a connection, not a slot); more wait up to max_queue_duration for one.
     */
    max_in_flight: z.number().int().positive().default(64),
    /** vmui's URL as a browser reaches it, for the status page's links (absent: writer.datasource_url + '/vmui/'). */
    vmui_url: z
      .string()
      .refine((v) => /^https?:\/\/[^\s/]/.test(v), { message: "expected an http:// or https:// URL such as 'http://victoriametrics:8428/vmui/'" })
      .optional(),
    /**
     * On SIGTERM/SIGINT: stop accepting, let the writes in flight finish, score what was
     * accepted, flush generated series (retrying), write the state snapshot, exit 0, all
     * within this long (the snapshot is written even when the flush used it all). systemd's
     * TimeoutStopSec (deploy/systemd: 40s) must be longer. A second signal exits at once.
     */
    shutdown_timeout: duration.prefault('30s'),
    /**
     * How long a write whose body is in memory waits for a slot before it is answered 503 +
     * Retry-After (VictoriaMetrics' -insert.maxQueueDuration, whose default is 1m; 10s keeps a
     * sender's retry well inside its own timeouts: vmagent's -remoteWrite.sendTimeout is 1m).
     */
    max_queue_duration: duration.prefault('10s'),
    /**
     * Bytes of request data held at once: bodies being read and waiting, their decompressed
     * WriteRequests and decoded columns until scored, the buffers kept for reuse, and the zstd
     * decoder shared by all requests (its WebAssembly memory: 16 MiB once a zstd body arrived, plus
     * the largest zstd body and decompressed request since it was last idle for 5 s); counted
     * before each allocation (the decompressed size from the snappy header or the zstd frame
     * header), so that too much gets 503, never an OOM. Default: a quarter of the memory available
     * to the process (the cgroup's memory.max when there is one, else the machine's total memory).
     */
    max_memory_bytes: z.number().int().positive().optional(),
    /** Open client connections; further ones are closed at once (counted). */
    max_connections: z.number().int().positive().default(4096),
    /**
     * A request's body must arrive within this after its headers; headers within min(10s, this).
     * Otherwise 503 (headers: node's 408) and the connection is closed (the sender retries).
     */
    read_timeout: duration.prefault('30s'),
    /** Bytes/s a request body must average after its first 5 s, else 503 (0: no minimum). */
    min_read_rate: z.number().int().min(0).default(1024),
    /** Keep-alive connections idle this long are closed (longer than vmagent's own 1m idle timeout, so the sender closes first). */
    idle_timeout: duration.prefault('65s'),
    /**
     * Credentials every write must carry (absent: none): {user, password} (basic auth, vmagent's
     * -remoteWrite.basicAuth.*), {bearer_token} or {bearer_token_file} (re-read when it changes).
     * Wrong or missing: 401 with WWW-Authenticate, nothing forwarded. GET /health is always open.
     */
    auth: z.union([z.object({ user: text, password: text }).strict(), z.object({ bearer_token: text }).strict(), z.object({ bearer_token_file: z.string().min(1) }).strict()]).optional(),
    /** With server.auth: GET /metrics and /ready need the same credentials (false: open, e.g. for a scraper without them). */
    metrics_auth: z.boolean().default(true),
    /** Serve HTTPS with this certificate (PEM; with tls_key_file). */
    tls_cert_file: z.string().optional(),
    tls_key_file: z.string().optional(),
    /** With TLS: require client certificates signed by this CA bundle (mTLS). */
    tls_client_ca_file: z.string().optional(),
    /**
     * Accept vmagent's cluster paths /insert/<tenant>/prometheus/api/v1/write, whose tenant then
     * wins over writer.tenant_id (vmagent's -enableMultitenantHandlers). Off: such a path gets 400
     * with a reason and nothing is written, so a client cannot pick its tenant.
     */
    tenant_paths: z.boolean().default(false),
    /** With tenant_paths: the tenants a path may name ('A', 'A:B', 'multitenant'); absent: any. */
    allowed_tenants: z.array(z.union([z.string(), z.number()]).transform((v) => String(v).trim())).optional(),
  })
  .strict()
  .superRefine((sv, ctx) => {
    if (sv === null || typeof sv !== 'object') return;
    if ((sv.tls_cert_file === undefined) !== (sv.tls_key_file === undefined)) {
      const [have, missing] = sv.tls_cert_file === undefined ? ['tls_key_file', 'tls_cert_file'] : ['tls_cert_file', 'tls_key_file'];
      ctx.addIssue({ code: 'custom', path: [missing], message: `expected together with server.${have} (HTTPS needs the certificate and its key)` });
    }
    if (sv.tls_client_ca_file !== undefined && sv.tls_cert_file === undefined) {
      ctx.addIssue({ code: 'custom', path: ['tls_client_ca_file'], message: 'expected server.tls_cert_file and server.tls_key_file too (client certificates need HTTPS)' });
    }
    for (const [i, t] of (sv.allowed_tenants ?? []).entries()) {
      if (typeof t === 'string' && !TENANT_RE.test(t)) ctx.addIssue({ code: 'custom', path: ['allowed_tenants', i], message: `expected 'multitenant', 'A' or 'A:B' (A, B integers), got '${t}'` });
    }
    if (sv.allowed_tenants !== undefined && sv.tenant_paths !== true) {
      ctx.addIssue({ code: 'custom', path: ['allowed_tenants'], message: 'has no effect without server.tenant_paths: true (tenant paths are refused)' });
    }
  }, ALWAYS);

export const readerSchema = z
  .object({
    /** alias -> selector; the alias becomes $QUERY_KEY. */
    queries: z.record(alias('query alias'), query).refine((q) => Object.keys(q).length > 0, { message: "expected at least one query, e.g. queries: { cpu: 'node_load1' }" }),
    /**
     * Labels left out of a series' identity (its model) and out of its generated series: the label
     * telling the two members of an HA pair apart (`replica`), so both copies of a series share one
     * model and one set of score series.
     */
    ignore_labels: z
      .array(labelName)
      .default([])
      .superRefine((names, ctx) => {
        if (names.includes('__name__')) ctx.addIssue({ code: 'custom', message: "'__name__' cannot be ignored: series of different metrics would share a model" });
      }),
  })
  .strict();

/** Largest shard count: vmagent's `modulus` is a uint64, ours is exact up to 2^32 (wire/xxhash64.ts U64.mod). */
const MAX_SHARDS = 2 ** 32;

/**
 * Which series this instance owns when vmagent shards remote_write over several instances
 * (deploy/scale-out.md); computed once per new series exactly as vmagent computes it
 * (scoring/hashmod.ts). A series it does not own is forwarded, not scored, and counted.
 */
export const shardSchema = z
  .object({
    /** vmagent's routing: `hashmod` (a -remoteWrite.urlRelabelConfig per URL, any vmagent) or `shard_by_url` (-remoteWrite.shardByURL, 1.92+). */
    method: z.enum(['hashmod', 'shard_by_url']).default('hashmod'),
    /** This instance's shard: the `regex` of its keep rule (hashmod), or its -remoteWrite.url's position from 0 (shard_by_url). */
    index: z.number().int().min(0),
    /** hashmod: `modulus`; shard_by_url before vmagent 1.116: the number of -remoteWrite.url flags. */
    count: z.number().int().min(1).max(MAX_SHARDS).optional(),
    /** hashmod: `source_labels`, in the relabel rule's order. */
    source_labels: z.array(labelName).min(1).optional(),
    /** hashmod: `separator` (vmagent's default ';'). */
    separator: z.string().optional(),
    /** shard_by_url from vmagent 1.116: every -remoteWrite.url exactly as its flags give them, in order. */
    urls: z.array(z.string().min(1)).min(1).optional(),
    /** shard_by_url: -remoteWrite.shardByURL.labels (hash only these). */
    labels: z.array(labelName).min(1).optional(),
    /** shard_by_url: -remoteWrite.shardByURL.ignoreLabels, plus the names of -remoteWrite.label flags (vmagent 1.94+). */
    ignore_labels: z.array(labelName).min(1).optional(),
  })
  .strict()
  .superRefine((sh, ctx) => {
    if (sh === null || typeof sh !== 'object') return;
    const other = (keys: readonly (keyof typeof sh)[], method: string): void => {
      for (const k of keys) if (sh[k] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: `belongs to method: ${method} (this shard has method: ${sh.method ?? 'hashmod'}): remove it` });
    };
    let count = sh.count;
    if ((sh.method ?? 'hashmod') === 'hashmod') {
      if (sh.source_labels === undefined)
        ctx.addIssue({ code: 'custom', path: ['source_labels'], message: "required for method: hashmod: the source_labels of vmagent's hashmod rule, e.g. [__name__, instance]" });
      if (count === undefined) ctx.addIssue({ code: 'custom', path: ['count'], message: "required for method: hashmod: the rule's modulus (the number of instances)" });
      other(['urls', 'labels', 'ignore_labels'], 'shard_by_url');
    } else {
      if ((sh.urls === undefined) === (count === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: ['urls'],
          message: 'expected exactly one of shard.urls (vmagent 1.116 and later: its -remoteWrite.url flags, in order) and shard.count (vmagent 1.92-1.115: how many there are)',
        });
      }
      if (sh.labels !== undefined && sh.ignore_labels !== undefined)
        ctx.addIssue({ code: 'custom', path: ['ignore_labels'], message: 'cannot be combined with shard.labels (vmagent refuses both -remoteWrite.shardByURL.labels and .ignoreLabels)' });
      other(['source_labels', 'separator'], 'hashmod');
      count ??= sh.urls?.length;
    }
    if (count !== undefined && Number.isInteger(sh.index) && sh.index >= count) {
      ctx.addIssue({ code: 'custom', path: ['index'], message: `expected 0 to ${count - 1} (shards are numbered from 0; there are ${count}), got ${sh.index}` });
    }
  }, ALWAYS);

/**
 * vmanomaly's VmWriter section, key for key (reference: writer-config-table.md). A block pasted
 * from a vmanomaly config loads unchanged and means the same; the one deliberate difference is
 * the transport of generated series (remote_write unless `import_json_path` is present).
 */
export const writerSchema = z
  .object({
    /** vmanomaly's class names for its VictoriaMetrics writer; there is no other writer. */
    class: z.enum(['vm', 'writer.vm.VmWriter']).default('vm'),
    /** VictoriaMetrics (single node, vminsert, vmagent or vmauth) base URL; raw and generated data go there. */
    datasource_url: z.string().superRefine((v, ctx) => {
      const err = checkDatasourceUrl(v);
      if (err) ctx.addIssue({ code: 'custom', message: err });
    }),
    /** Cluster tenant: 'A', 'A:B' or 'multitenant' (YAML may give a number); absent: single node. */
    tenant_id: z
      .union([z.string(), z.number()])
      .transform((v, ctx) => {
        const t = String(v).trim();
        if (!TENANT_RE.test(t)) {
          ctx.addIssue({ code: 'custom', message: `expected 'multitenant', 'A' or 'A:B' (A, B integers), got '${String(v)}'` });
          return z.NEVER;
        }
        return t;
      })
      .optional(),
    /** Name and extra labels of generated series; __name__ must contain $VAR; $VAR/$QUERY_KEY allowed in any value. */
    metric_format: z.record(labelName, z.union([z.string(), z.number()]).transform(String)).default({ __name__: '$VAR', for: '$QUERY_KEY' }),
    /** When present, generated series are written as JSON lines (/api/v1/import format) to this path instead of remote_write. */
    import_json_path: absPath.optional(),
    /** Checked at start-up and every 15 s, reported by /ready: a path under datasource_url, or a full URL. */
    health_path: z.string().min(1).default('/health'),
    /** Basic auth (with password); YAML numbers are taken as text. */
    user: text.optional(),
    password: text.optional(),
    /** Authorization: Bearer <token>. */
    bearer_token: text.optional(),
    /** File holding the token; re-read when it changes (rotation without restart). */
    bearer_token_file: z.string().optional(),
    /** Per request to the datasource (duration string, or seconds as a number). */
    timeout: duration.prefault('5s'),
    /** false, true (system CAs) or a path to a CA bundle. */
    verify_tls: z
      .union([z.boolean(), z.string().min(1)])
      .transform((v) => (v === 'false' || v === 'False' ? false : v === 'true' || v === 'True' ? true : v))
      .default(true),
    /** Client certificate and key (mTLS); both or neither. */
    tls_cert_file: z.string().optional(),
    tls_key_file: z.string().optional(),
    /**
     * vmanomaly 1.29.2's retries of a failed connection: a generated-series write that gets no
     * answer (refused, reset, timed out) is sent again up to this many times. Raw data is never
     * retried here: its sender gets 503 and retries it.
     */
    connection_retry_attempts: z.number().int().min(0).default(1),
    /**
     * Generated-series writes that failed with 429, 5xx or no answer are kept (compressed, as
     * sent) and retried with backoff and jitter; beyond this many bytes the oldest are dropped
     * (counted). 64 MiB holds ~90 s of generated series at 1M scored samples/s (~0.7 MB per
     * 2,000-sample block); 0 turns retrying off. Other 4xx answers are dropped with a logged reason.
     */
    generated_buffer_bytes: z
      .number()
      .int()
      .min(0)
      .default(64 * 1024 * 1024),
  })
  .strict()
  .superRefine((w, ctx) => {
    if (w === null || typeof w !== 'object') return;
    const name = w.metric_format?.__name__;
    if (w.metric_format !== undefined && (name === undefined || !name.includes('$VAR'))) {
      ctx.addIssue({
        code: 'custom',
        path: ['metric_format', '__name__'],
        message: `expected a value containing $VAR (e.g. '$VAR' or 'anomstream_$VAR'), got ${name === undefined ? 'no __name__ key' : `'${name}'`}`,
      });
    }
    const auth = (['user', 'bearer_token', 'bearer_token_file'] as const).filter((k) => w[k] !== undefined);
    if (auth.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: [auth[1]],
        message: `cannot be combined with writer.${auth[0]}: choose one auth method (user/password, bearer_token or bearer_token_file)`,
      });
    }
    if (w.password !== undefined && w.user === undefined) {
      ctx.addIssue({ code: 'custom', path: ['password'], message: 'expected writer.user too (basic auth needs both)' });
    }
    if ((w.tls_cert_file === undefined) !== (w.tls_key_file === undefined)) {
      const [have, missing] = w.tls_cert_file === undefined ? ['tls_key_file', 'tls_cert_file'] : ['tls_cert_file', 'tls_key_file'];
      ctx.addIssue({ code: 'custom', path: [missing], message: `expected together with writer.${have} (mTLS needs the certificate and its key)` });
    }
  }, ALWAYS);

/**
 * writer.datasource_url is the base URL anomstream appends its paths to: http(s), and not a
 * write, import or read path pasted from vmagent's -remoteWrite.url or a vmanomaly reader
 * (`http://vm:8428/api/v1/write` would be written to `/api/v1/write/api/v1/write`).
 */
export function checkDatasourceUrl(v: string): string | null {
  let u: URL;
  try {
    u = new URL(v.trim());
  } catch {
    return `expected an http:// or https:// URL such as 'http://127.0.0.1:8428', got ${show(redactUrl(v))}`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `expected an http:// or https:// URL, got ${show(redactUrl(v))}`;
  const path = u.pathname.replace(/\/+$/, '');
  const write = /^(.*?)(\/insert\/([^/]+)\/prometheus|\/prometheus)?\/api\/v1\/(write|import(?:\/[a-z]+)?|push)$/.exec(path);
  if (write) {
    const tenant = write[3] ? ` and writer.tenant_id: '${write[3]}'` : '';
    const appended = write[3] ? '/insert/<tenant>/prometheus/api/v1/write' : '/api/v1/write';
    return `ends in the ${write[4].startsWith('import') ? 'import' : 'write'} path '${path.slice(write[1].length)}': give the base URL '${u.origin}${write[1]}'${tenant} (anomstream appends ${appended} itself)`;
  }
  const select = /^(.*?)\/select\/([^/]+)\/prometheus/.exec(path);
  if (select) return `'${path}' is vmselect's read path: writes go to vminsert: give its base URL (e.g. 'http://vminsert:8480') and writer.tenant_id: '${select[2]}'`;
  const read = /^(.*?)(\/prometheus)?\/api\/v1\/(query|query_range|export|series|labels)$/.exec(path);
  if (read) return `ends in the query path '${path.slice(read[1].length)}': give the base URL '${u.origin}${read[1]}' (anomstream writes; it queries nothing)`;
  return null;
}

export const limitsSchema = z
  .object({
    /** Series tracked (scored) at once; beyond it new series are forwarded but not scored (counted). */
    max_series: z.number().int().positive().default(2_000_000),
    /** A series with no sample for this long is forgotten (model state freed; it warms up again if it returns). */
    series_idle_timeout: duration.prefault('1h'),
    /**
     * Series one request may hold; more: 400, nothing forwarded (the sender would send it again
     * unchanged). VictoriaMetrics has no such limit (only -maxInsertRequestSize); senders send far
     * fewer: vmagent at most -remoteWrite.maxRowsPerBlock (10,000) samples, Prometheus
     * max_samples_per_send (2,000). Bounds the work and the decoded columns (25 bytes per series)
     * of a request of empty series (2 bytes each on the wire).
     */
    max_series_per_request: z.number().int().positive().default(100_000),
    /** Samples one request may hold; more: 400, nothing forwarded (17 bytes of decoded columns per sample). */
    max_samples_per_request: z.number().int().positive().default(1_000_000),
    /**
     * Per series, as VictoriaMetrics' -maxLabelsPerTimeseries, -maxLabelNameLen, -maxLabelValueLen
     * (bytes): a series over one is forwarded unchanged (VictoriaMetrics applies its own rules)
     * but not scored, counted by reason; a generated series that would break one is not written.
     */
    max_labels_per_series: z.number().int().positive().default(40),
    max_label_name_len: z.number().int().positive().default(256),
    max_label_value_len: z.number().int().positive().default(4096),
    /**
     * A sample more than this far ahead of the wall clock is forwarded but neither learned nor
     * scored (counted): one wrong clock must not make a series' later samples look old.
     */
    max_future: duration.prefault('10m'),
  })
  .strict();

export const stateSchema = z
  .object({
    /**
     * Directory of the model-state snapshot (as vmagent keeps -remoteWrite.tmpDataPath),
     * relative to the working directory; created when missing. '' turns persistence off
     * (and the label bytes kept per scored series for it).
     */
    path: z.string().default('anomstream-state'),
    /** How often the snapshot is rewritten (and on SIGTERM/SIGINT, after the drain). */
    interval: duration.prefault('1m'),
  })
  .strict();

export const configSchema = z
  .object({
    server: serverSchema.default(serverSchema.parse({})),
    reader: readerSchema,
    /** alias -> model; absent: one `auto` model on every query. */
    models: z.record(alias('model alias'), modelEntry).optional(),
    writer: writerSchema,
    /** Absent: this instance scores every series it receives. */
    shard: shardSchema.optional(),
    limits: limitsSchema.default(limitsSchema.parse({})),
    /** Model state kept across restarts (snapshots). */
    state: stateSchema.default(stateSchema.parse({})),
    logging: z
      .object({
        /** pino level (--log-level overrides it). */
        level: z.enum(LOG_LEVELS).default('info'),
        /** json: one JSON object per line (pino); text: time, level, message, key=value fields (--log-format overrides it). */
        format: z.enum(['json', 'text']).default('json'),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    checkShardIgnores(c, ctx);
    const queries = c?.reader?.queries;
    if (queries === undefined || queries === null || typeof queries !== 'object') return;
    const aliases = Object.keys(queries);
    for (const [alias, m] of Object.entries(c.models ?? {})) {
      const qs: unknown = (m as { queries?: unknown } | undefined)?.queries;
      if (!Array.isArray(qs)) continue;
      qs.forEach((q, i) => {
        if (typeof q === 'string' && !aliases.includes(q)) {
          ctx.addIssue({ code: 'custom', path: ['models', alias, 'queries', i], message: `unknown query '${q}': expected an alias of reader.queries (${aliases.join(', ')})` });
        }
      });
    }
  }, ALWAYS);

export type Config = z.output<typeof configSchema>;

/**
 * The copies of a series that differ only in reader.ignore_labels must reach the same instance,
 * or two instances score "the same" series and write the same score series: the shard hash
 * (vmagent's, and ours, which must match it) may not include those labels.
 */
function checkShardIgnores(c: { reader?: { ignore_labels?: unknown }; shard?: Partial<z.output<typeof shardSchema>> }, ctx: z.RefinementCtx): void {
  const ignored = c?.reader?.ignore_labels;
  const sh = c?.shard;
  if (!Array.isArray(ignored) || ignored.length === 0 || sh === null || typeof sh !== 'object') return;
  const hashed = (sh.method ?? 'hashmod') === 'hashmod' ? sh.source_labels : sh.labels;
  if (Array.isArray(hashed)) {
    const both = hashed.filter((n) => ignored.includes(n));
    const key = (sh.method ?? 'hashmod') === 'hashmod' ? 'source_labels' : 'labels';
    if (both.length)
      ctx.addIssue({
        code: 'custom',
        path: ['shard', key],
        message: `'${both.join("', '")}' is in reader.ignore_labels: the copies of a series that differ there would go to different instances and both be scored; leave it out here and in vmagent's rule`,
      });
  } else if ((sh.method ?? 'hashmod') === 'shard_by_url') {
    const missing = ignored.filter((n) => !(sh.ignore_labels ?? []).includes(n));
    if (missing.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['shard', 'ignore_labels'],
        message: `expected every reader.ignore_labels name here too (missing '${missing.join("', '")}'), with the same in vmagent's -remoteWrite.shardByURL.ignoreLabels: otherwise the copies of a series go to different instances and both are scored`,
      });
    }
  }
}
