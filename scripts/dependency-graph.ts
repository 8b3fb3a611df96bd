/**
 * The workspace's dependency graph as Mermaid, from Nx's project graph: the `@sipedge/*` projects
 * grouped by their layer tag (`type:*`, see `eslint.config.js`) and the dependencies between them
 * (internal ones only). A solid arrow is a runtime dependency (the project's package.json
 * `dependencies`); a dashed one is used by its tests only (`devDependencies`, test imports).
 *
 *   npx tsx scripts/dependency-graph.ts           prints the graph
 *   npx tsx scripts/dependency-graph.ts --write   rewrites the block in docs/architecture.md (npm run deps:graph)
 *   npx tsx scripts/dependency-graph.ts --check   exits 1 when that block is not the graph
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type ProjectGraph, createProjectGraphAsync } from '@nx/devkit';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DOCS = join(ROOT, 'docs', 'architecture.md');
export const START = '<!-- dependency-graph:start -->';
export const END = '<!-- dependency-graph:end -->';

const SCOPE = '@sipedge/';
/** Layers left to right, each a subgraph with its own style. */
const LAYERS = [
  { tag: 'type:test', title: 'tests (type:test)', style: 'fill:#f3f3f3,stroke:#888888' },
  { tag: 'type:service', title: 'services (type:service)', style: 'fill:#e3f2fd,stroke:#1565c0' },
  { tag: 'type:adapter', title: 'adapters (type:adapter)', style: 'fill:#fff3e0,stroke:#ef6c00' },
  { tag: 'type:pure', title: 'pure libraries (type:pure)', style: 'fill:#e8f5e9,stroke:#2e7d32' },
] as const;

const idOf = (project: string): string => project.slice(SCOPE.length).replace(/[^A-Za-z0-9]/g, '_');
const labelOf = (project: string): string => project.slice(SCOPE.length);
const layerId = (tag: string): string => `layer_${tag.slice('type:'.length)}`;

/** The Mermaid text (`graph LR ...`) of the internal dependencies in `graph`. */
export function mermaidOf(graph: ProjectGraph): string {
  const projects = Object.keys(graph.nodes)
    .filter((name) => name.startsWith(SCOPE))
    .sort();
  const layerOf = new Map<string, string>();
  for (const name of projects) {
    const tags = graph.nodes[name]!.data.tags ?? [];
    const layer = LAYERS.find((l) => tags.includes(l.tag));
    if (layer === undefined) throw new Error(`${name} has no layer tag (${LAYERS.map((l) => l.tag).join(', ')})`);
    layerOf.set(name, layer.tag);
  }

  const lines = ['graph LR'];
  for (const layer of LAYERS) {
    const members = projects.filter((p) => layerOf.get(p) === layer.tag);
    if (members.length === 0) continue;
    lines.push(`  subgraph ${layerId(layer.tag)}["${layer.title}"]`);
    for (const p of members) lines.push(`    ${idOf(p)}["${labelOf(p)}"]`);
    lines.push('  end');
  }

  const edges: string[] = [];
  for (const source of projects) {
    const runtime = runtimeDependencies(graph, source);
    const targets = new Set(
      (graph.dependencies[source] ?? []).map((d) => d.target).filter((t) => t !== source && layerOf.has(t)),
    );
    for (const target of [...targets].sort()) {
      edges.push(`  ${idOf(source)} ${runtime.has(target) ? '-->' : '-.->'} ${idOf(target)}`);
    }
  }
  lines.push(...edges);

  for (const layer of LAYERS) lines.push(`  style ${layerId(layer.tag)} ${layer.style}`);
  return lines.join('\n') + '\n';
}

/** The `dependencies` of a project's package.json (what it needs at run time, not only in tests). */
function runtimeDependencies(graph: ProjectGraph, project: string): Set<string> {
  const file = join(ROOT, graph.nodes[project]!.data.root, 'package.json');
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as { dependencies?: Record<string, string> };
  return new Set(Object.keys(manifest.dependencies ?? {}));
}

/** The docs block between the markers (markers included) for `mermaid`. */
export function docsBlock(mermaid: string): string {
  return `${START}\n\n\`\`\`mermaid\n${mermaid}\`\`\`\n\n${END}`;
}

/** The block as it stands in `docs` (markers included); throws when the markers are missing. */
export function currentBlock(docs: string): string {
  const start = docs.indexOf(START);
  const end = docs.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${DOCS}: no ${START} … ${END} block`);
  return docs.slice(start, end + END.length);
}

export async function dependencyGraph(): Promise<string> {
  return mermaidOf(await createProjectGraphAsync());
}

async function main(args: readonly string[]): Promise<void> {
  const mermaid = await dependencyGraph();
  if (args.includes('--write') || args.includes('--check')) {
    const docs = readFileSync(DOCS, 'utf8');
    const current = currentBlock(docs);
    const wanted = docsBlock(mermaid);
    if (current === wanted) return;
    if (args.includes('--check')) {
      process.stderr.write(`${DOCS}: the dependency graph is out of date; run npm run deps:graph\n`);
      process.exitCode = 1;
      return;
    }
    writeFileSync(
      DOCS,
      docs.replace(current, () => wanted),
    );
    process.stdout.write(`updated the dependency graph in ${DOCS}\n`);
    return;
  }
  process.stdout.write(mermaid);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2));
}
