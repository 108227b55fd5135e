// Where data is written, by tenant. Single-node VictoriaMetrics (no tenant):
// `/api/v1/write`; cluster (vminsert): `/insert/<A>[:<B>]/prometheus/api/v1/write` or
// `/insert/multitenant/prometheus/api/v1/write` (tenant taken from vm_account_id /
// vm_project_id labels; series without them land in 0:0).
// The JSON-lines import path (writer.import_json_path, e.g. `/api/v1/import`) goes under the
// same prefix: `/insert/<tenant>/prometheus/api/v1/import`.

export const TENANT_RE = /^(multitenant|\d+(:\d+)?)$/;
export const MULTITENANT = 'multitenant';

export function writePath(tenant: string | null): string {
  return tenant === null ? '/api/v1/write' : `/insert/${tenant}/prometheus/api/v1/write`;
}

/** `importJsonPath` (absolute, e.g. '/api/v1/import') for this tenant. */
export function importPath(tenant: string | null, importJsonPath: string): string {
  return tenant === null ? importJsonPath : `/insert/${tenant}/prometheus${importJsonPath}`;
}
