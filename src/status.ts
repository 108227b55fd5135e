import type { Config } from './config/schema.js';
import { redactUrl } from './config/redact.js';
import { generatedSelector, inputSelector } from './emit/format.js';
import { renderStatusPage, type AnomalousRow, type InstanceRow } from './receive/status-page.js';
import { anomalousNow } from './scoring/anomalous.js';
import type { Scoring } from './scoring/scoring.js';

/** Write requests and their samples received so far (the receiver's totals). */
export interface Totals {
  requests: number;
  samples: number;
}

/** Series that scored above 1 this long ago at most are "now": the window of deploy/alerts.yml's Anomaly rule. */
const WINDOW_S = 120;
const TOP_K = 50;
/** Traffic totals are sampled every 5 s; rates are over the last minute. */
const SAMPLE_EVERY_MS = 5_000;
const SAMPLES_KEPT = 13;
/** The page is built at most once a second (its scan is O(series)). */
const CACHE_MS = 1_000;

/**
 * What GET / shows, gathered from the running instance: traffic rates from totals sampled every
 * 5 s, per (query, model) counts from the scoring unit (folded as for a scrape), and the top 50
 * series that scored above 1 within the Anomaly rule's window, with their labels (kept by the
 * scoring unit as bytes, decoded for these 50 only) and vmui links built from writer.metric_format
 * exactly as the generated series are labelled.
 */
export class StatusPage {
  private readonly started = Date.now();
  private readonly samples: (Totals & { at: number })[] = [];
  private timer: NodeJS.Timeout | undefined;
  private cache: { at: number; html: string } | undefined;
  private lastReload: { at: number; ok: boolean; message: string } | undefined;

  constructor(private readonly o: { version: string; scoring: Scoring }) {}

  startSampling(totals: () => Totals): void {
    const sample = (): void => {
      this.samples.push({ at: Date.now(), ...totals() });
      if (this.samples.length > SAMPLES_KEPT) this.samples.shift();
    };
    sample();
    this.timer = setInterval(sample, SAMPLE_EVERY_MS).unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  reloaded(ok: boolean, message: string): void {
    this.lastReload = { at: Date.now(), ok, message };
    this.cache = undefined;
  }

  render(cfg: Config, health: string, totals: Totals): string {
    const now = Date.now();
    if (this.cache !== undefined && now - this.cache.at < CACHE_MS) return this.cache.html;
    const scoring = this.o.scoring;
    const spec = scoring.spec;
    scoring.counts.fold(scoring.state);
    const { top, perInstance } = anomalousNow(scoring, Math.floor(now / 1000) - WINDOW_S, TOP_K);
    const instances: InstanceRow[] = spec.instances.map((inst, i) => {
      const s = scoring.state.instances[i];
      const live = s.used - s.freeOffsets.length;
      const [scored, anomalous] = scoring.counts.totals(i);
      return {
        query: inst.queryAlias,
        selector: spec.queries.find((q) => q.alias === inst.queryAlias)?.selector.text ?? '',
        model: inst.modelAlias,
        modelClass: cfg.models?.[inst.modelAlias]?.class ?? 'auto',
        series: live,
        warming: live - s.ready,
        samplesScored: scored,
        samplesAnomalous: anomalous,
        anomalousNow: perInstance[i],
      };
    });
    const vmuiUrl = cfg.server.vmui_url ?? defaultVmuiUrl(cfg.writer.datasource_url);
    const vmuiBase = vmuiUrl.replace(/\/+$/, '');
    const rows: AnomalousRow[] = top.map((a) => {
      const inst = spec.instances[a.inst];
      const labels = a.labels?.labels;
      let vmui: string | undefined;
      if (labels !== undefined) {
        const g0 = generatedSelector(cfg.writer.metric_format, inst.provide, inst.queryAlias, inst.sharedQuery ? inst.modelAlias : null, labels);
        vmui = `${vmuiBase}/#/?g0.range_input=1h&g0.expr=${encodeURIComponent(g0)}&g1.range_input=1h&g1.expr=${encodeURIComponent(inputSelector(labels))}`;
      }
      return { score: a.score, query: inst.queryAlias, model: inst.modelAlias, ageS: Math.max(0, Math.floor(now / 1000) - a.at), tenant: a.labels?.tenant ?? null, labels, vmui };
    });
    const oldest = this.samples[0];
    const span = oldest === undefined ? 0 : (now - oldest.at) / 1000;
    const html = renderStatusPage({
      version: this.o.version,
      uptimeS: Math.floor((now - this.started) / 1000),
      listen: cfg.server.listen,
      datasource: redactUrl(cfg.writer.datasource_url),
      health,
      reload: this.lastReload,
      requestsPerS: span >= 1 ? (totals.requests - oldest!.requests) / span : undefined,
      samplesPerS: span >= 1 ? (totals.samples - oldest!.samples) / span : undefined,
      rateWindowS: Math.round(span),
      series: scoring.state.index.size,
      instances,
      windowS: WINDOW_S,
      top: rows,
      topK: TOP_K,
      vmuiUrl,
    });
    this.cache = { at: now, html };
    return html;
  }
}

/**
 * vmui under datasource_url, for a browser: without its query (an `?authKey=...` sent with every
 * write is a secret, and in front of `/vmui/` it made the link point at the datasource's root).
 */
function defaultVmuiUrl(datasourceUrl: string): string {
  const u = new URL(datasourceUrl);
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}/vmui/`;
}
