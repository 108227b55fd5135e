import type { Config } from '../config/schema.js';
import { readConfigFile, watchedToken } from '../config/files.js';

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

export function connectionFor(w: Config['writer']): Connection {
  let headers: Connection['headers'];
  if (w.user !== undefined) {
    const h = { authorization: `Basic ${Buffer.from(`${w.user}:${w.password ?? ''}`).toString('base64')}` };
    headers = () => h;
  } else if (w.bearer_token !== undefined) {
    const h = { authorization: `Bearer ${w.bearer_token}` };
    headers = () => h;
  } else if (w.bearer_token_file !== undefined) {
    const token = watchedToken('writer.bearer_token_file', w.bearer_token_file);
    let last = '';
    let h: Record<string, string> = {};
    headers = () => {
      const t = token();
      if (t !== last) h = { authorization: `Bearer ${(last = t)}` };
      return h;
    };
  }
  const connect: NonNullable<Connection['connect']> = {};
  if (w.verify_tls === false) connect.rejectUnauthorized = false;
  else if (typeof w.verify_tls === 'string') connect.ca = readConfigFile('writer.verify_tls', w.verify_tls);
  if (w.tls_cert_file !== undefined) connect.cert = readConfigFile('writer.tls_cert_file', w.tls_cert_file);
  if (w.tls_key_file !== undefined) connect.key = readConfigFile('writer.tls_key_file', w.tls_key_file);
  return { headers, connect: Object.keys(connect).length ? connect : undefined };
}
