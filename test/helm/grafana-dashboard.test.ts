/**
 * The Grafana dashboard (helm/sipedge/dashboards/sipedge.json, the one copy: the chart ships it in a
 * ConfigMap, deploy/grafana/ points at it):
 *
 * - every PromQL expression of its panels and variables reads only what sipedge really exports:
 *   the `/metrics` text of an edge and of a worker, produced here by the same classes the
 *   processes serve (EdgeMetrics with its process metrics, WorkerMetrics), after recording one
 *   observation of each histogram label so that every series exists. A misspelt metric, label or
 *   label value fails (test/grafana/promql.ts, with unit cases below);
 * - it is a Grafana 10+ dashboard with a Prometheus data source variable and the panels issue 18
 *   asks for;
 * - the chart renders it, with `grafana.dashboard.enabled`, as a ConfigMap with the sidecar's label.
 *
 * In test/helm because the integration project (test/vitest.config.ts) runs test/helm/**, not
 * test/grafana/**.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EdgeMetrics } from '@sipedge/edge';
import { WorkerMetrics } from '@sipedge/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { type Exposition, checkExpression, metricNames, parseExposition, references } from '../grafana/promql.js';
import { helm, helmBinary } from './helm.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const chart = join(root, 'helm/sipedge');
const DASHBOARD_FILE = join(chart, 'dashboards/sipedge.json');
const dashboardText = readFileSync(DASHBOARD_FILE, 'utf8');

interface Target {
  expr: string;
  refId: string;
  legendFormat?: string;
  datasource?: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
  fieldConfig?: { defaults: { unit?: string } };
}
interface Variable {
  name: string;
  type: string;
  query: string | { query: string };
  datasource?: { type: string; uid: string };
  includeAll?: boolean;
  allValue?: string;
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
}
const dashboard = JSON.parse(dashboardText) as Dashboard;
const queryPanels = dashboard.panels.filter((p) => p.type !== 'row');

/** The `/metrics` text of an edge and of a worker, every histogram label observed once. */
async function exportedMetrics(): Promise<string> {
  // As the edge creates it (Edge: processMetrics default true): sipedge_edge_* and the process metrics.
  const edge = new EdgeMetrics();
  edge.handoff(0.0004);
  // The only edge series not created at zero: one per status code sent.
  edge.statelessResponse(503);
  const worker = new WorkerMetrics();
  const now = Date.now();
  worker.transactionOpened();
  worker.transactionFinished(now - 120, now);
  worker.handedOff(now - 2, now);
  worker.timerFired('deadline', now - 5, now);
  worker.timerFired('retransmission', now - 1, now);
  const operations: Parameters<WorkerMetrics['redis']>[0][] = [
    'load',
    'commit',
    'deadline-add',
    'deadline-move',
    'deadline-disarm',
    'dialog',
  ];
  for (const operation of operations) await worker.redis(operation, async () => undefined);
  // As every Worker registers it: the fleet's live dialogs, read from the dialog store.
  worker.observeDialogs(async () => 2);
  return `${await edge.registry.metrics()}\n${await worker.registry.metrics()}`;
}

let exposition: Exposition;

beforeAll(async () => {
  exposition = parseExposition(await exportedMetrics());
  await helmBinary();
}, 120_000);

/** Every PromQL expression of the dashboard: `[where, expr]`. */
function expressions(): [string, string][] {
  const found: [string, string][] = [];
  for (const panel of queryPanels) {
    for (const target of panel.targets ?? []) found.push([`panel "${panel.title}" ${target.refId}`, target.expr]);
  }
  for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
    const query = typeof variable.query === 'string' ? variable.query : variable.query.query;
    // Grafana's label_values(<series selector>, <label>): the selector is PromQL, the label must exist on it.
    const labelValues = /^label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\)$/.exec(query);
    expect(labelValues, `variable ${variable.name}: ${query}`).not.toBeNull();
    found.push([`variable $${variable.name}`, `count by (${labelValues![2]}) (${labelValues![1]})`]);
  }
  return found;
}

describe('the PromQL checks (test/grafana/promql.ts)', () => {
  it('finds the metric names of an expression, not its labels, functions, ranges, strings or variables', () => {
    const expr =
      'histogram_quantile(0.99, sum by (le, pod) (rate(sipedge_worker_redis_duration_seconds_bucket{namespace=~"$namespace", operation="load"}[$__rate_interval])))' +
      ' / on (pod) group_left sum without (kind) (rate(sipedge_edge_requests_total[5m] offset 1h)) > bool 0.5 or vector(1)';
    expect(metricNames(expr)).toEqual(['sipedge_worker_redis_duration_seconds_bucket', 'sipedge_edge_requests_total']);
    const refs = references(expr);
    expect(refs.grouping).toEqual(['le', 'pod', 'pod', 'kind']);
    expect(refs.functions).toEqual(['histogram_quantile', 'sum', 'rate', 'sum', 'rate', 'vector']);
    expect(refs.selectors[0]!.matchers).toEqual([
      { label: 'namespace', op: '=~', value: '$namespace' },
      { label: 'operation', op: '=', value: 'load' },
    ]);
    expect(metricNames('{__name__="up", job="x"}')).toEqual(['up']);
  });

  it('accepts what sipedge exports: counters, gauges, histogram series, their labels and values', () => {
    for (const expr of [
      'sum by (method) (rate(sipedge_edge_requests_total{method="INVITE", pod=~"$edge"}[$__rate_interval]))',
      'histogram_quantile(0.5, sum by (le, timer) (rate(sipedge_worker_timer_lateness_seconds_bucket[5m])))',
      'sum(rate(sipedge_edge_responses_total{class=~"[456]xx"}[1m])) / sum(sipedge_edge_open_flows)',
      'sipedge_worker_transaction_duration_seconds_count + sipedge_worker_transaction_duration_seconds_sum',
    ]) {
      expect(checkExpression(expr, exposition), expr).toEqual([]);
    }
  });

  it('rejects a misspelt metric, naming the exported one', () => {
    expect(checkExpression('sum(rate(sipedge_edge_request_total[5m]))', exposition)).toEqual([
      'sipedge_edge_request_total: not exported (did you mean sipedge_edge_requests_total?)',
    ]);
    expect(checkExpression('rate(sipedge_worker_redis_seconds_bucket[5m])', exposition)[0]).toMatch(
      /^sipedge_worker_redis_seconds_bucket: not exported/,
    );
  });

  it('rejects histogram suffixes on a counter, and a histogram family read without one', () => {
    expect(checkExpression('rate(sipedge_worker_shed_total_bucket[5m])', exposition)[0]).toMatch(/not exported/);
    expect(checkExpression('rate(sipedge_edge_handoff_seconds[5m])', exposition)[0]).toMatch(
      /^sipedge_edge_handoff_seconds: not exported \(did you mean sipedge_edge_handoff_seconds_sum\?\)/,
    );
  });

  it('rejects a misspelt label, a label value no series has, a regex matching none, and a grouping label', () => {
    expect(checkExpression('sipedge_edge_responses_total{clas="2xx"}', exposition)).toEqual([
      'sipedge_edge_responses_total{clas}: no such label (class)',
    ]);
    expect(checkExpression('sipedge_edge_requests_total{method="INVTE"}', exposition)[0]).toMatch(
      /^sipedge_edge_requests_total\{method="INVTE"\}: no such value/,
    );
    expect(checkExpression('sipedge_edge_responses_total{class=~"7xx|8xx"}', exposition)[0]).toMatch(
      /matches no value/,
    );
    expect(checkExpression('sum by (methd) (sipedge_edge_requests_total)', exposition)).toEqual([
      'by/without/on (methd): no metric of the expression has it',
    ]);
    expect(checkExpression('sum(rate_over(sipedge_edge_requests_total[5m]))', exposition)).toEqual([
      'rate_over(): not a PromQL function',
    ]);
  });

  it('reads the families of the real exposition: process metrics, histograms of both roles', () => {
    expect(exposition.families.get('sipedge_edge_handoff_seconds')).toBe('histogram');
    expect(exposition.families.get('sipedge_worker_redis_duration_seconds')).toBe('histogram');
    expect(exposition.families.get('sipedge_edge_nodejs_eventloop_lag_p99_seconds')).toBe('gauge');
    expect(exposition.series.get('sipedge_worker_redis_duration_seconds_bucket')?.get('operation')).toEqual(
      new Set(['load', 'commit', 'deadline-add', 'deadline-move', 'deadline-disarm', 'dialog']),
    );
  });
});

describe('the Grafana dashboard (helm/sipedge/dashboards/sipedge.json)', () => {
  it('reads only series, labels and label values that sipedge exports, in every panel and variable', () => {
    const all = expressions();
    expect(all.length).toBeGreaterThan(40);
    const problems = all.flatMap(([where, expr]) => checkExpression(expr, exposition).map((p) => `${where}: ${p}`));
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('reads every sipedge metric of both roles, and only process metrics of the edges (the workers have none)', () => {
    const read = new Set(expressions().flatMap(([, expr]) => metricNames(expr)));
    const families = [...read].map((name) => name.replace(/_(bucket|sum|count)$/, ''));
    const own = [...exposition.families.keys()].filter((f) => !/_(process|nodejs)_/.test(f));
    // Not shown: none; every sipedge_edge_* and sipedge_worker_* family has a panel.
    expect(own.filter((family) => !families.includes(family))).toEqual([]);
    expect([...exposition.families.keys()].some((f) => f.startsWith('sipedge_worker_process_'))).toBe(false);
  });

  it('is a Grafana 10+ dashboard on a Prometheus data source variable, filtered by namespace, edge and worker pod', () => {
    expect(dashboard.uid).toBe('sipedge');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const variables = dashboard.templating.list;
    expect(variables.map((v) => [v.name, v.type])).toEqual([
      ['datasource', 'datasource'],
      ['namespace', 'query'],
      ['edge', 'query'],
      ['worker', 'query'],
    ]);
    expect(variables[0]!.query).toBe('prometheus');
    for (const v of variables.slice(1)) {
      expect(v.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      // "All" must also match series without the label (a Prometheus outside Kubernetes).
      expect([v.includeAll, v.allValue]).toEqual([true, '.*']);
    }
    for (const panel of queryPanels) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets!) {
        expect(target.datasource).toEqual(panel.datasource);
        // Each panel follows the filters: edges by $edge, workers by $worker (active transactions: a sum over all).
        if (/sipedge_edge_/.test(target.expr)) expect(target.expr, panel.title).toContain('pod=~"$edge"');
        if (/sipedge_worker_/.test(target.expr) && panel.title !== 'Active transactions') {
          expect(target.expr, panel.title).toContain('pod=~"$worker"');
        }
        expect(target.expr).toContain('namespace=~"$namespace"');
      }
      expect(new Set(panel.targets!.map((t) => t.refId)).size).toBe(panel.targets!.length);
    }
  });

  it('lays the panels out on the 24-column grid, with unique ids and no overlap', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const { title, gridPos } of dashboard.panels) {
      expect(gridPos.x + gridPos.w, title).toBeLessThanOrEqual(24);
      for (let x = gridPos.x; x < gridPos.x + gridPos.w; x++) {
        for (let y = gridPos.y; y < gridPos.y + gridPos.h; y++) {
          expect(cells.has(`${x},${y}`), `${title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  it('has the panels of issue 18: traffic, answers, latency, errors, flows, event loop, per edge and worker', () => {
    const titles = dashboard.panels.map((p) => p.title);
    expect(titles.filter((_, i) => dashboard.panels[i]!.type === 'row')).toEqual([
      'Overview',
      'Traffic',
      'Errors',
      'Latency',
      'Per edge',
      'Per worker',
    ]);
    const byTitle = (title: string) => queryPanels.find((p) => p.title === title)!;
    const exprs = (title: string) => {
      expect(titles, title).toContain(title);
      return byTitle(title).targets!.map((t) => t.expr);
    };
    expect(exprs('Calls/s')[0]).toContain('sipedge_edge_requests_total{method="INVITE"');
    expect(exprs('Requests/s by method')[0]).toContain('sum by (method)');
    expect(exprs('Responses/s by class')[0]).toContain('sum by (class)');
    expect(exprs('Error responses/s by class').join()).toContain('sipedge_edge_stateless_responses_total');
    expect(exprs('Active transactions')[0]).toContain('sipedge_worker_active_transactions');
    expect(exprs('Active dialogs')[0]).toBe('max(sipedge_dialogs_active{namespace=~"$namespace"})');
    expect(exprs('Open flows')[0]).toContain('sipedge_edge_open_flows');
    expect(exprs('Hand-off publish latency (edge to NATS)')[0]).toContain('sipedge_edge_handoff_seconds_bucket');
    expect(exprs('Hand-off latency (edge read to worker take)')[0]).toContain('sipedge_worker_handoff_latency');
    expect(exprs('Transaction duration')).toHaveLength(3);
    expect(exprs('Redis latency by operation')[0]).toContain('sum by (le, operation)');
    expect(exprs('Timer lateness by timer')[0]).toContain('sum by (le, timer)');
    expect(exprs('Dropped messages/s by reason')[0]).toContain('sum by (reason)');
    expect(exprs('Rate-limited/s per edge')[0]).toContain('sipedge_edge_rate_limited_total');
    expect(exprs('Connections rejected/s by reason')[0]).toContain('sum by (reason)');
    expect(exprs('Event-loop lag per edge')[0]).toContain('sipedge_edge_nodejs_eventloop_lag_p99_seconds');
    // The answer rate is not derivable: the panel says so, and shows the 2xx share of all final responses.
    expect(exprs('2xx share of final responses')[0]).toContain('class=~"[2-6]xx"');
    expect(byTitle('2xx share of final responses').description).toMatch(/^Not the answer rate: .* cannot be derived/);
    // Per edge and per worker: by pod.
    const rowOf = (panel: Panel) =>
      dashboard.panels.filter((p) => p.type === 'row' && p.gridPos.y < panel.gridPos.y).at(-1)!.title;
    for (const panel of queryPanels.filter((p) => ['Per edge', 'Per worker'].includes(rowOf(p)))) {
      for (const target of panel.targets!) expect(references(target.expr).grouping, panel.title).toContain('pod');
      expect(panel.targets![0]!.legendFormat, panel.title).toMatch(/^\{\{pod\}\}/);
    }
    expect(queryPanels.filter((p) => rowOf(p) === 'Per edge').length).toBeGreaterThanOrEqual(5);
    expect(queryPanels.filter((p) => rowOf(p) === 'Per worker').length).toBeGreaterThanOrEqual(5);
  });
});

describe('the dashboard ConfigMap of the chart (grafana.dashboard.*)', () => {
  interface ConfigMap {
    kind: string;
    metadata: {
      name: string;
      namespace?: string;
      labels: Record<string, string>;
      annotations?: Record<string, string>;
    };
    data: Record<string, string>;
  }
  const defaults = join(root, 'test/helm/values/defaults.yaml');
  async function render(set: string[]): Promise<{ objects: ConfigMap[]; text: string }> {
    const args = ['template', 'sip', chart, '--namespace', 'voip', '--values', defaults];
    const result = await helm([...args, ...set.flatMap((pair) => ['--set', pair])]);
    expect(result.code, result.stderr).toBe(0);
    const objects = parseAllDocuments(result.stdout)
      .map((d) => d.toJS() as ConfigMap | null)
      .filter((o): o is ConfigMap => o !== null);
    return { objects, text: result.stdout };
  }
  const dashboardMap = (objects: ConfigMap[]) =>
    objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'sip-sipedge-grafana-dashboard');

  it('is off by default', async () => {
    const { objects } = await render([]);
    expect(objects.some((o) => o.kind === 'ConfigMap')).toBe(true);
    expect(dashboardMap(objects)).toBeUndefined();
  });

  it('renders the canonical dashboard JSON with the sidecar label grafana_dashboard: "1" in the release namespace', async () => {
    const { objects, text } = await render(['grafana.dashboard.enabled=true']);
    const map = dashboardMap(objects)!;
    expect(map).toBeDefined();
    expect(map.metadata.namespace).toBe('voip');
    expect(map.metadata.labels).toMatchObject({
      grafana_dashboard: '1',
      'app.kubernetes.io/instance': 'sip',
      'app.kubernetes.io/component': 'grafana-dashboard',
    });
    // The label value is the string "1" (a number would not be a valid label value).
    expect(text).toContain('grafana_dashboard: "1"');
    expect(map.metadata.annotations).toBeUndefined();
    expect(Object.keys(map.data)).toEqual(['sipedge.json']);
    expect(map.data['sipedge.json']).toBe(dashboardText.trim());
    expect(JSON.parse(map.data['sipedge.json']!)).toEqual(dashboard);
  });

  it("takes the sidecar's labels, a namespace and annotations from the values", async () => {
    const { objects } = await render([
      'grafana.dashboard.enabled=true',
      'grafana.dashboard.labels.grafana_dashboard=null',
      'grafana.dashboard.labels.dashboards=sip',
      'grafana.dashboard.namespace=monitoring',
      'grafana.dashboard.annotations.grafana_folder=SIP',
    ]);
    const map = dashboardMap(objects)!;
    expect(map.metadata.namespace).toBe('monitoring');
    expect(map.metadata.labels.dashboards).toBe('sip');
    expect(map.metadata.labels).not.toHaveProperty('grafana_dashboard');
    expect(map.metadata.annotations).toEqual({ grafana_folder: 'SIP' });
  });

  it('refuses a namespace that is not a DNS label (values.schema.json)', async () => {
    const args = ['template', 'sip', chart, '--values', defaults, '--set', 'grafana.dashboard.namespace=Monitoring!'];
    const result = await helm(args);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('/grafana/dashboard/namespace');
  });

  it('documents the defaults in values.yaml as the schema allows them', () => {
    const values = parse(readFileSync(join(chart, 'values.yaml'), 'utf8')) as {
      grafana: { dashboard: Record<string, unknown> };
    };
    expect(values.grafana.dashboard).toEqual({
      enabled: false,
      labels: { grafana_dashboard: '1' },
      namespace: '',
      annotations: {},
    });
  });
});

describe('deploy/grafana', () => {
  it('points at the one dashboard file, and its provisioning file loads that folder', () => {
    const readme = readFileSync(join(root, 'deploy/grafana/README.md'), 'utf8');
    expect(readme).toContain('helm/sipedge/dashboards/sipedge.json');
    const provisioning = parse(readFileSync(join(root, 'deploy/grafana/dashboards.yaml'), 'utf8')) as {
      apiVersion: number;
      providers: { name: string; type: string; options: { path: string } }[];
    };
    expect(provisioning.apiVersion).toBe(1);
    expect(provisioning.providers).toHaveLength(1);
    expect(provisioning.providers[0]!.type).toBe('file');
    // The README mounts helm/sipedge/dashboards at this path.
    expect(readme).toContain(`helm/sipedge/dashboards:${provisioning.providers[0]!.options.path}`);
  });
});
