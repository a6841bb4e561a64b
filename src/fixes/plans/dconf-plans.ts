import type { Fix } from '../../core/types.js';
import { shellQuote } from './shell-quote.js';
import type { GuestUser } from '../../core/target.js';

/**
 * Create the runtime directory, or set its mode and owner, in the guest: what logind's
 * user-runtime-dir@.service does at login on a normal system. Safe on the guest's own
 * directory; unsafe when the guest shares the host's /run (it changes the host's directory too).
 */
export function runtimeDirFix(
  dir: string,
  user: Pick<GuestUser, 'uid' | 'gid' | 'name'>,
  change: 'create' | 'mode' | 'owner',
  safety: 'safe' | 'unsafe',
): Fix<'dconf.chown-runtime-dir' | 'dconf.make-runtime-dir'> {
  const verb = change === 'create' ? 'Create' : change === 'mode' ? 'Set the mode of' : 'Give';
  const title =
    change === 'owner'
      ? `Give ${dir} to ${user.name} (${user.uid}:${user.gid}), mode 0700`
      : `${verb} ${dir} (mode 0700, owner ${user.uid}:${user.gid}) in the guest`;
  return {
    id: change === 'owner' ? 'dconf.chown-runtime-dir' : 'dconf.make-runtime-dir',
    title,
    safety,
    steps: [
      {
        kind: 'mkdir',
        where: 'guest',
        path: dir,
        mode: 0o700,
        uid: user.uid,
        gid: user.gid,
        description: `${dir}: directory, mode 0700, owner ${user.uid}:${user.gid} (the XDG runtime directory of ${user.name})`,
      },
    ],
  };
}

/** Point XDG_RUNTIME_DIR at the user's directory when the session has none. */
export function exportRuntimeDirFix(dir: string): Fix<'dconf.export-runtime-dir'> {
  return {
    id: 'dconf.export-runtime-dir',
    title: `Set XDG_RUNTIME_DIR=${dir} in the guest session`,
    safety: 'manual',
    steps: [
      {
        kind: 'manual',
        where: 'guest',
        description: "in the shell inside the guest (or the container's environment settings)",
        snippet: `export XDG_RUNTIME_DIR=${shellQuote(dir)}`,
      },
    ],
  };
}
