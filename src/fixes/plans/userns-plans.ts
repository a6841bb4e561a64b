import type { Fix, TargetKind } from '../../core/types.js';
import { manual, nspawnFileStep } from './manual-steps.js';
import { shellQuote } from './shell-quote.js';

/** Map the desktop user's files into the guest's user namespace, the container kind's way. */
export function idmapFix(kind: TargetKind, root: string, user: string, paths: string[], machine: string | null): Fix<'userns.map-user'> {
  const binds = paths
    .slice(0, 4)
    .map((p) => shellQuote(`--bind=${p}:${p}:idmap`))
    .join(' ');
  const steps =
    kind === 'nspawn'
      ? [
          manual(
            "bind the user's paths idmapped (systemd 250+), or the user itself (--bind-user, 249+), or give up the user namespace",
            `systemd-nspawn ${binds || '--bind=SRC:DST:idmap'} -D ${shellQuote(root)} …\nsystemd-nspawn ${shellQuote(`--bind-user=${user}`)} --bind=/run/user/UID -D ${shellQuote(root)} …\nsystemd-nspawn --private-users=identity -D ${shellQuote(root)} …`,
          ),
          ...(machine ? [nspawnFileStep(machine, '[Exec]\nPrivateUsers=identity')] : []),
        ]
      : [
          manual(
            "keep the desktop user's id inside the user namespace (podman, distrobox: --userns=keep-id; unshare: map the user, not only root)",
            `podman run --userns=keep-id …\nunshare --user --map-users=auto --map-groups=auto …`,
          ),
        ];
  return { id: 'userns.map-user', title: "Map the desktop user and its files into the guest's user namespace", safety: 'manual', steps };
}
