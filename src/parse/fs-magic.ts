/** statfs(2) f_type values of the filesystems the API checks expect (linux/magic.h). */
export const FS_MAGIC = {
  proc: 0x9fa0,
  sysfs: 0x62656572,
  devpts: 0x1cd1,
  tmpfs: 0x01021994,
} as const;

const NAMES: Record<number, string> = {
  0x9fa0: 'proc',
  0x62656572: 'sysfs',
  0x1cd1: 'devpts',
  0x01021994: 'tmpfs',
  0x794c7630: 'overlay',
  0xef53: 'ext4',
  0x9123683e: 'btrfs',
  0x58465342: 'xfs',
  0x858458f6: 'ramfs',
  0x01021997: '9p',
  0x6969: 'nfs',
  0x65735546: 'fuse',
  0x73717368: 'squashfs',
  0x2fc12fc1: 'zfs',
  0x27e0eb: 'cgroup',
  0x63677270: 'cgroup2',
  0x64626720: 'debugfs',
  0x73636673: 'securityfs',
};

/** A filesystem's name from its magic number, or the number in hex. */
export function fsNameOf(type: number | null): string {
  if (type === null) return 'unknown';
  return NAMES[type] ?? `0x${type.toString(16)}`;
}
