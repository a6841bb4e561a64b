import type { Fix } from '../../core/types.js';

/**
 * Create /dev/shm in a chroot and mount a 1777 tmpfs on it. The directory is made root's and
 * 0755 (the engine mounts only on root-owned paths no one else can write: the tmpfs root itself
 * is 1777), and the mount is made through the descriptor of the very directory walked inside the
 * guest, so a symlink swapped in cannot point it at the host's /dev/shm.
 */
export function makeShmFix(): Fix<'dev.make-shm'> {
  return {
    id: 'dev.make-shm',
    title: 'Create /dev/shm in the guest as a 1777 tmpfs',
    safety: 'safe',
    steps: [
      {
        kind: 'mkdir',
        where: 'guest',
        path: '/dev/shm',
        mode: 0o755,
        uid: 0,
        gid: 0,
        description: '/dev/shm: the mount point, mode 0755, owner root',
      },
      {
        kind: 'mount',
        where: 'guest',
        path: '/dev/shm',
        source: { kind: 'tmpfs', options: 'mode=1777,nosuid,nodev' },
        description: 'a tmpfs of mode 1777 for shared memory, as a booted system has (umount it to undo)',
      },
    ],
  };
}
