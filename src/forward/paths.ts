/**
 * Where data is written, by tenant. Single-node VictoriaMetrics (no tenant):
 * `/api/v1/write`; cluster (vminsert): `/insert/<A>[:<B>]/prometheus/api/v1/write` or
 * `/insert/multitenant/prometheus/api/v1/write` (tenant taken from vm_account_id /
 * vm_project_id labels).
 */
export const TENANT_RE = /^(multitenant|\d+(:\d+)?)$/;

export function writePath(tenant: string | null): string {
  return tenant === null ? '/api/v1/write' : `/insert/${tenant}/prometheus/api/v1/write`;
}

/** Normalise writer.tenant_id (string or number) to 'A', 'A:B' or 'multitenant'. */
export function normaliseTenant(t: string | number | undefined): string | null {
  if (t === undefined) return null;
  return String(t).trim();
}
