import type { Fix } from '../../core/types.js';
import { manual } from './manual-steps.js';
import { shellQuote } from './shell-quote.js';
import type { GuestUser, Target } from '../../core/target.js';

type Where = Pick<Target, 'kind' | 'root' | 'schroot' | 'nspawn'>;

/** Enter the guest as the desktop user and keep the session's environment, per container kind. */
export function enterAsUserFix(
  target: Where,
  user: Pick<GuestUser, 'uid' | 'gid' | 'name' | 'home'>,
): Fix<
  'session.chroot-userspec' | 'session.schroot-preserve-environment' | 'session.nspawn-user-shell' | 'session.sudo-preserve-env'
> | null {
  switch (target.kind) {
    case 'chroot':
      return {
        id: 'session.chroot-userspec',
        title: `Enter the chroot as ${user.name}, keeping the environment (sudo -E, chroot --userspec)`,
        safety: 'manual',
        steps: [
          manual(
            'from the desktop user\'s shell: -E keeps DISPLAY and friends, "PATH=$PATH" stops secure_path replacing PATH, --userspec drops root',
            `sudo -E "PATH=$PATH" chroot --userspec=${user.uid}:${user.gid} ${shellQuote(target.root)} env ${shellQuote(`HOME=${user.home}`)} ${shellQuote(`USER=${user.name}`)} bash -l`,
          ),
        ],
      };
    case 'schroot': {
      const chroot = target.schroot?.chroot ?? 'NAME';
      return {
        id: 'session.schroot-preserve-environment',
        title: `Keep the environment in ${chroot} (preserve-environment=true) and enter it as ${user.name}`,
        safety: 'manual',
        steps: [
          manual(`add to [${chroot}] in /etc/schroot/chroot.d/, and list ${user.name} in users= or groups=`, 'preserve-environment=true'),
          manual('then, as the desktop user, without sudo', `schroot -c ${shellQuote(chroot)}`),
        ],
      };
    }
    case 'nspawn': {
      const machine = target.nspawn?.machine ?? 'MACHINE';
      return {
        id: 'session.nspawn-user-shell',
        title: `Open a shell in ${machine} as ${user.name}`,
        safety: 'manual',
        steps: [
          manual('with machined', `machinectl shell ${shellQuote(`${user.name}@${machine}`)}`),
          manual(
            "without machined (from the host, with the leader's PID)",
            `nsenter -t LEADER_PID -a -S ${user.uid} -G ${user.gid} env -i ${shellQuote(`HOME=${user.home}`)} ${shellQuote(`USER=${user.name}`)} DISPLAY="$DISPLAY" bash -l`,
          ),
        ],
      };
    }
    case 'pid':
    case 'self':
      return {
        id: 'session.sudo-preserve-env',
        title: 'Keep the environment through sudo',
        safety: 'manual',
        steps: [
          manual("run the program with the caller's environment and PATH", `sudo -E "PATH=$PATH" -u ${shellQuote(user.name)} COMMAND`),
        ],
      };
    default:
      return null;
  }
}
