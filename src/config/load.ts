import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { migrationHint } from './migration.js';
import { configSchema, type Config } from './schema.js';


/** "writer.tenant_id: expected ..." for every issue, one per line. */
export function formatIssues(err: z.ZodError): string {
  const lines: string[] = [];
  for (const i of err.issues) {
    if (i.code === 'unrecognized_keys') {
      for (const k of i.keys) {
        const hint = migrationHint(i.path, k);
        lines.push(`${joinPath([...i.path, k])}: unknown key${hint ? ` (${hint})` : ''}`);
      }
    } else lines.push(`${joinPath(i.path) || '(root)'}: ${i.message}`);
  }
  return lines.join('\n');
}

function joinPath(path: PropertyKey[]): string {
  return path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), '');
}

export function parseConfig(raw: unknown): Config {
  const r = configSchema.safeParse(raw);
  if (!r.success) throw new ConfigError('ANOM_CONFIG_INVALID', formatIssues(r.error));
  return r.data;
}

export function loadConfigFile(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError('ANOM_CONFIG_UNREADABLE', `${path}: cannot read: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new ConfigError('ANOM_CONFIG_YAML', `${path}: not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  return parseConfig(raw);
}
