import { stat } from 'node:fs/promises';

/** systemd-resolved's Varlink socket, which nss-resolve connects to. */
export const RESOLVED_VARLINK = '/run/systemd/resolve/io.systemd.Resolve';

/** Device and inode of the host's resolved Varlink socket, or null when the host has none. */
export async function hostResolvedSocket(): Promise<{ dev: number; ino: number } | null> {
  const s = await stat(RESOLVED_VARLINK).catch(() => null);
  return s?.isSocket() ? { dev: s.dev, ino: s.ino } : null;
}
