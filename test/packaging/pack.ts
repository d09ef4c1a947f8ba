/**
 * The package as users get it, for the tests that use it from outside
 * (test/packaging/package.test.ts, test/runtimes/matrix.ts): built with
 * `npm run build`'s script into a staging copy of the package's root (never
 * into dist/: other work may be running from there), packed with `npm pack`,
 * and unpacked into a `node_modules/zcached` with its runtime dependencies
 * (and other packages a test needs) linked from this project's
 * node_modules: no registry install.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeRun, run, type RunResult } from './run.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Whether the package has the 'zcached/keyv' entry (src/keyv/index.ts). */
export const WITH_KEYV = existsSync(path.join(ROOT, 'src/keyv/index.ts'));

/** Throws with everything `result` printed unless it exited with 0. */
export function expectSuccess(result: RunResult): RunResult {
  if (result.code !== 0) throw new Error(`failed: ${describeRun(result)}`);
  return result;
}

/** The project's package.json, as it is packed. */
export function packedManifest(): Record<string, unknown> {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  if (!WITH_KEYV) {
    const exports = pkg['exports'] as Record<string, unknown>;
    delete exports['./keyv'];
    const versions = pkg['typesVersions'] as Record<string, Record<string, unknown>> | undefined;
    if (versions?.['*'] !== undefined) delete versions['*']['keyv'];
  }
  return pkg;
}

/** What {@link buildAndPack} made. */
export interface Packed {
  readonly tarball: string;
  /** Paths inside the tarball. */
  readonly files: readonly string[];
  /** The package.json that was packed. */
  readonly manifest: Record<string, unknown>;
}

/** Builds the package into `root/stage/` and packs it into `root/`. Each child process is bounded by `childMs`. */
export async function buildAndPack(root: string, childMs: number): Promise<Packed> {
  const stage = path.join(root, 'stage');
  mkdirSync(stage);
  const manifest = packedManifest();
  writeFileSync(path.join(stage, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const file of ['README.md', 'LICENSE']) writeFileSync(path.join(stage, file), readFileSync(path.join(ROOT, file)));
  expectSuccess(await run(process.execPath, [path.join(ROOT, 'scripts/build.mjs'), '--out-dir', path.join(stage, 'dist')], ROOT, childMs));
  const pack = expectSuccess(await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', root], stage, childMs));
  const [info] = JSON.parse(pack.stdout) as [{ filename: string; files: { path: string }[] }];
  return { tarball: path.join(root, info.filename), files: info.files.map((file) => file.path), manifest };
}

/** Links `name` from this project's node_modules into `nodeModules`. */
function linkDependency(nodeModules: string, name: string): void {
  const target = path.join(ROOT, 'node_modules', name);
  if (!existsSync(target)) throw new Error(`${name} is not installed in ${ROOT}/node_modules`);
  const link = path.join(nodeModules, name);
  mkdirSync(path.dirname(link), { recursive: true });
  symlinkSync(target, link, 'dir');
}

/**
 * Unpacks `packed` into `consumerRoot/node_modules/zcached` and links its
 * dependencies, the `keyv` peer and `extra` packages next to it. Returns the
 * package's folder.
 */
export async function installPacked(packed: Packed, consumerRoot: string, extra: readonly string[], childMs: number): Promise<string> {
  const nodeModules = path.join(consumerRoot, 'node_modules');
  const installed = path.join(nodeModules, 'zcached');
  mkdirSync(installed, { recursive: true });
  expectSuccess(await run('tar', ['-xzf', packed.tarball, '-C', installed, '--strip-components=1'], consumerRoot, childMs));
  const dependencies = Object.keys((packed.manifest['dependencies'] ?? {}) as Record<string, string>);
  for (const name of new Set([...dependencies, 'keyv', ...extra])) linkDependency(nodeModules, name);
  return installed;
}
