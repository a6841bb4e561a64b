import { closeSync, constants, fstatSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { FleetFile } from '../report/fleet-summary.js';

/** A report larger than this is not one ctr-doctor wrote (a thousand guests' reports are a few MB). */
export const MAX_REPORT_BYTES = 64 * 1024 * 1024;

function why(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code === 'ENOENT' ? 'no such file or directory' : (e.code ?? (error instanceof Error ? error.message : String(error)));
}

/** One regular file's text; never blocks on a FIFO or a device, never reads more than the limit. */
function readReport(file: string): FleetFile {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    return { file, error: `cannot read it (${why(error)})` };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { file, error: 'not a regular file' };
    if (st.size > MAX_REPORT_BYTES) return { file, error: `too large for a report (${st.size} bytes)` };
    return { file, text: readFileSync(fd, 'utf8') };
  } catch (error) {
    return { file, error: `cannot read it (${why(error)})` };
  } finally {
    closeSync(fd);
  }
}

/**
 * The report files that PATHs name: a file as it is, a directory as its `*.json` files (not its
 * subdirectories), in name order. A path that cannot be read, or a directory without a report,
 * becomes an entry with an error, so the others are still summarised.
 */
export function readReportFiles(paths: string[]): FleetFile[] {
  const files: FleetFile[] = [];
  for (const path of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch (error) {
      files.push({ file: path, error: why(error) });
      continue;
    }
    if (!isDir) {
      files.push(readReport(path));
      continue;
    }
    let names: string[];
    try {
      names = readdirSync(path)
        .filter((n) => n.endsWith('.json') && !n.startsWith('.'))
        .sort();
    } catch (error) {
      files.push({ file: path, error: `cannot list the directory (${why(error)})` });
      continue;
    }
    const inside = names
      .map((n) => join(path, n))
      .filter((f) => {
        try {
          return !statSync(f).isDirectory();
        } catch {
          return true;
        }
      });
    if (inside.length === 0) files.push({ file: path, error: 'no report (*.json) in this directory' });
    files.push(...inside.map(readReport));
  }
  return files;
}
