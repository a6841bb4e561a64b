import { containerPid } from './container-engine.js';
import { openPid } from './open-pid.js';
import type { GuestTarget } from './guest-target.js';
import type { OpenOptions } from './open-options.js';

/** Opens `podman:NAME`: the container's main process, as a pid target named `podman:NAME`. */
export async function openPodman(name: string, opts: OpenOptions): Promise<GuestTarget> {
  return openPid(await containerPid('podman', name), opts, 'pid', `podman:${name}`);
}
