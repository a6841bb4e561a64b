import { discoverGuests, runningInsideContainer, type DiscoveredGuest } from './discover.js';
import { openChroot } from './open-chroot.js';
import { openNspawn } from './open-nspawn.js';
import { openDocker } from './open-docker.js';
import { openPid, openSelf } from './open-pid.js';
import { openPodman } from './open-podman.js';
import { openSchroot, openSchrootSession } from './open-schroot.js';
import { parseTargetSpec, type TargetSpec } from './target-spec.js';
import type { GuestTarget } from './guest-target.js';
import type { OpenOptions } from './open-options.js';

/** The result of opening a TARGET: one guest, or the host with its candidate guests. */
export type Opened = { kind: 'guest'; target: GuestTarget } | { kind: 'host'; target: GuestTarget; candidates: DiscoveredGuest[] };

/** Opens an already parsed spec. */
export async function openSpec(spec: TargetSpec, opts: OpenOptions): Promise<Opened> {
  switch (spec.kind) {
    case 'chroot':
      return { kind: 'guest', target: await openChroot(spec.dir, opts) };
    case 'schroot':
      return { kind: 'guest', target: await openSchroot(spec.name, opts) };
    case 'session':
      return { kind: 'guest', target: await openSchrootSession(spec.id, opts) };
    case 'nspawn':
      return { kind: 'guest', target: await openNspawn(spec.name, opts) };
    case 'pid':
      return { kind: 'guest', target: await openPid(spec.pid, opts) };
    case 'podman':
      return { kind: 'guest', target: await openPodman(spec.name, opts) };
    case 'docker':
      return { kind: 'guest', target: await openDocker(spec.name, opts) };
    case 'self':
      return { kind: 'guest', target: await openSelf(opts) };
    case 'auto':
      return openAuto(opts);
  }
}

/** Opens a TARGET argument; throws TargetError (exit 2) when it cannot. */
export function openTarget(raw: string | undefined, opts: OpenOptions): Promise<Opened> {
  return openSpec(parseTargetSpec(raw), opts);
}

/** No TARGET: inside a container, `self`; on a host with exactly one guest, that one; else the host. */
async function openAuto(opts: OpenOptions): Promise<Opened> {
  if (await runningInsideContainer(opts.host.invokingEnv)) return { kind: 'guest', target: await openSelf(opts) };
  const candidates = (await discoverGuests(opts.host)).filter((g) => g.state !== 'stale');
  if (candidates.length === 1) return openSpec(parseTargetSpec(candidates[0]!.target), opts);
  return { kind: 'host', target: await openSelf(opts, 'host'), candidates };
}
