import type { Target } from '../core/target.js';

/**
 * Whether an abstract unix socket `@name` listens in the guest's network namespace, from
 * /proc/net/unix there. Node 20 connects to abstract names padded to the whole sun_path, which
 * dbus-daemon and X servers never bind, so a listener is looked up instead of connected to.
 */
export async function abstractListens(target: Pick<Target, 'readProcNet'>, name: string): Promise<boolean> {
  const listing = await target.readProcNet('unix');
  if (listing === null) return false;
  return listing.split('\n').some((line) => {
    const f = line.trim().split(/\s+/);
    // Flags 00010000 is __SO_ACCEPTCON: a listening socket.
    return f.length >= 8 && f[3] === '00010000' && f[7] === `@${name}`;
  });
}
