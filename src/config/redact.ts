/**
 * A URL as it may be shown (logs, /ready, /metrics, messages): credentials (`user:pass@`) and
 * every query parameter's value (`?authKey=...`: VictoriaMetrics' auth keys travel there) are
 * replaced by `***`. Text that is not a URL has its `//...@` part redacted all the same.
 */
export function redactUrl(v: string): string {
  let u: URL;
  try {
    u = new URL(v.trim());
  } catch {
    return v.replace(/\/\/[^/@\s]*@/, '//***@').replace(/([?&][^=&#\s]*=)[^&#\s]*/g, '$1***');
  }
  const auth = u.username !== '' || u.password !== '' ? '***@' : '';
  const query = u.search === '' ? '' : `?${[...u.searchParams.keys()].map((k) => `${encodeURIComponent(k)}=***`).join('&')}`;
  return `${u.protocol}//${auth}${u.host}${u.pathname}${query}${u.hash}`;
}
