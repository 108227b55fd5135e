import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { Config } from '../config/schema.js';

// Auth headers and TLS options for the datasource, from the writer section, exactly as
// vmanomaly's VmWriter reads them, applied to raw forwarding, generated series and the health
// check alike:
//   user/password        Authorization: Basic base64(user:password)
//   bearer_token         Authorization: Bearer <token>
//   bearer_token_file    the same, the token read from the file (trimmed); the file's mtime and
//                        size are checked at most once a second and it is re-read when they
//                        change, so a rotated token applies without a restart
//   verify_tls           false: no verification; true: system CAs; a path: that CA bundle only
//   tls_cert_file/_key   client certificate (mTLS)
// The schema allows one auth method at most. Files are read at start-up; an unreadable one is a
// ConfigError naming its key (exit 2).

export interface Connection {
  headers: (() => Record<string, string>) | undefined;
  /** undici connect options (TLS); ignored by undici for http:// origins. */
  connect: { rejectUnauthorized?: boolean; ca?: Buffer; cert?: Buffer; key?: Buffer } | undefined;
}

/** How often, at most, bearer_token_file is stat()ed for a change. */
export const TOKEN_FILE_CHECK_MS = 1000;

export function connectionFor(w: Config['writer']): Connection {
  let headers: Connection['headers'];
  if (w.user !== undefined) {
    const h = { authorization: `Basic ${Buffer.from(`${w.user}:${w.password ?? ''}`).toString('base64')}` };
    headers = () => h;
  } else if (w.bearer_token !== undefined) {
    const h = { authorization: `Bearer ${w.bearer_token}` };
    headers = () => h;
  } else if (w.bearer_token_file !== undefined) {
    headers = tokenFileHeaders(w.bearer_token_file);
  }
  const connect: NonNullable<Connection['connect']> = {};
  if (w.verify_tls === false) connect.rejectUnauthorized = false;
  else if (typeof w.verify_tls === 'string') connect.ca = readConfigFile('writer.verify_tls', w.verify_tls);
  if (w.tls_cert_file !== undefined) connect.cert = readConfigFile('writer.tls_cert_file', w.tls_cert_file);
  if (w.tls_key_file !== undefined) connect.key = readConfigFile('writer.tls_key_file', w.tls_key_file);
  return { headers, connect: Object.keys(connect).length ? connect : undefined };
}

function readConfigFile(key: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ConfigError('ANOM_CONFIG_UNREADABLE', `${key}: cannot read '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Token from a file, re-read when its mtime or size changes (checked at most once a second). */
function tokenFileHeaders(path: string): () => Record<string, string> {
  const read = (): Record<string, string> => {
    const token = readConfigFile('writer.bearer_token_file', path).toString('utf8').trim();
    if (token === '') throw new ConfigError('ANOM_CONFIG_UNREADABLE', `writer.bearer_token_file: '${path}' is empty`);
    return { authorization: `Bearer ${token}` };
  };
  const stampOf = (): string => {
    const st = statSync(path);
    return `${st.mtimeMs}:${st.size}:${st.ino}`;
  };
  let h = read();
  let stamp = stampOf();
  let checked = Date.now();
  return () => {
    const now = Date.now();
    if (now - checked < TOKEN_FILE_CHECK_MS) return h;
    checked = now;
    try {
      const s = stampOf();
      if (s !== stamp) {
        const text = readFileSync(path, 'utf8').trim();
        // A file caught half-written (empty) keeps the previous token until the next check.
        if (text !== '') {
          h = { authorization: `Bearer ${text}` };
          stamp = s;
        }
      }
    } catch {
      // Missing for a moment (rotation by rename): keep the last token; failed requests say why.
    }
    return h;
  };
}
