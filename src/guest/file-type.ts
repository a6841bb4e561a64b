import type { Stats } from 'node:fs';

/** The kind of object a stat describes, in the words GuestStat, HostStat and the api-fs probe's nodes use. */
export type FileType = 'file' | 'directory' | 'symlink' | 'socket' | 'fifo' | 'char' | 'block' | 'unknown';

/** What `stats` describes. */
export function fileTypeOf(stats: Stats): FileType {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'directory';
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isSocket()) return 'socket';
  if (stats.isFIFO()) return 'fifo';
  if (stats.isCharacterDevice()) return 'char';
  if (stats.isBlockDevice()) return 'block';
  return 'unknown';
}
