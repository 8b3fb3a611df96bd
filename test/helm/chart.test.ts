/**
 * The Helm chart (helm/sipedge), rendered offline with the Helm v4 binary from test/helm/helm.ts:
 * `helm lint --strict` with every values file of test/helm/values; `helm template` with them, the
 * manifests parsed and checked (Services, ports, probes, environment, arguments, the configuration
 * file, replicas, HPAs, PDBs, the drain's grace period, the optional Redis and NATS subcharts and
 * the URLs pointing at them, the WebSocket Service and Ingress, the NOTES); the configuration file and each pod's
 * environment run through sipedge's own loader and role planning (`planRole`, which checks every
 * setting as the processes do at start); and values files the chart must refuse (test/helm/values/bad).
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { loadSettings } from '../../services/sipedge/src/config-file.js';
import { type RolePlan, planRole } from '../../services/sipedge/src/roles.js';
import { helm, helmBinary } from './helm.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const chart = join(root, 'helm/sipedge');
const valuesDir = join(root, 'test/helm/values');
const RELEASE = 'sip';
const FULLNAME = 'sip-sipedge';
const CONFIG_FILE = '/etc/sipedge/sipedge.yaml';

/** The YAML keys of the settings table in docs/configuration.md. */
const documentedKeys = new Set(
  readFileSync(join(root, 'docs/configuration.md'), 'utf8')
    .split('\n')
    .flatMap((line) => /^\| `([A-Za-z0-9.]+)` +\| `[A-Z0-9_]+` +\|/.exec(line)?.[1] ?? []),
);

// The parts of the Kubernetes objects the tests read.
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
  };
}
interface Probe {
  httpGet?: { path: string; port: string | number };
  periodSeconds?: number;
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: { name: string; containerPort: number; protocol: string }[];
  env?: EnvVar[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  securityContext?: { readOnlyRootFilesystem?: boolean; runAsNonRoot?: boolean; allowPrivilegeEscalation?: boolean };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface KeyToPath {
  key: string;
  path: string;
}
interface Volume {
  name: string;
  configMap?: { name: string; items?: KeyToPath[] };
  secret?: { secretName: string; items?: KeyToPath[] };
  projected?: {
    sources: { configMap?: { name: string; items: KeyToPath[] }; secret?: { name: string; items: KeyToPath[] } }[];
  };
}
interface PodSpec {
  containers: Container[];
  volumes?: Volume[];
  hostNetwork?: boolean;
  dnsPolicy?: string;
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
}
interface IngressRule {
  host?: string;
  http: {
    paths: { path: string; pathType: string; backend: { service: { name: string; port: { name: string } } } }[];
  };
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  data?: Record<string, string>;
  type?: string;
  spec?: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> };
    template?: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec };
    // Service
    type?: string;
    externalTrafficPolicy?: string;
    ports?: { name: string; port: number; targetPort: string | number; protocol: string; nodePort?: number }[];
    sessionAffinity?: string;
    sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
    // Ingress
    ingressClassName?: string;
    tls?: { secretName: string; hosts?: string[] }[];
    rules?: IngressRule[];
    // HorizontalPodAutoscaler
    scaleTargetRef?: { kind: string; name: string };
    minReplicas?: number;
    maxReplicas?: number;
    metrics?: { resource: { name: string; target: { averageUtilization: number } } }[];
    // PodDisruptionBudget
    maxUnavailable?: number | string;
    minAvailable?: number | string;
    // ServiceMonitor, PodMonitor
    endpoints?: { port: string; path: string; interval?: string }[];
    podMetricsEndpoints?: { port: string; path: string; interval?: string }[];
  };
}

/** `helm template` of the chart with values files (relative to test/helm/values) and `--set` pairs. */
async function render(files: string[], set: string[] = []): Promise<Manifest[]> {
  const result = await helm(templateArgs(files, set));
  if (result.code !== 0) throw new Error(`helm template ${files.join(' ')} failed:\n${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((document) => document.toJS() as Manifest | null)
    .filter((manifest): manifest is Manifest => manifest !== null);
}

function templateArgs(files: string[], set: string[] = []): string[] {
  return [
    'template',
    RELEASE,
    chart,
    '--namespace',
    'voip',
    ...files.flatMap((file) => ['--values', join(valuesDir, file)]),
    ...set.flatMap((pair) => ['--set', pair]),
  ];
}

function find(manifests: Manifest[], kind: string, name: string): Manifest {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  if (found === undefined) {
    const present = manifests.map((m) => `${m.kind}/${m.metadata.name}`).join(', ');
    throw new Error(`no ${kind}/${name} among ${present}`);
  }
  return found;
}

function kinds(manifests: Manifest[]): string[] {
  return manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort();
}

function podSpec(workload: Manifest): PodSpec {
  const spec = workload.spec?.template?.spec;
  if (spec === undefined) throw new Error(`${workload.kind}/${workload.metadata.name} has no pod template`);
  return spec;
}

function container(workload: Manifest): Container {
  const [first] = podSpec(workload).containers;
  if (first === undefined) throw new Error(`${workload.metadata.name} has no container`);
  return first;
}

function envVar(c: Container, name: string): EnvVar | undefined {
  return c.env?.find((e) => e.name === name);
}

/** A value of a Secret of the rendering, decoded. */
function secretValue(manifests: Manifest[], name: string, key: string): string | undefined {
  const data = find(manifests, 'Secret', name).data?.[key];
  return data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8');
}

/** The pod's environment as the kubelet would set it: pod name from the downward API, secrets decoded. */
function podEnvironment(manifests: Manifest[], c: Container, podName: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of c.env ?? []) {
    const { fieldRef, secretKeyRef } = entry.valueFrom ?? {};
    if (entry.value !== undefined) env[entry.name] = entry.value;
    else if (fieldRef?.fieldPath === 'metadata.name') env[entry.name] = podName;
    else if (secretKeyRef !== undefined) {
      const value = secretValue(manifests, secretKeyRef.name, secretKeyRef.key);
      if (value !== undefined) env[entry.name] = value;
      else if (secretKeyRef.optional !== true) throw new Error(`${entry.name}: no key ${secretKeyRef.key}`);
    } else throw new Error(`${entry.name}: a source the test does not resolve`);
  }
  return env;
}

const scratch = mkdtempSync(join(tmpdir(), 'sipedge-helm-'));

/**
 * Writes the files of a pod's config volume (ConfigMap items and, with TLS, Secret items) under a
 * scratch directory, the paths in the configuration file pointing there, and returns the file.
 */
function materialiseConfig(manifests: Manifest[], workload: Manifest): string {
  const spec = podSpec(workload);
  const mount = container(workload).volumeMounts?.find((m) => m.name === 'config');
  const volume = spec.volumes?.find((v) => v.name === 'config');
  if (mount === undefined || volume === undefined) throw new Error(`${workload.metadata.name}: no config volume`);
  const dir = join(scratch, workload.metadata.name, mount.mountPath);
  const sources = volume.projected?.sources ?? [{ configMap: { name: volume.configMap!.name, items: [] } }];
  for (const source of sources) {
    const [kind, ref] = source.configMap ? ['ConfigMap', source.configMap] : ['Secret', source.secret!];
    const object = find(manifests, kind, ref.name);
    const items = ref.items.length > 0 ? ref.items : Object.keys(object.data ?? {}).map((key) => ({ key, path: key }));
    for (const { key, path } of items) {
      const raw = object.data?.[key];
      if (raw === undefined) throw new Error(`${kind}/${ref.name} has no key ${key}`);
      const text = kind === 'Secret' ? Buffer.from(raw, 'base64').toString('utf8') : raw;
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text.replaceAll(`${mount.mountPath}/`, `${dir}/`));
    }
  }
  return join(dir, 'sipedge.yaml');
}

/** What the process of a workload would check at start: its configuration file and environment. */
function plan(manifests: Manifest[], workload: Manifest, role: 'edge' | 'worker', podName: string): RolePlan {
  const c = container(workload);
  const configArg = c.args?.[(c.args?.indexOf('--config') ?? -2) + 1];
  expect(configArg).toBe(CONFIG_FILE);
  const settings = loadSettings(materialiseConfig(manifests, workload), podEnvironment(manifests, c, podName));
  try {
    return planRole(role, settings.env);
  } catch (error) {
    throw settings.explain(error);
  }
}

/** The configuration file of the rendering, parsed. */
function configFile(manifests: Manifest[]): Record<string, unknown> {
  const text = find(manifests, 'ConfigMap', FULLNAME).data?.['sipedge.yaml'];
  expect(text).toBeDefined();
  return parse(text!) as Record<string, unknown>;
}

/** The dotted keys of a YAML map, down to its non-map values. */
function dottedKeys(map: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(map).flatMap(([name, value]) =>
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? dottedKeys(value as Record<string, unknown>, `${prefix}${name}.`)
      : [`${prefix}${name}`],
  );
}

const EDGE_POD = `${FULLNAME}-edge-7c9d8b6f5-x2k9q`;
const WORKER_POD = `${FULLNAME}-worker-5f4d7c8b9-q8w2z`;
const GOOD_VALUES = readdirSync(valuesDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

beforeAll(async () => {
  await helmBinary();
}, 120_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('helm lint', () => {
  it('finds the values files', () => {
    expect(GOOD_VALUES).toEqual([
      'daemonset-hostnetwork.yaml',
      'defaults.yaml',
      'hpa-servicemonitor-tls.yaml',
      'in-cluster-redis-nats.yaml',
      'nodeport.yaml',
      'redis-cluster-sentinel.yaml',
      'websocket-ingress.yaml',
    ]);
  });

  it.each(GOOD_VALUES)('passes --strict with %s', async (file) => {
    const result = await helm(['lint', '--strict', chart, '--values', join(valuesDir, file)]);
    expect(result.stderr + result.stdout).toContain('0 chart(s) failed');
    expect(result.code).toBe(0);
  });
});

describe('helm template with the defaults (defaults.yaml: only Redis, NATS and the advertised address)', () => {
  let m: Manifest[];
  beforeAll(async () => {
    m = await render(['defaults.yaml']);
  });

  it('renders the edge and worker Deployments, Services, configuration, Secret and PDBs, and nothing optional (no Redis, no NATS)', () => {
    expect(kinds(m)).toEqual([
      `ConfigMap/${FULLNAME}`,
      `Deployment/${FULLNAME}-edge`,
      `Deployment/${FULLNAME}-worker`,
      `PodDisruptionBudget/${FULLNAME}-edge`,
      `PodDisruptionBudget/${FULLNAME}-worker`,
      `Secret/${FULLNAME}`,
      `Service/${FULLNAME}-http`,
      `Service/${FULLNAME}-tcp`,
      `Service/${FULLNAME}-udp`,
      `ServiceAccount/${FULLNAME}`,
    ]);
  });

  it('serves SIP on UDP 5060 and TCP 5060 in two LoadBalancer Services keeping client addresses', () => {
    const udp = find(m, 'Service', `${FULLNAME}-udp`).spec!;
    const tcp = find(m, 'Service', `${FULLNAME}-tcp`).spec!;
    expect(udp.ports).toEqual([{ name: 'sip-udp', port: 5060, targetPort: 'sip-udp', protocol: 'UDP' }]);
    expect(tcp.ports).toEqual([{ name: 'sip-tcp', port: 5060, targetPort: 'sip-tcp', protocol: 'TCP' }]);
    for (const spec of [udp, tcp]) {
      expect(spec.type).toBe('LoadBalancer');
      expect(spec.externalTrafficPolicy).toBe('Local');
    }
  });

  it('selects the edge pods from every Service, and exposes the ops port as ClusterIP', () => {
    const edgeLabels = find(m, 'Deployment', `${FULLNAME}-edge`).spec!.template!.metadata.labels;
    for (const name of ['udp', 'tcp', 'http']) {
      const service = find(m, 'Service', `${FULLNAME}-${name}`);
      const selector = (service.spec as { selector: Record<string, string> }).selector;
      expect(selector['app.kubernetes.io/component']).toBe('edge');
      for (const [key, value] of Object.entries(selector)) expect(edgeLabels[key]).toBe(value);
    }
    const http = find(m, 'Service', `${FULLNAME}-http`).spec!;
    expect(http.type).toBe('ClusterIP');
    expect(http.ports).toEqual([{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }]);
  });

  it('gives the edge container its SIP and HTTP ports and probes /healthz and /readyz on the http port', () => {
    const edge = container(find(m, 'Deployment', `${FULLNAME}-edge`));
    expect(edge.ports).toEqual([
      { name: 'sip-udp', containerPort: 5060, protocol: 'UDP' },
      { name: 'sip-tcp', containerPort: 5060, protocol: 'TCP' },
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
    ]);
    expect(edge.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(edge.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
  });

  it("probes the worker's /healthz on its http port (8081, where the configuration file puts worker.http)", () => {
    const worker = container(find(m, 'Deployment', `${FULLNAME}-worker`));
    expect(worker.ports).toEqual([{ name: 'http', containerPort: 8081, protocol: 'TCP' }]);
    expect(worker.livenessProbe).toEqual({
      httpGet: { path: '/healthz', port: 'http' },
      initialDelaySeconds: 10,
      periodSeconds: 10,
      timeoutSeconds: 3,
      failureThreshold: 3,
    });
    expect(worker.readinessProbe).toEqual({
      httpGet: { path: '/healthz', port: 'http' },
      initialDelaySeconds: 2,
      periodSeconds: 5,
      timeoutSeconds: 3,
      failureThreshold: 2,
    });
    expect((configFile(m).worker as { http: string }).http).toBe('0.0.0.0:8081');
  });

  it("moves the worker's ops port and probe timings with the values", async () => {
    const other = await render(['defaults.yaml'], ['worker.httpPort=9091', 'worker.livenessProbe.periodSeconds=20']);
    const worker = container(find(other, 'Deployment', `${FULLNAME}-worker`));
    expect(worker.ports).toEqual([{ name: 'http', containerPort: 9091, protocol: 'TCP' }]);
    expect(worker.livenessProbe).toMatchObject({ httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 20 });
    expect(worker.readinessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect((configFile(other).worker as { http: string }).http).toBe('0.0.0.0:9091');
  });

  it("tells in NOTES.txt how to reach the edges' and the workers' health and metrics", async () => {
    const notes = async (set: string[]) => {
      const result = await helm([
        'install',
        RELEASE,
        chart,
        '--namespace',
        'voip',
        '--dry-run=client',
        '--values',
        join(valuesDir, 'defaults.yaml'),
        ...set.flatMap((pair) => ['--set', pair]),
      ]);
      expect(result.code, result.stderr).toBe(0);
      return result.stdout.slice(result.stdout.indexOf('NOTES:'));
    };
    const text = await notes([]);
    expect(text).toContain(`port-forward deployment/${FULLNAME}-worker 8081`);
    expect(text).toContain('curl http://127.0.0.1:8081/healthz');
    expect(text).toContain('curl http://127.0.0.1:8081/metrics');
    expect(text).toContain('sipedge_worker_*');
    expect(text).toContain('curl http://127.0.0.1:8080/metrics');
    expect(text).toContain('metrics.serviceMonitor.enabled=true scrapes both');
    const monitored = await notes(['metrics.serviceMonitor.enabled=true', 'otel.endpoint=http://collector:4318']);
    expect(monitored).toContain('the workers through a PodMonitor');
    expect(monitored).toContain('export their metrics and traces over OTLP to http://collector:4318');
  });

  it('runs `sipedge edge|worker --config /etc/sipedge/sipedge.yaml` from the image, the file from the ConfigMap', () => {
    for (const role of ['edge', 'worker']) {
      const workload = find(m, 'Deployment', `${FULLNAME}-${role}`);
      const c = container(workload);
      expect(c.image).toBe('ghcr.io/sipedge/sipedge:0.1.0');
      expect(c.command).toEqual(['node', '/app/services/sipedge/dist/main.js']);
      expect(c.args).toEqual([role, '--config', CONFIG_FILE]);
      expect(c.volumeMounts).toContainEqual({ name: 'config', mountPath: dirname(CONFIG_FILE), readOnly: true });
      const volume = podSpec(workload).volumes?.find((v) => v.name === 'config');
      const configMaps = [volume?.configMap?.name, ...(volume?.projected?.sources ?? []).map((s) => s.configMap?.name)];
      expect(configMaps).toContain(FULLNAME);
    }
  });

  it('names each edge and worker after its pod and gives both Redis and NATS from the Secret', () => {
    const edge = container(find(m, 'Deployment', `${FULLNAME}-edge`));
    const worker = container(find(m, 'Deployment', `${FULLNAME}-worker`));
    expect(envVar(edge, 'SIPEDGE_EDGE_ID')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    expect(envVar(worker, 'SIPEDGE_WORKER_ID')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    for (const c of [edge, worker]) {
      for (const name of ['REDIS_URL', 'NATS_URL']) {
        expect(envVar(c, name)?.valueFrom?.secretKeyRef).toEqual({ name: FULLNAME, key: name });
      }
      // No digest secret without auth values; nothing set to an empty string (it would override the file).
      expect(envVar(c, 'SIPEDGE_AUTH_SECRET')).toBeUndefined();
      expect((c.env ?? []).filter((e) => e.value === '')).toEqual([]);
    }
    expect(secretValue(m, FULLNAME, 'REDIS_URL')).toBe('redis://redis-master.redis:6379');
    expect(secretValue(m, FULLNAME, 'NATS_URL')).toBe('nats://nats.nats:4222');
  });

  it('renders a configuration file of documented keys only, with the listeners and the ops port of the pod', () => {
    const config = configFile(m);
    const keys = dottedKeys(config);
    expect(documentedKeys.size).toBeGreaterThan(50);
    expect(keys.filter((key) => !documentedKeys.has(key))).toEqual([]);
    expect(config).toEqual({
      sip: { advertised: 'sip.example.com', udp: ['0.0.0.0:5060'], tcp: ['0.0.0.0:5060'] },
      edge: { drainDeadlineMs: 32000, http: '0.0.0.0:8080' },
      worker: { http: '0.0.0.0:8081' },
      log: { level: 'info' },
    });
  });

  it('passes the checks sipedge makes at start, for an edge and a worker pod', () => {
    const edge = plan(m, find(m, 'Deployment', `${FULLNAME}-edge`), 'edge', EDGE_POD);
    expect(edge.connections).toEqual({
      redis: { url: 'redis://redis-master.redis:6379' },
      natsUrl: 'nats://nats.nats:4222',
      timerShards: 1,
    });
    expect(edge.edge?.edgeId).toBe(EDGE_POD);
    expect(edge.edge?.udp).toEqual([{ address: '0.0.0.0', port: 5060 }]);
    expect(edge.edge?.tcp).toEqual([{ address: '0.0.0.0', port: 5060 }]);
    expect(edge.edge?.http).toEqual({ address: '0.0.0.0', port: 8080 });
    expect(edge.edge?.advertised).toEqual({ host: 'sip.example.com', port: 5060 });
    const worker = plan(m, find(m, 'Deployment', `${FULLNAME}-worker`), 'worker', WORKER_POD);
    expect(worker.worker?.workerId).toBe(WORKER_POD);
    expect(worker.worker?.proxy.advertised).toEqual(edge.edge?.advertised);
    expect([...worker.worker!.proxy.domains]).toEqual(['sip.example.com']);
    expect(worker.worker?.auth).toBeUndefined();
  });

  it('runs 2 edges and 2 workers, each with a PDB of at most one unavailable', () => {
    for (const role of ['edge', 'worker']) {
      expect(find(m, 'Deployment', `${FULLNAME}-${role}`).spec!.replicas).toBe(2);
      const pdb = find(m, 'PodDisruptionBudget', `${FULLNAME}-${role}`);
      expect(pdb.apiVersion).toBe('policy/v1');
      expect(pdb.spec!.maxUnavailable).toBe(1);
      expect(pdb.spec!.selector?.matchLabels?.['app.kubernetes.io/component']).toBe(role);
    }
  });

  it('waits in preStop, then gives the drain more than its deadline, and rolls edges one new pod at a time', () => {
    const edgeDeployment = find(m, 'Deployment', `${FULLNAME}-edge`);
    const spec = podSpec(edgeDeployment);
    const drainSeconds = (configFile(m).edge as { drainDeadlineMs: number }).drainDeadlineMs / 1000;
    const preStop = container(edgeDeployment).lifecycle?.preStop?.exec?.command;
    expect(preStop).toEqual(['node', '-e', 'setTimeout(() => {}, 5000)']);
    expect(spec.terminationGracePeriodSeconds).toBeGreaterThan(drainSeconds + 5);
    expect((edgeDeployment.spec as { strategy: unknown }).strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    });
  });

  it('leaves out the preStop hook when preStopSleepSeconds is 0, the grace period still above the deadline', async () => {
    const other = await render(['defaults.yaml'], ['edge.preStopSleepSeconds=0']);
    const edgeDeployment = find(other, 'Deployment', `${FULLNAME}-edge`);
    expect(container(edgeDeployment).lifecycle).toBeUndefined();
    expect(podSpec(edgeDeployment).terminationGracePeriodSeconds).toBe(32 + 10);
  });

  it('takes the digest secret and users from auth.existingSecret, the users optional', async () => {
    const other = await render(['defaults.yaml'], ['auth.existingSecret=digest', 'config.auth.realm=example.com']);
    const worker = container(find(other, 'Deployment', `${FULLNAME}-worker`));
    expect(envVar(worker, 'SIPEDGE_AUTH_SECRET')?.valueFrom?.secretKeyRef).toEqual({
      name: 'digest',
      key: 'SIPEDGE_AUTH_SECRET',
    });
    expect(envVar(worker, 'SIPEDGE_AUTH_USERS')?.valueFrom?.secretKeyRef).toEqual({
      name: 'digest',
      key: 'SIPEDGE_AUTH_USERS',
      optional: true,
    });
    expect(secretValue(other, FULLNAME, 'SIPEDGE_AUTH_SECRET')).toBeUndefined();
  });

  it('gives the workers the fleet secret from the Secret, or from fleet.existingSecret', async () => {
    const worker = container(find(m, 'Deployment', `${FULLNAME}-worker`));
    expect(envVar(worker, 'SIPEDGE_FLEET_SECRET')?.valueFrom?.secretKeyRef).toEqual({
      name: FULLNAME,
      key: 'SIPEDGE_FLEET_SECRET',
    });
    expect(secretValue(m, FULLNAME, 'SIPEDGE_FLEET_SECRET')).toBe('chart-test-fleet-secret-0123456789abcdef');
    const other = await render(['defaults.yaml'], ['fleet.secret=', 'fleet.existingSecret=fleet']);
    const otherWorker = container(find(other, 'Deployment', `${FULLNAME}-worker`));
    expect(envVar(otherWorker, 'SIPEDGE_FLEET_SECRET')?.valueFrom?.secretKeyRef).toEqual({
      name: 'fleet',
      key: 'SIPEDGE_FLEET_SECRET',
    });
    expect(secretValue(other, FULLNAME, 'SIPEDGE_FLEET_SECRET')).toBeUndefined();
  });

  it('runs as non-root with a read-only root filesystem, settable resources and no service account token', () => {
    for (const role of ['edge', 'worker']) {
      const workload = find(m, 'Deployment', `${FULLNAME}-${role}`);
      const spec = podSpec(workload);
      expect(spec.securityContext?.runAsNonRoot).toBe(true);
      expect(spec.automountServiceAccountToken).toBe(false);
      expect(container(workload).securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
      });
      expect(container(workload).resources?.requests).toEqual({ cpu: '100m', memory: '128Mi' });
    }
  });

  it('rolls the pods when the configuration or the Secret changes', async () => {
    const other = await render(['defaults.yaml'], ['config.proxy.recordRoute=false']);
    const annotations = (ms: Manifest[]) =>
      find(ms, 'Deployment', `${FULLNAME}-worker`).spec!.template!.metadata.annotations ?? {};
    expect(annotations(other)['checksum/config']).not.toBe(annotations(m)['checksum/config']);
    expect(annotations(other)['checksum/secret']).toBe(annotations(m)['checksum/secret']);
  });
});

describe('helm template with one edge per node on the host network (daemonset-hostnetwork.yaml)', () => {
  let m: Manifest[];
  beforeAll(async () => {
    m = await render(['daemonset-hostnetwork.yaml']);
  });

  it('renders the edges as a hostNetwork DaemonSet resolving cluster names, the workers still a Deployment', () => {
    const daemonSet = find(m, 'DaemonSet', `${FULLNAME}-edge`);
    const spec = podSpec(daemonSet);
    expect(spec.hostNetwork).toBe(true);
    expect(spec.dnsPolicy).toBe('ClusterFirstWithHostNet');
    expect(daemonSet.spec!.replicas).toBeUndefined();
    expect((daemonSet.spec as { updateStrategy: unknown }).updateStrategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 1 },
    });
    expect(m.filter((x) => x.kind === 'Deployment').map((x) => x.metadata.name)).toEqual([`${FULLNAME}-worker`]);
    expect(m.filter((x) => x.kind === 'HorizontalPodAutoscaler')).toEqual([]);
  });

  it('moves the ops port with the values, in the pod, the probes, the Service and the configuration file', () => {
    const edge = container(find(m, 'DaemonSet', `${FULLNAME}-edge`));
    expect(edge.ports).toContainEqual({ name: 'http', containerPort: 9080, protocol: 'TCP' });
    expect(edge.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(find(m, 'Service', `${FULLNAME}-http`).spec!.ports?.[0]?.port).toBe(9080);
    expect((configFile(m).edge as { http: string }).http).toBe('0.0.0.0:9080');
    expect(find(m, 'Service', `${FULLNAME}-udp`).spec!.type).toBe('ClusterIP');
    expect(find(m, 'Service', `${FULLNAME}-udp`).spec!.externalTrafficPolicy).toBeUndefined();
  });

  it('passes the checks sipedge makes at start', () => {
    const edge = plan(m, find(m, 'DaemonSet', `${FULLNAME}-edge`), 'edge', `${FULLNAME}-edge-k7x2p`);
    expect(edge.edge?.http).toEqual({ address: '0.0.0.0', port: 9080 });
    const worker = plan(m, find(m, 'Deployment', `${FULLNAME}-worker`), 'worker', WORKER_POD);
    expect([...worker.worker!.proxy.domains]).toEqual(['example.com']);
  });
});

describe('helm template with HPAs, a ServiceMonitor, TLS and digest authentication (hpa-servicemonitor-tls.yaml)', () => {
  let m: Manifest[];
  beforeAll(async () => {
    m = await render(['hpa-servicemonitor-tls.yaml']);
  });

  it('scales edges and workers with autoscaling/v2 HPAs and leaves replicas to them', () => {
    const expected = { edge: [3, 12, ['cpu', 'memory']], worker: [2, 20, ['cpu']] } as const;
    for (const [role, [min, max, resources]] of Object.entries(expected)) {
      const hpa = find(m, 'HorizontalPodAutoscaler', `${FULLNAME}-${role}`);
      expect(hpa.apiVersion).toBe('autoscaling/v2');
      expect(hpa.spec!.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: `${FULLNAME}-${role}` });
      expect([hpa.spec!.minReplicas, hpa.spec!.maxReplicas]).toEqual([min, max]);
      expect(hpa.spec!.metrics?.map((x) => x.resource.name)).toEqual(resources);
      expect(find(m, 'Deployment', `${FULLNAME}-${role}`).spec!.replicas).toBeUndefined();
      expect(find(m, 'PodDisruptionBudget', `${FULLNAME}-${role}`)).toBeDefined();
    }
  });

  it('scrapes /metrics of the edges through the ops Service', () => {
    const monitor = find(m, 'ServiceMonitor', `${FULLNAME}-edge`);
    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(monitor.metadata.labels?.release).toBe('prometheus');
    expect(monitor.spec!.endpoints).toEqual([{ port: 'http', path: '/metrics', interval: '15s' }]);
    const matching = m.filter(
      (x) =>
        x.kind === 'Service' &&
        Object.entries(monitor.spec!.selector!.matchLabels!).every(([k, v]) => x.metadata.labels?.[k] === v),
    );
    expect(matching.map((x) => x.metadata.name)).toEqual([`${FULLNAME}-http`]);
  });

  it("scrapes /metrics of the workers on their pods' http port (a PodMonitor)", () => {
    const monitor = find(m, 'PodMonitor', `${FULLNAME}-worker`);
    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(monitor.metadata.labels?.release).toBe('prometheus');
    expect(monitor.spec!.podMetricsEndpoints).toEqual([{ port: 'http', path: '/metrics', interval: '15s' }]);
    const worker = find(m, 'Deployment', `${FULLNAME}-worker`);
    expect(worker.spec!.template!.metadata.labels).toMatchObject(monitor.spec!.selector!.matchLabels!);
    expect(container(worker).ports).toEqual([{ name: 'http', containerPort: 8081, protocol: 'TCP' }]);
    expect((configFile(m).worker as { http: string }).http).toBe('0.0.0.0:8081');
  });

  it('adds TLS on 5061 to the TCP Service and the pod, with the certificate mounted where the file says', () => {
    expect(find(m, 'Service', `${FULLNAME}-tcp`).spec!.ports).toEqual([
      { name: 'sip-tcp', port: 5060, targetPort: 'sip-tcp', protocol: 'TCP' },
      { name: 'sip-tls', port: 5061, targetPort: 'sip-tls', protocol: 'TCP' },
    ]);
    const edgeDeployment = find(m, 'Deployment', `${FULLNAME}-edge`);
    expect(container(edgeDeployment).ports).toContainEqual({ name: 'sip-tls', containerPort: 5061, protocol: 'TCP' });
    const sip = configFile(m).sip as { tls: Record<string, unknown>; selfPorts: number[] };
    expect(sip.tls).toEqual({
      listen: ['0.0.0.0:5061'],
      keyFile: '/etc/sipedge/tls/tls.key',
      certFile: '/etc/sipedge/tls/tls.crt',
      minVersion: 'TLSv1.3',
      reloadIntervalMs: 30000,
    });
    expect(sip.selfPorts).toEqual([5061]);
    const tlsSecret = find(m, 'Secret', `${FULLNAME}-tls`);
    expect(tlsSecret.type).toBe('kubernetes.io/tls');
    const sources = podSpec(edgeDeployment).volumes?.find((v) => v.name === 'config')?.projected?.sources;
    expect(sources?.[1]?.secret).toEqual({
      name: `${FULLNAME}-tls`,
      items: [
        { key: 'tls.crt', path: 'tls/tls.crt' },
        { key: 'tls.key', path: 'tls/tls.key' },
      ],
    });
  });

  it('gives the workers the digest secret and users from the Secret, in the form sipedge reads', () => {
    const worker = container(find(m, 'Deployment', `${FULLNAME}-worker`));
    expect(envVar(worker, 'SIPEDGE_AUTH_SECRET')?.valueFrom?.secretKeyRef).toEqual({
      name: FULLNAME,
      key: 'SIPEDGE_AUTH_SECRET',
    });
    expect(envVar(worker, 'SIPEDGE_AUTH_USERS')?.valueFrom?.secretKeyRef).toMatchObject({
      name: FULLNAME,
      key: 'SIPEDGE_AUTH_USERS',
    });
    expect(secretValue(m, FULLNAME, 'SIPEDGE_AUTH_USERS')).toBe('alice:secret-a,bob:secret-b');
    // The edges do not read the digest settings.
    expect(envVar(container(find(m, 'Deployment', `${FULLNAME}-edge`)), 'SIPEDGE_AUTH_SECRET')).toBeUndefined();
    const config = configFile(m);
    expect(config.auth).toEqual({ realm: 'example.com', proxy: true });
    expect(dottedKeys(config).filter((key) => !documentedKeys.has(key))).toEqual([]);
  });

  it('passes the OpenTelemetry variables to both roles', () => {
    for (const role of ['edge', 'worker']) {
      const c = container(find(m, 'Deployment', `${FULLNAME}-${role}`));
      expect(envVar(c, 'OTEL_EXPORTER_OTLP_ENDPOINT')?.value).toBe('http://otel-collector.observability:4318');
      expect(envVar(c, 'OTEL_SERVICE_NAME')?.value).toBe('sipedge');
      expect(envVar(c, 'OTEL_EXPORTER_OTLP_PROTOCOL')?.value).toBe('http/protobuf');
    }
  });

  it('passes the checks sipedge makes at start (TLS files read, digest on) and derives the grace period', () => {
    const edgeDeployment = find(m, 'Deployment', `${FULLNAME}-edge`);
    const edge = plan(m, edgeDeployment, 'edge', EDGE_POD);
    expect(edge.edge?.tls?.listen).toEqual([{ address: '0.0.0.0', port: 5061 }]);
    expect(edge.edge?.tls?.cert).toContain('BEGIN CERTIFICATE');
    expect(edge.edge?.tls?.minVersion).toBe('TLSv1.3');
    expect(edge.edge?.tls?.reload?.intervalMs).toBe(30000);
    expect(edge.edge?.drainDeadlineMs).toBe(60000);
    expect(podSpec(edgeDeployment).terminationGracePeriodSeconds).toBe(60 + 5 + 10);
    const worker = plan(m, find(m, 'Deployment', `${FULLNAME}-worker`), 'worker', WORKER_POD);
    expect(worker.worker?.auth?.realm).toBe('example.com');
    expect(worker.worker?.proxy.selfPorts).toEqual(new Set([5060, 5061]));
    expect(worker.worker?.proxy.advertised).toEqual({ host: 'sip.example.com', port: 5060, tlsPort: 5061 });
    // Abuse protection from the configuration file, alike for edges and workers; the admin token from the Secret.
    for (const abuse of [edge.edge?.abuse, worker.worker?.abuse]) {
      expect(abuse?.bans.durationMs).toBe(900_000);
      expect(abuse?.pike.requests).toBe(20000);
      expect(abuse?.authFailures).toEqual({ perSource: 5, perUser: 50, windowMs: 600_000 });
      expect(abuse?.exempt.has('10.1.2.3')).toBe(true);
    }
    expect(edge.edge?.abuse.banAction).toBe('reject');
    expect(edge.edge?.adminToken).toBe('chart-test-admin-token-0123456789abcdef');
    expect(envVar(container(edgeDeployment), 'SIPEDGE_ADMIN_TOKEN')?.valueFrom?.secretKeyRef).toEqual({
      name: FULLNAME,
      key: 'SIPEDGE_ADMIN_TOKEN',
    });
    expect(worker.connections).toEqual({
      redis: { url: 'rediss://:password@redis.example.net:6380' },
      natsUrl: 'nats://nats-0.nats:4222,nats://nats-1.nats:4222',
      timerShards: 1,
    });
  });
});

describe('helm template with SIP over WebSocket behind an Ingress (websocket-ingress.yaml)', () => {
  const WS_SERVICE = `${FULLNAME}-websocket`;
  let m: Manifest[];
  beforeAll(async () => {
    m = await render(['websocket-ingress.yaml']);
  });

  it('adds a WebSocket Service, an Ingress and the certificate Secret, and no SIP over TLS', () => {
    expect(kinds(m)).toEqual([
      `ConfigMap/${FULLNAME}`,
      `Deployment/${FULLNAME}-edge`,
      `Deployment/${FULLNAME}-worker`,
      `Ingress/${WS_SERVICE}`,
      `PodDisruptionBudget/${FULLNAME}-edge`,
      `PodDisruptionBudget/${FULLNAME}-worker`,
      `Secret/${FULLNAME}`,
      `Secret/${FULLNAME}-tls`,
      `Service/${FULLNAME}-http`,
      `Service/${FULLNAME}-tcp`,
      `Service/${FULLNAME}-udp`,
      `Service/${WS_SERVICE}`,
      `ServiceAccount/${FULLNAME}`,
    ]);
    // WSS alone: no TLS port on the TCP Service or the pod.
    expect(find(m, 'Service', `${FULLNAME}-tcp`).spec!.ports).toEqual([
      { name: 'sip-tcp', port: 5060, targetPort: 'sip-tcp', protocol: 'TCP' },
    ]);
  });

  it('serves WS and WSS from the edge pods, selected by a ClusterIP Service of their own behind the Ingress', () => {
    const edgeDeployment = find(m, 'Deployment', `${FULLNAME}-edge`);
    expect(container(edgeDeployment).ports).toEqual([
      { name: 'sip-udp', containerPort: 5060, protocol: 'UDP' },
      { name: 'sip-tcp', containerPort: 5060, protocol: 'TCP' },
      { name: 'ws', containerPort: 8088, protocol: 'TCP' },
      { name: 'wss', containerPort: 8089, protocol: 'TCP' },
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
    ]);
    const service = find(m, 'Service', WS_SERVICE);
    expect(service.metadata.labels?.['sipedge/service']).toBe('websocket');
    expect(service.spec).toMatchObject({ type: 'ClusterIP', sessionAffinity: 'None' });
    expect(service.spec!.externalTrafficPolicy).toBeUndefined();
    expect(service.spec!.ports).toEqual([
      { name: 'ws', port: 8088, targetPort: 'ws', protocol: 'TCP' },
      { name: 'wss', port: 8089, targetPort: 'wss', protocol: 'TCP' },
    ]);
    const selector = (service.spec as { selector: Record<string, string> }).selector;
    expect(selector['app.kubernetes.io/component']).toBe('edge');
    for (const [key, value] of Object.entries(selector)) {
      expect(edgeDeployment.spec!.template!.metadata.labels[key]).toBe(value);
    }
    // The SIP Services stay load balancers.
    expect(find(m, 'Service', `${FULLNAME}-udp`).spec!.type).toBe('LoadBalancer');
    expect(find(m, 'Service', `${FULLNAME}-tcp`).spec!.type).toBe('LoadBalancer');
  });

  it('routes the Ingress host and path to the ws port of that Service, with the WebSocket timeouts', () => {
    const ingress = find(m, 'Ingress', WS_SERVICE);
    expect(ingress.apiVersion).toBe('networking.k8s.io/v1');
    expect(ingress.metadata.annotations).toEqual({
      'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600',
      'nginx.ingress.kubernetes.io/proxy-send-timeout': '3600',
      'nginx.ingress.kubernetes.io/proxy-body-size': '64k',
    });
    expect(ingress.spec!.ingressClassName).toBe('nginx');
    expect(ingress.spec!.tls).toEqual([{ secretName: 'phone-example-com-tls', hosts: ['phone.example.com'] }]);
    expect(ingress.spec!.rules).toEqual([
      {
        host: 'phone.example.com',
        http: {
          paths: [
            {
              path: '/sip',
              pathType: 'Prefix',
              backend: { service: { name: WS_SERVICE, port: { name: 'ws' } } },
            },
          ],
        },
      },
    ]);
    // The backend's port exists on the Service and leads to the pods' ws port.
    const port = find(m, 'Service', WS_SERVICE).spec!.ports?.find((p) => p.name === 'ws');
    expect(port?.targetPort).toBe('ws');
  });

  it('writes sip.ws.*, sip.wss.listen, the advertised ports (443 behind the Ingress) and the self ports', () => {
    const config = configFile(m);
    expect(dottedKeys(config).filter((key) => !documentedKeys.has(key))).toEqual([]);
    expect(config.sip).toEqual({
      advertised: 'sip.example.com',
      udp: ['0.0.0.0:5060'],
      tcp: ['0.0.0.0:5060'],
      // The certificate WSS serves, without a TLS listener.
      tls: { keyFile: '/etc/sipedge/tls/tls.key', certFile: '/etc/sipedge/tls/tls.crt' },
      ws: {
        listen: ['0.0.0.0:8088'],
        origins: ['https://phone.example.com', 'https://softphone.example.com:8443'],
        trustedProxies: ['10.42.0.0/16'],
        pingIntervalMs: 20000,
      },
      wss: { listen: ['0.0.0.0:8089'] },
      advertisedWsPort: 443,
      advertisedWssPort: 8089,
      selfPorts: [5070, 8088, 8089],
    });
    const sources = podSpec(find(m, 'Deployment', `${FULLNAME}-edge`)).volumes?.find((v) => v.name === 'config')
      ?.projected?.sources;
    expect(sources?.[1]?.secret?.name).toBe(`${FULLNAME}-tls`);
  });

  it('passes the checks sipedge makes at start: the edge listens on WS and WSS with the certificate, the worker advertises them', () => {
    const edge = plan(m, find(m, 'Deployment', `${FULLNAME}-edge`), 'edge', EDGE_POD);
    expect(edge.edge?.websocket).toEqual({
      ws: [{ address: '0.0.0.0', port: 8088 }],
      wss: [{ address: '0.0.0.0', port: 8089 }],
      origins: ['https://phone.example.com', 'https://softphone.example.com:8443'],
      trustedProxies: ['10.42.0.0/16'],
      pingIntervalMs: 20000,
    });
    expect(edge.edge?.tls?.listen).toEqual([]);
    expect(edge.edge?.tls?.cert).toContain('BEGIN CERTIFICATE');
    const worker = plan(m, find(m, 'Deployment', `${FULLNAME}-worker`), 'worker', WORKER_POD);
    expect(worker.worker?.proxy.advertised).toEqual({
      host: 'sip.example.com',
      port: 5060,
      wsPort: 443,
      wssPort: 8089,
    });
    expect(worker.worker?.proxy.selfPorts).toEqual(new Set([5060, 443, 8088, 8089, 5070]));
  });

  it('tells in NOTES.txt where browsers connect and that the ingress controller must be a trusted proxy', async () => {
    const result = await helm([
      'install',
      RELEASE,
      chart,
      '--namespace',
      'voip',
      '--dry-run=client',
      '--values',
      join(valuesDir, 'websocket-ingress.yaml'),
    ]);
    expect(result.code, result.stderr).toBe(0);
    const notes = result.stdout.slice(result.stdout.indexOf('NOTES:'));
    expect(notes).toContain(`kubectl --namespace voip get service ${WS_SERVICE}`);
    expect(notes).toContain('wss://phone.example.com/sip');
    expect(notes).toContain("websocket.trustedProxies must hold the ingress controller pods' CIDR");
    expect(notes).toContain('WS port 443, WSS port 8089');
  });

  it('exposes the WebSocket Service itself without the Ingress: its type, load balancer settings, node ports and affinity', async () => {
    const other = await render(
      ['websocket-ingress.yaml'],
      [
        'websocket.ingress.enabled=false',
        'service.websocket.type=NodePort',
        'service.websocket.port=80',
        'service.websocket.wssPort=443',
        'service.websocket.nodePort=30080',
        'service.websocket.wssNodePort=30443',
        'service.websocket.sessionAffinity=ClientIP',
        'service.websocket.sessionAffinityTimeoutSeconds=600',
        'service.annotations.lb\\.example\\.com/shared-ip=sip',
        'service.websocket.annotations.lb\\.example\\.com/protocol=websocket',
      ],
    );
    expect(kinds(other)).not.toContain(`Ingress/${WS_SERVICE}`);
    const service = find(other, 'Service', WS_SERVICE);
    expect(service.metadata.annotations).toEqual({
      'lb.example.com/shared-ip': 'sip',
      'lb.example.com/protocol': 'websocket',
    });
    expect(service.spec).toMatchObject({
      type: 'NodePort',
      externalTrafficPolicy: 'Local',
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } },
    });
    expect(service.spec!.ports).toEqual([
      { name: 'ws', port: 80, targetPort: 'ws', protocol: 'TCP', nodePort: 30080 },
      { name: 'wss', port: 443, targetPort: 'wss', protocol: 'TCP', nodePort: 30443 },
    ]);
    // Without the Ingress both advertised ports are the Service's, and the Service ports mean this proxy.
    const sip = configFile(other).sip as Record<string, unknown>;
    expect([sip.advertisedWsPort, sip.advertisedWssPort]).toEqual([80, 443]);
    expect(sip.selfPorts).toEqual([5070, 80, 8088, 443, 8089]);
    const worker = plan(other, find(other, 'Deployment', `${FULLNAME}-worker`), 'worker', WORKER_POD);
    expect(worker.worker?.proxy.advertised).toMatchObject({ wsPort: 80, wssPort: 443 });
  });

  it('follows the Ingress values: no host, no TLS (port 80), a default annotation removed, the wss port as backend', async () => {
    const other = await render(
      ['websocket-ingress.yaml'],
      [
        'websocket.ingress.hosts=null',
        'websocket.ingress.tls=null',
        'websocket.ingress.className=',
        'websocket.ingress.servicePort=wss',
        'websocket.ingress.annotations.nginx\\.ingress\\.kubernetes\\.io/proxy-send-timeout=null',
      ],
    );
    const ingress = find(other, 'Ingress', WS_SERVICE);
    expect(ingress.spec!.ingressClassName).toBeUndefined();
    expect(ingress.spec!.tls).toBeUndefined();
    expect(ingress.spec!.rules).toEqual([
      {
        http: {
          paths: [
            {
              path: '/sip',
              pathType: 'Prefix',
              backend: { service: { name: WS_SERVICE, port: { name: 'wss' } } },
            },
          ],
        },
      },
    ]);
    expect(ingress.metadata.annotations).toEqual({
      'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600',
      'nginx.ingress.kubernetes.io/proxy-body-size': '64k',
    });
    // The Ingress now carries WSS on port 80 (no TLS of its own); WS keeps the Service's port.
    const sip = configFile(other).sip as Record<string, unknown>;
    expect([sip.advertisedWsPort, sip.advertisedWssPort]).toEqual([8088, 80]);
  });

  it('takes advertised ports set in the values, and adds SIP over TLS beside WSS on the same certificate', async () => {
    const other = await render(
      ['websocket-ingress.yaml'],
      ['websocket.advertisedPort=8443', 'websocket.wss.advertisedPort=9443', 'tls.enabled=true'],
    );
    const sip = configFile(other).sip as { tls: Record<string, unknown>; selfPorts: number[] } & Record<
      string,
      unknown
    >;
    expect([sip.advertisedWsPort, sip.advertisedWssPort, sip.advertisedTlsPort]).toEqual([8443, 9443, 5061]);
    expect(sip.tls.listen).toEqual(['0.0.0.0:5061']);
    expect(sip.selfPorts).toEqual([5070, 5061, 8088, 8089]);
    expect(find(other, 'Service', `${FULLNAME}-tcp`).spec!.ports?.map((p) => p.name)).toEqual(['sip-tcp', 'sip-tls']);
    const edge = plan(other, find(other, 'Deployment', `${FULLNAME}-edge`), 'edge', EDGE_POD);
    expect(edge.edge?.tls?.listen).toEqual([{ address: '0.0.0.0', port: 5061 }]);
    expect(edge.edge?.websocket.wss).toEqual([{ address: '0.0.0.0', port: 8089 }]);
    const worker = plan(other, find(other, 'Deployment', `${FULLNAME}-worker`), 'worker', WORKER_POD);
    expect(worker.worker?.proxy.advertised).toEqual({
      host: 'sip.example.com',
      port: 5060,
      tlsPort: 5061,
      wsPort: 8443,
      wssPort: 9443,
    });
  });

  it('serves plain WS only with websocket.enabled and the defaults: a LoadBalancer Service, no certificate', async () => {
    const other = await render(['defaults.yaml'], ['websocket.enabled=true']);
    expect(kinds(other).filter((k) => /websocket|tls/.test(k))).toEqual([`Service/${WS_SERVICE}`]);
    const service = find(other, 'Service', WS_SERVICE).spec!;
    expect(service.type).toBe('LoadBalancer');
    expect(service.externalTrafficPolicy).toBe('Local');
    expect(service.ports).toEqual([{ name: 'ws', port: 8088, targetPort: 'ws', protocol: 'TCP' }]);
    expect(configFile(other).sip).toEqual({
      advertised: 'sip.example.com',
      udp: ['0.0.0.0:5060'],
      tcp: ['0.0.0.0:5060'],
      ws: { listen: ['0.0.0.0:8088'] },
      advertisedWsPort: 8088,
      selfPorts: [8088],
    });
    const edge = plan(other, find(other, 'Deployment', `${FULLNAME}-edge`), 'edge', EDGE_POD);
    expect(edge.edge?.websocket).toMatchObject({
      ws: [{ address: '0.0.0.0', port: 8088 }],
      wss: [],
      pingIntervalMs: 30000,
    });
    expect(edge.edge?.tls).toBeUndefined();
  });
});

describe('helm template with Redis and NATS in the release (in-cluster-redis-nats.yaml: the local subcharts)', () => {
  let m: Manifest[];
  beforeAll(async () => {
    m = await render(['in-cluster-redis-nats.yaml']);
  });

  it('renders a Deployment and a Service each for Redis and NATS beside the sipedge objects', () => {
    expect(kinds(m)).toEqual([
      `ConfigMap/${FULLNAME}`,
      `Deployment/${RELEASE}-nats`,
      `Deployment/${RELEASE}-redis`,
      `Deployment/${FULLNAME}-edge`,
      `Deployment/${FULLNAME}-worker`,
      `PodDisruptionBudget/${FULLNAME}-edge`,
      `PodDisruptionBudget/${FULLNAME}-worker`,
      `Secret/${FULLNAME}`,
      `Service/${RELEASE}-nats`,
      `Service/${RELEASE}-redis`,
      `Service/${FULLNAME}-http`,
      `Service/${FULLNAME}-tcp`,
      `Service/${FULLNAME}-udp`,
      `ServiceAccount/${FULLNAME}`,
    ]);
  });

  it('runs one official redis:7 (noeviction) and one nats:2 with JetStream, each selected by its Service', () => {
    const redis = find(m, 'Deployment', `${RELEASE}-redis`);
    const nats = find(m, 'Deployment', `${RELEASE}-nats`);
    expect(redis.spec!.replicas).toBe(1);
    expect(nats.spec!.replicas).toBe(1);
    expect(container(redis).image).toBe('redis:7');
    expect(container(redis).args).toEqual(expect.arrayContaining(['--maxmemory-policy', 'noeviction']));
    expect(container(nats).image).toBe('nats:2');
    expect(container(nats).args).toContain('-js');
    for (const [workload, port] of [
      [redis, 6379],
      [nats, 4222],
    ] as const) {
      const service = find(m, 'Service', workload.metadata.name);
      const selector = (service.spec as { selector: Record<string, string> }).selector;
      for (const [key, value] of Object.entries(selector)) {
        expect(workload.spec!.template!.metadata.labels[key]).toBe(value);
      }
      // Not the sipedge pods: the subcharts' selectors name their own app.
      const edgeLabels = find(m, 'Deployment', `${FULLNAME}-edge`).spec!.template!.metadata.labels;
      expect(Object.entries(selector).every(([key, value]) => edgeLabels[key] === value)).toBe(false);
      expect(service.spec!.ports).toEqual([
        {
          name: workload.metadata.name.split('-').at(-1),
          port,
          targetPort: workload.metadata.name.split('-').at(-1),
          protocol: 'TCP',
        },
      ]);
      expect(container(workload).ports).toContainEqual({
        name: workload.metadata.name.split('-').at(-1),
        containerPort: port,
        protocol: 'TCP',
      });
      expect(container(workload).readinessProbe).toBeDefined();
    }
  });

  it('points REDIS_URL and NATS_URL at those Services, and the processes accept them', () => {
    expect(secretValue(m, FULLNAME, 'REDIS_URL')).toBe(`redis://${RELEASE}-redis:6379`);
    expect(secretValue(m, FULLNAME, 'NATS_URL')).toBe(`nats://${RELEASE}-nats:4222`);
    const edge = plan(m, find(m, 'Deployment', `${FULLNAME}-edge`), 'edge', EDGE_POD);
    const worker = plan(m, find(m, 'Deployment', `${FULLNAME}-worker`), 'worker', WORKER_POD);
    for (const p of [edge, worker]) {
      expect(p.connections).toEqual({
        redis: { url: `redis://${RELEASE}-redis:6379` },
        natsUrl: `nats://${RELEASE}-nats:4222`,
        timerShards: 1,
      });
    }
  });

  it('follows the ports and images of the values, and a URL given wins over the in-cluster server', async () => {
    const other = await render(
      ['in-cluster-redis-nats.yaml'],
      ['redis.port=7000', 'redis.image.tag=7.4', 'nats.image.repository=registry.example.com/nats', 'nats.port=4333'],
    );
    expect(container(find(other, 'Deployment', `${RELEASE}-redis`)).image).toBe('redis:7.4');
    expect(container(find(other, 'Deployment', `${RELEASE}-nats`)).image).toBe('registry.example.com/nats:2');
    expect(find(other, 'Service', `${RELEASE}-redis`).spec!.ports?.[0]?.port).toBe(7000);
    expect(find(other, 'Service', `${RELEASE}-nats`).spec!.ports?.[0]?.port).toBe(4333);
    expect(secretValue(other, FULLNAME, 'REDIS_URL')).toBe(`redis://${RELEASE}-redis:7000`);
    expect(secretValue(other, FULLNAME, 'NATS_URL')).toBe(`nats://${RELEASE}-nats:4333`);

    const external = await render(['in-cluster-redis-nats.yaml'], ['redis.url=redis://redis.example.net:6379']);
    expect(secretValue(external, FULLNAME, 'REDIS_URL')).toBe('redis://redis.example.net:6379');
    expect(secretValue(external, FULLNAME, 'NATS_URL')).toBe(`nats://${RELEASE}-nats:4222`);
  });

  it('deploys only the one enabled, the other from its URL', async () => {
    const onlyNats = await render(['defaults.yaml'], ['nats.enabled=true', 'nats.url=']);
    expect(kinds(onlyNats).filter((k) => /redis|nats/.test(k))).toEqual([
      `Deployment/${RELEASE}-nats`,
      `Service/${RELEASE}-nats`,
    ]);
    expect(secretValue(onlyNats, FULLNAME, 'REDIS_URL')).toBe('redis://redis-master.redis:6379');
    expect(secretValue(onlyNats, FULLNAME, 'NATS_URL')).toBe(`nats://${RELEASE}-nats:4222`);
  });
});

describe('helm template with a Redis Cluster or Sentinels (redis-cluster-sentinel.yaml)', () => {
  it('gives both roles the seed nodes, no REDIS_URL, and the processes accept them', async () => {
    const m = await render(['redis-cluster-sentinel.yaml']);
    expect(secretValue(m, FULLNAME, 'REDIS_URL')).toBeUndefined();
    for (const [name, role, pod] of [
      [`${FULLNAME}-edge`, 'edge', EDGE_POD],
      [`${FULLNAME}-worker`, 'worker', WORKER_POD],
    ] as const) {
      const workload = find(m, 'Deployment', name);
      expect(envVar(container(workload), 'REDIS_URL')).toBeUndefined();
      const planned = plan(m, workload, role, pod);
      expect(planned.connections).toEqual({
        redis: {
          cluster: [
            { host: 'redis-cluster-0.redis-cluster', port: 6379 },
            { host: 'redis-cluster-1.redis-cluster', port: 6379 },
          ],
        },
        natsUrl: 'nats://nats.nats:4222',
        timerShards: 3,
      });
      if (role === 'edge') expect(planned.edge?.overload).toEqual({ maxDelayMs: 150, retryAfterSeconds: 5 });
      else expect(planned.worker?.overload).toEqual({ maxDelayMs: 150, retryAfterSeconds: 5 });
    }
  });

  it('gives both roles the Sentinels and the master group name', async () => {
    const m = await render(
      ['redis-cluster-sentinel.yaml'],
      ['redis.cluster=null', 'redis.sentinels={s-0.sentinel:26379,s-1.sentinel:26379}', 'redis.sentinelMaster=calls'],
    );
    const worker = plan(m, find(m, 'Deployment', `${FULLNAME}-worker`), 'worker', WORKER_POD);
    expect(worker.connections).toMatchObject({
      redis: {
        sentinels: [
          { host: 's-0.sentinel', port: 26379 },
          { host: 's-1.sentinel', port: 26379 },
        ],
        name: 'calls',
      },
    });
  });
});

describe('helm template with NodePort Services (nodeport.yaml)', () => {
  let m: Manifest[];
  beforeAll(async () => {
    m = await render(['nodeport.yaml']);
  });

  it('renders NodePort Services with the node ports and traffic policy of the values', () => {
    const udp = find(m, 'Service', `${FULLNAME}-udp`).spec!;
    const tcp = find(m, 'Service', `${FULLNAME}-tcp`).spec!;
    expect(udp).toMatchObject({ type: 'NodePort', externalTrafficPolicy: 'Cluster' });
    expect(tcp).toMatchObject({ type: 'NodePort', externalTrafficPolicy: 'Cluster' });
    expect(udp.ports).toEqual([
      { name: 'sip-udp', port: 5060, targetPort: 'sip-udp', protocol: 'UDP', nodePort: 30060 },
    ]);
    expect(tcp.ports).toEqual([
      { name: 'sip-tcp', port: 5060, targetPort: 'sip-tcp', protocol: 'TCP', nodePort: 30060 },
    ]);
  });

  it('runs the replica counts and PDB of the values', () => {
    expect(find(m, 'Deployment', `${FULLNAME}-edge`).spec!.replicas).toBe(3);
    expect(find(m, 'Deployment', `${FULLNAME}-worker`).spec!.replicas).toBe(4);
    const pdb = find(m, 'PodDisruptionBudget', `${FULLNAME}-worker`).spec!;
    expect(pdb.minAvailable).toBe(2);
    expect(pdb.maxUnavailable).toBeUndefined();
  });

  it('passes the checks sipedge makes at start, advertising the node port', () => {
    const worker = plan(m, find(m, 'Deployment', `${FULLNAME}-worker`), 'worker', WORKER_POD);
    expect(worker.worker?.proxy.advertised).toEqual({ host: '192.0.2.10', port: 30060 });
  });
});

describe('values the chart refuses (helm template exits non-zero naming the field)', () => {
  const refused: [file: string, message: string][] = [
    ['negative-replicas.yaml', "at '/edge/replicas': minimum: got -1, want 0"],
    ['unknown-edge-kind.yaml', "at '/edge/kind': value must be one of 'Deployment', 'DaemonSet'"],
    ['service-type.yaml', "at '/service/type': value must be one of 'LoadBalancer', 'NodePort', 'ClusterIP'"],
    ['missing-redis-url.yaml', "at '/redis': missing property 'url'"],
    ['unknown-config-key.yaml', "at '/config/sip': additional properties 'udpp' not allowed"],
    ['chart-owned-key.yaml', "at '/config/edge': additional properties 'id' not allowed"],
    ['bad-log-level.yaml', "at '/config/log/level': value must be one of"],
    ['short-auth-secret.yaml', "at '/auth/secret': minLength: got 9, want 32"],
    ['hostnetwork-deployment.yaml', "at '/edge/kind': value must be 'DaemonSet'"],
    ['realm-without-secret.yaml', 'auth.secret (or auth.existingSecret) is required when config.auth.realm is set'],
    ['missing-fleet-secret.yaml', 'fleet.secret (or fleet.existingSecret) is required'],
    ['short-fleet-secret.yaml', "at '/fleet/secret'"],
    ['grace-period-too-short.yaml', 'edge.terminationGracePeriodSeconds (30) must exceed'],
    ['tls-without-certificate.yaml', 'tls.enabled needs tls.existingSecret, or tls.cert and tls.key'],
    ['client-cert-without-ca.yaml', 'tls.clientCert request/require needs the CA'],
    ['wss-without-certificate.yaml', 'websocket.wss.enabled needs the TLS certificate it serves'],
    ['wss-without-websocket.yaml', 'websocket.wss.enabled needs websocket.enabled'],
    ['websocket-port-out-of-range.yaml', "at '/websocket/port': maximum: got 70,000, want 65,535"],
    ['websocket-port-clash.yaml', 'websocket.port (5060) is also edge.listen.port'],
    ['websocket-origin-with-path.yaml', "at '/websocket/origins/0': 'https://phone.example.com/' does not match"],
    ['ingress-without-websocket.yaml', 'websocket.ingress.enabled needs websocket.enabled'],
    ['ingress-to-wss-without-wss.yaml', 'websocket.ingress.servicePort wss needs websocket.wss.enabled'],
  ];

  it('has a case for every file of test/helm/values/bad', () => {
    expect(readdirSync(join(valuesDir, 'bad')).sort()).toEqual(refused.map(([file]) => file).sort());
  });

  it.each(refused)('refuses bad/%s', async (file, message) => {
    const result = await helm(templateArgs(['defaults.yaml', `bad/${file}`]));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
  });

  it('refuses the bare defaults, naming the three required values', async () => {
    const result = await helm(templateArgs([]));
    expect(result.code).not.toBe(0);
    for (const field of ['/redis/url', '/nats/url', '/config/sip/advertised']) expect(result.stderr).toContain(field);
  });

  it('does not echo a short digest secret in the error', async () => {
    const result = await helm(templateArgs(['defaults.yaml'], ['auth.secret=hunter2-hunter2']));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('/auth/secret');
    expect(result.stderr).not.toContain('hunter2');
  });
});
