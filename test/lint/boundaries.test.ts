/**
 * The layer rules of `eslint.config.js` (`@nx/enforce-module-boundaries` over the projects' Nx
 * tags) catch what they are meant to, and the generated dependency graph in docs/architecture.md
 * is the one `scripts/dependency-graph.ts` prints. Nothing is written: ESLint lints probe texts
 * under file names that do not exist.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RULE = '@nx/enforce-module-boundaries';

let eslint: ESLint;

/** The boundary rule's messages for `code` as if it were the file `filePath` (relative to the root). */
async function boundaryErrors(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${ROOT}${filePath}` });
  return result!.messages.filter((m) => m.ruleId === RULE && m.severity === 2).map((m) => m.message);
}

describe('module boundaries (npm run lint)', () => {
  beforeAll(async () => {
    eslint = new ESLint({ cwd: ROOT }); // eslint.config.js computes Nx's project graph first
    // Make sure the rule is on at all: it silently skips itself without a project graph.
    const config = (await eslint.calculateConfigForFile(`${ROOT}libs/proxy/src/index.ts`)) as {
      rules: Record<string, unknown>;
    };
    expect(config.rules[RULE]).toBeDefined();
  });

  const storeType = "import type { LocationStore } from '@sipedge/store';\n\nexport type Probe = LocationStore;\n";

  it('rejects an adapter import in a pure library, even type-only', async () => {
    expect(await boundaryErrors(storeType, 'libs/proxy/src/__boundary_probe.ts')).toEqual([
      'A project tagged with "type:pure" can only depend on libs tagged with "type:pure"',
    ]);
    expect(await boundaryErrors(storeType, 'libs/registrar/src/__boundary_probe.ts')).toHaveLength(1);
  });

  it('rejects an infrastructure client in a pure library', async () => {
    const code = "import { Redis } from 'ioredis';\n\nexport const probe = Redis;\n";
    expect(await boundaryErrors(code, 'libs/registrar/src/__boundary_probe.ts')).toEqual([
      'A project tagged with "type:pure" is not allowed to import "ioredis"',
    ]);
  });

  it('allows the same import in a service, and in a pure library’s tests (in-memory twins)', async () => {
    expect(await boundaryErrors(storeType, 'services/worker/src/__boundary_probe.ts')).toEqual([]);
    const twin = "import { MemoryLocationStore } from '@sipedge/store';\n\nexport const probe = MemoryLocationStore;\n";
    expect(await boundaryErrors(twin, 'libs/proxy/test/__boundary_probe.test.ts')).toEqual([]);
  });

  it('lets an adapter use pure libraries but not a service', async () => {
    const sip = "import { parseMessage } from '@sipedge/sip';\n\nexport const probe = parseMessage;\n";
    expect(await boundaryErrors(sip, 'libs/store/src/__boundary_probe.ts')).toEqual([]);
    const worker =
      "import { startWorkerOpsServer } from '@sipedge/worker';\n\nexport const probe = startWorkerOpsServer;\n";
    expect(await boundaryErrors(worker, 'libs/store/src/__boundary_probe.ts')).toHaveLength(1);
  });
});

describe('generated dependency graph (npm run deps:graph)', () => {
  it('docs/architecture.md holds the graph scripts/dependency-graph.ts prints', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/dependency-graph.ts'], {
      cwd: ROOT,
    });
    const docs = readFileSync(`${ROOT}docs/architecture.md`, 'utf8');
    const block = /<!-- dependency-graph:start -->\n\n```mermaid\n([^]*?)```\n\n<!-- dependency-graph:end -->/.exec(
      docs,
    );
    expect(block, 'the dependency-graph markers in docs/architecture.md').not.toBeNull();
    expect(block![1], 'docs/architecture.md is out of date: run npm run deps:graph').toBe(stdout);
  });
});
