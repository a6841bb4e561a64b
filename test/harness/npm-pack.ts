/**
 * The package as users get it: `npm pack` of the built tree, and an npm cache that can install
 * it with no network. `npm ci` caches the locked tarballs but not the registry's package
 * documents, which installing a tarball needs to resolve its dependencies' ranges: a dry run
 * fetches them once, from this machine's namespace, through npm itself (the npm registry is
 * the one outside server the machine may reach), so the real install can be `--offline`
 * inside a test's network namespace.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { must } from './proc.js';
import { REPO_ROOT } from './tool.js';

/** Packs the built tool into `dir` and warms the npm cache for an offline install; returns the tarball's path. */
export async function packForOfflineInstall(dir: string): Promise<string> {
  // dist/ is already built for the tests; prepack (the build) is what `npm pack` would run first.
  const packed = (await must(['npm', 'pack', '--ignore-scripts', '--pack-destination', dir], { cwd: REPO_ROOT, timeoutMs: 120_000 }))
    .trim()
    .split('\n')
    .pop()!;
  const tarball = join(dir, packed);
  const scratch = mkdtempSync(join(dir, 'npm-warm-'));
  try {
    mkdirSync(join(scratch, 'lib'));
    await must(['npm', 'install', '--global', '--prefix', scratch, tarball, '--dry-run', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: dir,
      timeoutMs: 180_000,
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return tarball;
}
