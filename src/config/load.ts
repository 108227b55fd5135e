import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ConfigError } from '../errors.js';
import { parseYamlWithEnv } from './env.js';
import { formatIssues, fromZod, notUnder, type Issue } from './issues.js';
import { translate } from './migration.js';
import { configSchema, type Config } from './schema.js';

/**
 * Loading, in one round: every problem of a file is found and reported at once, each as
 * `path: what is expected there`:
 *   1. read the file, parse YAML (syntax errors stop here: nothing else can be read)
 *   2. %{ENV} placeholders (env.ts): unset variables
 *   3. vmanomaly forms (migration.ts): honoured ones translated, the others explained
 *   4. the schema (schema.ts): types, values, typos with a did-you-mean
 *   5. the files the config names (CA bundle, client certificate and key, token file): readable
 *      and well-formed, so `--check-config` finds what start-up would
 * What the schema or a file check finds at the path of an unset variable is not reported (the
 * placeholder text is no value).
 */
export { type Issue } from './issues.js';

export interface ConfigCheck {
  /** The validated config; undefined when there are issues. */
  config: Config | undefined;
  /** forms, then schema. */
  issues: Issue[];
  /** vmanomaly keys with no meaning here (migration.ts): about the key, whatever its value. */
  forms: Issue[];
  /** What the schema found in the rest. */
  schema: Issue[];
  /** The input after vmanomaly's forms were translated (what the schema saw). */
  translated: unknown;
}

/** Validates a parsed config document; reads no file. */
export function checkConfig(raw: unknown): ConfigCheck {
  const t = translate(raw);
  const r = configSchema.safeParse(t.value, { reportInput: true });
  const schema = r.success ? [] : fromZod(r.error.issues, configSchema, t.value);
  const issues = [...t.issues, ...schema];
  return { config: r.success && issues.length === 0 ? r.data : undefined, issues, forms: t.issues, schema, translated: t.value };
}

/** A parsed config document, validated; throws a ConfigError listing every issue. */
export function parseConfig(raw: unknown): Config {
  const c = checkConfig(raw);
  if (c.config === undefined) throw invalid(c.issues);
  return c.config;
}

/** Reads, parses and validates a config file (stages 1-5 above). */
export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ConfigError('ANOM_CONFIG_UNREADABLE', `${path}: cannot read (${err.code ?? err.message}): expected a readable YAML configuration file`);
  }
  const y = parseYamlWithEnv(text, env);
  if (y.syntaxErrors.length > 0) throw new ConfigError('ANOM_CONFIG_YAML', y.syntaxErrors.map((m) => `${path}:${m.replace(/^(\d+:\d+): /, '$1: not valid YAML: ')}`).join('\n'));
  const c = checkConfig(y.value);
  // An unset variable leaves its placeholder in the value: what the schema says of that value is noise.
  const issues = [...y.issues, ...c.forms, ...notUnder(y.issues, [...c.schema, ...fileIssues(c.translated)])];
  if (issues.length > 0 || c.config === undefined) throw invalid(issues);
  return c.config;
}

function invalid(issues: Issue[]): ConfigError {
  return new ConfigError('ANOM_CONFIG_INVALID', formatIssues(issues), issues);
}

/**
 * The files writer names, checked as start-up (forward/connection.ts) will read them: present,
 * readable, and PEM where PEM is expected; the token file not empty.
 */
export function fileIssues(translated: unknown): Issue[] {
  const w = (translated as { writer?: Record<string, unknown> } | null)?.writer;
  if (w === null || typeof w !== 'object') return [];
  const issues: Issue[] = [];
  const read = (key: string, what: string): Buffer | undefined => {
    const p = w[key];
    if (typeof p !== 'string' || (key === 'verify_tls' && /^(true|false)$/i.test(p))) return undefined;
    try {
      return readFileSync(p);
    } catch (e) {
      issues.push({ path: ['writer', key], message: `cannot read '${p}' (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): expected a readable ${what}` });
      return undefined;
    }
  };
  const pem = (key: string, what: string, parse: (b: Buffer) => unknown, b: Buffer | undefined): boolean => {
    if (b === undefined) return false;
    try {
      parse(b);
      return true;
    } catch (e) {
      issues.push({ path: ['writer', key], message: `'${String(w[key])}' is not a PEM ${what} (${(e as Error).message}): expected a file that starts with -----BEGIN` });
      return false;
    }
  };
  pem('verify_tls', 'CA certificate bundle', (b) => new X509Certificate(b), read('verify_tls', 'CA certificate bundle (PEM)'));
  const cert = read('tls_cert_file', 'client certificate (PEM)');
  const key = read('tls_key_file', 'private key (PEM)');
  const certOk = pem('tls_cert_file', 'certificate', (b) => new X509Certificate(b), cert);
  const keyOk = pem('tls_key_file', 'private key', (b) => createPrivateKey(b), key);
  if (certOk && keyOk) {
    try {
      createSecureContext({ cert, key });
    } catch (e) {
      issues.push({ path: ['writer', 'tls_key_file'], message: `does not fit writer.tls_cert_file (${(e as Error).message}): expected the private key of that certificate` });
    }
  }
  const token = read('bearer_token_file', 'token file');
  if (token !== undefined && token.toString('utf8').trim() === '') {
    issues.push({ path: ['writer', 'bearer_token_file'], message: `'${String(w.bearer_token_file)}' is empty: expected the token` });
  }
  return issues;
}
