import type { Host } from '../core/host.js';

/** One X display socket in the host's /tmp/.X11-unix, and whether it accepts connections. */
export interface HostDisplay {
  display: number;
  /** `:N`, ready to paste into DISPLAY. */
  name: string;
  path: string;
  live: boolean;
  /** Why it did not accept: ENOENT, ECONNREFUSED (a stale socket left by a dead server)… */
  errno: string | null;
}

const cache = new WeakMap<Host, Promise<HostDisplay[]>>();

async function probeHostDisplays(host: Host, timeoutMs: number): Promise<HostDisplay[]> {
  const sockets = await host.x11Sockets();
  return Promise.all(
    sockets.map(async ({ display, path }) => {
      const reply = await host.connectUnix(path, timeoutMs);
      return { display, name: `:${display}`, path, live: reply.ok, errno: reply.errno };
    }),
  );
}

/**
 * The host's X displays, each probed once per run with a unix connect from the host's root:
 * the sockets in /tmp/.X11-unix that accept connections are the displays a guest could use.
 */
export function hostDisplays(host: Host, timeoutMs: number): Promise<HostDisplay[]> {
  let found = cache.get(host);
  if (!found) {
    found = probeHostDisplays(host, timeoutMs);
    cache.set(host, found);
  }
  return found;
}

/** The live ones, lowest display first. */
export async function liveHostDisplays(host: Host, timeoutMs: number): Promise<HostDisplay[]> {
  return (await hostDisplays(host, timeoutMs)).filter((d) => d.live).sort((a, b) => a.display - b.display);
}
