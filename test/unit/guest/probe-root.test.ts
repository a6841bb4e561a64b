// The probe child's view of a held guest root for one request (probe-root.ts, issue 14): its walks
// share the directories they took, nothing of them outlives the request, and the walk keeps its
// properties (symlinks walked again inside the root, `..` never above it).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProbeRoot } from '../../../src/guest/probe-root.js';
import { O_PATH } from '../../../src/guest/walk-steps.js';

let base: string;
let root: string;

beforeEach(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'ctd-proberoot-'));
  root = path.join(base, 'root');
  mkdirSync(path.join(root, 'run/user/1000'), { recursive: true });
  mkdirSync(path.join(base, 'host'));
  writeFileSync(path.join(base, 'host/secret'), 'HOST\n');
  writeFileSync(path.join(root, 'run/user/1000/cookie'), 'guest\n');
  symlinkSync(path.join(base, 'host'), path.join(root, 'run/user/out'));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

/** The descriptors of this process on something below the root (the root itself left out). */
function fdsBelowRoot(): string[] {
  return fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(root + '/');
    } catch {
      return false;
    }
  });
}

const text = async (r: ProbeRoot, guestPath: string): Promise<string | null> => {
  const read = await r.read(guestPath, 1024);
  return read.ok ? read.bytes.toString('utf8') : null;
};

describe('ProbeRoot', () => {
  it("walks a request's paths through the directories its earlier walks took, and closes them when the request ends", async () => {
    const rootFd = fs.openSync(root, O_PATH | fs.constants.O_DIRECTORY);
    try {
      const request = new ProbeRoot(rootFd);
      expect(await text(request, '/run/user/1000/cookie')).toBe('guest\n');
      // Kept for the request: run, user, 1000.
      expect(fdsBelowRoot().length).toBe(3);
      renameSync(path.join(root, 'run/user/1000'), path.join(root, 'run/user/old'));
      mkdirSync(path.join(root, 'run/user/1000'));
      writeFileSync(path.join(root, 'run/user/1000/cookie'), 'swapped\n');
      // The same request: the directory it walked before.
      expect(await text(request, '/run/user/1000/cookie')).toBe('guest\n');
      const walked = await request.walk('/run/user/1000');
      expect(walked.stats?.ino).toBe(fs.statSync(path.join(root, 'run/user/old')).ino);
      await walked.close();
      request.end();
      expect(fdsBelowRoot()).toEqual([]);
      // The next request (a later pass's too) walks what is there now.
      const next = new ProbeRoot(rootFd);
      expect(await text(next, '/run/user/1000/cookie')).toBe('swapped\n');
      next.end();
      expect(fdsBelowRoot()).toEqual([]);
      // The root is the child's, held for its life: a request never closes it.
      expect(fs.fstatSync(rootFd).isDirectory()).toBe(true);
    } finally {
      fs.closeSync(rootFd);
    }
  });

  it('keeps its directories open while a walk of the request is still open, even after the request ended', async () => {
    const request = ProbeRoot.at(root);
    const walked = await request.walk('/run/user/1000/cookie');
    request.end();
    // The walk still uses the cached /run/user/1000 as its parent: its number must not be reused under it.
    expect(fdsBelowRoot().length).toBeGreaterThanOrEqual(3);
    expect(fs.readlinkSync(`/proc/self/fd/${walked.parent!}`)).toBe(path.join(root, 'run/user/1000'));
    await walked.close();
    expect(fdsBelowRoot()).toEqual([]);
  });

  it('walks started at once take turns and all find their paths; symlinks out of the root stay inside it', async () => {
    for (let i = 0; i < 6; i++) writeFileSync(path.join(root, `run/user/1000/f${i}`), `${i}\n`);
    const request = ProbeRoot.at(root);
    try {
      const texts = await Promise.all([...Array.from({ length: 6 }, (_, i) => text(request, `/run/user/1000/f${i}`))]);
      expect(texts).toEqual(['0\n', '1\n', '2\n', '3\n', '4\n', '5\n']);
      // The absolute link is walked inside the root, where nothing of that name exists: the host's file is never read.
      expect(await request.read('/run/user/out/secret', 1024)).toMatchObject({ ok: false, reason: 'dangling-symlink' });
      expect(await text(request, '/../../../run/user/1000/cookie')).toBe('guest\n');
      const up = await request.walk('/run/user/1000/../../../..');
      expect(up.guestPath).toBe('/');
      await up.close();
    } finally {
      request.end();
    }
    expect(fdsBelowRoot()).toEqual([]);
  });
});
