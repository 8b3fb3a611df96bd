/**
 * Every manifest the chart renders, validated against the Kubernetes API schemas of the versions
 * the chart supports (test/helm/kubernetes-schema.ts): with every values file of test/helm/values
 * (those of the chart tests), and with the optional objects those files leave off. A field the API
 * does not know, a missing required field or a wrong type fails here, not at install time. Also
 * that Chart.yaml's kubeVersion says which versions those are, and that Helm applies it.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { helm, helmBinary } from './helm.js';
import {
  KUBERNETES_SCHEMAS,
  type KubeObject,
  type Rendered,
  type SchemaProblem,
  formatProblems,
  validateObjects,
} from './kubernetes-schema.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const chart = join(root, 'helm/sipedge');
const valuesDir = join(root, 'test/helm/values');
const VALUES_FILES = readdirSync(valuesDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

/**
 * Renderings beyond the values files: the objects and fields the files leave off (`--set` pairs on
 * top of a file), as the chart tests render them too.
 */
const VARIANTS: Record<string, [file: string, set: string[]]> = {
  'grafana dashboard (defaults.yaml + grafana.dashboard.*)': [
    'defaults.yaml',
    [
      'grafana.dashboard.enabled=true',
      'grafana.dashboard.namespace=monitoring',
      'grafana.dashboard.annotations.grafana_folder=SIP',
    ],
  ],
  'WebSocket without an Ingress, ClientIP affinity (defaults.yaml + websocket.*)': [
    'defaults.yaml',
    [
      'websocket.enabled=true',
      'service.websocket.type=NodePort',
      'service.websocket.sessionAffinity=ClientIP',
      'service.websocket.sessionAffinityTimeoutSeconds=600',
    ],
  ],
  'WSS and SIP over TLS behind the Ingress (websocket-ingress.yaml + tls)': [
    'websocket-ingress.yaml',
    ['websocket.advertisedPort=8443', 'websocket.wss.advertisedPort=9443', 'tls.enabled=true'],
  ],
  'existing Secrets, no preStop, admin token (defaults.yaml + *.existingSecret)': [
    'defaults.yaml',
    [
      'auth.existingSecret=digest',
      'config.auth.realm=example.com',
      'fleet.secret=',
      'fleet.existingSecret=fleet',
      'admin.existingSecret=admin',
      'edge.preStopSleepSeconds=0',
    ],
  ],
};

async function render(file: string, set: string[] = []): Promise<KubeObject[]> {
  const args = ['template', 'sip', chart, '--namespace', 'voip', '--values', join(valuesDir, file)];
  const result = await helm([...args, ...set.flatMap((pair) => ['--set', pair])]);
  if (result.code !== 0) throw new Error(`helm template ${file} failed:\n${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((document) => document.toJS() as KubeObject | null)
    .filter((object): object is KubeObject => object !== null);
}

function kinds(objects: readonly Rendered[], source: string): string[] {
  return objects.filter((r) => r.source === source).map((r) => `${String(r.object.kind)}`);
}

beforeAll(async () => {
  await helmBinary();
}, 120_000);

describe('every manifest the chart renders passes the Kubernetes API schemas', () => {
  const rendered: Rendered[] = [];
  let problems: SchemaProblem[];

  beforeAll(async () => {
    for (const file of VALUES_FILES) {
      for (const object of await render(file)) rendered.push({ source: file, object });
    }
    for (const [name, [file, set]] of Object.entries(VARIANTS)) {
      for (const object of await render(file, set)) rendered.push({ source: name, object });
    }
    // One TypeScript program for all of them.
    problems = await validateObjects(rendered);
  });

  it('renders the values files of the chart tests and the variants, every kind the chart has among them', () => {
    expect(VALUES_FILES).toContain('defaults.yaml');
    expect(VALUES_FILES.length).toBeGreaterThanOrEqual(7);
    const all = new Set(rendered.map((r) => `${String(r.object.apiVersion)} ${String(r.object.kind)}`));
    expect([...all].sort()).toEqual([
      'apps/v1 DaemonSet',
      'apps/v1 Deployment',
      'autoscaling/v2 HorizontalPodAutoscaler',
      'monitoring.coreos.com/v1 PodMonitor',
      'monitoring.coreos.com/v1 ServiceMonitor',
      'networking.k8s.io/v1 Ingress',
      'policy/v1 PodDisruptionBudget',
      'v1 ConfigMap',
      'v1 Secret',
      'v1 Service',
      'v1 ServiceAccount',
    ]);
    expect(kinds(rendered, Object.keys(VARIANTS)[0]!).filter((k) => k === 'ConfigMap')).toHaveLength(2);
  });

  it.each([...VALUES_FILES, ...Object.keys(VARIANTS)])('%s: valid in every Kubernetes version validated', (source) => {
    expect(rendered.some((r) => r.source === source)).toBe(true);
    const mine = problems.filter((p) => p.source === source || p.source === '');
    expect(mine, formatProblems(mine)).toEqual([]);
  });
});

/** The defaults' edge Deployment, changed by `change`, validated alone. */
async function edgeDeploymentProblems(change: (deployment: KubeObject) => void): Promise<SchemaProblem[]> {
  const deployment = (await render('defaults.yaml')).find(
    (o) => o.kind === 'Deployment' && o.metadata?.name === 'sip-sipedge-edge',
  )!;
  change(deployment);
  return validateObjects([{ source: 'test', object: deployment }]);
}

interface PodTemplate {
  spec: { template: { spec: { containers: Record<string, unknown>[]; [field: string]: unknown } } };
}

describe('a wrong field fails the validation', () => {
  it('a misspelt container key (imagePullPolicyy), located, in every version', async () => {
    const problems = await edgeDeploymentProblems((d) => {
      (d as unknown as PodTemplate).spec.template.spec.containers[0]!.imagePullPolicyy = 'Always';
    });
    expect(problems.map((p) => [p.version, p.object, p.path])).toEqual(
      KUBERNETES_SCHEMAS.map(({ version }) => [
        version,
        'Deployment/sip-sipedge-edge',
        'spec.template.spec.containers[0].imagePullPolicyy',
      ]),
    );
    expect(problems[0]!.message).toContain("'\"imagePullPolicyy\"' does not exist in type 'IContainer'");
  });

  it('a misspelt pod spec key (containrs): unknown, and containers missing', async () => {
    const problems = await edgeDeploymentProblems((d) => {
      const pod = (d as unknown as PodTemplate).spec.template.spec as Record<string, unknown>;
      pod.containrs = pod.containers;
      delete pod.containers;
    });
    const text = formatProblems(problems);
    expect(text).toContain('containrs');
    // The OpenAPI validator of each version: containers is required.
    for (const { version } of KUBERNETES_SCHEMAS) {
      expect(problems.some((p) => p.version === version && /required property '?containers/.test(p.message))).toBe(
        true,
      );
    }
  });

  it('a wrong type and a value outside an enum', async () => {
    const problems = await edgeDeploymentProblems((d) => {
      const spec = d.spec as Record<string, unknown>;
      spec.replicas = 'two';
      (d as unknown as PodTemplate).spec.template.spec.containers[0]!.imagePullPolicy = 'Sometimes';
    });
    const paths = problems.map((p) => p.path);
    expect(paths).toContain('spec.replicas');
    expect(paths).toContain('spec.template.spec.containers[0].imagePullPolicy');
  });

  it('a misspelt field passed through from the values (securityContext.readOnlyRootFilesytem)', async () => {
    const objects = await render('defaults.yaml', ['securityContext.readOnlyRootFilesytem=true']);
    const problems = await validateObjects(objects.map((object) => ({ source: 'values', object })));
    // In the edge and the worker container, with each version.
    const paths = new Set(problems.map((p) => `${p.object} ${p.path}`));
    expect([...paths].sort()).toEqual([
      'Deployment/sip-sipedge-edge spec.template.spec.containers[0].securityContext.readOnlyRootFilesytem',
      'Deployment/sip-sipedge-worker spec.template.spec.containers[0].securityContext.readOnlyRootFilesytem',
    ]);
    expect(problems).toHaveLength(2 * KUBERNETES_SCHEMAS.length);
  });

  it('a misspelt ServiceMonitor field (the monitoring.coreos.com schema)', async () => {
    const objects = await render('hpa-servicemonitor-tls.yaml');
    const monitor = objects.find((o) => o.kind === 'ServiceMonitor')!;
    const endpoint = (monitor.spec as { endpoints: Record<string, unknown>[] }).endpoints[0]!;
    endpoint.intervall = endpoint.interval;
    const problems = await validateObjects([{ source: 'test', object: monitor }]);
    // Once: the CRD's schema is the same for every Kubernetes version.
    expect(problems.map((p) => [p.version, p.object, p.path])).toEqual([
      [undefined, 'ServiceMonitor/sip-sipedge-edge', 'spec.endpoints[0].intervall'],
    ]);
  });

  it('an API version not served by every supported Kubernetes version', async () => {
    const pdb = (await render('defaults.yaml')).find((o) => o.kind === 'PodDisruptionBudget')!;
    const problems = await validateObjects([{ source: 'test', object: { ...pdb, apiVersion: 'policy/v1beta1' } }]);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toContain('policy/v1beta1 is not one of the API versions');
  });
});

describe("Chart.yaml's kubeVersion", () => {
  const oldest = KUBERNETES_SCHEMAS[0].version;
  const newest = KUBERNETES_SCHEMAS.at(-1)!.version;

  it('starts at the oldest version validated', () => {
    const { kubeVersion } = parse(readFileSync(join(chart, 'Chart.yaml'), 'utf8')) as { kubeVersion: string };
    expect(kubeVersion).toBe(`>=${oldest}.0-0`);
  });

  it('is applied by Helm: a cluster older than it is refused, the validated versions are not', async () => {
    const template = (kubeVersion: string) =>
      helm(['template', 'sip', chart, '--values', join(valuesDir, 'defaults.yaml'), '--kube-version', kubeVersion]);
    const [major, minor] = oldest.split('.').map(Number) as [number, number];
    const older = await template(`${major}.${minor - 1}.0`);
    expect(older.code).not.toBe(0);
    expect(older.stderr).toContain('kubeVersion');
    for (const version of [`${oldest}.0`, `${newest}.0`]) {
      const result = await template(version);
      expect(result.code, result.stderr).toBe(0);
    }
  });
});
