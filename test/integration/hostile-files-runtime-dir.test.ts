/**
 * H2 (security audit): XDG_RUNTIME_DIR naming a host directory through a bind mount (schroot's
 * default fstab binds the host's /home). `fix --yes --unsafe` must neither create it nor give an
 * existing one to the desktop user: only /run/user/UID is a runtime directory to repair.
 */
import { mkdirSync, statSync, existsSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { must } from '../harness/proc.js';
import { umountTree } from '../harness/rootfs.js';
import { describeIntegration } from '../harness/skip.js';
import { runTool } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';

describeIntegration('hostile guest: XDG_RUNTIME_DIR naming a host directory through a bind mount (H2)', () => {
  let w: World;
  let root = '';
  let hostHome = '';
  beforeAll(async () => {
    w = await createWorld();
    hostHome = join(w.stateDir, 'host-home');
    // The host admin's home: theirs (uid 1001), as Debian makes it.
    mkdirSync(join(hostHome, 'admin'), { recursive: true });
    chownSync(join(hostHome, 'admin'), 1001, 1001);
    root = w.minimalRoot('runtime-bind');
    await must(['mount', '--bind', hostHome, join(root, 'home')]);
    w.cleanup.defer(`umount ${join(root, 'home')}`, () => umountTree(join(root, 'home')));
  });
  afterAll(async () => w?.dispose());

  const fix = (xdg: string) =>
    runTool(['fix', `chroot:${root}`, '--only', 'dconf.runtime-dir', '--user', '1000', '--yes', '--unsafe', '--json'], {
      netns: w.net.offNsPath,
      env: { XDG_RUNTIME_DIR: xdg, DISPLAY: ':0' },
    });
  const codesOf = (json: unknown): string[] =>
    (
      (json as { before: { results: { id: string; findings: { code: string }[] }[] } }).before.results.find(
        (r) => r.id === 'dconf.runtime-dir',
      )?.findings ?? []
    ).map((f) => f.code);

  test('a missing ~/.local/bin of the host admin is not created', async () => {
    const r = await fix('/home/admin/.local/bin');
    expect(existsSync(join(hostHome, 'admin/.local'))).toBe(false);
    expect(codesOf(r.json)).toContain('runtime-dir-not-standard');
  });

  test("the host admin's existing home is not given to the guest user", async () => {
    const r = await fix('/home/admin');
    expect(statSync(join(hostHome, 'admin')).uid).toBe(1001);
    expect(codesOf(r.json)).toContain('runtime-dir-not-standard');
  });
});
