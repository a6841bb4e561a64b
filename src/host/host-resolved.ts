import type { Host } from '../core/host.js';

/** systemd-resolved's Varlink socket, which nss-resolve connects to. */
export const RESOLVED_VARLINK = '/run/systemd/resolve/io.systemd.Resolve';

/** Device and inode of the host's resolved Varlink socket, or null when the host has none. */
export async function hostResolvedSocket(host: Host): Promise<{ dev: number; ino: number } | null> {
  const s = await host.stat(RESOLVED_VARLINK);
  return s?.type === 'socket' ? { dev: s.dev, ino: s.ino } : null;
}
