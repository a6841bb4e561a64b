import { runProbe } from '../guest/probe-client.js';
import type { HostContext } from './host-context.js';

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

const cache = new WeakMap<HostContext, Promise<HostDisplay[]>>();

async function probeHostDisplays(host: HostContext, timeoutMs: number): Promise<HostDisplay[]> {
  const sockets = await host.x11Sockets();
  // Path sockets do not depend on the network namespace, so the tool's own one is right here.
  const place = { rootHostPath: '/', netnsPath: null, credentials: null };
  return Promise.all(sockets.map(async ({ display, path }) => {
    const reply = await runProbe(place, 'unix-connect', { path, timeoutMs }, timeoutMs);
    const live = reply.ok && reply.response.ok;
    const errno = reply.ok ? reply.response.errno : null;
    return { display, name: `:${display}`, path, live, errno };
  }));
}

/**
 * The host's X displays, each probed once per run with a unix connect from the host's root:
 * the sockets in /tmp/.X11-unix that accept connections are the displays a guest could use.
 */
export function hostDisplays(host: HostContext, timeoutMs: number): Promise<HostDisplay[]> {
  let found = cache.get(host);
  if (!found) {
    found = probeHostDisplays(host, timeoutMs);
    cache.set(host, found);
  }
  return found;
}

/** The live ones, lowest display first. */
export async function liveHostDisplays(host: HostContext, timeoutMs: number): Promise<HostDisplay[]> {
  return (await hostDisplays(host, timeoutMs)).filter((d) => d.live).sort((a, b) => a.display - b.display);
}
