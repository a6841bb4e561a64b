import type { HostContext } from '../host/host-context.js';

/** What every target opener needs besides the TARGET itself. */
export interface OpenOptions {
  host: HostContext;
  /** `--user NAME|UID`. */
  user?: string;
  /** `--env-from PID`. */
  envFrom?: number;
  /** mounts.leftover will run: a chroot root nobody runs in starts its holder scan while it opens. */
  prefetchMountHolders?: boolean;
}
