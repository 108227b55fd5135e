import type { Logger } from 'pino';
import { lbl, type Metric, type Registry } from '../metrics/registry.js';
import { MULTITENANT } from '../forward/paths.js';
import { Throttle } from '../metrics/throttle.js';

// The four multitenancy cases of vmanomaly's writer reference, checked once per new scored
// series (not per sample) and keyed on the presence of `vm_account_id` in its labels. The
// effective tenant is the receiver's path tenant (`/insert/<tenant>/...`), else writer.tenant_id:
//
//   1. tenant != multitenant, no vm_account_id   fine, silent
//   2. tenant == multitenant, vm_account_id      fine, silent (VictoriaMetrics routes by labels)
//   3. tenant == multitenant, no vm_account_id   written anyway (VictoriaMetrics stores it in 0:0); warning 3
//   4. tenant != multitenant, vm_account_id      written with the labels kept; warning 4
//
// A missing tenant (single-node VictoriaMetrics) counts as "!= multitenant", as in vmanomaly.
// Warnings use the reference's wording; each case logs at most one line per WARN_EVERY_MS, that
// line carrying how many were suppressed since the previous one. Every occurrence is counted in
// anomstream_multitenancy_warnings_total{case="3"|"4"}.

export const WARN_EVERY_MS = 60_000;
const ACCOUNT = 'vm_account_id';

export function missingAccountWarning(key: string): string {
  return (
    `The label \`vm_account_id\` was not found in the label set of ${key}, ` +
    `but tenant_id='multitenant' is set in writer. The data will be written to the default tenant 0:0. ` +
    `Ensure that the query retains the necessary multi-tenant labels, ` +
    `or adjust the aggregation settings to preserve \`vm_account_id\` key in the label set.`
  );
}

export function unexpectedAccountWarning(key: string): string {
  return (
    `The label set for the metric ${key} contains multi-tenancy labels, ` +
    `but the write endpoint is configured for single-tenant mode (tenant_id != 'multitenant'). ` +
    `Either adjust the query in the reader to avoid multi-tenancy labels ` +
    `or ensure that reserved key \`vm_account_id\` is not explicitly set for single-tenant environments.`
  );
}

interface Case {
  counter: Metric;
  throttle: Throttle;
  text: (key: string) => string;
}

export class TenancyCheck {
  private readonly cases: Record<3 | 4, Case>;

  constructor(
    registry: Registry,
    private readonly log: Logger,
    now: () => number = Date.now,
  ) {
    const help = 'Scored series in a multitenancy warning case of the vmanomaly writer reference (3: multitenant without vm_account_id, 4: vm_account_id without multitenant).';
    const mk = (c: 3 | 4, text: (key: string) => string): Case => ({
      counter: registry.counter('anomstream_multitenancy_warnings_total', help, lbl('case', String(c))),
      throttle: new Throttle(WARN_EVERY_MS, now),
      text,
    });
    this.cases = { 3: mk(3, missingAccountWarning), 4: mk(4, unexpectedAccountWarning) };
  }

  /** Called once per new scored series; returns the case number (1-4). */
  check(tenant: string | null, labels: Map<string, string>): 1 | 2 | 3 | 4 {
    const multi = tenant === MULTITENANT;
    const has = labels.has(ACCOUNT);
    if (multi === has) return multi ? 2 : 1;
    const n = multi ? 3 : 4;
    const c = this.cases[n];
    c.counter.inc();
    const suppressed = c.throttle.take();
    if (suppressed < 0) return n;
    const key = seriesString(labels);
    this.log.warn({ case: n, tenant: tenant ?? '(none: single node)', series: key, suppressed }, c.text(key));
    return n;
  }
}

/** name{a="1",b="2"} for a log line. */
function seriesString(labels: Map<string, string>): string {
  const parts: string[] = [];
  for (const [k, v] of labels) if (k !== '__name__') parts.push(`${k}=${JSON.stringify(v)}`);
  return `${labels.get('__name__') ?? ''}{${parts.join(',')}}`;
}
