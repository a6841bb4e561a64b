import type { Fix } from '../../core/types.js';

/**
 * Create /dev/shm in a chroot and mount a 1777 tmpfs on it. The mkdir goes through the guest
 * writer; the mount runs on the host, only after the path is shown to be free of symlinks
 * (a guest could otherwise point it at the host's /dev/shm).
 */
export function makeShmFix(hostRoot: string): Fix<'dev.make-shm'> {
  const at = `${hostRoot.replace(/\/+$/, '')}/dev/shm`;
  const guard = 'p=$1; [ "$(readlink -e -- "$p")" = "$p" ] && [ -d "$p" ] && [ ! -L "$p" ] || { echo "$p is not a plain directory inside the guest" >&2; exit 1; }; exec mount -t tmpfs -o mode=1777,nosuid,nodev ctr-doctor-shm "$p"';
  return {
    id: 'dev.make-shm',
    title: 'Create /dev/shm in the guest as a 1777 tmpfs',
    safety: 'safe',
    steps: [
      { kind: 'mkdir', where: 'guest', path: '/dev/shm', mode: 0o1777, uid: 0, gid: 0, description: '/dev/shm: directory, mode 1777, owner root' },
      { kind: 'exec', where: 'host', argv: ['sh', '-c', guard, 'sh', at], unless: ['mountpoint', '-q', at], description: `mount -t tmpfs -o mode=1777,nosuid,nodev ctr-doctor-shm ${at} (undo: umount it)` },
    ],
  };
}
