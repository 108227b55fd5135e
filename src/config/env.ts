import { isMap, isPair, isScalar, isSeq, parse, parseDocument, type Node } from 'yaml';
import type { Issue } from './issues.js';

/**
 * vmanomaly's (and vmagent's) environment placeholders: `%{NAME}` anywhere in a scalar of the
 * file, a key or a value, whole (`password: %{DS_PASSWORD}`) or part of it
 * (`datasource_url: http://%{VM_HOST}:8428`). vmanomaly writes them unquoted, which YAML does
 * not allow (`%` starts a directive), so each placeholder is swapped for a token before the YAML
 * is parsed and the token for the variable's value after, scalar by scalar: a value can never
 * change the structure of the file, and a `#` or `: ` in a password stays part of it.
 *
 * A plain (unquoted) scalar that is exactly one placeholder takes the type YAML would give the
 * value (`max_series: %{MAX}` with MAX=1000 is the number 1000); otherwise the value is a string.
 * A variable that is not set is a config error naming the path and the variable (vmanomaly
 * leaves the text as it is, which then fails further on with a less helpful message).
 * Placeholders in comments are ignored.
 */
const PLACEHOLDER = /%\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const TOKEN = /__anomstream_env_(\d+)__/g;
const WHOLE_TOKEN = /^__anomstream_env_(\d+)__$/;

export interface ParsedYaml {
  value: unknown;
  /** Unset variables, each at the path of the scalar that names it. */
  issues: Issue[];
  /** YAML syntax errors, `3:5: <what>` (line:column); when present, value is undefined. */
  syntaxErrors: string[];
}

export function parseYamlWithEnv(text: string, env: NodeJS.ProcessEnv): ParsedYaml {
  const names: string[] = [];
  const swapped = text.replace(PLACEHOLDER, (_, name: string) => `__anomstream_env_${names.push(name) - 1}__`);
  const doc = parseDocument(swapped, { uniqueKeys: true });
  const back = (s: string): string => s.replace(TOKEN, (_, i: string) => `%{${names[Number(i)]}}`);
  if (doc.errors.length > 0) {
    const at = (e: (typeof doc.errors)[number]): string => (e.linePos ? `${e.linePos[0].line}:${e.linePos[0].col}: ` : '');
    const what = (e: (typeof doc.errors)[number]): string =>
      e.code === 'MULTIPLE_DOCS' ? 'a second YAML document starts here (after --- or ...): expected one configuration per file' : back(e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, ''));
    return { value: undefined, issues: [], syntaxErrors: doc.errors.map((e) => at(e) + what(e)) };
  }
  const issues: Issue[] = [];
  if (names.length > 0) walk(doc.contents, [], names, env, issues);
  return { value: doc.toJS({ maxAliasCount: 1000 }), issues, syntaxErrors: [] };
}

function walk(node: unknown, path: PropertyKey[], names: string[], env: NodeJS.ProcessEnv, issues: Issue[]): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      let key: PropertyKey = isScalar(pair.key) ? String(pair.key.value) : '?';
      if (isScalar(pair.key)) {
        substitute(pair.key, path, names, env, issues);
        key = String(pair.key.value);
      }
      walk(pair.value, [...path, key], names, env, issues);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => walk(item, [...path, i], names, env, issues));
  } else if (isScalar(node)) {
    substitute(node, path, names, env, issues);
  }
}

function substitute(node: Node & { value: unknown; type?: string }, path: PropertyKey[], names: string[], env: NodeJS.ProcessEnv, issues: Issue[]): void {
  if (typeof node.value !== 'string' || !node.value.includes('__anomstream_env_')) return;
  const text = node.value;
  let unset = false;
  const value = text.replace(TOKEN, (_, i: string) => {
    const name = names[Number(i)];
    const v = env[name];
    if (v === undefined) {
      unset = true;
      issues.push({ path, message: `environment variable ${name} is not set (the file says %{${name}}): set it in anomstream's environment, or write the value` });
      return `%{${name}}`;
    }
    return v;
  });
  const whole = !unset && WHOLE_TOKEN.test(text) && node.type === 'PLAIN';
  node.value = whole ? typed(value) : value;
}

/** The number or boolean YAML reads in `text`, else `text` itself (never a map or a list). */
function typed(text: string): unknown {
  try {
    const v: unknown = parse(text, { logLevel: 'silent' });
    return typeof v === 'number' || typeof v === 'boolean' ? v : text;
  } catch {
    return text;
  }
}
