/**
 * Validates rendered Kubernetes objects against the Kubernetes API schemas, offline, strictly: a
 * field the API does not know fails, as `kubectl apply --validate=strict` (server-side field
 * validation) would fail it at install time.
 *
 * The schemas are those of the npm packages `kubernetes-models` (root devDependencies), generated
 * from Kubernetes' OpenAPI specification, one package per Kubernetes version validated
 * (KUBERNETES_SCHEMAS), and `@kubernetes-models/prometheus-operator` for the ServiceMonitor and
 * PodMonitor (monitoring.coreos.com/v1, generated from the operator's Go API types). Each object is
 * checked in two ways, with each version (a custom resource with its one schema):
 *
 * - by TypeScript, against the package's declarations (`IDeployment` etc.): every object is
 *   compiled as a typed object literal, so that an unknown field anywhere (TypeScript's excess
 *   property check), a missing required field, a wrong type or a value outside an enum fails. This
 *   is the strict part: the packages' own validators, like Kubernetes' OpenAPI schemas, allow
 *   unknown fields;
 * - by the package's validator (`new Deployment(object).validate()`), the OpenAPI schema itself:
 *   required fields, types, formats.
 *
 * Besides, only the API versions of SERVED_API_VERSIONS are allowed: the packages also hold removed
 * APIs (e.g. policy/v1beta1), so their presence there proves nothing about a cluster serving them.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * The Kubernetes versions the chart is validated against, oldest first, and the package holding
 * each one's schemas: the oldest the chart supports (Chart.yaml kubeVersion, checked by the tests)
 * and the newest the packages have. The chart uses only GA API versions (SERVED_API_VERSIONS),
 * whose objects gain optional fields between minor versions and lose none, so an object valid in
 * both is valid in those between.
 */
export const KUBERNETES_SCHEMAS = [
  // kubernetes-models 4.3.x: Kubernetes v1.27.1 (installed under this alias).
  { version: '1.27', module: 'kubernetes-models-v1.27' },
  // kubernetes-models 5.x: Kubernetes v1.36.0.
  { version: '1.36', module: 'kubernetes-models' },
] as const;

/** The schemas of custom resources, by API group: the same for every Kubernetes version. */
const CRD_MODULES: Readonly<Record<string, string>> = {
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
};

/**
 * API versions served by every Kubernetes version from KUBERNETES_SCHEMAS' first to its last (and
 * the CRDs'): all GA since 1.23 or earlier and none deprecated. Anything else needs checking against
 * the deprecation guide before it is added here.
 */
export const SERVED_API_VERSIONS: readonly string[] = [
  'v1',
  'apps/v1',
  'policy/v1',
  'autoscaling/v2',
  'networking.k8s.io/v1',
  'monitoring.coreos.com/v1',
];

/** A rendered Kubernetes object, as far as validation needs to know it. */
export interface KubeObject {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown };
  [field: string]: unknown;
}

/** An object to validate, with where it came from (e.g. the values file it was rendered with). */
export interface Rendered {
  source: string;
  object: KubeObject;
}

export interface SchemaProblem {
  source: string;
  /** `Kind/name`. */
  object: string;
  /** The Kubernetes version whose schema the object failed (undefined: any version, or a CRD's schema). */
  version?: string;
  /** Where in the object, e.g. `spec.template.spec.containers[0].imagePullPolicyy`. */
  path: string;
  message: string;
}

/**
 * The modules of an object's schemas: `kubernetes-models/apps/v1/Deployment` for apps/v1
 * Deployment, one per Kubernetes version, or the CRD package's once (the same for every version).
 */
function schemaModules(apiVersion: string, kind: string): { version?: string; module: string }[] {
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.lastIndexOf('/')) : '';
  const crd = CRD_MODULES[group];
  if (crd !== undefined) return [{ module: `${crd}/${apiVersion}/${kind}` }];
  return KUBERNETES_SCHEMAS.map(({ version, module }) => ({ version, module: `${module}/${apiVersion}/${kind}` }));
}

function describeObject(object: KubeObject): string {
  return `${String(object.kind)}/${String(object.metadata?.name)}`;
}

/** Validates every object with every version of KUBERNETES_SCHEMAS; an empty list when all pass. */
export async function validateObjects(objects: readonly Rendered[]): Promise<SchemaProblem[]> {
  const problems: SchemaProblem[] = [];
  const typed: { rendered: Rendered; version?: string; module: string }[] = [];
  for (const rendered of objects) {
    const { object, source } = rendered;
    const { apiVersion, kind } = object;
    if (typeof apiVersion !== 'string' || typeof kind !== 'string' || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) {
      problems.push({ source, object: describeObject(object), path: '', message: 'no apiVersion and kind' });
      continue;
    }
    if (!SERVED_API_VERSIONS.includes(apiVersion)) {
      problems.push({
        source,
        object: describeObject(object),
        path: 'apiVersion',
        message: `${apiVersion} is not one of the API versions every supported Kubernetes version serves (${SERVED_API_VERSIONS.join(', ')})`,
      });
      continue;
    }
    for (const { version, module } of schemaModules(apiVersion, kind)) {
      const problem = await validateWithModel(module, kind, object);
      if (problem !== undefined) {
        problems.push({ source, object: describeObject(object), version, path: '', message: problem });
      }
      if (!problem?.startsWith('no schema')) typed.push({ rendered, version, module });
    }
  }
  problems.push(...typeCheck(typed));
  return problems;
}

/** The package's own validator (the OpenAPI schema, unknown fields allowed); a message when it fails. */
async function validateWithModel(path: string, kind: string, object: KubeObject): Promise<string | undefined> {
  let model: { validate(): void } | undefined;
  try {
    const exports = (await import(path)) as Record<string, new (data: unknown) => { validate(): void }>;
    const Model = exports[kind];
    if (Model !== undefined) model = new Model(structuredClone(object));
  } catch {
    // Not in the package: reported below.
  }
  if (model === undefined) return `no schema for ${kind} (${path})`;
  try {
    model.validate();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Where the virtual source file lives: module resolution starts here (the repository's node_modules). */
const here = dirname(fileURLToPath(import.meta.url));

/**
 * Compiles every object as `const oN: IKind = <the object>;` in one in-memory program and turns
 * TypeScript's errors into problems located by the path of the offending field.
 */
function typeCheck(entries: readonly { rendered: Rendered; version?: string; module: string }[]): SchemaProblem[] {
  if (entries.length === 0) return [];
  const fileName = join(here, '__kubernetes_schema_check__.ts');
  const ranges: { start: number; end: number; entry: (typeof entries)[number] }[] = [];
  let text = '';
  entries.forEach((entry, i) => {
    const kind = String(entry.rendered.object.kind);
    text += `import type { I${kind} as T${i} } from ${JSON.stringify(entry.module)};\n`;
  });
  entries.forEach((entry, i) => {
    const start = text.length;
    text += `export const o${i}: T${i} = ${JSON.stringify(entry.rendered.object, null, 1)};\n`;
    ranges.push({ start, end: text.length, entry });
  });

  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts'],
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, ...rest) => (name === fileName ? source : getSourceFile.call(host, name, ...rest));
  host.fileExists = (name) => name === fileName || fileExists.call(host, name);
  host.readFile = (name) => (name === fileName ? text : readFile.call(host, name));
  const program = ts.createProgram([fileName], options, host);

  const problems: SchemaProblem[] = [];
  for (const diagnostic of [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const at = diagnostic.start ?? 0;
    const range = ranges.find((r) => at >= r.start && at < r.end);
    if (range === undefined) {
      // An import that does not resolve: the package lacks the kind (or is not installed).
      problems.push({ source: '', object: '', path: '', message: `TypeScript: ${message}` });
      continue;
    }
    const { rendered, version } = range.entry;
    problems.push({
      source: rendered.source,
      object: describeObject(rendered.object),
      version,
      path: pathAt(source, at),
      message: message.split('\n')[0]!,
    });
  }
  return problems;
}

/** The field path (`spec.containers[0].name`) of the node at `position` in an object literal. */
function pathAt(source: ts.SourceFile, position: number): string {
  let node: ts.Node | undefined = findNode(source, position);
  const parts: string[] = [];
  while (node !== undefined && !ts.isVariableDeclaration(node)) {
    const parent: ts.Node | undefined = node.parent;
    if (ts.isPropertyAssignment(node)) {
      const name = node.name;
      parts.unshift(ts.isStringLiteral(name) || ts.isIdentifier(name) ? `.${name.text}` : '.?');
    } else if (parent !== undefined && ts.isArrayLiteralExpression(parent)) {
      parts.unshift(`[${parent.elements.indexOf(node as ts.Expression)}]`);
    }
    node = parent;
  }
  return parts.join('').replace(/^\./, '');
}

function findNode(node: ts.Node, position: number): ts.Node {
  for (const child of node.getChildren()) {
    if (position >= child.getStart() && position < child.getEnd()) return findNode(child, position);
  }
  return node;
}

/** Problems as lines for an assertion message. */
export function formatProblems(problems: readonly SchemaProblem[]): string {
  return problems
    .map((p) => `${p.source}: ${p.object}${p.version ? ` (Kubernetes ${p.version})` : ''} ${p.path}: ${p.message}`)
    .join('\n');
}
