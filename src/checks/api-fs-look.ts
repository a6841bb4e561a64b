import type { CheckContext } from '../core/check.js';
import { isUnder, type MountEntry } from '../parse/mountinfo.js';
import type { ApiFsRequest, ApiFsResponse } from '../core/api-fs-types.js';

const EMPTY: ApiFsRequest = { statfs: [], nodes: [], selfExe: false, pty: null, shm: null };

/** Runs the api-fs probe as the desktop user (a root user shares the root child). */
export function lookAsUser(ctx: CheckContext, request: Partial<ApiFsRequest>): Promise<ApiFsResponse> {
  return ctx.target.probe(
    'api-fs',
    { ...EMPTY, ...request },
    { asUser: true, timeoutMs: Math.max(300, Math.floor(ctx.options.timeoutMs * 0.8)) },
  );
}

/** The guest mount a guest path lies on: the deepest mount point above it, last mounted wins. */
export function mountOf(mounts: readonly MountEntry[], guestPath: string): MountEntry | null {
  let best: MountEntry | null = null;
  for (const m of mounts) {
    if (!isUnder(guestPath, m.mountPoint)) continue;
    if (best === null || m.mountPoint.length >= best.mountPoint.length) best = m;
  }
  return best;
}

/** The few facts about a mount the API checks quote. */
export function describeMount(m: MountEntry | null): { mountPoint: string; fsType: string; source: string; options: string[] } | null {
  return m === null
    ? null
    : { mountPoint: m.mountPoint, fsType: m.fsType, source: m.source, options: [...m.mountOptions, ...m.superOptions] };
}
