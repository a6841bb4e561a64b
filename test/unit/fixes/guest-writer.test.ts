import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { GuestWriter } from '../../../src/fixes/guest-writer.js';
import { GuestWriteRefused, openGuestDir } from '../../../src/fixes/guest-dir.js';
import type { WriteStep } from '../../../src/core/types.js';
import { scratch, type Scratch } from './guest-root.js';

const ref = { fixId: 'test.fix', step: 0 };
const writeStep = (p: string, content: string, mode?: number): WriteStep => ({
  kind: 'write',
  where: 'guest',
  path: p,
  content,
  description: 'test',
  ...(mode !== undefined ? { mode } : {}),
});
const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;

let s: Scratch;
let writer: GuestWriter;
beforeEach(() => {
  s = scratch();
  writer = new GuestWriter(s.root, s.recorder);
});
afterEach(() => s.dispose());

describe('write', () => {
  test('creates a missing file with its mode, records "absent", and skips a second identical write', async () => {
    const first = await writer.write(writeStep('/etc/resolv.conf', 'nameserver 192.0.2.53\n', 0o644), ref);
    expect(first.status).toBe('done');
    expect(readFileSync(s.at('/etc/resolv.conf'), 'utf8')).toBe('nameserver 192.0.2.53\n');
    expect(statSync(s.at('/etc/resolv.conf')).mode & 0o7777).toBe(0o644);
    expect(s.recorder.entry.changes).toMatchObject([
      { op: 'file', guestPath: '/etc/resolv.conf', prior: { type: 'absent' }, state: 'done' },
    ]);
    const second = await writer.write(writeStep('/etc/resolv.conf', 'nameserver 192.0.2.53\n', 0o644), ref);
    expect(second).toMatchObject({ status: 'already-done' });
    expect(s.recorder.entry.changes).toHaveLength(1);
  });

  test('backs up the old bytes, mode and owner before replacing a file', async () => {
    s.file('/etc/resolv.conf', '');
    chmodSync(s.at('/etc/resolv.conf'), 0o600);
    await writer.write(writeStep('/etc/resolv.conf', 'nameserver 192.0.2.53\n'), ref);
    const change = s.recorder.entry.changes[0]!;
    expect(change).toMatchObject({ op: 'file', prior: { type: 'file', size: 0, mode: 0o600, uid, gid } });
    const backup = (change as { prior: { backup: string } }).prior.backup;
    expect(readFileSync(path.join(s.recorder.dir, backup)).length).toBe(0);
    // No mode in the step: the old mode is kept.
    expect(statSync(s.at('/etc/resolv.conf')).mode & 0o7777).toBe(0o600);
  });

  test.each([
    ['an absolute symlink to a host path', (hostFile: string) => hostFile],
    ['a ../ symlink climbing out of the root', (hostFile: string) => `../../../../../../../..${hostFile}`],
  ])('replaces %s without touching the host file', async (_name, linkTo) => {
    const hostFile = path.join(s.outside, 'host-resolv.conf');
    writeFileSync(hostFile, 'nameserver 198.51.100.1\n');
    s.link('/etc/resolv.conf', linkTo(hostFile));
    const result = await writer.write(writeStep('/etc/resolv.conf', 'nameserver 192.0.2.53\n', 0o644), ref);
    expect(result.status).toBe('done');
    expect(result.message).toMatch(/replacing the symlink/);
    expect(readFileSync(hostFile, 'utf8')).toBe('nameserver 198.51.100.1\n');
    expect(lstatSync(s.at('/etc/resolv.conf')).isFile()).toBe(true);
    expect(s.recorder.entry.changes[0]).toMatchObject({ prior: { type: 'symlink', target: linkTo(hostFile) } });
  });

  test('a parent directory that is an absolute symlink is followed inside the root, never on the host', async () => {
    const hostDir = path.join(s.outside, 'etc-elsewhere');
    mkdirSync(hostDir);
    s.link('/conf', hostDir);
    const result = await writer.write(writeStep('/conf/app.conf', 'x\n'), ref);
    expect(result.status).toBe('done');
    expect(existsSync(path.join(hostDir, 'app.conf'))).toBe(false);
    expect(readFileSync(path.join(s.root, hostDir, 'app.conf'), 'utf8')).toBe('x\n');
    // The directories it had to make inside the root are journalled for undo.
    expect(s.recorder.entry.changes.filter((c) => c.op === 'mkdir').length).toBeGreaterThan(0);
  });

  test('refuses a directory and a FIFO in the way', async () => {
    mkdirSync(s.at('/etc/resolv.conf'));
    expect(await writer.write(writeStep('/etc/resolv.conf', 'x'), ref)).toMatchObject({
      status: 'failed',
      message: expect.stringMatching(/is a directory/),
    });
    execFileSync('mkfifo', [s.at('/etc/fifo')]);
    expect(await writer.write(writeStep('/etc/fifo', 'x'), ref)).toMatchObject({
      status: 'failed',
      message: expect.stringMatching(/refused.*FIFO/),
    });
  });
});

describe('openGuestDir (the openat-style walk)', () => {
  test('refuses a component that is a symlink, even one swapped in after resolution', async () => {
    symlinkSync(s.outside, s.at('/swapped'));
    const error = await openGuestDir(s.root, '/swapped', { create: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuestWriteRefused);
    expect(String((error as Error).message)).toMatch(/symlink/);
  });

  test('refuses ".." in a resolved path', async () => {
    await expect(openGuestDir(s.root, '/etc/../..', { create: false })).rejects.toBeInstanceOf(GuestWriteRefused);
  });
});

describe('symlink', () => {
  test('creates a link, skips it when it already points there, and backs up a file it replaces', async () => {
    s.file('/etc/resolv.conf', 'nameserver 127.0.0.53\n');
    const step = {
      kind: 'symlink' as const,
      where: 'guest' as const,
      path: '/etc/resolv.conf',
      target: '/run/systemd/resolve/resolv.conf',
      description: 'link',
    };
    expect((await writer.symlink(step, ref)).status).toBe('done');
    expect(readlinkSync(s.at('/etc/resolv.conf'))).toBe('/run/systemd/resolve/resolv.conf');
    expect(s.recorder.entry.changes[0]).toMatchObject({ op: 'symlink', prior: { type: 'file', size: 22 } });
    expect((await writer.symlink(step, ref)).status).toBe('already-done');
  });
});

describe('mkdir', () => {
  test('creates parents and the directory with mode and owner; a second run is already done', async () => {
    const step = {
      kind: 'mkdir' as const,
      where: 'guest' as const,
      path: '/run/user/1000',
      mode: 0o700,
      uid,
      gid,
      description: 'runtime dir',
    };
    expect((await writer.mkdir(step, ref)).status).toBe('done');
    const st = statSync(s.at('/run/user/1000'));
    expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o700, uid, gid]);
    expect(s.recorder.entry.changes.map((c) => 'guestPath' in c && c.guestPath)).toEqual(['/run', '/run/user', '/run/user/1000']);
    expect((await writer.mkdir(step, ref)).status).toBe('already-done');
  });

  test('fixes the mode of an existing directory and records the old one', async () => {
    mkdirSync(s.at('/run/user/1000'), { recursive: true, mode: 0o755 });
    chmodSync(s.at('/run/user/1000'), 0o755);
    const result = await writer.mkdir({ kind: 'mkdir', where: 'guest', path: '/run/user/1000', mode: 0o700, description: 'x' }, ref);
    expect(result.status).toBe('done');
    expect(statSync(s.at('/run/user/1000')).mode & 0o7777).toBe(0o700);
    expect(s.recorder.entry.changes).toMatchObject([{ op: 'mkdir', prior: { type: 'dir', mode: 0o755 } }]);
  });

  test('a file in the way fails the step', async () => {
    s.file('/run/user/1000', 'x');
    expect((await writer.mkdir({ kind: 'mkdir', where: 'guest', path: '/run/user/1000', description: 'x' }, ref)).status).toBe('failed');
  });
});
