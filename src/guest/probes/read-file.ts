import type { ReadFileRequest, ReadFileResponse } from '../../core/probe-types.js';
import type { ProbeRoot } from '../probe-root.js';

/** More than this is not a cookie or an Xauthority file. */
const MAX_BYTES = 1024 * 1024;

/**
 * Reads a guest file with this child's rights (after it dropped to the desktop user), walked
 * inside `root` (a guest root the child holds) one handle at a time: a file the user could not read
 * is `permission`, whatever root could. Files that stand for the user (the pulse cookie, the
 * Xauthority file) are read this way, never as root.
 */
export async function probeReadFile(request: ReadFileRequest, root: ProbeRoot): Promise<ReadFileResponse> {
  // The request arrives over the wire, whatever its type says.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
  if (typeof request?.path !== 'string' || !request.path.startsWith('/'))
    return { ok: false, reason: 'io', message: 'read-file needs an absolute guest path' };
  const maxBytes = Math.max(0, Math.min(MAX_BYTES, Number.isInteger(request.maxBytes) ? request.maxBytes : MAX_BYTES));
  const read = await root.read(request.path, maxBytes);
  if (!read.ok) return { ok: false, reason: read.reason, message: read.message };
  const { uid, gid, mode, size } = read.stat;
  return { ok: true, dataBase64: read.bytes.toString('base64'), truncated: read.truncated, uid, gid, mode, size };
}
