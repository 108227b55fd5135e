import { z } from 'zod';
import { duration } from './duration.js';
import { parseSelector } from '../match/selector.js';
import { modelEntry, perQueryScoring } from './models.js';

/**
 * The whole configuration: one zod schema, the single source of every default.
 * Unknown keys are errors everywhere (`.strict()`), so a typo never silently means "default".
 */

const hostPort = z.string().refine((s) => /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]*):\d{1,5}$/.test(s), {
  message: "expected 'host:port' (e.g. '127.0.0.1:8490', ':8490', '[::1]:8490')",
});

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
  })
  .strict();

export const readerSchema = z
  .object({
    /** alias -> selector; the alias becomes $QUERY_KEY. */
    queries: z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'query alias: expected [a-zA-Z_][a-zA-Z0-9_]*'), query),
  })
  .strict();

export const writerSchema = z
  .object({
    class: z.enum(['vm', 'writer.vm.VmWriter']).default('vm'),
    /** VictoriaMetrics (single node, vminsert or vmagent) base URL; raw and generated data go there. */
    datasource_url: z.url({ protocol: /^https?$/ }),
    /** Cluster tenant: 'A', 'A:B' or 'multitenant'. */
    tenant_id: z.union([z.string(), z.number()]).optional(),
    /** Name and extra labels of generated series; must contain __name__ with $VAR. */
    metric_format: z.record(z.string(), z.string()).default({ __name__: '$VAR', for: '$QUERY_KEY' }),
    /** When set, generated series are written as JSON lines to this path instead of remote_write. */
    import_json_path: z.string().optional(),
    health_path: z.string().default('/health'),
    user: z.string().optional(),
    password: z.string().optional(),
    bearer_token: z.string().optional(),
    bearer_token_file: z.string().optional(),
    /** Per request to the datasource. */
    timeout: duration.prefault('5s'),
    /** false, true (system CAs) or a path to a CA bundle. */
    verify_tls: z.union([z.boolean(), z.string()]).default(true),
    tls_cert_file: z.string().optional(),
    tls_key_file: z.string().optional(),
  })
  .strict();

export const limitsSchema = z
  .object({
    /** Series tracked (scored) at once; beyond it new series are forwarded but not scored (counted). */
    max_series: z.number().int().positive().default(1_000_000),
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
    const name = c.writer.metric_format.__name__;
    if (name === undefined || !name.includes('$VAR')) {
      ctx.addIssue({
        code: 'custom',
        path: ['writer', 'metric_format', '__name__'],
        message: `expected a value containing $VAR (e.g. '$VAR' or 'anomstream_$VAR'), got ${name === undefined ? 'no __name__ key' : `'${name}'`}`,
      });
    }
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
