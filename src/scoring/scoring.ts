import { performance } from 'node:perf_hooks';
import { LabelInt, type WriteBatch } from '../ingest/write-request.js';
import { lbl, type Metric, type Registry } from '../metrics/registry.js';
import { Prediction } from '../models/model.js';
import { LabelNames } from '../wire/label-names.js';
import { Utf8Strings } from '../wire/strings.js';
import { NameFilter } from './name-filter.js';
import { UpClock } from './clock.js';
import { InstanceCounts } from './counts.js';
import { Transform, carriedFrom, type InstanceSpec, type ScoringSpec } from './instances.js';
import { KeptLabels } from './kept-labels.js';
import { Column, OutputRows, RowRuns, type ScoreSink } from './output.js';
import { matches } from './selector.js';
import { SeriesKey } from './series-index.js';
import { ScoringState } from './state.js';
import { grown } from '../wire/grow.js';

export interface ScoringOptions {
  /** limits.max_series. */
  maxSeries: number;
  /** limits.max_future (ms): samples further ahead of the wall clock are neither learned nor scored. Default: no limit (offline replay). */
  maxFutureMs?: number;
  /** Keep each scored series' label bytes (ScoringState.labels), for snapshots. */
  keepLabels?: boolean;
  /** The idle clock (stopped while the datasource is down); a new one by default. */
  clock?: UpClock;
}

/**
 * The state a snapshot holds for one series, handed to Scoring.restoreSeries(): `count` links,
 * each naming the current instance it belongs to (-1: none, its model changed), its transform
 * state and its model's slots at `slotsAt[k]` in `slots`. Filled by the snapshot reader, reused.
 */
export class RestoredLinks {
  count = 0;
  inst = new Int32Array(8);
  prevValue = new Float64Array(8);
  prevTs = new Float64Array(8);
  slotsAt = new Int32Array(8);
  slots: Float64Array = new Float64Array(1024);
}

/**
 * The one place a sample meets a model. `score(batch, tenant, sink)` runs every sample of a
 * decoded batch through the instances (query x model) scoring its series and hands the output
 * rows to `sink`; the proxy, `anomstream replay` and bench/nab all call it, so what replay
 * shows for a file is what the proxy would write for the same samples.
 *
 * Per series of the batch: its id from the series index (hashed once per TimeSeries, matched
 * against the queries once per new series); per link of that id: the samples, through the
 * query's counter transform, into the instance's Scorer. Nothing is allocated per sample.
 * Passes: the series ids of the whole batch (hash, index), then every series scored (its rows
 * appended to one OutputRows), then the rows to the sink. Interleaved (score a series, encode
 * its rows, next series) the same work measured ~20% slower in process (bench/inproc: model and
 * encoder each evict the other's code and branch history from the core, series after series).
 * State lives in one ScoringState (index, links, model states, label bytes).
 *
 * Counting per (query, model) is typed-array increments (InstanceCounts), folded into the
 * registry at scrape time; a series scoring above 1 has its labels kept (KeptLabels) for the
 * status page. reload() swaps in a new spec between two score() calls, keeping the state of
 * the pairs whose settings are unchanged (see ScoringState.reshape()).
 *
 * Timestamps a model must not learn (issue 16), each forwarded as always and counted in
 * anomstream_samples_not_learned_total{reason}:
 *  - `future`: more than limits.max_future ahead of the wall clock: not scored either, so one
 *    wrong clock cannot make every later sample of the series look old;
 *  - `out_of_order`: older than the series' newest learned point (vmagent's concurrent queues
 *    replaying a backlog): scored against the current model (Scorer.predict), not learned, so
 *    every sample of a backlog still gets its anomaly_score;
 *  - `duplicate`: the newest learned point's timestamp again (a retry): no second score;
 *  - `out_of_order_counter`: an older sample under `transform: rate|increase`, whose increase
 *    is unknown (its predecessor is not kept): neither learned nor scored;
 *  - `non_finite` (NaN, ±Inf; stale markers are not counted), `before_1970` (negative time).
 * The common path pays one comparison per sample for all of this (t within [0, now + max_future]).
 */
export class Scoring {
  private st: ScoringState;
  readonly counts: InstanceCounts;
  readonly kept: KeptLabels;
  readonly clock: UpClock;
  private instances: InstanceSpec[];
  /** reader.ignore_labels (null: none): left out of the series index key. */
  private readonly ignore: LabelNames | null;
  private maxFutureMs: number;
  private readonly key = new SeriesKey();
  /** Label strings of new series (labelMap()), decoded once per distinct name or value. */
  private readonly strings = new Utf8Strings();
  /** Series no query can select by their metric name, skipped before the hash (null: any name may be selected). */
  private names: NameFilter | null;
  private readonly pred = new Prediction();
  private readonly out = new OutputRows();
  private readonly rows = new RowRuns();
  /** Per series of the batch: its id (-1: not tracked). */
  private ids = new Int32Array(1024);
  /**
   * The batch's wall clock (seconds) and latest timestamp scored (ms), for scoreLink(): read from
   * these fields, not passed, since a double argument (neither fits a small integer) is boxed on the
   * heap at every call that is not inlined (bench/inproc: 15 bytes of garbage per series, 1 sample each).
   */
  private wallSec = 0;
  private maxTs = 0;
  private readonly m: ReturnType<typeof scoringMetrics>;

  constructor(
    private _spec: ScoringSpec,
    private readonly o: ScoringOptions,
    registry: Registry,
    private labelLimits: LabelLimits = NO_LABEL_LIMITS,
  ) {
    this.instances = _spec.instances;
    this.names = nameFilter(_spec, this.strings);
    this.ignore = _spec.ignoreLabels.length > 0 ? new LabelNames(_spec.ignoreLabels) : null;
    this.st = new ScoringState(_spec, o.maxSeries, o.keepLabels ?? false);
    this.kept = new KeptLabels(() => this.st.labels);
    this.clock = o.clock ?? new UpClock();
    this.maxFutureMs = o.maxFutureMs ?? Infinity;
    this.counts = new InstanceCounts(registry, _spec.instances);
    this.m = scoringMetrics(registry);
    registry.onCollect(() => {
      this.m.series.set(this.st.index.size);
      this.counts.fold(this.st);
    });
  }

  /** The spec scored with now (the one of the last reload). */
  get spec(): ScoringSpec {
    return this._spec;
  }

  get state(): ScoringState {
    return this.st;
  }

  /**
   * Score with `spec` from now on (a config reload; call between two score() calls). Instances
   * of (query, model) pairs with unchanged settings keep their model state; the others start
   * empty, and each known series is matched again against their queries on its next sample.
   * reader.ignore_labels and shard are not changed by a reload (the series index is keyed by
   * them). Returns, per new instance, the old one whose state it kept (-1: none).
   */
  reload(spec: ScoringSpec, maxSeries: number, maxFutureMs?: number, labelLimits?: LabelLimits): Int32Array {
    this.counts.fold(this.st);
    const from = carriedFrom(this._spec, spec);
    this.st.reshape(spec, from);
    this.st.index.maxSeries = maxSeries;
    this.o.maxSeries = maxSeries;
    if (maxFutureMs !== undefined) this.maxFutureMs = this.o.maxFutureMs = maxFutureMs;
    // New series are checked against the new label limits; series scored already stay scored.
    if (labelLimits !== undefined) this.labelLimits = labelLimits;
    this.counts.reshape(spec.instances);
    this._spec = spec;
    this.instances = spec.instances;
    this.names = nameFilter(spec, this.strings);
    return from;
  }

  /** Drop all state (a restore that failed half-way must leave no half-restored model). */
  clear(): void {
    this.st = new ScoringState(this._spec, this.o.maxSeries, this.o.keepLabels ?? false);
    this.kept.prune(() => false);
  }

  /** The idle clock's reading at wall time `nowMs`, in the series index's unit (seconds). */
  seenNow(nowMs: number): number {
    return Math.floor(this.clock.at(nowMs) / 1000);
  }

  /**
   * Score every sample of `b` (whose series belong to `tenant`), writing output rows to `sink`.
   * Series are seen at `nowMs` (wall clock; idle eviction counts from it on the idle clock, and
   * limits.max_future from it).
   */
  score(b: WriteBatch, tenant: string | null, sink: ScoreSink, nowMs = Date.now()): void {
    const t0 = performance.now();
    const seed = tenant === null ? 0 : hashString(tenant);
    const now = this.seenNow(nowMs);
    const wallSec = (this.wallSec = Math.floor(nowMs / 1000));
    this.maxTs = nowMs + this.maxFutureMs;
    const index = this.st.index;
    const links = this.st.links;
    const key = this.key;
    const ignore = this.ignore;
    const names = this.names;
    const rows = this.rows;
    sink.beginBatch(b);
    rows.count = 0;
    let from = 0;
    const ids = (this.ids = grown(this.ids, b.seriesCount));
    let id = -1;
    try {
      // Series ids first (hash, index), then the models: each loop's code stays hot in the core.
      if (names !== null) names.beginBatch();
      for (let s = 0; s < b.seriesCount; s++) {
        if (names !== null && !names.selects(b, s)) {
          ids[s] = -1;
          continue;
        }
        if (ignore === null) index.hash(b, s, seed, key);
        else index.hashIgnoring(b, s, seed, key, ignore);
        id = index.findFrom(key, id + 1);
        if (id < 0) id = this.newSeries(b, s, key, now, tenant, sink);
        else {
          index.touch(id, now);
          if (this.st.matchedGen[id] !== this.st.generation) this.rematch(b, s, id, tenant, sink);
        }
        ids[s] = id;
      }
      for (let s = 0; s < b.seriesCount; s++) {
        const id = ids[s];
        if (id < 0) continue;
        let first = true;
        for (let k = links.first[id]; k >= 0; k = links.next[k]) {
          const n = this.scoreLink(b, s, k, from);
          if (links.aboveAt[k] === wallSec && !this.kept.has(id)) this.kept.keep(b, s, id, tenant);
          if (n === 0) continue;
          rows.add(s, id, first, links.inst[k], from, n);
          from += n;
          first = false;
        }
      }
    } finally {
      // Then the rows to the sink (what was scored, even if a later series threw).
      const out = this.out;
      for (let r = 0; r < rows.count; r++) sink.rows(b, rows.series[r], rows.id[r], rows.first[r] === 1, rows.inst[r], out, rows.from[r], rows.n[r]);
    }
    this.m.duration.observe((performance.now() - t0) / 1000);
  }

  /** Forget series not seen for `idleMs` on the idle clock: they start a new warm-up if they return. Returns how many. */
  evictIdle(idleMs: number, nowMs = Date.now()): number {
    const n = this.st.evictIdle(Math.floor((this.clock.at(nowMs) - idleMs) / 1000), this.forget);
    if (n > 0) this.m.evicted.inc(n);
    return n;
  }

  private readonly forget = (id: number): void => this.kept.forget(id);

  /**
   * Run link k's model over series s's samples (wall clock this.wallSec, seconds); fills the
   * output rows from row `from` on, returns how many. Counts what it learnt, scored above 1 and
   * whether the series just finished its warm-up, for the link's instance.
   */
  private scoreLink(b: WriteBatch, s: number, k: number, from: number): number {
    const maxTs = this.maxTs;
    const links = this.st.links;
    const ii = links.inst[k];
    const transform = this.instances[ii].transform;
    const scorer = this.instances[ii].scorer;
    const inst = this.st.instances[ii];
    const state = inst.state;
    const off = links.offset[k];
    const pred = this.pred;
    const first = b.smpFirst[s];
    const last = first + b.smpCount[s];
    const out = this.out;
    out.reserve(from + last - first);
    const cTs = out.ts;
    const cSample = out.sample;
    const cols = out.cols;
    const cScore = cols[Column.AnomalyScore];
    const cYhat = cols[Column.Yhat];
    const cLo = cols[Column.YhatLower];
    const cHi = cols[Column.YhatUpper];
    const cY = cols[Column.Y];
    let n = from;
    let learned = 0;
    let older = 0;
    let above = 0;
    let maxAbove = 0;
    const wasReady = scorer.isReady(state, off);
    for (let i = first; i < last; i++) {
      let y = b.value[i];
      const t = b.ts[i];
      if (!(t >= 0 && t <= maxTs)) {
        // Before 1970 (not encodable as a varint) or too far ahead: forwarded, not scored.
        this.notLearned(t < 0 ? Reason.Before1970 : Reason.Future);
        continue;
      }
      if (y - y !== 0) {
        // NaN or ±Inf: forwarded raw, never learned. A stale marker ends the generated series too.
        if (b.stale[i] === 1 && scorer.isReady(state, off)) {
          cTs[n] = t;
          cSample[n] = i;
          cScore[n] = cYhat[n] = cLo[n] = cHi[n] = cY[n] = NaN;
          n++;
        } else if (b.stale[i] === 0) this.notLearned(Reason.NonFinite);
        continue;
      }
      if (transform !== Transform.None) {
        const pt = links.prevTs[k];
        const pv = links.prevValue[k];
        if (!(t > pt)) {
          if (pt !== pt) {
            links.prevTs[k] = t;
            links.prevValue[k] = y;
          } else this.notLearned(t === pt ? Reason.Duplicate : Reason.OutOfOrderCounter);
          continue;
        }
        const inc = y >= pv ? y - pv : y; // a drop is a counter reset: it restarted from 0
        links.prevTs[k] = t;
        links.prevValue[k] = y;
        y = transform === Transform.Rate ? inc / ((t - pt) / 1000) : inc;
      }
      // the point goes in pred's fields: as arguments t and y would be boxed at each call (see Model)
      pred.t = t;
      pred.y = y;
      if (scorer.update(state, off, pred)) learned++;
      else if (t === scorer.lastTs(state, off)) {
        this.notLearned(Reason.Duplicate);
        continue;
      } else {
        scorer.predict(state, off, pred);
        older++;
      }
      if (!pred.ready) continue;
      if (pred.score > 1) {
        above++;
        if (pred.score > maxAbove) maxAbove = pred.score;
      }
      cTs[n] = t;
      cSample[n] = i;
      cScore[n] = pred.score;
      cYhat[n] = pred.yhat;
      cLo[n] = pred.lower;
      cHi[n] = pred.upper;
      cY[n] = y;
      n++;
    }
    const counts = this.counts;
    counts.scored[ii] += learned;
    if (!wasReady && learned > 0 && scorer.isReady(state, off)) {
      counts.warmed[ii]++;
      inst.ready++;
    }
    if (above > 0) {
      counts.anomalous[ii] += above;
      links.aboveScore[k] = maxAbove;
      links.aboveAt[k] = this.wallSec;
    }
    if (older > 0) this.m.notLearned[Reason.OutOfOrder].inc(older);
    return n - from;
  }

  private notLearned(r: Reason): void {
    this.m.notLearned[r].inc();
  }

  /**
   * First sight of series s: decide once whether this instance owns it (shard), match it against
   * every query, allocate model state. A series not owned keeps its id, without links: its later
   * samples are forwarded and cost one index lookup, and it is counted once.
   */
  private newSeries(b: WriteBatch, s: number, key: SeriesKey, now: number, tenant: string | null, sink: ScoreSink): number {
    const id = this.st.index.add(key, now);
    if (id < 0) {
      this.m.seriesLimit.inc();
      return -1;
    }
    if (!this.owns(b, s)) {
      this.m.notOwned.inc();
      this.st.links.setFirst(id, -1);
      this.st.matched(id);
      return id;
    }
    this.attach(id, b, s, tenant, sink, null);
    return id;
  }

  /** Does this instance own series s of `b` (shard:)? Always, without a shard setting. */
  owns(b: WriteBatch, s: number): boolean {
    const ownership = this._spec.ownership;
    return ownership === null || ownership.owns(b, s);
  }

  /**
   * A series from a snapshot: series s of `b` (its labels; samples are not read) under
   * `tenant`, last seen at `seen` (seenNow()'s clock). It goes through the same paths as a new
   * series (index id, matching against the current queries, state offsets, links, label
   * bytes); each instance that matches starts from the snapshot's state when `restored` holds
   * one for it, else cold. Returns the id; -1 when the index is full; DUPLICATE when the index
   * has the series already (files of several instances merged by `anomstream state`): the
   * state seen last is kept.
   */
  restoreSeries(b: WriteBatch, s: number, tenant: string | null, seen: number, restored: RestoredLinks, sink: ScoreSink): number {
    const index = this.st.index;
    const seed = tenant === null ? 0 : hashString(tenant);
    if (this.ignore === null) index.hash(b, s, seed, this.key);
    else index.hashIgnoring(b, s, seed, this.key, this.ignore);
    const have = index.find(this.key);
    if (have >= 0) {
      if (seen > index.seenAt(have)) {
        this.restoreLinks(have, restored);
        index.touch(have, seen);
      }
      return DUPLICATE;
    }
    const id = index.add(this.key, seen);
    if (id < 0) return -1;
    this.attach(id, b, s, tenant, sink, restored);
    return id;
  }

  /**
   * Before a restore of up to `series` series, `links[i]` of them with state for instance i,
   * with `labelBytes` of labels in all: room for them all at once (ScoringState.reserve()), for
   * at most limits.max_series series.
   */
  reserveForRestore(series: number, links: ArrayLike<number>, labelBytes: number, sink: ScoreSink): void {
    const room = Math.max(0, Math.min(series, this.st.index.maxSeries - this.st.index.size));
    const capped = Array.from(links, (n) => Math.min(n, room));
    this.st.reserve(room, capped, room < series ? Math.ceil((labelBytes * room) / series) : labelBytes);
    sink.reserve?.(this.st.index.end + room);
  }

  /** Series id's models that `restored` holds state for take it. */
  private restoreLinks(id: number, restored: RestoredLinks): void {
    const st = this.st;
    for (let k = st.links.first[id]; k >= 0; k = st.links.next[k]) {
      const ii = st.links.inst[k];
      const r = restoredIndex(restored, ii);
      if (r < 0) continue;
      const inst = st.instances[ii];
      const off = st.links.offset[k];
      if (inst.scorer.isReady(inst.state, off)) inst.ready--;
      inst.state.set(restored.slots.subarray(restored.slotsAt[r], restored.slotsAt[r] + inst.slots), off);
      if (inst.scorer.isReady(inst.state, off)) inst.ready++;
      st.links.prevValue[k] = restored.prevValue[r];
      st.links.prevTs[k] = restored.prevTs[r];
    }
  }

  /** Match series `id` (series s of `b`) against every query; state per matching instance, fresh or restored. */
  private attach(id: number, b: WriteBatch, s: number, tenant: string | null, sink: ScoreSink, restored: RestoredLinks | null): void {
    const st = this.st;
    b.labels(s);
    const over = overLabelLimit(b, s, this.labelLimits);
    if (over >= 0) {
      // Forwarded (it was already), not scored: VictoriaMetrics applies its own limits to it.
      this.m.overLimit[over].inc();
      st.links.setFirst(id, -1);
      st.matched(id);
      return;
    }
    const labels = labelMap(b, s, this.strings);
    let first = -1;
    for (const q of this._spec.queries) if (matches(q.selector, labels)) first = this.link(q.instances, first, restored);
    st.links.setFirst(id, first);
    st.matched(id);
    if (first < 0) return;
    st.labels?.keep(id, b, s, tenant);
    sink.seriesAdded(b, s, id, tenant, labels);
  }

  /**
   * First sight of series s (id `id`) since a reload: match it against the queries of the
   * instances born since it was last matched (new or changed pairs, of however many reloads),
   * and give it to the sink again (the emitter was rebuilt with the new spec and plans the
   * series anew). A series this instance does not own (shard:) or over a label limit stays
   * without links.
   */
  private rematch(b: WriteBatch, s: number, id: number, tenant: string | null, sink: ScoreSink): void {
    const st = this.st;
    b.labels(s);
    if (!this.owns(b, s) || overLabelLimit(b, s, this.labelLimits) >= 0) {
      st.matched(id);
      return;
    }
    const labels = labelMap(b, s, this.strings);
    let first = st.links.first[id];
    for (const q of this._spec.queries) {
      const fresh = q.instances.filter((ii) => st.bornSince(ii, id));
      if (fresh.length > 0 && matches(q.selector, labels)) first = this.link(fresh, first, null);
    }
    st.links.setFirst(id, first);
    st.matched(id);
    if (first < 0) return;
    if (st.labels !== null && !st.labels.has(id)) st.labels.keep(id, b, s, tenant);
    sink.seriesAdded(b, s, id, tenant, labels);
  }

  /**
   * New state in each of `instances` for one series, linked in front of `first`; returns the
   * new first link. An instance `restored` holds state for starts from it, the others cold.
   */
  private link(instances: number[], first: number, restored: RestoredLinks | null): number {
    const st = this.st;
    for (const ii of instances) {
      const inst = st.instances[ii];
      const off = st.allocate(ii);
      first = st.links.add(ii, off, first);
      const r = restored === null ? -1 : restoredIndex(restored, ii);
      if (r < 0) {
        this.instances[ii].scorer.init(inst.state, off);
        continue;
      }
      const state = inst.state;
      const src = restored!.slots;
      const from = restored!.slotsAt[r];
      for (let j = 0, n = inst.slots; j < n; j++) state[off + j] = src[from + j];
      st.links.prevValue[first] = restored!.prevValue[r];
      st.links.prevTs[first] = restored!.prevTs[r];
      if (inst.scorer.isReady(state, off)) inst.ready++;
    }
    return first;
  }
}

/** The name filter of `spec`'s queries that feed a model (see NameFilter). */
function nameFilter(spec: ScoringSpec, strings: Utf8Strings): NameFilter | null {
  return NameFilter.from(
    spec.queries.filter((q) => q.instances.length > 0).map((q) => q.selector),
    strings,
  );
}

/** Series s's labels as strings: once per new series (and once after a reload), never per sample. */
function labelMap(b: WriteBatch, s: number, strings: Utf8Strings): Map<string, string> {
  const labels = new Map<string, string>();
  b.labels(s);
  const l = b.lbl;
  const buf = b.buf;
  for (let j = b.lblFirst[s], e = j + b.lblCount[s]; j < e; j++) {
    const o = LabelInt.Count * j;
    labels.set(strings.get(buf, l[o + LabelInt.NameStart], l[o + LabelInt.NameEnd]), strings.get(buf, l[o + LabelInt.ValueStart], l[o + LabelInt.ValueEnd]));
  }
  return labels;
}

/** limits.max_labels_per_series, max_label_name_len, max_label_value_len (bytes). */
export interface LabelLimits {
  maxLabels: number;
  maxNameLen: number;
  maxValueLen: number;
}

const NO_LABEL_LIMITS: LabelLimits = { maxLabels: Infinity, maxNameLen: Infinity, maxValueLen: Infinity };

/** The settings a series can break, in the order overLabelLimit() reports them. */
export const LABEL_LIMIT_SETTINGS = ['limits.max_labels_per_series', 'limits.max_label_name_len', 'limits.max_label_value_len'] as const;

/** Which of LABEL_LIMIT_SETTINGS series s of `b` breaks (its labels filled), or -1. */
function overLabelLimit(b: WriteBatch, s: number, lim: LabelLimits): number {
  const first = b.lblFirst[s];
  const n = b.lblCount[s];
  if (n > lim.maxLabels) return 0;
  const l = b.lbl;
  for (let j = first; j < first + n; j++) {
    const o = LabelInt.Count * j;
    if (l[o + LabelInt.NameEnd] - l[o + LabelInt.NameStart] > lim.maxNameLen) return 1;
    if (l[o + LabelInt.ValueEnd] - l[o + LabelInt.ValueStart] > lim.maxValueLen) return 2;
  }
  return -1;
}

/** Scoring.restoreSeries(): the series is there already. */
export const DUPLICATE = -2;

/** Which of `r`'s links holds instance ii's state, or -1. */
function restoredIndex(r: RestoredLinks, ii: number): number {
  for (let k = 0; k < r.count; k++) if (r.inst[k] === ii) return k;
  return -1;
}

/** FNV-1a of the tenant: the series index's seed, so one label set under two tenants is two series. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Why a sample of a scored series was not learned (the `reason` label). */
const enum Reason {
  Future = 0,
  OutOfOrder = 1,
  Duplicate = 2,
  OutOfOrderCounter = 3,
  NonFinite = 4,
  Before1970 = 5,
}
const REASONS = ['future', 'out_of_order', 'duplicate', 'out_of_order_counter', 'non_finite', 'before_1970'];

function scoringMetrics(r: Registry) {
  const help =
    'Samples of scored series a model did not learn, by reason (all forwarded): future (beyond limits.max_future: not scored), out_of_order (older than the newest learned: scored, not learned), duplicate (the newest timestamp again: not scored), out_of_order_counter (older, under a transform: not scored), non_finite (NaN/Inf), before_1970.';
  return {
    duration: r.histogram('anomstream_scoring_duration_seconds', 'Time to score one accepted request (match, models, generated series encoded), seconds.'),
    notLearned: REASONS.map((reason): Metric => r.counter('anomstream_samples_not_learned_total', help, lbl('reason', reason))),
    series: r.gauge('anomstream_series', 'Series in the index: scored, or of a metric some query selects.'),
    evicted: r.counter('anomstream_series_evicted_total', 'Series forgotten after limits.series_idle_timeout without a sample (time the datasource was down does not count).'),
    seriesLimit: r.counter('anomstream_series_limit_reached_total', 'New series not scored because limits.max_series was reached.'),
    overLimit: LABEL_LIMIT_SETTINGS.map((setting) =>
      r.counter('anomstream_series_over_label_limits_total', 'New series forwarded but not scored because they break a per-series limit, by the setting.', lbl('reason', setting)),
    ),
    notOwned: r.counter(
      'anomstream_series_not_owned_total',
      "New series not scored because their shard (shard:) is another instance's: the sender routes them here by mistake (check its hashmod rules or -remoteWrite.shardByURL flags).",
    ),
  };
}
