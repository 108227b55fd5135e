/**
 * deploy/'s files as the tests read them, and which metric names its rules and dashboards may
 * use: the ones the README documents (anomstream's self-monitoring), the generated series, and
 * `up` (written by every scraper). A misspelt name in a rule never fires and in a panel draws
 * nothing, without any error: metricNames() + documentedMetrics() is the check that catches it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../e2e/harness.js';

export const DEPLOY = join(REPO_ROOT, 'deploy');

export function deployFile(rel: string): string {
  return readFileSync(join(DEPLOY, rel), 'utf8');
}

export const GENERATED_SERIES = ['anomaly_score', 'yhat', 'yhat_lower', 'yhat_upper', 'y'];

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/**
 * Metric names of the selectors in a PromQL expression: `name`, `name{...}`, `name[5m]` and
 * `{__name__="name"}` (not functions, keywords, label names or numbers).
 */
export function metricNames(expr: string): string[] {
  const names = new Set<string>();
  for (const m of expr.matchAll(/__name__="([^"$]+)"/g)) names.add(m[1]);
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\[[^\]]*\]/g, '[]')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  // Whole identifiers not followed by `(` (functions) nor preceded by a digit or `.` (1e3, 0.5).
  for (const m of bare.matchAll(/(?<![a-zA-Z0-9_:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![a-zA-Z0-9_:]|\s*\()/g)) {
    if (!KEYWORDS.has(m[1].toLowerCase())) names.add(m[1]);
  }
  return [...names];
}

/**
 * `anomstream_*`, `process_*` and `nodejs_*` names the README mentions in backticks, plus the
 * generated series and `up`; a histogram of the metrics table (`| \`name\` | histogram |`) also
 * as its `_bucket`, `_sum` and `_count` series.
 */
export function documentedMetrics(): Set<string> {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const names = new Set([...GENERATED_SERIES, 'up']);
  for (const m of readme.matchAll(/`((?:anomstream|process|nodejs)_[a-z0-9_]+)/g)) names.add(m[1]);
  for (const m of readme.matchAll(/^\| `([a-z0-9_]+)` \| histogram \|/gm)) for (const suffix of ['_bucket', '_sum', '_count']) names.add(m[1] + suffix);
  return names;
}
