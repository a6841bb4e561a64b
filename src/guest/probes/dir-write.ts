/**
 * The `dir-write` probe: can this child (dropped to the desktop user) create a directory in a guest
 * directory? What dconf does first in its runtime directory. The directory is walked inside the
 * root one handle at a time (ProbeRoot.walk, O_NOFOLLOW at every step, symlinks re-walked inside the
 * root), and a directory of a random name is made and removed relative to the handle the walk ended
 * on: no path string the guest could swap meanwhile is used, and nothing is left behind. No program runs.
 */
import { mkdir, rmdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { atFd, type WalkedPath } from '../walk-in-root.js';
import type { ProbeRoot } from '../probe-root.js';
import type { DirWriteRequest, DirWriteResponse } from '../../core/probe-types.js';

function errnoOf(error: unknown): string {
  const e = error as NodeJS.ErrnoException & { reason?: string };
  if (e.code) return e.code;
  return e.reason === 'permission' ? 'EACCES' : e.reason === 'symlink-loop' ? 'ELOOP' : e.reason === 'not-a-directory' ? 'ENOTDIR' : 'EIO';
}

const failed = (stage: 'walk' | 'mkdir' | 'rmdir', errno: string, message: string): DirWriteResponse => ({
  ok: false,
  stage,
  errno,
  message,
});

/** Makes and removes `<path>/.ctr-doctor-RANDOM` inside guest root `root`, with this child's rights. */
export async function probeDirWrite(request: DirWriteRequest, root: ProbeRoot): Promise<DirWriteResponse> {
  // The request arrives over the wire, whatever its type says.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
  if (typeof request?.path !== 'string' || !request.path.startsWith('/'))
    return failed('walk', 'EINVAL', 'dir-write needs an absolute guest path');
  let walked: WalkedPath<number>;
  try {
    walked = await root.walk(request.path);
  } catch (error) {
    return failed('walk', errnoOf(error), (error as Error).message);
  }
  try {
    if (!walked.handle || !walked.stats) return failed('walk', 'ENOENT', `${walked.guestPath}: no such directory in the guest`);
    if (!walked.stats.isDirectory()) return failed('walk', 'ENOTDIR', `${walked.guestPath}: not a directory`);
    const name = `.ctr-doctor-${randomBytes(6).toString('hex')}`;
    const shown = `${walked.guestPath.replace(/\/$/, '')}/${name}`;
    // mkdir(2) never follows a last component: a name planted meanwhile is EEXIST, not a way out.
    const inDir = atFd(walked.handle, name);
    try {
      await mkdir(inDir, { mode: 0o700 });
    } catch (error) {
      return failed('mkdir', errnoOf(error), `mkdir ${shown}: ${errnoOf(error)}`);
    }
    try {
      await rmdir(inDir);
    } catch (error) {
      return failed('rmdir', errnoOf(error), `made ${shown} but could not remove it: ${errnoOf(error)}`);
    }
    return { ok: true, guestPath: walked.guestPath };
  } finally {
    await walked.close();
  }
}
