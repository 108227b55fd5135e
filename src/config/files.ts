import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from '../errors.js';

/** The contents of a file the config names; unreadable: a ConfigError naming `key`. */
export function readConfigFile(key: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ConfigError('ANOM_CONFIG_UNREADABLE', `${key}: cannot read '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** How often, at most, a token file is stat()ed for a change. */
export const TOKEN_FILE_CHECK_MS = 1000;

/**
 * A token read from a file (trimmed), re-read when the file's mtime, size or inode change; checked
 * at most once a second, so a rotated token applies without a restart. Read at once: a missing or
 * empty file is a ConfigError naming `key`. Later, a file missing for a moment (rotation by
 * rename) or caught half-written (empty) keeps the previous token until the next check.
 * Used for writer.bearer_token_file (sent) and server.auth.bearer_token_file (expected).
 */
export function watchedToken(key: string, path: string): () => string {
  const read = (): string => {
    const text = readConfigFile(key, path).toString('utf8').trim();
    if (text === '') throw new ConfigError('ANOM_CONFIG_UNREADABLE', `${key}: '${path}' is empty`);
    return text;
  };
  const stampOf = (): string => {
    const st = statSync(path);
    return `${st.mtimeMs}:${st.size}:${st.ino}`;
  };
  let token = read();
  let stamp = stampOf();
  let checked = Date.now();
  return () => {
    const now = Date.now();
    if (now - checked < TOKEN_FILE_CHECK_MS) return token;
    checked = now;
    try {
      const s = stampOf();
      if (s !== stamp) {
        const text = readFileSync(path, 'utf8').trim();
        if (text !== '') {
          token = text;
          stamp = s;
        }
      }
    } catch {
      // missing for a moment: keep the last token
    }
    return token;
  };
}
