import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { probeDirWrite } from '../../../src/guest/probes/dir-write.js';
import { ProbeRoot } from '../../../src/guest/probe-root.js';
import type { DirWriteRequest } from '../../../src/core/probe-types.js';

// The probe on a real directory tree standing for a guest root (these run as whoever runs the tests:
// permission refusals are the integration test's, as the desktop user).
let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'ctd-dirwrite-'));
  mkdirSync(join(root, 'run/user/1000'), { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** The probe on `request`, with the root held as the probe child holds its roots (for one request). */
async function dirWrite(request: DirWriteRequest) {
  const held = ProbeRoot.at(root);
  try {
    return await probeDirWrite(request, held);
  } finally {
    held.end();
  }
}

test('makes and removes a directory in the guest directory, leaving nothing', async () => {
  expect(await dirWrite({ path: '/run/user/1000' })).toEqual({ ok: true, guestPath: '/run/user/1000' });
  expect(readdirSync(join(root, 'run/user/1000'))).toEqual([]);
});

test('missing, a file, a path out of the request: each a walk failure with its errno', async () => {
  expect(await dirWrite({ path: '/run/user/1001' })).toMatchObject({ ok: false, stage: 'walk', errno: 'ENOENT' });
  writeFileSync(join(root, 'run/user/file'), 'x');
  expect(await dirWrite({ path: '/run/user/file' })).toMatchObject({ ok: false, stage: 'walk', errno: 'ENOTDIR' });
  expect(await dirWrite({ path: 'run/user/1000' })).toMatchObject({ ok: false, errno: 'EINVAL' });
  expect(await dirWrite({} as DirWriteRequest)).toMatchObject({ ok: false, errno: 'EINVAL' });
});

test("a symlink to an absolute path is walked inside the root: the host's path of that name is never touched", async () => {
  const outside = mkdtempSync(join(tmpdir(), 'ctd-dirwrite-host-'));
  try {
    mkdirSync(join(root, outside), { recursive: true });
    rmSync(join(root, 'run/user/1000'), { recursive: true });
    symlinkSync(outside, join(root, 'run/user/1000'));
    // A directory made in the host's directory of that name would show in its listing.
    expect(await dirWrite({ path: '/run/user/1000' })).toEqual({ ok: true, guestPath: outside });
    expect(readdirSync(outside)).toEqual([]);
    expect(readdirSync(join(root, outside))).toEqual([]);
  } finally {
    rmSync(outside, { recursive: true, force: true });
  }
});

test('a symlink loop is a walk failure, not a hang', async () => {
  symlinkSync('/run/user/b', join(root, 'run/user/a'));
  symlinkSync('/run/user/a', join(root, 'run/user/b'));
  expect(await dirWrite({ path: '/run/user/a' })).toMatchObject({ ok: false, stage: 'walk', errno: 'ELOOP' });
});
