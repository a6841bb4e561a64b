import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { stateDir, targetKey } from '../../../src/fixes/journal.js';
import { scratch, type Scratch } from './guest-root.js';

describe('stateDir', () => {
  test.each([
    [{}, 0, '/var/lib/ctr-doctor'],
    [{ HOME: '/home/u' }, 1000, '/home/u/.local/state/ctr-doctor'],
    [{ HOME: '/home/u', XDG_STATE_HOME: '/x/state' }, 1000, '/x/state/ctr-doctor'],
    [{ HOME: '/home/u', XDG_STATE_HOME: 'relative' }, 1000, '/home/u/.local/state/ctr-doctor'],
    // L1: root never takes its state directory from the environment (sudo -E would pass the caller's).
    [{ CTR_DOCTOR_STATE_DIR: '/tmp/s' }, 0, '/var/lib/ctr-doctor'],
    [{ CTR_DOCTOR_STATE_DIR: '/tmp/s', HOME: '/home/u' }, 1000, '/tmp/s'],
  ])('%j as uid %i → %s', (env, uid, want) => {
    expect(stateDir(env, uid)).toBe(want);
  });
  test('--state-dir wins, for root too', () => {
    expect(stateDir({ CTR_DOCTOR_STATE_DIR: '/tmp/s' }, 0, '/srv/state')).toBe('/srv/state');
  });
});

describe('targetKey', () => {
  test('differs by kind and name, not by root (/proc/PID/root changes with a restart), and is a safe file name', () => {
    const a = targetKey({ kind: 'chroot', name: '/srv/a b', root: '/srv/a b' });
    expect(a).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(a).not.toBe(targetKey({ kind: 'schroot', name: '/srv/a b', root: '/srv/a b' }));
    expect(targetKey({ kind: 'nspawn', name: 'box', root: '/proc/41/root' })).toBe(
      targetKey({ kind: 'nspawn', name: 'box', root: '/proc/97/root' }),
    );
    expect(targetKey({ kind: 'chroot', name: '../../etc', root: '/' })).not.toContain('/');
  });
});

describe('TargetJournal', () => {
  let s: Scratch;
  beforeEach(() => {
    s = scratch();
  });
  afterEach(() => s.dispose());

  test('writes nothing until a change is recorded', async () => {
    expect(s.recorder.used).toBe(false);
    expect(existsSync(s.recorder.dir)).toBe(false);
    expect(await s.journal.latest()).toBeNull();
  });

  test('records write-ahead, then done; latest() skips undone entries', async () => {
    const first = s.journal.startEntry(new Date('2024-01-01T00:00:00Z'));
    const i = await first.begin({ op: 'exec', fixId: 'f', step: 0, where: 'host', command: ['true'], description: 'x', state: 'pending' });
    const onDisk = JSON.parse(readFileSync(path.join(first.dir, 'journal.json'), 'utf8'));
    expect(onDisk.changes[0].state).toBe('pending');
    await first.finish(i);
    expect(JSON.parse(readFileSync(path.join(first.dir, 'journal.json'), 'utf8')).changes[0].state).toBe('done');
    const second = s.journal.startEntry(new Date('2024-01-02T00:00:00Z'));
    await second.begin({ op: 'exec', fixId: 'g', step: 0, where: 'host', command: ['true'], description: 'x', state: 'done' });
    expect((await s.journal.latest())?.entry.id).toBe(second.entry.id);
    second.entry.undoneAt = new Date().toISOString();
    await s.journal.save(second.dir, second.entry);
    expect((await s.journal.latest())?.entry.id).toBe(first.entry.id);
  });

  test('latest() follows the run order even when the clock goes back (L1)', async () => {
    const later = s.journal.startEntry(new Date('2030-01-01T00:00:00Z'));
    await later.begin({ op: 'exec', fixId: 'f', step: 0, where: 'host', command: ['true'], description: 'x', state: 'done' });
    const earlierClock = s.journal.startEntry(new Date('2020-01-01T00:00:00Z'));
    await earlierClock.begin({ op: 'exec', fixId: 'g', step: 0, where: 'host', command: ['true'], description: 'x', state: 'done' });
    expect((await s.journal.latest())?.entry.id).toBe(earlierClock.entry.id);
    expect(earlierClock.entry.id).toMatch(/^000002-/);
  });

  test("one run at a time: a second lock fails with one line; a dead holder's lock is taken over (L1)", async () => {
    const release = await s.journal.lock();
    await expect(s.journal.lock()).rejects.toThrow(/another ctr-doctor run \(pid \d+\)/);
    await release();
    const again = await s.journal.lock();
    await again();
    // A lock left by a process that is gone (pid 2^22-1 with a start time no process has).
    writeFileSync(path.join(s.journal.dir, '.lock'), '4194303 1\n');
    const taken = await s.journal.lock();
    await taken();
    expect(existsSync(path.join(s.journal.dir, '.lock'))).toBe(false);
  });
});
