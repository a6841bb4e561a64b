// H3, M8, L2 (security audit): the descriptor walk over real temp trees, and reads through what it found.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { InRootError, readRegularCapped, walkInRoot, withWalk } from '../../../src/guest/walk-in-root.js';
import { openGuestDir } from '../../../src/fixes/guest-dir.js';
import { presentAt } from '../../../src/fixes/guest-writer.js';
import { open } from 'node:fs/promises';
import { O_PATH } from '../../../src/guest/walk-in-root.js';

let base: string;
let root: string;
let host: string;

beforeEach(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'ctd-walk-'));
  root = path.join(base, 'root');
  host = path.join(base, 'host');
  mkdirSync(path.join(root, 'home/u/d'), { recursive: true });
  mkdirSync(host);
  writeFileSync(path.join(root, 'home/u/d/hostname'), 'guest\n');
  writeFileSync(path.join(host, 'hostname'), 'HOST-MARKER\n');
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

const textOf = async (guestPath: string): Promise<string | null> =>
  withWalk(root, guestPath, {}, async (w) => {
    const read = w.handle ? await readRegularCapped(w.handle, 1 << 20) : null;
    return read ? read.bytes.toString('utf8') : null;
  });

describe('walkInRoot', () => {
  it('reads through the handle it walked, even when a parent is swapped for a symlink to the host afterwards', async () => {
    const walked = await walkInRoot(root, '/home/u/d/hostname');
    try {
      // The audit's reproduction: resolve, then replace `d` by a link to a host directory, then read.
      renameSync(path.join(root, 'home/u/d'), path.join(root, 'home/u/d.old'));
      symlinkSync(host, path.join(root, 'home/u/d'));
      const read = await readRegularCapped(walked.handle!, 1024);
      expect(read?.bytes.toString()).toBe('guest\n');
    } finally {
      await walked.close();
    }
    // Walked again, the swapped-in absolute link is re-rooted: the host file is not found.
    expect(await textOf('/home/u/d/hostname')).toBeNull();
  });

  it('re-roots absolute symlinks and clamps .. at the root', async () => {
    symlinkSync('/home/u/d', path.join(root, 'abs'));
    symlinkSync('../../../../../../..' + host, path.join(root, 'home/up'));
    writeFileSync(path.join(root, 'top'), 'top\n');
    expect(await textOf('/abs/hostname')).toBe('guest\n');
    expect(await textOf('/home/up/hostname')).toBeNull();
    expect(await textOf('/../../../top')).toBe('top\n');
    const w = await walkInRoot(root, '/home/u/../u/d/../../..');
    expect(w.guestPath).toBe('/');
    await w.close();
  });

  it('says where a missing path would be, and a loop is an error', async () => {
    const missing = await walkInRoot(root, '/home/u/nope/x/../y');
    expect(missing.handle).toBeNull();
    expect(missing.guestPath).toBe('/home/u/nope/x/y');
    await missing.close();
    symlinkSync('/b', path.join(root, 'a'));
    symlinkSync('/a', path.join(root, 'b'));
    await expect(walkInRoot(root, '/a/x')).rejects.toThrow(InRootError);
  });

  it('does not follow the last symlink when asked not to', async () => {
    symlinkSync(host, path.join(root, 'link'));
    const w = await walkInRoot(root, '/link', { followLast: false });
    expect(w.stats?.isSymbolicLink()).toBe(true);
    expect(w.parent).not.toBeNull();
    await w.close();
  });

  it('walks through symlinked and looping directories in the middle of a path (the one-open fast way falls back)', async () => {
    symlinkSync('/home/u', path.join(root, 'home/abs-u'));
    symlinkSync('u/d', path.join(root, 'home/rel-d'));
    symlinkSync('/home/loop2', path.join(root, 'home/loop1'));
    symlinkSync('/home/loop1', path.join(root, 'home/loop2'));
    symlinkSync(host, path.join(root, 'home/to-host'));
    expect(await textOf('/home/abs-u/d/hostname')).toBe('guest\n');
    expect(await textOf('/home/rel-d/hostname')).toBe('guest\n');
    expect(await textOf('/home/rel-d/../d/hostname')).toBe('guest\n');
    await expect(walkInRoot(root, '/home/loop1/hostname')).rejects.toMatchObject({ reason: 'symlink-loop' });
    const missing = await walkInRoot(root, '/home/to-host/hostname');
    expect(missing.handle).toBeNull();
    await missing.close();
    const through = await walkInRoot(root, '/home/abs-u/d/hostname');
    expect(through.symlinks).toEqual([{ link: '/home/abs-u', target: '/home/u' }]);
    expect(through.dirs.map((d) => d.guestPath)).toEqual(['/home', '/home/u', '/home/u/d']);
    await through.close();
  });

  it('walks from a root handle the caller holds, and leaves it open', async () => {
    const held = await open(root, O_PATH);
    try {
      const walked = await walkInRoot(root, '/home/u/d/hostname', { rootHandle: held });
      expect(walked.handle).not.toBeNull();
      await walked.close();
      // Still usable: the walk closed only what it opened.
      expect((await held.stat()).isDirectory()).toBe(true);
    } finally {
      await held.close();
    }
  });

  it('a file below a regular file is "not a directory"', async () => {
    await expect(walkInRoot(root, '/home/u/d/hostname/x')).rejects.toMatchObject({ reason: 'not-a-directory' });
  });
});

describe('readRegularCapped', () => {
  it('reads /proc files whose size says 0 in full (L2)', async () => {
    const handle = await open('/proc/self/status', O_PATH);
    try {
      const read = await readRegularCapped(handle, 1 << 20);
      expect(read?.bytes.toString()).toMatch(/^Name:/);
      expect(read?.bytes.toString()).toContain('\nPid:');
      expect(read?.truncated).toBe(false);
    } finally {
      await handle.close();
    }
  });

  it('stops at the cap and says so', async () => {
    writeFileSync(path.join(root, 'big'), 'x'.repeat(10_000));
    const read = await withWalk(root, '/big', {}, (w) => readRegularCapped(w.handle!, 4096));
    expect(read?.bytes.length).toBe(4096);
    expect(read?.truncated).toBe(true);
  });

  it('never opens a FIFO (a naive open would block)', async () => {
    execFileSync('mkfifo', [path.join(root, 'fifo')]);
    expect(await withWalk(root, '/fifo', {}, (w) => readRegularCapped(w.handle!, 4096))).toBeNull();
  });
});

describe('presentAt (M8)', () => {
  it('a sparse 2 GiB file is too large, and is not read', async () => {
    const fd = openSync(path.join(root, 'sparse'), 'w');
    ftruncateSync(fd, 2 * 1024 * 1024 * 1024);
    closeSync(fd);
    const dir = await openGuestDir(root, '/', { create: false });
    try {
      const before = process.memoryUsage().rss;
      const present = await presentAt(dir, 'sparse');
      expect(present).toMatchObject({ type: 'other' });
      expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024);
    } finally {
      await dir.close();
    }
  });

  it('a FIFO and a device node are "other", never opened', async () => {
    execFileSync('mkfifo', [path.join(root, 'fifo')]);
    const isRoot = process.getuid?.() === 0;
    if (isRoot) execFileSync('mknod', [path.join(root, 'zero'), 'c', '1', '5']);
    const dir = await openGuestDir(root, '/', { create: false });
    try {
      expect(await presentAt(dir, 'fifo')).toEqual({ type: 'other', what: 'a FIFO' });
      if (isRoot) expect(await presentAt(dir, 'zero')).toEqual({ type: 'other', what: 'a device' });
    } finally {
      await dir.close();
    }
  });
});
