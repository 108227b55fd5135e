/**
 * GET /: one small HTML page of what this instance is doing, rendered on the server (no script,
 * no external asset, no build step): version, uptime, datasource health, traffic, the series
 * scored per query and model, and the series that scored above 1 in the last minutes, each
 * with a link to vmui showing its y, band and score. Every value is HTML-escaped here.
 */

/** One (query, model) pair. */
export interface InstanceRow {
  query: string;
  selector: string;
  model: string;
  modelClass: string;
  series: number;
  warming: number;
  samplesScored: number;
  samplesAnomalous: number;
  /** Series that scored above 1 within the page's window. */
  anomalousNow: number;
}

/** One series that scored above 1 within the window. */
export interface AnomalousRow {
  score: number;
  query: string;
  model: string;
  /** Seconds since its score was above 1. */
  ageS: number;
  tenant: string | null;
  /** Undefined when its labels could not be kept. */
  labels: [string, string][] | undefined;
  /** vmui, showing y (or the raw series), the band and the score; undefined without labels. */
  vmui: string | undefined;
}

export interface StatusData {
  version: string;
  uptimeS: number;
  listen: string;
  datasource: string;
  health: string;
  /** Last reload: when (ms), whether it applied, one line. */
  reload: { at: number; ok: boolean; message: string } | undefined;
  /** Over the last `rateWindowS` seconds (undefined right after start). */
  requestsPerS: number | undefined;
  samplesPerS: number | undefined;
  rateWindowS: number;
  series: number;
  instances: InstanceRow[];
  /** Series scoring above 1 at most this long ago count as "now" (the Anomaly alert's window). */
  windowS: number;
  /** Highest score first, at most `topK`. */
  top: AnomalousRow[];
  topK: number;
  vmuiUrl: string;
}

export function renderStatusPage(d: StatusData): string {
  const withTenant = d.top.some((r) => r.tenant !== null);
  const rate = (v: number | undefined): string => (v === undefined ? 'measuring' : v.toFixed(v < 10 ? 2 : 0));
  const instances = d.instances.map(
    (i) =>
      `<tr><td>${h(i.query)}</td><td><code>${h(i.selector)}</code></td><td>${h(i.model)}</td><td>${h(i.modelClass)}</td>` +
      `<td class="n">${i.series}</td><td class="n">${i.warming}</td><td class="n">${i.samplesScored}</td><td class="n">${i.samplesAnomalous}</td><td class="n">${i.anomalousNow}</td></tr>`,
  );
  const top = d.top.map(
    (r) =>
      `<tr class="anomalous"><td class="n">${r.score.toFixed(2)}</td><td>${h(r.query)}</td><td>${h(r.model)}</td><td class="n">${r.ageS} s</td>` +
      (withTenant ? `<td>${h(r.tenant ?? '')}</td>` : '') +
      `<td class="labels">${r.labels === undefined ? '<i>labels not kept</i>' : h(seriesText(r.labels))}</td>` +
      `<td>${r.vmui === undefined ? '' : `<a href="${h(r.vmui)}">vmui</a>`}</td></tr>`,
  );
  const reload = d.reload === undefined ? 'none since start' : `${new Date(d.reload.at).toISOString()}: ${d.reload.ok ? 'applied' : 'failed'} (${h(d.reload.message)})`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>anomstream ${h(d.version)}</title>
<link rel="icon" href="data:,">
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.5em; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 2px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
td.labels { font-family: monospace; word-break: break-all; max-width: 60em; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 1em; } dt { font-weight: bold; } dd { margin: 0; }
</style>
</head>
<body>
<h1>anomstream ${h(d.version)}</h1>
<dl>
<dt>uptime</dt><dd id="uptime">${duration(d.uptimeS)}</dd>
<dt>listening on</dt><dd>${h(d.listen)}</dd>
<dt>datasource</dt><dd id="datasource">${h(d.datasource)}: ${h(d.health)}</dd>
<dt>write requests / s</dt><dd id="requests-rate">${rate(d.requestsPerS)}</dd>
<dt>samples / s</dt><dd id="samples-rate">${rate(d.samplesPerS)} (last ${d.rateWindowS} s)</dd>
<dt>series tracked</dt><dd>${d.series}</dd>
<dt>last config reload</dt><dd id="reload">${reload}</dd>
</dl>
<p><a href="/metrics">/metrics</a> · <a href="/ready">/ready</a> · <a href="${h(d.vmuiUrl)}">vmui</a></p>
<h2>Scored series per query and model</h2>
<table id="instances">
<thead><tr><th>query</th><th>selector</th><th>model</th><th>class</th><th>series</th><th>warming up</th><th>samples scored</th><th>samples above 1</th><th>series above 1 now</th></tr></thead>
<tbody>
${instances.join('\n')}
</tbody>
</table>
<h2>Series scoring above 1 now</h2>
<p>Scored above 1 in the last ${d.windowS} s (the window of the <code>Anomaly</code> alert), highest score first; at most ${d.topK}. Each link opens vmui with the series' <code>y</code> (or its raw series), <code>yhat_lower</code>, <code>yhat</code>, <code>yhat_upper</code> and <code>anomaly_score</code>.</p>
<table id="anomalous">
<thead><tr><th>score</th><th>query</th><th>model</th><th>when</th>${withTenant ? '<th>tenant</th>' : ''}<th>series</th><th></th></tr></thead>
<tbody>
${top.length > 0 ? top.join('\n') : `<tr><td colspan="${withTenant ? 7 : 6}">none</td></tr>`}
</tbody>
</table>
</body>
</html>
`;
}

/** metric{a="1", b="2"} */
function seriesText(labels: [string, string][]): string {
  const name = labels.find(([k]) => k === '__name__')?.[1] ?? '';
  return `${name}{${labels
    .filter(([k]) => k !== '__name__')
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ')}}`;
}

function duration(s: number): string {
  const d = Math.floor(s / 86400);
  const hh = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${d > 0 ? `${d}d ` : ''}${hh}h ${m}m ${Math.floor(s % 60)}s`;
}

/** HTML-escaped text (also for attribute values in double quotes). */
function h(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
