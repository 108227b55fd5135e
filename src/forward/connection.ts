import { readFileSync, statSync } from 'node:fs';
import type { Config } from '../config/schema.js';

/**
 * Auth headers and TLS options for the datasource, from the writer section, exactly as
 * vmanomaly's VmWriter reads them: basic auth (user/password), bearer_token or
 * bearer_token_file (re-read when the file changes, so rotated tokens apply without a
 * restart), verify_tls (false | true | CA bundle path), tls_cert_file + tls_key_file (mTLS).
 */
export interface Connection {
  headers: (() => Record<string, string>) | undefined;
  connect: { rejectUnauthorized?: boolean; ca?: Buffer; cert?: Buffer; key?: Buffer } | undefined;
}

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
  let connect: Connection['connect'];
  if (w.datasource_url.startsWith('https:')) {
    connect = {};
    if (w.verify_tls === false) connect.rejectUnauthorized = false;
    else if (typeof w.verify_tls === 'string') connect.ca = readFileSync(w.verify_tls);
    if (w.tls_cert_file) connect.cert = readFileSync(w.tls_cert_file);
    if (w.tls_key_file) connect.key = readFileSync(w.tls_key_file);
  }
  return { headers, connect };
}

/** Token from a file, re-read when its mtime or size changes (checked at most once a second). */
function tokenFileHeaders(path: string): () => Record<string, string> {
  let stamp = '';
  let h: Record<string, string> = {};
  let checked = 0;
  return () => {
    const now = Date.now();
    if (now - checked < 1000) return h;
    checked = now;
    try {
      const st = statSync(path);
      const s = `${st.mtimeMs}:${st.size}`;
      if (s !== stamp) {
        h = { authorization: `Bearer ${readFileSync(path, 'utf8').trim()}` };
        stamp = s;
      }
    } catch {
      // Keep the last token we read; the failed requests will say why.
    }
    return h;
  };
}
