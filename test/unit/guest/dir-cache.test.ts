// A pass's cache of walk steps (dir-cache.ts, issue 14): reused within a pass, bounded, handed
// back whole at the pass's end, and walks through it find exactly what uncached walks find,
// hostile paths included (symlinks out of the root, `..` above it, loops).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DirCache, HandleBudget } from '../../../src/guest/dir-cache.js';
import { O_PATH, closeAll, readRegularSteps, runStepsSync, walkSteps, type SyncFs, type Walked } from '../../../src/guest/walk-steps.js';
import { makeHostileRoot } from '../support/hostile-links.js';

let base: string;
let root: string;

/** Paths that take every way of the walk, some of them twice through the same directories. */
const PATHS = [
  '/etc/hosts',
  '/etc/hosts',
  '/etc/abs-link',
  '/etc/rel-link',
  '/etc/host-abs',
  '/etc/host-dotdot',
  '/etc/loop-a',
  '/etc/dangling',
  '/etc/to-root/etc/hosts',
  '/lib/x/libc',
  '/usr/lib/x/libc',
  '/lib/x/missing',
  '/etc/hosts/below-a-file',
  '/../../etc/./hosts',
  '/usr/lib/../../etc/hosts',
  '/lib/../etc/hosts',
  '/missing/deeper',
  '/',
  '/etc',
  '/usr/lib',
];

beforeAll(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'ctd-dircache-'));
  ({ root } = makeHostileRoot(base));
  mkdirSync(path.join(root, 'usr/lib/x'), { recursive: true });
  writeFileSync(path.join(root, 'usr/lib/x/libc'), 'libc\n');
  // Merged /usr: the walk through /lib is a symlink every time.
  symlinkSync('usr/lib', path.join(root, 'lib'));
});

afterAll(() => rmSync(base, { recursive: true, force: true }));

/** The synchronous fs, counting the system calls each kind of step makes. */
function countingFs(): { fs: SyncFs; calls: Record<string, number> } {
  const calls: Record<string, number> = { open: 0, fstat: 0, readlink: 0, close: 0 };
  return {
    calls,
    fs: {
      openSync: (p, flags) => (calls.open!++, fs.openSync(p, flags)),
      fstatSync: (fd) => (calls.fstat!++, fs.fstatSync(fd)),
      readlinkSync: (p) => (calls.readlink!++, fs.readlinkSync(p)),
      readSync: (fd, buffer, offset, length, position) => fs.readSync(fd, buffer, offset, length, position),
      readdirSync: (p) => fs.readdirSync(p),
      closeSync: (fd) => (calls.close!++, fs.closeSync(fd)),
    },
  };
}

/** What a walk found (handles left out), and the text of a regular file it found. */
function found(w: Walked<number>, sfs: SyncFs): unknown {
  const read = w.handle !== null && w.stats?.isFile() ? runStepsSync(readRegularSteps(w.handle, 1024, w.stats), sfs) : null;
  return {
    guestPath: w.guestPath,
    ino: w.stats?.ino ?? null,
    name: w.name,
    symlinks: w.symlinks,
    dirs: w.dirs.map((d) => d.guestPath),
    text: read?.bytes.toString('utf8') ?? null,
  };
}

/** Walks `p` (with `cache` when given), returns what it found or the error, and closes what the walk holds. */
function walk(p: string, rootFd: number, sfs: SyncFs, cache?: DirCache<number>, followLast = true): unknown {
  try {
    const w = runStepsSync(walkSteps<number>(root, p, { rootHandle: rootFd, followLast, ...(cache ? { cache } : {}) }), sfs);
    try {
      // A walk never holds what the cache keeps: closing it leaves the cache whole.
      for (const h of w.held) expect(cache?.owns(h) ?? false).toBe(false);
      return found(w, sfs);
    } finally {
      runStepsSync(closeAll(w.held), sfs);
    }
  } catch (e) {
    return String(e);
  }
}

/** The descriptors of this process that hold something under `dir`. */
function fdsUnder(dir: string): string[] {
  return fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir + '/');
    } catch {
      return false;
    }
  });
}

describe('DirCache', () => {
  it('keeps a step only from the root or a cached directory, finds it again, and hands every handle back at the end', () => {
    const cache = new DirCache<number>(100, 10);
    expect(cache.keepDir(100, 'etc', 101)).toBe(true);
    expect(cache.keepDir(101, 'ssl', 102)).toBe(true);
    // 200 is no cached directory: its number may be closed and reused by then, so nothing below it is kept.
    expect(cache.keepDir(200, 'x', 201)).toBe(false);
    cache.keepLink(100, 'lib', 'usr/lib');
    cache.keepLink(200, 'bin', 'usr/bin');
    expect(cache.lookup(100, 'etc')).toEqual({ dir: 101 });
    expect(cache.lookup(101, 'ssl')).toEqual({ dir: 102 });
    expect(cache.lookup(100, 'lib')).toEqual({ link: 'usr/lib' });
    expect(cache.lookup(200, 'bin')).toBeUndefined();
    expect([cache.owns(100), cache.owns(101), cache.owns(201)]).toEqual([true, true, false]);
    // A second handle for a name already kept is the caller's.
    expect(cache.keepDir(100, 'etc', 103)).toBe(false);
    expect(cache.size).toBe(3);
    expect(cache.end().sort()).toEqual([101, 102]);
    // Ended: nothing is found or kept any more.
    expect(cache.lookup(100, 'etc')).toBeUndefined();
    expect(cache.keepDir(100, 'etc', 104)).toBe(false);
    expect(cache.owns(101)).toBe(false);
  });

  it('is bounded: past its size, and past a budget shared by several passes, nothing more is kept', () => {
    const small = new DirCache<number>(1, 2);
    expect(small.keepDir(1, 'a', 2)).toBe(true);
    small.keepLink(1, 'l', 'a');
    expect(small.keepDir(1, 'b', 3)).toBe(false);
    expect(small.size).toBe(2);
    const budget = new HandleBudget(3);
    const one = new DirCache<number>(10, 100, budget);
    const two = new DirCache<number>(20, 100, budget);
    expect([one.keepDir(10, 'a', 11), one.keepDir(10, 'b', 12), two.keepDir(20, 'a', 21), two.keepDir(20, 'b', 22)]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    // Symlinks hold no descriptor: they do not count against the budget.
    two.keepLink(20, 'l', 'a');
    expect(two.lookup(20, 'l')).toEqual({ link: 'a' });
    one.end();
    expect(budget.left).toBe(2);
    expect(two.keepDir(20, 'b', 22)).toBe(true);
  });
});

describe('walks through a pass cache', () => {
  it('find exactly what uncached walks find, every way of the walk and both followLast', () => {
    const plain = countingFs();
    const rootFd = fs.openSync(root, O_PATH | fs.constants.O_DIRECTORY);
    const cache = new DirCache<number>(rootFd);
    try {
      for (const followLast of [true, false])
        for (const p of PATHS)
          expect(walk(p, rootFd, plain.fs, cache, followLast), `${p} followLast=${String(followLast)}`).toEqual(
            walk(p, rootFd, plain.fs, undefined, followLast),
          );
      expect(JSON.stringify(PATHS.map((p) => walk(p, rootFd, plain.fs, cache)))).not.toContain('HOST');
    } finally {
      for (const fd of cache.end()) fs.closeSync(fd);
      fs.closeSync(rootFd);
    }
    expect(fdsUnder(root)).toEqual([]);
  });

  it('reuse the directories and symlinks of earlier walks of the pass: no open, fstat or readlink for a step taken before', () => {
    const rootFd = fs.openSync(root, O_PATH | fs.constants.O_DIRECTORY);
    const cache = new DirCache<number>(rootFd);
    try {
      const first = countingFs();
      walk('/lib/x/libc', rootFd, first.fs, cache);
      // lib (twice: the one-open try, then the symlink), usr, lib, x, libc, and its reopen for reading.
      expect(first.calls).toMatchObject({ open: 7, readlink: 1 });
      const again = countingFs();
      walk('/lib/x/libc', rootFd, again.fs, cache);
      // Only the file itself: its handle, and its reopen for reading.
      expect(again.calls).toMatchObject({ open: 2, readlink: 0 });
      const uncached = countingFs();
      walk('/lib/x/libc', rootFd, uncached.fs);
      expect(uncached.calls.open).toBe(first.calls.open);
      expect(cache.size).toBe(4);
    } finally {
      for (const fd of cache.end()) fs.closeSync(fd);
      fs.closeSync(rootFd);
    }
  });

  it('a pass sees the directories it walked, whatever is renamed meanwhile; a new pass walks afresh', () => {
    const rootFd = fs.openSync(root, O_PATH | fs.constants.O_DIRECTORY);
    const sfs = countingFs().fs;
    let cache = new DirCache<number>(rootFd);
    mkdirSync(path.join(root, 'srv/a'), { recursive: true });
    writeFileSync(path.join(root, 'srv/a/one'), 'one\n');
    try {
      expect(walk('/srv/a/one', rootFd, sfs, cache)).toMatchObject({ text: 'one\n' });
      renameSync(path.join(root, 'srv/a'), path.join(root, 'srv/b'));
      mkdirSync(path.join(root, 'srv/a'));
      writeFileSync(path.join(root, 'srv/a/one'), 'new\n');
      // The same pass: the directory it walked before (one consistent guest for the pass).
      expect(walk('/srv/a/one', rootFd, sfs, cache)).toMatchObject({ text: 'one\n' });
      for (const fd of cache.end()) fs.closeSync(fd);
      // The next pass (after a fix): what is there now, never a handle of the pass before.
      cache = new DirCache<number>(rootFd);
      expect(walk('/srv/a/one', rootFd, sfs, cache)).toMatchObject({ text: 'new\n' });
    } finally {
      for (const fd of cache.end()) fs.closeSync(fd);
      fs.closeSync(rootFd);
      rmSync(path.join(root, 'srv'), { recursive: true, force: true });
    }
    expect(fdsUnder(root)).toEqual([]);
  });

  it('is used only with the root handle it was made for', () => {
    const rootFd = fs.openSync(root, O_PATH | fs.constants.O_DIRECTORY);
    const otherFd = fs.openSync(root, O_PATH | fs.constants.O_DIRECTORY);
    const cache = new DirCache<number>(rootFd);
    try {
      walk('/etc/hosts', otherFd, countingFs().fs, cache);
      expect(cache.size).toBe(0);
      walk('/etc/hosts', rootFd, countingFs().fs, cache);
      expect(cache.size).toBe(1);
    } finally {
      for (const fd of cache.end()) fs.closeSync(fd);
      fs.closeSync(rootFd);
      fs.closeSync(otherFd);
    }
  });

  it('stays within its bound: walks past it hold and close their own handles', () => {
    mkdirSync(path.join(root, 'many'));
    for (let i = 0; i < 20; i++) mkdirSync(path.join(root, `many/d${i}`));
    const rootFd = fs.openSync(root, O_PATH | fs.constants.O_DIRECTORY);
    const cache = new DirCache<number>(rootFd, 8);
    try {
      for (let i = 0; i < 20; i++) expect(walk(`/many/d${i}/nothing`, rootFd, countingFs().fs, cache)).toMatchObject({ ino: null });
      expect(cache.size).toBe(8);
      // The cache's handles, the root's, and none left by the walks past the bound.
      expect(fdsUnder(root).length).toBe(8);
    } finally {
      for (const fd of cache.end()) fs.closeSync(fd);
      fs.closeSync(rootFd);
      rmSync(path.join(root, 'many'), { recursive: true, force: true });
    }
    expect(fdsUnder(root)).toEqual([]);
  });
});
