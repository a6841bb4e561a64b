/**
 * The fix engine's promises on real files: it refuses to act without --yes and a terminal,
 * a dry run changes no byte, a hostile resolv.conf symlink never leads a write to a host
 * file, a second run has nothing to do, and undo puts every byte, mode and link back.
 */
import { chmodSync, lstatSync, mkdirSync, readFileSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Report } from '../../src/core/types.js';
import type { FixRunResult } from '../../src/fixes/fix-result.js';
import { describeIntegration } from '../harness/skip.js';
import { runTool, validateReport } from '../harness/tool.js';
import { filesFingerprint, treeFingerprint } from '../harness/tree-hash.js';
import { createWorld, type World } from '../harness/world.js';

describeIntegration('fix: safety, dry run, idempotence, undo', () => {
  let w: World;
  let env: Record<string, string>;
  // The guests share the world's guest namespace, where the world's DNS answers: the host's resolv.conf
  // (bound in a private mount namespace of the tool's) names it, so the resolv.conf write is verified, so safe.
  const tool = (args: string[]) =>
    runTool(args, { netns: w.net.guestNsPath, env, hostFiles: { '/etc/resolv.conf': `nameserver ${w.net.dnsV4}\n` } });
  const status = (r: Report | null, id: string) => r?.results.find((x) => x.id === id)?.status;

  beforeAll(async () => {
    w = await createWorld({ dns: true });
    env = { CTR_DOCTOR_STATE_DIR: join(w.stateDir, 'journal') };
  });
  afterAll(async () => w?.dispose());

  /** A file-only root with an empty resolv.conf (the Loki case) and no /run/user. */
  const brokenRoot = (name: string): string => {
    const root = w.minimalRoot(name);
    writeFileSync(join(root, 'etc/resolv.conf'), '');
    return root;
  };

  test('without --yes and without a terminal it refuses: exit 2, nothing changed', async () => {
    const root = brokenRoot('no-tty');
    const before = treeFingerprint(root);
    const r = await tool(['fix', `chroot:${root}`, '--only', 'dns.resolv-conf']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--yes/);
    expect(treeFingerprint(root)).toEqual(before);
  });

  test('--dry-run prints the plan and changes no byte in the guest or on the host', async () => {
    const root = brokenRoot('dry-run');
    const hostFiles = ['/etc/resolv.conf', '/etc/passwd', '/etc/hosts'];
    const before = [...treeFingerprint(root), ...filesFingerprint(hostFiles)];
    const text = await tool(['fix', `chroot:${root}`, '--only', 'dns.resolv-conf,dconf.runtime-dir', '--user', '1000', '--dry-run']);
    expect(text.exitCode, text.stderr).toBe(1);
    // The plan table: the fix, its safety and action, and its step (cells may wrap at 80 columns).
    expect(text.stdout).toMatch(/\| dconf\.make-runtime-dir +\| safe: applied/);
    expect(text.stdout).toMatch(/\| dns\.write-resolv-conf +\|/);
    expect(text.stdout).toMatch(/1\) guest: mkdir/);
    for (const line of text.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(text.stdout).toMatch(/Dry run: nothing was changed/);
    const json = await tool([
      'fix',
      `chroot:${root}`,
      '--only',
      'dns.resolv-conf,dconf.runtime-dir',
      '--user',
      '1000',
      '--dry-run',
      '--json',
    ]);
    const out = json.json as FixRunResult;
    await validateReport(out.before);
    expect(out).toMatchObject({ schemaVersion: 1, dryRun: true, applied: [], after: null, journal: null });
    expect(
      out.plan
        .filter((p) => p.action === 'apply')
        .map((p) => p.fixId)
        .sort(),
    ).toEqual(['dconf.make-runtime-dir', 'dns.write-resolv-conf']);
    expect([...treeFingerprint(root), ...filesFingerprint(hostFiles)]).toEqual(before);
  });

  test.each([
    ['absolute', (hostFile: string) => hostFile],
    ['../', (hostFile: string) => `../../../../../..${hostFile}`],
  ])('a resolv.conf symlink to a host file (%s form) is replaced inside the guest; the host file never changes', async (form, linkTo) => {
    const root = w.minimalRoot(`hostile-${form === 'absolute' ? 'abs' : 'rel'}`);
    const hostFile = `/tmp/ctd-host-${w.id}-${form === 'absolute' ? 'abs' : 'rel'}.conf`;
    writeFileSync(hostFile, '# a host file that ctr-doctor must never write\n');
    w.cleanup.defer(`rm ${hostFile}`, () => rmSync(hostFile, { force: true }));
    const hostBefore = readFileSync(hostFile);
    rmSync(join(root, 'etc/resolv.conf'));
    symlinkSync(linkTo(hostFile), join(root, 'etc/resolv.conf'));
    // The trap is real: a host tool following the link lands on the host file.
    expect(realpathSync(join(root, 'etc/resolv.conf'))).toBe(hostFile);

    const r = await tool(['fix', `chroot:${root}`, '--only', 'dns.resolv-conf', '--yes', '--json']);
    const out = r.json as FixRunResult;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(status(out.before, 'dns.resolv-conf')).toBe('fail');
    expect(out.applied).toMatchObject([{ fixId: 'dns.write-resolv-conf', status: 'fixed' }]);
    expect(out.applied[0]!.steps[0]!.message).toMatch(/replacing the symlink/);
    expect(status(out.after, 'dns.resolv-conf')).toBe('pass');
    expect(readFileSync(hostFile).equals(hostBefore)).toBe(true);
    expect(lstatSync(join(root, 'etc/resolv.conf')).isFile()).toBe(true);

    const undo = await tool(['undo', `chroot:${root}`]);
    expect(undo.exitCode, undo.stdout + undo.stderr).toBe(0);
    expect(readlinkSync(join(root, 'etc/resolv.conf'))).toBe(linkTo(hostFile));
    expect(readFileSync(hostFile).equals(hostBefore)).toBe(true);
  });

  test('fix, then a second fix has nothing to do, then undo puts every byte, mode and directory back', async () => {
    const root = w.minimalRoot('undo');
    writeFileSync(join(root, 'etc/resolv.conf'), Buffer.from('# only comments\n#\u00e9\t\r\n'));
    chmodSync(join(root, 'etc/resolv.conf'), 0o640);
    mkdirSync(join(root, 'run/lock'), { recursive: true });
    const before = treeFingerprint(root);
    const args = ['fix', `chroot:${root}`, '--only', 'dns.resolv-conf,dconf.runtime-dir', '--user', '1000', '--yes'];

    const first = await tool([...args, '--json']);
    const out = first.json as FixRunResult;
    expect(first.exitCode, first.stderr).toBe(0);
    expect(out.applied.map((a) => [a.fixId, a.status]).sort()).toEqual([
      ['dconf.make-runtime-dir', 'fixed'],
      ['dns.write-resolv-conf', 'fixed'],
    ]);
    await validateReport(out.after);
    expect(out.after!.results.map((x) => x.id).sort()).toEqual(['dconf.runtime-dir', 'dns.resolv-conf']);
    expect(out.journal).toContain(env.CTR_DOCTOR_STATE_DIR);
    expect(treeFingerprint(root)).not.toEqual(before);

    const second = await tool(args);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/Nothing to do/);
    expect(second.stdout).not.toMatch(/Applying/);

    const undo = await tool(['undo', `chroot:${root}`]);
    expect(undo.exitCode, undo.stdout + undo.stderr).toBe(0);
    expect(undo.stdout).toMatch(/restored \/etc\/resolv\.conf/);
    expect(treeFingerprint(root)).toEqual(before);

    const again = await tool(['undo', `chroot:${root}`]);
    expect(again.stdout).toMatch(/Nothing to undo/);
  });
});
