import { chmodSync, existsSync, lstatSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { GuestWriter } from '../../../src/fixes/guest-writer.js';
import { undoEntry } from '../../../src/fixes/undo.js';
import { scratch, type Scratch } from './guest-root.js';

const ref = { fixId: 'test.fix', step: 0 };
let s: Scratch;
let writer: GuestWriter;
beforeEach(() => {
  s = scratch();
  writer = new GuestWriter(s.root, s.recorder);
});
afterEach(() => s.dispose());

const undo = () => undoEntry(s.root, s.recorder.dir, s.recorder.entry);

describe('undo', () => {
  test('puts a replaced file back byte for byte, with its mode', async () => {
    const original = Buffer.from([0x23, 0x20, 0x00, 0xff, 0x0a, 0x6e]);
    writeFileSync(s.at('/etc/resolv.conf'), original);
    chmodSync(s.at('/etc/resolv.conf'), 0o640);
    await writer.write(
      { kind: 'write', where: 'guest', path: '/etc/resolv.conf', content: 'nameserver 192.0.2.53\n', mode: 0o644, description: 'x' },
      ref,
    );
    const items = await undo();
    expect(items).toMatchObject([{ status: 'restored', subject: '/etc/resolv.conf' }]);
    expect(readFileSync(s.at('/etc/resolv.conf')).equals(original)).toBe(true);
    expect(statSync(s.at('/etc/resolv.conf')).mode & 0o7777).toBe(0o640);
  });

  test('puts back a symlink it replaced, and removes what did not exist, including created directories', async () => {
    s.link('/etc/resolv.conf', '../run/resolvconf/resolv.conf');
    await writer.write(
      { kind: 'write', where: 'guest', path: '/etc/resolv.conf', content: 'nameserver 192.0.2.53\n', description: 'x' },
      ref,
    );
    await writer.mkdir({ kind: 'mkdir', where: 'guest', path: '/run/user/1000', mode: 0o700, description: 'x' }, ref);
    const items = await undo();
    expect(items.every((i) => i.status === 'restored')).toBe(true);
    expect(readlinkSync(s.at('/etc/resolv.conf'))).toBe('../run/resolvconf/resolv.conf');
    expect(existsSync(s.at('/run'))).toBe(false);
  });

  test('leaves a file that was changed after the fix, and a directory that is no longer empty', async () => {
    await writer.write({ kind: 'write', where: 'guest', path: '/etc/new.conf', content: 'a\n', description: 'x' }, ref);
    await writer.mkdir({ kind: 'mkdir', where: 'guest', path: '/run/user/1000', description: 'x' }, ref);
    writeFileSync(s.at('/etc/new.conf'), 'edited by hand\n');
    writeFileSync(s.at('/run/user/1000/dconf'), '');
    const items = await undo();
    expect(items.find((i) => i.subject === '/etc/new.conf')).toMatchObject({ status: 'left' });
    expect(items.find((i) => i.subject === '/run/user/1000')).toMatchObject({ status: 'left' });
    expect(readFileSync(s.at('/etc/new.conf'), 'utf8')).toBe('edited by hand\n');
  });

  test('lists commands and unmounts as not undoable, never pretending', async () => {
    await s.recorder.begin({
      op: 'exec',
      fixId: 'f',
      step: 0,
      where: 'guest',
      command: ['systemctl', 'disable', 'systemd-resolved'],
      description: 'x',
      state: 'done',
    });
    await s.recorder.begin({
      op: 'umount',
      fixId: 'f',
      step: 1,
      where: 'host',
      command: ['umount', '-R', '/srv/x/proc'],
      description: 'x',
      state: 'done',
    });
    const items = await undo();
    expect(items.map((i) => i.status)).toEqual(['not-undoable', 'not-undoable']);
    expect(items[0]!.message).toMatch(/cannot be undone.*umount -R \/srv\/x\/proc/);
  });

  test('a second undo of the same entry changes nothing', async () => {
    await writer.symlink(
      { kind: 'symlink', where: 'guest', path: '/etc/resolv.conf', target: '/run/systemd/resolve/resolv.conf', description: 'x' },
      ref,
    );
    await undo();
    expect(lstatSync(s.at('/etc/resolv.conf'), { throwIfNoEntry: false })).toBeUndefined();
    expect((await undo()).map((i) => i.status)).toEqual(['unchanged']);
  });
});
