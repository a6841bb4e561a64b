import { spawn } from 'node:child_process';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { hostTool } from './host-programs.js';
import { timing } from '../core/timing.js';

/**
 * The roots of every process (the stat of /proc/PID/root, followed) by the host's own `stat`
 * program, two of them, each on half the pids (by their last digit), started by the bin before the
 * CLI's modules load. On a busy host this is most of the wait for a target: a program starts in a
 * millisecond where a worker thread takes 20-40 ms, and two halves use both cores while the main
 * thread loads. Only root uses it (see {@link statRoots}); anything unexpected gives null, and the
 * host-scan thread scans instead.
 */

/** The two halves: sh expands each glob (in byte order), stat gets the paths as its operands. */
const HALVES = ['/proc/*[02468]/root', '/proc/*[13579]/root'];
/** More than this from one program is not stat's answer about /proc (4 million pids print ~150 MB). */
const OUTPUT_CAP = 192 * 1024 * 1024;
const ERRORS_CAP = 16 * 1024 * 1024;

/** One process's row: its pid, and its root's dev and ino (NaN: it exists, its root cannot be read). */
export type RootRow = [pid: number, dev: number, ino: number];

const ROW = /^\/proc\/(\d+)\/root (\d+) (\d+)$/;
// GNU stat's own words (LC_ALL=C): "stat: cannot statx '/proc/123/root': Permission denied".
const FAILED = /'\/proc\/(\d+)\/root': (.+)$/;

/**
 * The rows `stat -L --printf='%n %d %i\n'` printed, and a row with NaN for each process whose root
 * it could not read (a process that is gone by then has no row). Lines of any other shape are ignored.
 */
export function parseRootStat(stdout: string, stderr: string): RootRow[] {
  const rows = new Map<number, RootRow>();
  for (const line of stdout.split('\n')) {
    const m = ROW.exec(line);
    if (m) rows.set(Number(m[1]), [Number(m[1]), Number(m[2]), Number(m[3])]);
  }
  for (const line of stderr.split('\n')) {
    const m = FAILED.exec(line);
    if (m && !rows.has(Number(m[1])) && m[2] !== 'No such file or directory') rows.set(Number(m[1]), [Number(m[1]), NaN, NaN]);
  }
  return [...rows.values()];
}

/** Linux's O_TMPFILE (absent from fs.constants): an unnamed file in a directory, gone when closed. */
const O_TMPFILE = 0o20200000;

/**
 * An unnamed file for a program's output (in /dev/shm, else /tmp), or null. A pipe would stall the
 * program after 64 KiB until our main thread reads, and it is busy loading the CLI meanwhile.
 */
function unnamedFile(): number | null {
  for (const dir of ['/dev/shm', '/tmp'])
    try {
      return openSync(dir, O_TMPFILE | constants.O_RDWR, 0o600);
    } catch {
      // No such directory, or a file system without O_TMPFILE.
    }
  return null;
}

/** What was written to `fd` (from its start), at most `max` bytes; null when more. */
function readBack(fd: number, max: number): string | null {
  const size = fstatSync(fd).size;
  if (size > max) return null;
  const buf = Buffer.allocUnsafe(size);
  let done = 0;
  while (done < size) {
    const n = readSync(fd, buf, done, size - done, done);
    if (n === 0) break;
    done += n;
  }
  return buf.toString('latin1', 0, done);
}

/** One half: stat's rows, or null when the program did not answer as GNU stat does. */
function statHalf(shell: string, stat: string, glob: string): Promise<RootRow[] | null> {
  const out = unnamedFile();
  const err = out === null ? null : unnamedFile();
  const close = (): void => {
    for (const fd of [out, err]) if (fd !== null) closeSync(fd);
  };
  if (out === null || err === null) {
    close();
    return Promise.resolve(null);
  }
  return new Promise((resolve) => {
    let child;
    try {
      // Our fixed script and glob; the program's path is $0, never part of the script's text.
      child = spawn(shell, ['-c', `exec "$0" -L --printf='%n %d %i\\n' -- ${glob}`, stat], {
        cwd: '/',
        env: { LC_ALL: 'C', PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
        stdio: ['ignore', out, err],
      });
    } catch {
      close();
      resolve(null);
      return;
    }
    const kill = (): void => {
      child.kill('SIGKILL');
    };
    // A stat stuck on a hung file system (some process's root on a dead NFS server) must not outlive us.
    process.once('exit', kill);
    child.once('error', () => {
      process.off('exit', kill);
      close();
      resolve(null);
    });
    child.once('exit', (code) => {
      process.off('exit', kill);
      try {
        // 1: some operand failed (a process gone since the glob), the others were answered.
        const stdout = code === 0 || code === 1 ? readBack(out, OUTPUT_CAP) : null;
        resolve(stdout === null ? null : parseRootStat(stdout, readBack(err, ERRORS_CAP) ?? ''));
      } catch {
        resolve(null);
      } finally {
        close();
      }
    });
    // Only our exit waits for it (see the exit hook): a pending scan must not keep the CLI alive.
    child.unref();
  });
}

/**
 * Every process's root as scan rows (pid, dev, ino, in pid order), by the host's `stat`; null when
 * not root (another user's /proc/PID/root is unreadable, and the thread's scan tells those apart),
 * or when the programs failed or said nothing at all (their own process is always among the pids).
 */
export async function statRoots(
  programs: { shell: string; stat: string } = { shell: hostTool('sh'), stat: hostTool('stat') },
): Promise<Float64Array | null> {
  if (process.geteuid?.() !== 0) return null;
  const started = performance.now();
  const halves = await Promise.all(HALVES.map((glob) => statHalf(programs.shell, programs.stat, glob)));
  if (halves.some((h) => h === null)) return null;
  const all = (halves as RootRow[][]).flat().sort((a, b) => a[0] - b[0]);
  if (all.length === 0) return null;
  timing(`host scan roots: ${all.length} processes by stat in ${Math.round(performance.now() - started)} ms`);
  return Float64Array.from(all.flat());
}
