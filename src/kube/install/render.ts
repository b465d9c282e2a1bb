import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadAllYaml } from '@kubernetes/client-node';
import type { AppSpec, InstallSpec } from '../../core/model.js';
import { versionNames } from '../../core/names.js';
import { imageFor } from '../manifests.js';
import type { KubeObject } from './objects.js';
import { expandPlaceholders } from './placeholders.js';
import { InstallRefusal } from './refusal.js';

export type RenderedInstallSpec = Exclude<InstallSpec, { kind: 'builtin' }>;

export interface Rendered {
  objects: KubeObject[];
  /** "chart examples/charts/shop" or "manifests deploy/shop/", for messages. */
  source: string;
}

export interface RenderTarget {
  namespace: string;
  region: string;
}

/** Render a version's objects from the app's manifests or chart; the same inputs give the same objects. */
export async function renderInstall(app: AppSpec, install: RenderedInstallSpec, version: string, target: RenderTarget): Promise<Rendered> {
  return install.kind === 'manifests' ? renderManifests(app, install, version, target) : renderChart(app, install, version, target);
}

async function renderManifests(app: AppSpec, install: Extract<RenderedInstallSpec, { kind: 'manifests' }>, version: string, target: RenderTarget): Promise<Rendered> {
  const source = `manifests ${install.path}`;
  const files = await manifestFiles(install.path);
  const variables = { app: app.name, version, name: versionNames(app, version).deployment, image: imageFor(app, version), namespace: target.namespace, region: target.region, values: install.values };
  const objects: KubeObject[] = [];
  for (const file of files) {
    const text = expandPlaceholders(await readFile(file, 'utf8'), variables, file);
    objects.push(...parseObjects(text, file));
  }
  return { objects, source };
}

async function manifestFiles(location: string): Promise<string[]> {
  let info;
  try {
    info = await stat(location);
  } catch {
    throw new InstallRefusal(`install.path ${location} does not exist (${path.resolve(location)}: paths are relative to the working directory)`);
  }
  if (!info.isDirectory()) return [location];
  const entries = await readdir(location, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile() && /\.(ya?ml|json)$/.test(e.name)).map((e) => path.join(e.parentPath, e.name));
  if (files.length === 0) throw new InstallRefusal(`install.path ${location} holds no .yaml, .yml or .json file`);
  return files.sort();
}

function parseObjects(text: string, source: string): KubeObject[] {
  let documents: unknown[];
  try {
    documents = loadAllYaml(text) as unknown[];
  } catch (error) {
    throw new InstallRefusal(`${source} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const objects: KubeObject[] = [];
  for (const document of documents) {
    if (document === null || document === undefined) continue;
    const list = document as { kind?: unknown; items?: unknown };
    // A `kind: List` (kubectl's and some generators' output) holds its objects in items.
    if (typeof list.kind === 'string' && list.kind.endsWith('List') && Array.isArray(list.items)) objects.push(...(list.items as KubeObject[]));
    else objects.push(document as KubeObject);
  }
  return objects;
}

/**
 * `helm template <app>-<version> <chart>`, as Argo CD renders charts: no cluster access, no release
 * Secret; values files in order, then the config's values, then the image tag set to the version.
 */
async function renderChart(app: AppSpec, install: Extract<RenderedInstallSpec, { kind: 'helm' }>, version: string, target: RenderTarget): Promise<Rendered> {
  const release = versionNames(app, version).deployment;
  const source = `chart ${install.repo ? `${install.chart} from ${install.repo}` : install.chart}${install.version ? ` ${install.version}` : ''}`;
  const dir = await mkdtemp(path.join(tmpdir(), 'cutover-helm-'));
  try {
    const valuesFile = path.join(dir, 'values.json');
    await writeFile(valuesFile, JSON.stringify(install.values));
    const args = [
      'template',
      release,
      install.chart,
      '--namespace',
      target.namespace,
      ...(install.repo ? ['--repo', install.repo] : []),
      ...(install.version ? ['--version', install.version] : []),
      ...install.valuesFiles.flatMap((file) => ['--values', file]),
      '--values',
      valuesFile,
      '--set-string',
      `${install.imageTagKey}=${version}`,
      '--skip-tests',
      // A private repository cache, so concurrent renders never share helm's state on disk.
      '--repository-cache',
      path.join(dir, 'cache'),
      '--repository-config',
      path.join(dir, 'repositories.yaml'),
    ];
    const binary = install.helmBinary ?? 'helm';
    const output = await run(binary, args);
    return { objects: parseObjects(output, source), source };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function run(binary: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return reject(new InstallRefusal(`the helm binary ${binary} was not found: put helm on PATH or set install.helmBinary`));
      const said = stderr.trim().split('\n').slice(-3).join(' ') || error.message;
      reject(new InstallRefusal(`helm template failed: ${said}`));
    });
  });
}
