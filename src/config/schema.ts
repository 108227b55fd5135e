import { z } from 'zod';
import { duration } from './duration.js';
import { parseSelector } from '../scoring/selector.js';
import { modelEntry, perQueryScoring } from './models.js';
import { TENANT_RE } from '../forward/paths.js';

/**
 * The whole configuration: one zod schema, the single source of every default.
 * Unknown keys are errors everywhere (`.strict()`), so a typo never silently means "default".
 */

const hostPort = z.string().refine((s) => /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]*):\d{1,5}$/.test(s), {
  message: "expected 'host:port' (e.g. '127.0.0.1:8490', ':8490', '[::1]:8490')",
});

const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const absPath = z.string().regex(/^\/[^\s?#]*$/, "expected an absolute path such as '/api/v1/import'");

export const TRANSFORMS = ['none', 'rate', 'increase'] as const;

const queryLong = z
  .object({
    /** A Prometheus series selector: `metric{label="v", other=~"re.*"}`. */
    expr: z.string().min(1).superRefine((v, ctx) => {
      try {
        parseSelector(v);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
      }
    }),
    /** Counters: score the per-second rate (or the increase) between samples, with resets handled. */
    transform: z.enum(TRANSFORMS).default('none'),
    ...perQueryScoring,
  })
  .strict();
const query = z.preprocess((v) => (typeof v === 'string' ? { expr: v } : v), queryLong);

export const serverSchema = z
  .object({
    /** host:port to listen on. */
    listen: hostPort.default('127.0.0.1:8490'),
    /** Largest accepted request body, compressed or not (VictoriaMetrics' -maxInsertRequestSize). */
    max_request_bytes: z.number().int().positive().default(32 * 1024 * 1024),
    /**
     * Write requests processed at once; more are answered 503 + Retry-After (senders retry).
     * Each holds its body and decoded columns: vmagent sends ~100 KB per 2,000 samples, so 64
     * in flight is a few MB; the worst case is 64 x max_request_bytes.
     */
    max_in_flight: z.number().int().positive().default(64),
  })
  .strict();

export const readerSchema = z
  .object({
    /** alias -> selector; the alias becomes $QUERY_KEY. */
    queries: z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'query alias: expected [a-zA-Z_][a-zA-Z0-9_]*'), query),
  })
  .strict();

/**
 * vmanomaly's VmWriter section, key for key (reference: writer-config-table.md). A block pasted
 * from a vmanomaly config loads unchanged and means the same; the one deliberate difference is
 * the transport of generated series (remote_write unless `import_json_path` is present).
 */
export const writerSchema = z
  .object({
    /** vmanomaly's class names for its VictoriaMetrics writer; there is no other writer. */
    class: z.enum(['vm', 'writer.vm.VmWriter']).default('vm'),
    /** VictoriaMetrics (single node, vminsert or vmagent) base URL; raw and generated data go there. */
    datasource_url: z.url({ protocol: /^https?$/ }),
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
    metric_format: z
      .record(z.string().regex(LABEL_NAME_RE, 'label name: expected [a-zA-Z_][a-zA-Z0-9_]*'), z.union([z.string(), z.number()]).transform(String))
      .default({ __name__: '$VAR', for: '$QUERY_KEY' }),
    /** When present, generated series are written as JSON lines (/api/v1/import format) to this path instead of remote_write. */
    import_json_path: absPath.optional(),
    /** Checked at start-up and every 15 s, reported by /ready: a path under datasource_url, or a full URL. */
    health_path: z.string().min(1).default('/health'),
    /** Basic auth (with password). */
    user: z.string().optional(),
    password: z.string().optional(),
    /** Authorization: Bearer <token>. */
    bearer_token: z.string().optional(),
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
  })
  .strict()
  .superRefine((w, ctx) => {
    const name = w.metric_format.__name__;
    if (name === undefined || !name.includes('$VAR')) {
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
  });

export const limitsSchema = z
  .object({
    /** Series tracked (scored) at once; beyond it new series are forwarded but not scored (counted). */
    max_series: z.number().int().positive().default(2_000_000),
    /** A series with no sample for this long is forgotten (model state freed; it warms up again if it returns). */
    series_idle_timeout: duration.prefault('1h'),
  })
  .strict();

export const configSchema = z
  .object({
    server: serverSchema.default(serverSchema.parse({})),
    reader: readerSchema,
    /** alias -> model; absent: one `auto` model on every query. */
    models: z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'model alias: expected [a-zA-Z_][a-zA-Z0-9_]*'), modelEntry).optional(),
    writer: writerSchema,
    limits: limitsSchema.default(limitsSchema.parse({})),
    logging: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') })
      .strict()
      .default({ level: 'info' }),
  })
  .strict()
  .superRefine((c, ctx) => {
    const aliases = Object.keys(c.reader.queries);
    if (aliases.length === 0) ctx.addIssue({ code: 'custom', path: ['reader', 'queries'], message: 'expected at least one query' });
    for (const [alias, m] of Object.entries(c.models ?? {})) {
      (m.queries ?? []).forEach((q, i) => {
        if (!aliases.includes(q)) {
          ctx.addIssue({ code: 'custom', path: ['models', alias, 'queries', i], message: `unknown query '${q}' (reader.queries has: ${aliases.join(', ')})` });
        }
      });
    }
  });

export type Config = z.output<typeof configSchema>;
