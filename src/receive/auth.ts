import { createHash, timingSafeEqual } from 'node:crypto';
import { watchedToken } from '../config/files.js';
import type { Config } from '../config/schema.js';

/**
 * server.auth: the credentials a client must send, checked on every write (and on /metrics and
 * /ready unless server.metrics_auth is false):
 *   { user, password }       Authorization: Basic base64(user:password)
 *   { bearer_token }         Authorization: Bearer <token>
 *   { bearer_token_file }    the same, the token read from the file and re-read when it changes
 *                            (checked at most once a second), so it can be rotated without a restart
 * Compared in constant time: both sides are hashed (SHA-256) and the digests compared with
 * crypto.timingSafeEqual, so neither the content nor the length of the secret leaks through timing.
 */
export interface Authenticator {
  /** Does this Authorization header carry the right credentials? */
  check(header: string | undefined): boolean;
  /** The WWW-Authenticate header of a 401. */
  readonly challenge: string;
  /** 'basic' or 'bearer', for the start-up log. */
  readonly method: string;
}

const REALM = 'realm="anomstream"';

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** The credentials of an Authorization header of this scheme (case-insensitive), or null. */
function credentials(header: string | undefined, scheme: string): string | null {
  if (header === undefined || header.length <= scheme.length || header[scheme.length] !== ' ') return null;
  if (header.slice(0, scheme.length).toLowerCase() !== scheme.toLowerCase()) return null;
  return header.slice(scheme.length + 1).trim();
}

export function authenticatorFor(auth: Config['server']['auth']): Authenticator | null {
  if (auth === undefined) return null;
  if ('user' in auth) {
    const want = digest(`${auth.user}:${auth.password}`);
    return {
      method: 'basic',
      challenge: `Basic ${REALM}, charset="UTF-8"`,
      check(header) {
        const c = credentials(header, 'Basic');
        return c !== null && timingSafeEqual(digest(Buffer.from(c, 'base64').toString('utf8')), want);
      },
    };
  }
  const token = 'bearer_token' in auth ? () => auth.bearer_token : watchedToken('server.auth.bearer_token_file', auth.bearer_token_file);
  let last = '';
  let want = digest('');
  return {
    method: 'bearer',
    challenge: `Bearer ${REALM}`,
    check(header) {
      const c = credentials(header, 'Bearer');
      if (c === null) return false;
      const t = token();
      if (t !== last) want = digest((last = t));
      return timingSafeEqual(digest(c), want);
    },
  };
}
