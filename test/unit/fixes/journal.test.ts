import { existsSync, readFileSync } from 'node:fs';
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
    [{ CTR_DOCTOR_STATE_DIR: '/tmp/s' }, 0, '/tmp/s'],
  ])('%j as uid %i → %s', (env, uid, want) => {
    expect(stateDir(env, uid)).toBe(want);
  });
});

describe('targetKey', () => {
  test('differs by kind, name and root, and is a safe file name', () => {
    const a = targetKey({ kind: 'chroot', name: '/srv/a b', root: '/srv/a b' });
    expect(a).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(a).not.toBe(targetKey({ kind: 'schroot', name: '/srv/a b', root: '/srv/a b' }));
    expect(a).not.toBe(targetKey({ kind: 'chroot', name: '/srv/a b', root: '/srv/c' }));
    expect(targetKey({ kind: 'chroot', name: '../../etc', root: '/' })).not.toContain('/');
  });
});

describe('TargetJournal', () => {
  let s: Scratch;
  beforeEach(() => { s = scratch(); });
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
});
