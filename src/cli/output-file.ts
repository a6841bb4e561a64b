import { closeSync, constants, fchmodSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { EXIT } from '../core/exit-code.js';
import { UsageError } from './usage-error.js';
import type { CliIo } from './io.js';

const HINT = 'pick a FILE in a directory that exists and that ctr-doctor may write';

function reason(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
}

/** Throws a one-line UsageError unless FILE's directory exists and is writable; run before any check. */
export function assertOutputWritable(file: string): void {
  if (file.trim() === '') throw new UsageError('--output needs a FILE name', HINT);
  const dir = dirname(resolve(file));
  if (
    (() => {
      try {
        return statSync(file).isDirectory();
      } catch {
        return false;
      }
    })()
  ) {
    throw new UsageError(`cannot write --output ${file}: it is a directory`, 'name a file, such as DIR/ctr-doctor.prom');
  }
  try {
    if (!statSync(dir).isDirectory()) throw new UsageError(`cannot write --output ${file}: ${dir} is not a directory`, HINT);
    // access() says yes to root everywhere; only creating a file proves it (root cannot in /proc, or on a read-only mount).
    const probe = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    closeSync(openSync(probe, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600));
    unlinkSync(probe);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = reason(error);
    throw new UsageError(
      `cannot write --output ${file}: ${dir} ${code === 'ENOENT' ? 'does not exist' : `is not writable (${code})`}`,
      HINT,
    );
  }
}

/**
 * Writes `content` to `file` atomically: a temp file in the same directory (so the rename stays
 * on one filesystem), mode 0644, fsync, rename, fsync of the directory. A reader such as
 * node_exporter's textfile collector sees the old file or the new one, never half of one; the
 * temp name ends in `.tmp`, which the collector (it reads `*.prom`) ignores.
 */
export function writeFileAtomic(file: string, content: string): void {
  const path = resolve(file);
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  } catch (error) {
    throw new UsageError(`cannot write --output ${file}: ${dir} is not writable (${reason(error)})`, HINT);
  }
  try {
    // The umask must not make the file unreadable to the collector's user.
    fchmodSync(fd, 0o644);
    const bytes = Buffer.from(content, 'utf8');
    for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (error) {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
    try {
      unlinkSync(tmp);
    } catch {
      /* never made it */
    }
    throw new UsageError(`cannot write --output ${file}: ${reason(error)}`, HINT);
  }
  try {
    const dfd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // Some filesystems refuse to fsync a directory; the rename itself is done.
  }
}

/**
 * Runs a command whose report goes to `file` instead of stdout: stdout is collected (and is no
 * terminal, so the format defaults to text), then written atomically once the command has made
 * a report. A run that ends in exit code 2 made none, so the previous file stays as it was.
 */
export async function withOutputFile(file: string, io: CliIo, command: (io: CliIo) => Promise<number>): Promise<number> {
  assertOutputWritable(file);
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  const code = await command({ ...io, out, isTty: false, color: () => false });
  if (code === EXIT.usage) return code;
  writeFileAtomic(file, Buffer.concat(chunks).toString('utf8'));
  return code;
}
