import { identifierOf } from '../scoring/selector.js';
import { varintLen, writeVarint } from '../wire/varint.js';

// writer.metric_format compiled once: for each (query, model, variable) the protobuf bytes of
// the labels every generated series of that kind starts with, and the set of input label
// names those labels replace.
//
// Output labels = metric_format (placeholders filled) + model_alias (when a query has several
// models, as vmanomaly does) + `source_metric` (the input's metric name, since __name__ is
// replaced: without it two inputs `a{x="1"}` and `b{x="1"}` would map to one output series)
// + every other input label. On a clash the generated label wins over the input's.

export const SOURCE_METRIC_LABEL = 'source_metric';
export const MODEL_ALIAS_LABEL = 'model_alias';

const enc = new TextEncoder();

function fillPlaceholders(tpl: string, v: string, queryKey: string): string {
  return tpl.replaceAll('$VAR', v).replaceAll('$QUERY_KEY', queryKey);
}

/** Labels (name -> value) of one generated variable, before the input's labels are added. */
export function formatLabels(format: Record<string, string>, v: string, queryKey: string, modelAlias: string | null): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, tpl] of Object.entries(format)) out.push([k, fillPlaceholders(tpl, v, queryKey)]);
  if (modelAlias !== null && !(MODEL_ALIAS_LABEL in format)) out.push([MODEL_ALIAS_LABEL, modelAlias]);
  return out;
}

/** Names of input labels dropped from generated series: those replaced, and `ignored` ones (reader.ignore_labels). */
export function replacedLabelNames(format: Record<string, string>, ignored: readonly string[] = []): string[] {
  return [...new Set(['__name__', SOURCE_METRIC_LABEL, MODEL_ALIAS_LABEL, ...Object.keys(format), ...ignored])];
}

/** Protobuf bytes of Label entries (TimeSeries field 1) for these pairs. */
export function encodeLabels(pairs: [string, string][]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [n, v] of pairs) {
    const nb = enc.encode(n);
    const vb = enc.encode(v);
    const inner = 1 + varintLen(nb.length) + nb.length + 1 + varintLen(vb.length) + vb.length;
    const e = new Uint8Array(1 + varintLen(inner) + inner);
    e[0] = 0x0a; // TimeSeries.labels
    let p = writeVarint(e, 1, inner);
    e[p++] = 0x0a; // Label.name
    p = writeVarint(e, p, nb.length);
    e.set(nb, p);
    p += nb.length;
    e[p++] = 0x12; // Label.value
    p = writeVarint(e, p, vb.length);
    e.set(vb, p);
    parts.push(e);
  }
  return Uint8Array.from(Buffer.concat(parts));
}

/** A PromQL string literal: "..." with `\`, `"` and newlines escaped. */
function quoted(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/**
 * A series selector for exactly the generated series of one input series (`input`: its labels,
 * `__name__` included) written by one instance: its variables `vars` (provide_series), the
 * metric_format labels (a label whose value differs per variable, `__name__` always, as a regex
 * of the values), model_alias, source_metric and the input's other labels. For links to vmui.
 */
export function generatedSelector(format: Record<string, string>, vars: readonly string[], queryKey: string, modelAlias: string | null, input: [string, string][]): string {
  const values = new Map<string, Set<string>>();
  for (const v of vars) for (const [k, val] of formatLabels(format, v, queryKey, modelAlias)) values.set(k, (values.get(k) ?? new Set()).add(val));
  const parts: string[] = [];
  for (const [k, vs] of values) {
    const list = [...vs];
    parts.push(list.length === 1 ? `${identifierOf(k)}=${quoted(list[0])}` : `${identifierOf(k)}=~${quoted(list.map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'))}`);
  }
  const replaced = new Set(replacedLabelNames(format));
  const name = input.find(([k]) => k === '__name__')?.[1];
  if (name !== undefined && !values.has(SOURCE_METRIC_LABEL)) parts.push(`${SOURCE_METRIC_LABEL}=${quoted(name)}`);
  for (const [k, v] of input) if (!replaced.has(k)) parts.push(`${identifierOf(k)}=${quoted(v)}`);
  return `{${parts.join(', ')}}`;
}

/** A series selector for exactly one input series. */
export function inputSelector(input: [string, string][]): string {
  return `{${input.map(([k, v]) => `${identifierOf(k)}=${quoted(v)}`).join(', ')}}`;
}
