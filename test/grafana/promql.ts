/**
 * What a PromQL expression reads, and whether a Prometheus exposition has it: the checks of the
 * Grafana dashboard's queries against what sipedge really exports (test/helm/grafana-dashboard.test.ts).
 *
 * `references(expr)` tokenizes an expression (strings, durations, Grafana variables such as
 * `$__rate_interval` and `$edge`, label matchers, ranges) and returns each series selector
 * (`metric{label="value"}`), the labels of `by (...)`/`without (...)`/`on (...)` clauses, and the
 * functions called. `checkExpression(expr, exposition)` then reports every metric name the
 * exposition does not have (histograms as their `_bucket`, `_sum`, `_count` series), every label
 * the metric does not carry (besides the target labels Prometheus adds) and every label value no
 * series has.
 */

export interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export interface Selector {
  metric: string;
  matchers: Matcher[];
}

export interface References {
  selectors: Selector[];
  /** Labels named in by, without, on, ignoring, group_left and group_right clauses. */
  grouping: string[];
  functions: string[];
}

/** PromQL's aggregation operators and functions (Prometheus 2 and 3). */
const FUNCTIONS = new Set([
  // Aggregation operators.
  'sum',
  'avg',
  'min',
  'max',
  'count',
  'count_values',
  'group',
  'stddev',
  'stdvar',
  'topk',
  'bottomk',
  'quantile',
  'limitk',
  'limit_ratio',
  // Functions.
  'abs',
  'absent',
  'absent_over_time',
  'ceil',
  'changes',
  'clamp',
  'clamp_max',
  'clamp_min',
  'day_of_month',
  'day_of_week',
  'day_of_year',
  'days_in_month',
  'delta',
  'deriv',
  'double_exponential_smoothing',
  'exp',
  'floor',
  'histogram_avg',
  'histogram_count',
  'histogram_fraction',
  'histogram_quantile',
  'histogram_stddev',
  'histogram_stdvar',
  'histogram_sum',
  'holt_winters',
  'hour',
  'idelta',
  'increase',
  'irate',
  'label_join',
  'label_replace',
  'ln',
  'log2',
  'log10',
  'minute',
  'month',
  'predict_linear',
  'rate',
  'resets',
  'round',
  'scalar',
  'sgn',
  'sort',
  'sort_by_label',
  'sort_by_label_desc',
  'sort_desc',
  'sqrt',
  'time',
  'timestamp',
  'vector',
  'year',
  'avg_over_time',
  'min_over_time',
  'max_over_time',
  'sum_over_time',
  'count_over_time',
  'quantile_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'last_over_time',
  'present_over_time',
  'mad_over_time',
]);
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan']);

type Token =
  | { type: 'ident'; text: string }
  | { type: 'string'; text: string }
  | { type: 'number' | 'duration' | 'variable'; text: string }
  | { type: 'punct'; text: string };

const DURATION = /^(?:\d+(?:ms|[smhdwy]))+/;

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let rest = expr;
  while (rest.length > 0) {
    let m: RegExpExecArray | null;
    if ((m = /^\s+/.exec(rest))) {
      // Whitespace.
    } else if ((m = /^#[^\n]*/.exec(rest))) {
      // A comment.
    } else if ((m = /^("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)/.exec(rest))) {
      tokens.push({ type: 'string', text: m[0].slice(1, -1).replace(/\\(.)/g, '$1') });
    } else if ((m = /^\$\{[A-Za-z0-9_:.]+\}|^\$[A-Za-z0-9_]+/.exec(rest))) {
      tokens.push({ type: 'variable', text: m[0] });
    } else if ((m = DURATION.exec(rest))) {
      tokens.push({ type: 'duration', text: m[0] });
    } else if ((m = /^(?:0x[0-9a-fA-F]+|\d*\.?\d+(?:[eE][+-]?\d+)?)/.exec(rest))) {
      tokens.push({ type: 'number', text: m[0] });
    } else if ((m = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(rest))) {
      tokens.push({ type: 'ident', text: m[0] });
    } else if ((m = /^(?:=~|!~|!=|==|<=|>=|[-+*/%^(){}[\],=<>@:])/.exec(rest))) {
      tokens.push({ type: 'punct', text: m[0] });
    } else {
      throw new Error(`PromQL: cannot read ${JSON.stringify(rest.slice(0, 20))} in ${expr}`);
    }
    rest = rest.slice(m[0].length);
  }
  return tokens;
}

/** The selectors, grouping labels and functions of a PromQL expression. */
export function references(expr: string): References {
  const tokens = tokenize(expr);
  const result: References = { selectors: [], grouping: [], functions: [] };
  const at = (i: number) => tokens[i];
  const isPunct = (i: number, text: string) => at(i)?.type === 'punct' && at(i)?.text === text;

  /** Reads `{label op "value", ...}` from the `{` at i; returns the matchers and the index after `}`. */
  const matchers = (i: number): [Matcher[], number] => {
    const found: Matcher[] = [];
    let j = i + 1;
    while (!isPunct(j, '}')) {
      const label = at(j);
      const op = at(j + 1);
      const value = at(j + 2);
      if (label?.type !== 'ident' || op?.type !== 'punct' || value?.type !== 'string') {
        throw new Error(`PromQL: a label matcher expected at ${JSON.stringify(label?.text)} in ${expr}`);
      }
      if (!['=', '!=', '=~', '!~'].includes(op.text)) throw new Error(`PromQL: matcher operator ${op.text} in ${expr}`);
      found.push({ label: label.text, op: op.text as Matcher['op'], value: value.text });
      j += 3;
      if (isPunct(j, ',')) j += 1;
    }
    return [found, j + 1];
  };

  let i = 0;
  while (i < tokens.length) {
    const token = tokens[i]!;
    if (token.type === 'punct' && token.text === '[') {
      // A range or subquery: durations and variables.
      while (i < tokens.length && !isPunct(i, ']')) i += 1;
      i += 1;
    } else if (token.type === 'punct' && token.text === '{') {
      const [found, next] = matchers(i);
      const name = found.find((m) => m.label === '__name__' && m.op === '=');
      if (name === undefined) throw new Error(`PromQL: a selector without a metric name in ${expr}`);
      result.selectors.push({ metric: name.value, matchers: found.filter((m) => m !== name) });
      i = next;
    } else if (token.type === 'ident' && GROUPING.has(token.text) && isPunct(i + 1, '(')) {
      i += 2;
      while (i < tokens.length && !isPunct(i, ')')) {
        if (at(i)?.type === 'ident') result.grouping.push(at(i)!.text);
        i += 1;
      }
      i += 1;
    } else if (
      token.type === 'ident' &&
      (isPunct(i + 1, '(') || (FUNCTIONS.has(token.text) && ['by', 'without'].includes(at(i + 1)?.text ?? '')))
    ) {
      // A function call, or an aggregation with its clause first: sum by (le) (...).
      result.functions.push(token.text);
      i += 1;
    } else if (token.type === 'ident' && (KEYWORDS.has(token.text.toLowerCase()) || GROUPING.has(token.text))) {
      // A binary operator or modifier, or group_left/group_right without labels.
      i += 1;
    } else if (token.type === 'ident') {
      let found: Matcher[] = [];
      let next = i + 1;
      if (isPunct(i + 1, '{')) [found, next] = matchers(i + 1);
      result.selectors.push({ metric: token.text, matchers: found });
      i = next;
    } else {
      i += 1;
    }
  }
  return result;
}

/** The metric names an expression reads. */
export function metricNames(expr: string): string[] {
  return [...new Set(references(expr).selectors.map((s) => s.metric))];
}

/** A Prometheus text exposition: its series names, and for each the labels and values seen. */
export interface Exposition {
  /** Metric family name to type (counter, gauge, histogram, summary, untyped). */
  families: Map<string, string>;
  /** Series name (e.g. `x_bucket`, `x_total`) to label name to the values seen. */
  series: Map<string, Map<string, Set<string>>>;
}

export function parseExposition(text: string): Exposition {
  const families = new Map<string, string>();
  const series = new Map<string, Map<string, Set<string>>>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      families.set(type[1]!, type[2]!);
      continue;
    }
    if (line.startsWith('#') || line.trim() === '') continue;
    const sample = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? \S+/.exec(line);
    if (!sample) throw new Error(`exposition: cannot read ${line}`);
    const labels = series.get(sample[1]!) ?? new Map<string, Set<string>>();
    series.set(sample[1]!, labels);
    for (const [, name, value] of (sample[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      const values = labels.get(name!) ?? new Set<string>();
      labels.set(name!, values);
      values.add(value!.replace(/\\(.)/g, '$1'));
    }
  }
  // A family without samples yet (a labelled histogram nothing observed) still has its names.
  for (const [family, type] of families) {
    const names =
      type === 'histogram'
        ? [`${family}_bucket`, `${family}_sum`, `${family}_count`]
        : type === 'summary'
          ? [family, `${family}_sum`, `${family}_count`]
          : [family];
    for (const name of names) if (!series.has(name)) series.set(name, new Map());
  }
  return { families, series };
}

/** Labels Prometheus attaches to every scraped series (target labels), not the process. */
export const TARGET_LABELS: readonly string[] = [
  'job',
  'instance',
  'namespace',
  'pod',
  'container',
  'service',
  'endpoint',
];

/** A PromQL regex matcher: fully anchored, as Prometheus applies it. */
function matches(op: Matcher['op'], pattern: string, value: string): boolean {
  const regex = new RegExp(`^(?:${pattern})$`);
  return op === '=~' ? regex.test(value) : !regex.test(value);
}

/** The closest name of `names` to `name` (by edit distance), for "did you mean". */
function closest(name: string, names: Iterable<string>): string | undefined {
  let best: [string, number] | undefined;
  for (const candidate of names) {
    const d = distance(name, candidate);
    if (best === undefined || d < best[1]) best = [candidate, d];
  }
  return best !== undefined && best[1] <= Math.max(3, name.length / 4) ? best[0] : undefined;
}

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * What an expression reads that the exposition does not have: unknown functions, metric names,
 * labels (of matchers and grouping clauses) and label values (of `=` matchers, and regex
 * matchers that match no value seen). Grafana variables in values (`$edge`) are not checked.
 */
export function checkExpression(expr: string, exposition: Exposition): string[] {
  const problems: string[] = [];
  const refs = references(expr);
  for (const name of refs.functions) {
    if (!FUNCTIONS.has(name)) problems.push(`${name}(): not a PromQL function`);
  }
  if (refs.selectors.length === 0) problems.push('reads no metric');
  const labelsInScope = new Set<string>(TARGET_LABELS);
  for (const { metric, matchers } of refs.selectors) {
    const labels = exposition.series.get(metric);
    if (labels === undefined) {
      const hint = closest(metric, exposition.series.keys());
      problems.push(`${metric}: not exported${hint === undefined ? '' : ` (did you mean ${hint}?)`}`);
      continue;
    }
    for (const label of labels.keys()) labelsInScope.add(label);
    for (const { label, op, value } of matchers) {
      if (TARGET_LABELS.includes(label)) continue;
      const values = labels.get(label);
      if (values === undefined) {
        problems.push(`${metric}{${label}}: no such label (${[...labels.keys()].join(', ') || 'none'})`);
      } else if (value.includes('$')) {
        // A Grafana variable: its values come from the data.
      } else if (op === '=' && !values.has(value)) {
        problems.push(`${metric}{${label}="${value}"}: no such value (${[...values].join(', ')})`);
      } else if ((op === '=~' || op === '!~') && ![...values].some((v) => matches(op, value, v))) {
        problems.push(`${metric}{${label}${op}"${value}"}: matches no value (${[...values].join(', ')})`);
      }
    }
  }
  for (const label of refs.grouping) {
    if (!labelsInScope.has(label)) problems.push(`by/without/on (${label}): no metric of the expression has it`);
  }
  return problems;
}
