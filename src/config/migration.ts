/**
 * vmanomaly keys that have no place in anomstream, with what replaces them. formatIssues()
 * appends the hint to the "unknown key" error, so a pasted vmanomaly config fails with a
 * message that says how to migrate instead of a bare "unknown key".
 */
const STREAMING = 'anomstream scores every sample as it arrives (remote_write), so there is nothing to schedule';

const HINTS: Record<string, string> = {
  scheduler: `vmanomaly-only: ${STREAMING}; remove the section`,
  schedulers: `vmanomaly-only: ${STREAMING}; remove the section`,
  fit_window: `vmanomaly-only (scheduler): models learn online from every sample; the memory is the model's half_life`,
  fit_every: `vmanomaly-only (scheduler): models update with every sample; remove it`,
  infer_every: `vmanomaly-only (scheduler): every sample is scored on arrival; remove it`,
  start_from: `vmanomaly-only (scheduler): scoring starts when data arrives; remove it`,
  preset: 'vmanomaly-only: configure reader, models and writer explicitly',
  settings: 'vmanomaly-only (n_workers, restore_state...): anomstream runs one process; remove it',
  monitoring: 'vmanomaly-only: anomstream serves its own metrics on GET /metrics of server.listen; remove it',
  'reader.datasource_url': 'anomstream does not query a datasource: point vmagent/Prometheus remote_write at server.listen; the destination is writer.datasource_url',
  'reader.sampling_period': 'anomstream sees every raw sample at its own timestamp; remove it (use vmagent stream aggregation to downsample)',
  'reader.class': 'anomstream receives remote_write; there is no reader class: remove it',
  'reader.tenant_id': 'send to POST /insert/<tenant>/prometheus/api/v1/write on anomstream (or set writer.tenant_id)',
  'reader.query_range_path': 'anomstream runs no queries: remove it',
  'reader.query_from_last_seen_timestamp': 'anomstream runs no queries: remove it',
  'reader.latency_offset': 'anomstream runs no queries: remove it',
  'reader.max_points_per_query': 'anomstream runs no queries: remove it',
  'reader.data_range': 'data_range belongs to models.<alias> (or a query) in anomstream',
  'reader.tz': 'the time zone belongs to the model in anomstream',
};

/** A hint for unknown key `key` found at `path` (e.g. ['reader'], 'sampling_period'), or ''. */
export function migrationHint(path: PropertyKey[], key: string): string {
  const parent = path.filter((p) => typeof p === 'string').join('.');
  const full = parent ? `${parent}.${key}` : key;
  if (HINTS[full]) return HINTS[full];
  // A scheduler key put under a model or at the top level still means the same thing.
  if (key === 'fit_window' || key === 'fit_every' || key === 'infer_every' || key === 'start_from') return HINTS[key];
  return '';
}
