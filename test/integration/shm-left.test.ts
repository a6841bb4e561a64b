/**
 * x11.mitshm makes a System V segment as the desktop user and removes it after the X server's
 * attach. A check cut off by its timeout, or a run ending while its ipcrm runs, used to leave the
 * segment behind for good; the CLI's end now removes whatever was made and not removed. Run in an
 * IPC namespace of the test's own (a sleeper's), so nothing touches the machine's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { describeIntegration } from '../harness/skip.js';
import { createShmSegment, removeLeftShmSegments, removeShmSegment, shmSegments } from '../../src/host/sysv-shm.js';
import type { IpcPlace } from '../../src/core/host.js';

describeIntegration('System V segments made for x11.mitshm never outlive the CLI', () => {
  let sleeper: ChildProcess;
  let place: IpcPlace;
  beforeAll(async () => {
    sleeper = spawn('unshare', ['--ipc', 'sleep', '120'], { stdio: 'ignore' });
    // unshare execs sleep in the new namespace: wait until the pid's namespace differs from ours.
    const ours = readlinkSync('/proc/self/ns/ipc');
    for (let i = 0; i < 200; i++) {
      const ns = (() => {
        try {
          return readlinkSync(`/proc/${sleeper.pid}/ns/ipc`);
        } catch {
          return ours;
        }
      })();
      if (ns !== ours) {
        place = { pid: sleeper.pid!, ns };
        return;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('the sleeper never entered an IPC namespace of its own');
  });
  afterAll(() => {
    if (sleeper?.pid) process.kill(sleeper.pid, 'SIGKILL');
  });

  const ids = async (): Promise<number[]> => ((await shmSegments(place)) ?? []).map((s) => s.shmid);

  test('a segment its check did not remove is removed at the end; one it removed is not asked again', async () => {
    const kept = await createShmSegment(place, { uid: 1000, gid: 1000 }, { mode: 0o600, bytes: 4096 });
    const removed = await createShmSegment(place, { uid: 1000, gid: 1000 }, { mode: 0o600, bytes: 4096 });
    if (!kept.ok || !removed.ok) throw new Error(`ipcmk failed: ${JSON.stringify([kept, removed])}`);
    expect(await removeShmSegment(place, removed.shmid)).toBe(true);
    expect(await ids()).toEqual([kept.shmid]);
    await removeLeftShmSegments();
    expect(await ids()).toEqual([]);
    // Nothing is left to remove: a second end is a no-op.
    await removeLeftShmSegments();
    expect(await ids()).toEqual([]);
  });
});
