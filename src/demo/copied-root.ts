import { chmod, copyFile, mkdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { runCommand } from '../host/run-command.js';

/** The binaries the demo guest runs, and the files its checks read. */
const BINARIES = ['/usr/bin/env', '/bin/sleep', '/bin/sh'];
const FILES = ['/etc/passwd', '/etc/group', '/etc/nsswitch.conf', '/etc/os-release', '/etc/hosts'];

/** Shared libraries a binary needs, from `ldd` (absolute paths only). */
async function librariesOf(binary: string): Promise<string[]> {
  const result = await runCommand(['ldd', binary], { timeoutMs: 5000 });
  return [...result.stdout.matchAll(/(\/\S+) \(0x[0-9a-f]+\)/g)].map((m) => m[1]!);
}

async function copyInto(root: string, file: string): Promise<void> {
  const real = await realpath(file).catch(() => null);
  if (real === null) return;
  for (const at of new Set([file, real])) {
    const dest = path.join(root, at);
    await mkdir(path.dirname(dest), { recursive: true });
    await copyFile(real, dest).catch(() => undefined);
  }
}

/**
 * A minimal root made by copying: for hosts where an overlay of `/` cannot be mounted
 * (for example when `/` is itself an overlay). Enough for a chrooted `sleep` and the checks.
 */
export async function buildCopiedRoot(root: string): Promise<void> {
  for (const dir of ['etc', 'tmp', 'run', 'proc', 'sys', 'dev', 'root', 'home', 'usr/bin', 'bin', 'var/tmp']) {
    await mkdir(path.join(root, dir), { recursive: true });
  }
  await chmod(path.join(root, 'tmp'), 0o1777);
  for (const file of FILES) await copyInto(root, file);
  for (const binary of BINARIES) {
    await copyInto(root, binary);
    for (const lib of await librariesOf(binary)) await copyInto(root, lib);
  }
}
