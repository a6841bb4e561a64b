import { containerPid } from './container-engine.js';
import { openPid } from './open-pid.js';
import type { GuestTarget } from './guest-target.js';
import type { OpenOptions } from './open-options.js';

/** Opens `docker:NAME`: the container's main process, as a pid target named `docker:NAME`. */
export async function openDocker(name: string, opts: OpenOptions): Promise<GuestTarget> {
  return openPid(await containerPid('docker', name), opts, 'pid', `docker:${name}`);
}
