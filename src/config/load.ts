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
 * The files writer and server name, checked as start-up (forward/connection.ts, receive/) will read
 * them: present, readable, and PEM where PEM is expected; a key fitting its certificate; token
 * files not empty.
 */
export function fileIssues(translated: unknown): Issue[] {
  const root = translated as { writer?: unknown; server?: unknown } | null;
  const issues: Issue[] = [];
  const obj = (v: unknown): Record<string, unknown> | undefined => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : undefined);
  const w = obj(root?.writer);
  if (w) {
    const files = new FileChecks(issues, 'writer', w);
    files.pem('verify_tls', 'CA certificate bundle', (b) => new X509Certificate(b), files.read('verify_tls', 'CA certificate bundle (PEM)'));
    files.keyPair('tls_cert_file', 'tls_key_file', 'client certificate');
    files.token('bearer_token_file');
  }
  const sv = obj(root?.server);
  if (sv) {
    const files = new FileChecks(issues, 'server', sv);
    files.keyPair('tls_cert_file', 'tls_key_file', 'server certificate');
    files.pem('tls_client_ca_file', 'CA certificate bundle', (b) => new X509Certificate(b), files.read('tls_client_ca_file', 'CA certificate bundle (PEM)'));
    const auth = obj(sv.auth);
    if (auth) new FileChecks(issues, 'server.auth', auth).token('bearer_token_file');
  }
  return issues;
}

/** Checks of the files named by the keys of one config section (`at`: its dotted path). */
class FileChecks {
  constructor(
    private readonly issues: Issue[],
    private readonly at: string,
    private readonly o: Record<string, unknown>,
  ) {}

  private push(key: string, message: string): void {
    this.issues.push({ path: [...this.at.split('.'), key], message });
  }

  read(key: string, what: string): Buffer | undefined {
    const p = this.o[key];
    if (typeof p !== 'string' || (key === 'verify_tls' && /^(true|false)$/i.test(p))) return undefined;
    try {
      return readFileSync(p);
    } catch (e) {
      this.push(key, `cannot read '${p}' (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): expected a readable ${what}`);
      return undefined;
    }
  }

  pem(key: string, what: string, parse: (b: Buffer) => unknown, b: Buffer | undefined): boolean {
    if (b === undefined) return false;
    try {
      parse(b);
      return true;
    } catch (e) {
      this.push(key, `'${String(this.o[key])}' is not a PEM ${what} (${(e as Error).message}): expected a file that starts with -----BEGIN`);
      return false;
    }
  }

  keyPair(certKey: string, keyKey: string, what: string): void {
    const cert = this.read(certKey, `${what} (PEM)`);
    const key = this.read(keyKey, 'private key (PEM)');
    const certOk = this.pem(certKey, 'certificate', (b) => new X509Certificate(b), cert);
    const keyOk = this.pem(keyKey, 'private key', (b) => createPrivateKey(b), key);
    if (certOk && keyOk) {
      try {
        createSecureContext({ cert, key });
      } catch (e) {
        this.push(keyKey, `does not fit ${this.at}.${certKey} (${(e as Error).message}): expected the private key of that certificate`);
      }
    }
  }

  token(key: string): void {
    const token = this.read(key, 'token file');
    if (token !== undefined && token.toString('utf8').trim() === '') this.push(key, `'${String(this.o[key])}' is empty: expected the token`);
  }
}
