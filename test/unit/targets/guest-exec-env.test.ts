import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

// Every spawn the Target makes is recorded: what matters is the program and environment it was given.
const spawned = vi.hoisted(() => [] as { file: string; args: readonly string[]; env: NodeJS.ProcessEnv | undefined }[]);
vi.mock('node:child_process', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:child_process')>();
  return {
    ...real,
    spawn: (file: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv }) => {
      spawned.push({ file, args, env: options?.env });
      return real.spawn('/bin/true', [], { ...options, env: {} });
    },
  };
});

const { GuestTarget } = await import('../../../src/targets/guest-target.js');
const { HOST_PATH } = await import('../../../src/host/host-programs.js');

const root = mkdtempSync(path.join(os.tmpdir(), 'ctd-c1-'));
mkdirSync(path.join(root, 'etc'));
writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A session environment a guest user planted on a decoy process. */
const HOSTILE_ENV = { PATH: `${root}/bin:/usr/bin:/bin`, LD_PRELOAD: `${root}/evil.so`, DISPLAY: ':0', XDG_RUNTIME_DIR: '/tmp' };

function target(pid: number | null) {
  return new GuestTarget({
    kind: pid === null ? 'chroot' : 'pid',
    name: 'hostile',
    root: pid === null ? root : `/proc/${pid}/root`,
    displayRoot: root,
    pid,
    netnsPath: pid === null ? null : `/proc/${pid}/ns/net`,
    sharesNetns: pid === null,
    ownMountNs: pid !== null,
    rootViaProcess: false,
    enterUserns: false,
    env: HOSTILE_ENV,
    envSource: 'process 1234',
    sessionPid: 1234,
    user: { uid: 1000, gid: 1000, name: 'u', home: '/home/u', groups: [], source: 'default' },
    session: null,
    noSessionReason: null,
    membership: null,
    pin: null,
  });
}

describe('C1: no runCommand argv[0] is resolved through a guest environment', () => {
  it('exec, execInNetns and hostname spawn absolute host programs with the fixed host environment', async () => {
    spawned.length = 0;
    for (const t of [target(null), target(process.pid)]) {
      await t.exec(['sh', '-c', 'true']);
      await t.exec(['dconf', 'read', '/x'], { user: { uid: 1000, gid: 1000 } });
      await t.execInNetns(['cat', '/proc/net/unix']);
    }
    // Another UTS namespace than ours is needed for hostname() to run anything: pid 1's may be ours, so only when it differs.
    await target(1).hostname();
    expect(spawned.length).toBeGreaterThanOrEqual(6);
    for (const s of spawned) {
      expect(s.file.startsWith('/')).toBe(true);
      expect(s.env).toEqual({ PATH: HOST_PATH, LC_ALL: 'C' });
      expect(s.file.startsWith(root)).toBe(false);
    }
  });

  it('the session variables reach the guest command only as env -i operands, through the allow-list', async () => {
    spawned.length = 0;
    await target(null).exec(['true']);
    const args = spawned[0]!.args;
    const envAt = args.indexOf('/usr/bin/env');
    const operands = args.slice(envAt + 2, args.indexOf('/usr/bin/nsenter', envAt));
    expect(operands).toContain('DISPLAY=:0');
    expect(operands).toContain('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    expect(operands.some((a) => a.startsWith('LD_'))).toBe(false);
    expect(operands.some((a) => a.includes(`${root}/bin`))).toBe(false);
  });
});

describe('probe places', () => {
  it("are made once per target: every probe gets the same place, the user's with its host credentials", async () => {
    const t = target(null);
    const [root1, user1] = await t.probePlaces();
    const [root2, user2] = await t.probePlaces();
    expect(root2).toBe(root1);
    expect(user2).toBe(user1);
    expect(root1!.credentials).toBeNull();
    expect(user1!.credentials?.uid).toBe(1000);
    // Another target (its own scope and root) gets places of its own.
    expect((await target(null).probePlaces())[0]).not.toBe(root1);
  });
});
