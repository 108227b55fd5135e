/**
 * The queries of a Grafana dashboard JSON (deploy/grafana/dashboards/), with its template
 * variables substituted as Grafana's Prometheus datasource does, so that a test can run each one
 * against a real VictoriaMetrics.
 */

export interface DashboardVariable {
  name: string;
  type: string;
  /** For `query` variables: `label_values(selector, label)` (Grafana's Prometheus form). */
  definition?: string;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string | null;
}

export interface DashboardTarget {
  panel: string;
  refId: string;
  expr: string;
  instant: boolean;
}

interface Panel {
  title?: string;
  type?: string;
  panels?: Panel[];
  targets?: { refId?: string; expr?: string; instant?: boolean; range?: boolean }[];
}

export interface Dashboard {
  title: string;
  panels: Panel[];
  templating: { list: DashboardVariable[] };
}

/** Every target of every panel (rows' nested panels too). */
export function targets(d: Dashboard): DashboardTarget[] {
  const out: DashboardTarget[] = [];
  const walk = (ps: Panel[]): void => {
    for (const p of ps) {
      if (p.panels) walk(p.panels);
      for (const t of p.targets ?? []) {
        out.push({ panel: p.title ?? '?', refId: t.refId ?? '?', expr: t.expr ?? '', instant: t.instant === true && t.range !== true });
      }
    }
  };
  walk(d.panels);
  return out;
}

/** `label_values(selector, label)` -> [selector, label]; throws on any other form. */
export function labelValuesQuery(definition: string): [string, string] {
  const m = /^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(definition.trim());
  if (!m) throw new Error(`variable query '${definition}': expected label_values(selector, label)`);
  return [m[1], m[2]];
}

/** Grafana's escaping of a value placed in a regex matcher (`=~"$var"`). */
function regexEscape(v: string): string {
  return v.replace(/[\\^$*+?.()|{}[\]]/g, '\\\\$&');
}

/** The value Grafana writes for `$name`: All -> allValue, a multi/All variable's value regex-escaped. */
export function formatValue(v: DashboardVariable, value: string | 'All'): string {
  if (value === 'All') {
    if (!v.includeAll || !v.allValue) throw new Error(`$${v.name} has no All value`);
    return v.allValue;
  }
  return v.multi || v.includeAll ? regexEscape(value) : value.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

/** Grafana's built-in intervals, for a dashboard range of `rangeSec` seconds. */
export interface Builtins {
  rateInterval: string;
  interval: string;
  range: string;
}

/**
 * `expr` with `$name`, `${name}`, `${name:format}` and `[[name]]` replaced by `values[name]`
 * (already formatted) and Grafana's `$__rate_interval`, `$__interval`, `$__range`; throws on a
 * variable it does not know.
 */
export function substitute(expr: string, values: Record<string, string>, b: Builtins): string {
  const builtins: Record<string, string> = { __rate_interval: b.rateInterval, __interval: b.interval, __range: b.range };
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (_all, a?: string, c?: string, d?: string) => {
    const name = (a ?? c ?? d)!;
    const v = builtins[name] ?? values[name];
    if (v === undefined) throw new Error(`unknown variable $${name} in ${expr}`);
    return v;
  });
}
