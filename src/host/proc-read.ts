import { closeSync, openSync, readSync, readlinkSync, statSync, type Stats } from 'node:fs';

/** Size caps of /proc reads (audit M4): a process's argv or environ may be megabytes, on purpose. */
export const PROC_CAPS = {
  cmdline: 64 * 1024,
  environ: 256 * 1024,
  stat: 4096,
  status: 16 * 1024,
  cgroup: 16 * 1024,
  /** mountinfo of a host or guest: about 150 bytes a mount, so room for some 50,000 mounts. */
  mountinfo: 8 * 1024 * 1024,
  /** /proc/net/unix and friends: about 100 bytes a socket. */
  net: 8 * 1024 * 1024,
  /** maps are streamed in chunks of this size, and read no further than `mapsTotal`. */
  mapsChunk: 64 * 1024,
  mapsTotal: 16 * 1024 * 1024,
} as const;

const SCRATCH_BYTES = 64 * 1024;
let scratchBuffer: Buffer | null = null;

/**
 * One read buffer for every synchronous /proc read: a scan of 10,000 processes would otherwise
 * leave 10,000 buffers of 64 KiB to the garbage collector, and the peak RSS would show it.
 * Safe because the reads are synchronous: no two use it at once.
 */
function scratch(bytes: number): Buffer {
  if (bytes > SCRATCH_BYTES) return Buffer.allocUnsafe(bytes);
  scratchBuffer ??= Buffer.allocUnsafe(SCRATCH_BYTES);
  return scratchBuffer.subarray(0, bytes);
}

/** A capped read: the bytes, and whether the file had more. */
export interface CappedRead {
  bytes: Buffer;
  truncated: boolean;
}

/**
 * Reads at most `max` bytes of a file with one open and as few reads as it takes. /proc files
 * report size 0, so the size is never asked; a file still growing stops at the cap.
 * Null when it cannot be opened or read (the process vanished, no permission).
 */
export function readCappedSync(path: string, max: number): CappedRead | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    // One byte more than the cap tells a file of exactly `max` bytes from a longer one.
    const buf = scratch(Math.min(max + 1, SCRATCH_BYTES));
    const parts: Buffer[] = [];
    let total = 0;
    for (;;) {
      const want = Math.min(buf.length, max + 1 - total);
      if (want <= 0) break;
      const n = readSync(fd, buf, 0, want, null);
      if (n === 0) break;
      parts.push(Buffer.from(buf.subarray(0, n)));
      total += n;
    }
    const all = Buffer.concat(parts, total);
    return total > max ? { bytes: all.subarray(0, max), truncated: true } : { bytes: all, truncated: false };
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** A capped read as text; null when unreadable. */
export function readCappedText(path: string, max: number): { text: string; truncated: boolean } | null {
  const r = readCappedSync(path, max);
  return r ? { text: r.bytes.toString('utf8'), truncated: r.truncated } : null;
}

/**
 * Calls `onLine` for each line of a file read in chunks of `chunk` bytes, never holding more than
 * a chunk and a line; stops after `maxBytes`. Returns null, or the error code when the file could not be read.
 */
export function streamLinesSync(
  path: string,
  onLine: (line: string) => void,
  chunk: number = PROC_CAPS.mapsChunk,
  maxBytes: number = PROC_CAPS.mapsTotal,
): string | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? 'EIO';
  }
  try {
    const buf = scratch(chunk);
    let rest = '';
    let total = 0;
    while (total < maxBytes) {
      const n = readSync(fd, buf, 0, Math.min(chunk, maxBytes - total), null);
      if (n === 0) break;
      total += n;
      const lines = (rest + buf.toString('utf8', 0, n)).split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) onLine(l);
    }
    if (rest !== '' && total < maxBytes) onLine(rest);
    return null;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? 'EIO';
  } finally {
    closeSync(fd);
  }
}

/** readlink, or null. */
export function linkOrNull(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}

/** stat (following the link), or null. */
export function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** `dev:ino` of a path (a directory, /proc/PID/root, an executable), or null. */
export function identityOf(path: string): string | null {
  const s = statOrNull(path);
  return s ? `${s.dev}:${s.ino}` : null;
}
