// L7 (security audit): the chroot's resolv.conf snippet, run for real on a temp tree, never writes through a guest symlink.
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { resolvConfProvisionFix } from '../../../src/fixes/plans/resolv-conf-plans.js';

let base: string;
let root: string;
let victim: string;
beforeEach(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'ctd-l7-'));
  root = path.join(base, 'guest root');
  victim = path.join(base, 'host-file');
  writeFileSync(victim, 'HOST FILE\n');
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

const snippet = (): string => {
  const fix = resolvConfProvisionFix({ kind: 'chroot', root } as never, false);
  return (fix!.steps[0] as { snippet: string }).snippet;
};
const runSnippet = (): number => {
  try {
    execFileSync('sh', ['-c', snippet()], { stdio: 'ignore' });
    return 0;
  } catch (error) {
    return (error as { status: number }).status;
  }
};

it.runIf(lstatSync('/etc/resolv.conf', { throwIfNoEntry: false }) !== undefined)(
  'a guest resolv.conf that is a symlink to a host file is replaced, the host file untouched',
  () => {
    mkdirSync(path.join(root, 'etc'), { recursive: true });
    symlinkSync(victim, path.join(root, 'etc/resolv.conf'));
    expect(runSnippet()).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('HOST FILE\n');
    expect(lstatSync(path.join(root, 'etc/resolv.conf')).isFile()).toBe(true);
  },
);

it('a guest /etc that is a symlink to a host directory: the snippet refuses, nothing is written there', () => {
  mkdirSync(root, { recursive: true });
  const hostDir = path.join(base, 'host-etc');
  mkdirSync(hostDir);
  writeFileSync(path.join(hostDir, 'resolv.conf'), 'HOST\n');
  symlinkSync(hostDir, path.join(root, 'etc'));
  expect(runSnippet()).not.toBe(0);
  expect(readFileSync(path.join(hostDir, 'resolv.conf'), 'utf8')).toBe('HOST\n');
});
