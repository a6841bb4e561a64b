import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync, openSync, ftruncateSync, closeSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { GuestFiles, beginReadPass } from '../../../src/guest/guest-files.js';
import { resolveInRoot, InRootError } from '../../../src/guest/in-root.js';

let root: string;
let outside: string;
let files: GuestFiles;

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'ctd-root-'));
  outside = mkdtempSync(path.join(os.tmpdir(), 'ctd-outside-'));
  writeFileSync(path.join(outside, 'secret'), 'host secret\n');
  mkdirSync(path.join(root, 'etc'));
  mkdirSync(path.join(root, 'run/systemd/resolve'), { recursive: true });
  writeFileSync(path.join(root, 'run/systemd/resolve/resolv.conf'), 'nameserver 203.0.113.53\n');
  symlinkSync('/run/systemd/resolve/resolv.conf', path.join(root, 'etc/abs-link'));
  symlinkSync('../run/systemd/resolve/resolv.conf', path.join(root, 'etc/rel-link'));
  symlinkSync(path.join(outside, 'secret'), path.join(root, 'etc/host-abs'));
  symlinkSync('../../../../../../../../..' + path.join(outside, 'secret'), path.join(root, 'etc/host-dotdot'));
  symlinkSync('/etc/loop-b', path.join(root, 'etc/loop-a'));
  symlinkSync('/etc/loop-a', path.join(root, 'etc/loop-b'));
  symlinkSync('/nowhere/at/all', path.join(root, 'etc/dangling'));
  symlinkSync('/', path.join(root, 'etc/to-root'));
  execFileSync('mkfifo', [path.join(root, 'etc/fifo')]);
  symlinkSync('/dev/zero', path.join(root, 'etc/zero-link'));
  mkdirSync(path.join(root, 'dev'));
  execFileSync('mknod', [path.join(root, 'dev/zero'), 'c', '1', '5']);
  const fd = openSync(path.join(root, 'etc/sparse'), 'w');
  ftruncateSync(fd, 1024 * 1024 * 1024);
  closeSync(fd);
  writeFileSync(path.join(root, 'etc/garbage'), Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x81]));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

describe('resolveInRoot', () => {
  it('re-roots absolute symlinks inside the guest', async () => {
    const r = await resolveInRoot(root, '/etc/abs-link');
    expect(r.guestPath).toBe('/run/systemd/resolve/resolv.conf');
    expect(r.hostPath).toBe(path.join(root, 'run/systemd/resolve/resolv.conf'));
    expect(r.symlinks).toHaveLength(1);
  });

  it('follows relative symlinks', async () => {
    expect((await resolveInRoot(root, '/etc/rel-link')).guestPath).toBe('/run/systemd/resolve/resolv.conf');
  });

  it('never reaches a host file through an absolute symlink', async () => {
    const r = await resolveInRoot(root, '/etc/host-abs');
    expect(r.stats).toBeNull();
    expect(r.hostPath.startsWith(root)).toBe(true);
  });

  it('clamps ../ at the guest root', async () => {
    const r = await resolveInRoot(root, '/etc/host-dotdot');
    expect(r.stats).toBeNull();
    expect(r.hostPath.startsWith(root)).toBe(true);
    expect((await resolveInRoot(root, '/../../../etc')).guestPath).toBe('/etc');
  });

  it('refuses a symlink loop with a typed error', async () => {
    await expect(resolveInRoot(root, '/etc/loop-a')).rejects.toBeInstanceOf(InRootError);
  });

  it('resolves a link to / to the root itself', async () => {
    const r = await resolveInRoot(root, '/etc/to-root/etc/abs-link');
    expect(r.guestPath).toBe('/run/systemd/resolve/resolv.conf');
  });

  it('keeps every resolved path inside the root, whatever the input', async () => {
    const segment = fc.constantFrom('..', '.', 'etc', 'abs-link', 'host-abs', 'host-dotdot', 'to-root', 'run', 'x', '');
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { maxLength: 8 }), async (parts) => {
        try {
          const r = await resolveInRoot(root, '/' + parts.join('/'));
          expect(r.hostPath === root || r.hostPath.startsWith(root + '/')).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(InRootError);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('GuestFiles.readFile', () => {
  beforeAll(() => {
    files = new GuestFiles(root);
  });

  it('reads through guest symlinks', async () => {
    const r = await files.readFile('/etc/abs-link');
    expect(r.ok && r.text).toBe('nameserver 203.0.113.53\n');
  });

  it.each([
    ['/etc/fifo', 'not-a-file'],
    ['/dev/zero', 'not-a-file'],
    ['/etc/zero-link', 'not-a-file'],
    ['/etc/dangling', 'dangling-symlink'],
    ['/etc/missing', 'missing'],
    ['/etc/loop-a', 'symlink-loop'],
    ['/etc/host-abs', 'dangling-symlink'],
  ])('%s → %s, without blocking', async (p, reason) => {
    const r = await files.readFile(p);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toBe(reason);
  });

  it('caps a 1 GB sparse file at the read limit', async () => {
    const r = await files.readFile('/etc/sparse', { maxBytes: 4096 });
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.truncated).toBe(true);
      expect(r.bytes.length).toBe(4096);
    }
  });

  it('returns binary garbage as bytes without throwing', async () => {
    const r = await files.readFile('/etc/garbage');
    expect(r.ok && r.bytes.length).toBe(5);
  });
});

describe('a read pass (beginReadPass)', () => {
  let passRoot: string;
  let guest: GuestFiles;
  /** Replaces /etc/shared by a new file (another inode), as an editor or a fix would. */
  const swap = (text: string): void => {
    writeFileSync(path.join(passRoot, 'etc/shared.new'), text);
    renameSync(path.join(passRoot, 'etc/shared.new'), path.join(passRoot, 'etc/shared'));
  };
  const text = async (): Promise<string | null> => {
    const r = await guest.readFile('/etc/shared');
    return r.ok ? r.text : null;
  };

  beforeAll(() => {
    passRoot = mkdtempSync(path.join(os.tmpdir(), 'ctd-pass-'));
    mkdirSync(path.join(passRoot, 'etc'));
    guest = new GuestFiles(passRoot);
  });
  afterAll(() => {
    rmSync(passRoot, { recursive: true, force: true });
  });

  it('answers a second read of the same path in the same pass from the first', async () => {
    swap('first\n');
    const end = beginReadPass(passRoot);
    try {
      expect(await text()).toBe('first\n');
      swap('second\n');
      // Spelled differently, walked the same: one answer.
      expect(await text()).toBe('first\n');
      const again = await guest.readFile('//etc/./shared');
      expect(again.ok && again.text).toBe('first\n');
    } finally {
      end();
    }
  });

  it('reads again in a new pass, and sees a file swapped between passes', async () => {
    swap('before the fix\n');
    let end = beginReadPass(passRoot);
    const before = await guest.stat('/etc/shared');
    expect(await text()).toBe('before the fix\n');
    end();
    swap('after the fix\n');
    end = beginReadPass(passRoot);
    try {
      expect(await text()).toBe('after the fix\n');
      const after = await guest.stat('/etc/shared');
      expect('ino' in after && 'ino' in before && after.ino !== before.ino).toBe(true);
    } finally {
      end();
    }
  });

  it('reads afresh outside any pass', async () => {
    swap('one\n');
    expect(await text()).toBe('one\n');
    swap('two\n');
    expect(await text()).toBe('two\n');
  });

  it('shares missing files and directory listings too, and hands out copies', async () => {
    const end = beginReadPass(passRoot);
    try {
      expect((await guest.readFile('/etc/absent')).ok).toBe(false);
      writeFileSync(path.join(passRoot, 'etc/absent'), 'now here\n');
      expect((await guest.readFile('/etc/absent')).ok).toBe(false);
      const list = await guest.readdir('/etc');
      list?.push('mutated');
      expect(await guest.readdir('/etc')).not.toContain('mutated');
    } finally {
      end();
      rmSync(path.join(passRoot, 'etc/absent'));
    }
  });

  it('keeps only its own root: another root in the same run reads its own files', async () => {
    const other = mkdtempSync(path.join(os.tmpdir(), 'ctd-pass-other-'));
    mkdirSync(path.join(other, 'etc'));
    writeFileSync(path.join(other, 'etc/shared'), 'other root\n');
    swap('this root\n');
    const endThis = beginReadPass(passRoot);
    const endOther = beginReadPass(other);
    try {
      expect(await text()).toBe('this root\n');
      const r = await new GuestFiles(other).readFile('/etc/shared');
      expect(r.ok && r.text).toBe('other root\n');
    } finally {
      endThis();
      endOther();
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('walks inside the held root as before: symlinks re-rooted, loops refused, nothing of the host reached', async () => {
    const end = beginReadPass(root);
    try {
      const r = await files.readFile('/etc/abs-link');
      expect(r.ok && r.text).toBe('nameserver 203.0.113.53\n');
      const hostFile = await files.readFile('/etc/host-abs');
      expect(hostFile.ok).toBe(false);
      const loop = await files.readFile('/etc/loop-a');
      expect(!loop.ok && loop.reason).toBe('symlink-loop');
      const throughLink = await files.readFile('/etc/to-root/etc/rel-link');
      expect(throughLink.ok && throughLink.text).toBe('nameserver 203.0.113.53\n');
    } finally {
      end();
    }
  });
});
