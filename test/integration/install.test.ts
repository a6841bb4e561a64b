/**
 * The package as users get it: `npm pack`, a global install into a temp prefix (offline:
 * dependencies come from the npm cache, warmed by packForOfflineInstall), then the installed command.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { must, run } from '../harness/proc.js';
import { packForOfflineInstall } from '../harness/npm-pack.js';
import { describeIntegration, requireTool } from '../harness/skip.js';
import { REPO_ROOT, assertBuilt } from '../harness/tool.js';

describeIntegration.skipIf(requireTool('npm', 'unshare') !== null)('npm pack + npm install -g', () => {
  let dir: string;
  let prefix: string;
  let installed: string;
  // The installed tool runs in an empty network namespace: it must need no network at all.
  const tool = (...args: string[]) => run(['unshare', '--net', join(prefix, 'bin/ctr-doctor'), ...args], { timeoutMs: 60_000, cwd: dir });

  beforeAll(async () => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), 'ctd-install-'));
    prefix = join(dir, 'prefix');
    const tarball = await packForOfflineInstall(dir);
    const r = await run(['unshare', '--net', 'npm', 'install', '-g', '--prefix', prefix, tarball, '--offline', '--no-audit', '--no-fund'], {
      cwd: dir,
      timeoutMs: 180_000,
    });
    if (r.exitCode !== 0) throw new Error(`npm install -g failed (rc ${r.exitCode}): ${r.stderr.slice(-2000)}`);
    installed = join(prefix, 'lib/node_modules/ctr-doctor');
  }, 240_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('the bin is linked, executable, keeps its shebang, and answers --version', async () => {
    const bin = join(installed, 'dist/bundle/ctr-doctor.js');
    // A shell line that execs node with the bin's V8 flags, then the CommonJS bundle (scripts/bundle.mjs).
    expect(readFileSync(bin, 'utf8')).toMatch(/^#!\/bin\/sh\n':' \/\/; export MALLOC_ARENA_MAX="\$\{MALLOC_ARENA_MAX:-2\}"; exec node /);
    expect(statSync(bin).mode & 0o111).toBe(0o111);
    const r = await tool('--version');
    expect(r.exitCode, r.stderr).toBe(0);
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  test('checks --json lists the registry', async () => {
    const r = await tool('checks', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    const ids = (JSON.parse(r.stdout) as { id: string }[]).map((c) => c.id);
    expect(ids).toContain('dns.resolv-conf');
    expect(ids.length).toBeGreaterThan(3);
  });

  test('ships built JavaScript, the man page, docs and the example; no TypeScript sources or tests', async () => {
    expect(existsSync(join(prefix, 'share/man/man1/ctr-doctor.1'))).toBe(true);
    for (const p of [
      'dist/src/index.js',
      'dist/src/index.d.ts',
      // check --all's guest-files server, started beside the CLI's bundle.
      'dist/bundle/guest-files-server.js',
      'docs/checks.md',
      'examples/plugin-hostname/index.mjs',
      'man/ctr-doctor.1',
    ])
      expect(existsSync(join(installed, p)), p).toBe(true);
    const files = (await must(['find', installed, '-path', `${installed}/node_modules`, '-prune', '-o', '-type', 'f', '-print'])).split(
      '\n',
    );
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => f.includes('/test/') || (f.includes('/src/') && !f.includes('/dist/src/')))).toEqual([]);
    expect(existsSync(join(installed, 'node_modules/typescript'))).toBe(false);
  });

  test('the installed example plugin loads through the package name', async () => {
    const r = await tool('checks', '--json', '--plugin', join(installed, 'examples/plugin-hostname/index.mjs'));
    expect(r.stderr).toBe('');
    expect((JSON.parse(r.stdout) as { id: string }[]).map((c) => c.id)).toContain('example.hostname');
  });
});
