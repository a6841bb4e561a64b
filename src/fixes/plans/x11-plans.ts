import type { Fix } from '../../core/types.js';
import { manual, nspawnFileStep } from './manual-steps.js';
import { hostHomeOf, hostPathInRoot, pasteableDisplay, shellQuote } from './shell-quote.js';
import type { GuestUser, Target } from '../../core/target.js';

/** What a plan needs to know of a target: its kind, root and schroot or nspawn names (facts a check can keep). */
export type FixPlace = Pick<Target, 'kind' | 'root' | 'schroot' | 'nspawn'>;
type Where = FixPlace;

const X11_DIR = '/tmp/.X11-unix';

/** The guest path a host tool reaches from outside: the root joined with the guest path normalised inside it, quoted. */
function fromHost(target: Where, guestPath: string): string {
  return shellQuote(hostPathInRoot(target.root, guestPath));
}

/** The host's Xauthority file as a shell word: XAUTHORITY from the invoking shell, else the host account's own home (never the guest's). */
function hostXauthorityWord(file: string | null, uid: number): string {
  return file !== null ? shellQuote(file) : `${hostHomeOf(uid)}/.Xauthority`;
}

/** Make the host's /tmp/.X11-unix visible in the guest: read-only for nspawn, or the guest's systemd deletes it on the host. */
export function x11SocketBindFix(
  target: Where,
): Fix<'x11.nspawn-bind-socket' | 'x11.schroot-bind-socket' | 'x11.chroot-bind-socket'> | null {
  switch (target.kind) {
    case 'nspawn': {
      const machine = target.nspawn?.machine ?? 'MACHINE';
      return {
        id: 'x11.nspawn-bind-socket',
        title: "Bind the host's X11 sockets into the machine, read-only (--bind-ro=/tmp/.X11-unix)",
        safety: 'manual',
        steps: [
          manual(
            "restart the machine with the X11 socket directory bound read-only (read-write lets the guest's systemd clean it out on the host)",
            `systemd-nspawn --bind-ro=${X11_DIR} -b -D … -M ${shellQuote(machine)}`,
          ),
          nspawnFileStep(machine, `[Files]\nBindReadOnly=${X11_DIR}`),
        ],
      };
    }
    case 'schroot': {
      const chroot = target.schroot?.chroot ?? 'NAME';
      return {
        id: 'x11.schroot-bind-socket',
        title: "Bind /tmp/.X11-unix in the schroot profile's fstab",
        safety: 'manual',
        steps: [
          manual(
            `add this line to the fstab of ${chroot}'s profile (setup.fstab), then start a new session`,
            `${X11_DIR} ${X11_DIR} none rw,bind 0 0`,
          ),
        ],
      };
    }
    case 'chroot':
      return {
        id: 'x11.chroot-bind-socket',
        title: 'Bind /tmp/.X11-unix into the chroot',
        safety: 'manual',
        steps: [
          manual(
            "bind the host's X11 socket directory before entering the chroot",
            `mkdir -p ${fromHost(target, X11_DIR)} && mount --bind ${X11_DIR} ${fromHost(target, X11_DIR)}`,
          ),
        ],
      };
    default:
      return null;
  }
}

/** Set DISPLAY in the guest session, per container kind. */
export function displayEnvFix(
  target: Where,
  display: string,
): Fix<'x11.nspawn-setenv-display' | 'x11.schroot-preserve-display' | 'x11.export-display'> | null {
  // A DISPLAY that is not `host:N.S` is never printed into a snippet (it may carry `$(…)`).
  if (!pasteableDisplay(display)) return null;
  switch (target.kind) {
    case 'nspawn': {
      const machine = target.nspawn?.machine ?? 'MACHINE';
      return {
        id: 'x11.nspawn-setenv-display',
        title: `Set DISPLAY=${display} in the machine`,
        safety: 'manual',
        steps: [
          manual('start the machine with DISPLAY set', `systemd-nspawn --setenv=DISPLAY=${display} -b -D … -M ${shellQuote(machine)}`),
          nspawnFileStep(machine, `[Exec]\nEnvironment=DISPLAY=${display}`),
          manual('or for one program inside the machine', `DISPLAY=${display} firefox`, 'guest'),
        ],
      };
    }
    case 'schroot': {
      const chroot = target.schroot?.chroot ?? 'NAME';
      return {
        id: 'x11.schroot-preserve-display',
        title: 'Keep DISPLAY when entering the schroot (preserve-environment=true)',
        safety: 'manual',
        steps: [
          manual(
            `schroot drops DISPLAY unless the chroot keeps the environment: add this to [${chroot}] in /etc/schroot/chroot.d/`,
            'preserve-environment=true',
          ),
          manual('or for one session', `schroot -p -c ${shellQuote(chroot)}`),
        ],
      };
    }
    case 'chroot':
    case 'pid':
    case 'self':
      return {
        id: 'x11.export-display',
        title: `Export DISPLAY=${display} in the guest shell`,
        safety: 'manual',
        steps: [manual('in the shell inside the guest', `export DISPLAY=${display}`, 'guest')],
      };
    default:
      return null;
  }
}

/** Give the guest user the host's cookie: a read-only bind for nspawn, a copy for the others. */
export function xauthorityFix(
  target: Where,
  opts: { display: string; hostXauthority: string | null; user: GuestUser },
): Fix<'x11.nspawn-bind-xauthority' | 'x11.copy-xauthority'> | null {
  if (!pasteableDisplay(opts.display)) return null;
  const guestFile = `${opts.user.home}/.Xauthority`;
  const source = hostXauthorityWord(opts.hostXauthority, opts.user.uid);
  if (target.kind === 'nspawn') {
    const machine = target.nspawn?.machine ?? 'MACHINE';
    return {
      id: 'x11.nspawn-bind-xauthority',
      title: "Bind the host's Xauthority into the machine and point XAUTHORITY at it",
      safety: 'manual',
      steps: [
        manual(
          'restart the machine with the cookie file bound and XAUTHORITY set (keep it out of /tmp, which nspawn replaces)',
          `systemd-nspawn --bind-ro=${source}:/run/host-xauthority --setenv=XAUTHORITY=/run/host-xauthority -b -D … -M ${shellQuote(machine)}`,
        ),
        ...(opts.hostXauthority !== null && /^[\w./-]+$/.test(opts.hostXauthority)
          ? [
              nspawnFileStep(
                machine,
                `[Files]\nBindReadOnly=${opts.hostXauthority}:/run/host-xauthority\n\n[Exec]\nEnvironment=XAUTHORITY=/run/host-xauthority`,
              ),
            ]
          : []),
      ],
    };
  }
  if (target.kind !== 'chroot' && target.kind !== 'schroot') return null;
  const dest = fromHost(target, guestFile);
  return {
    id: 'x11.copy-xauthority',
    title: `Copy the cookie for ${opts.display} into ${guestFile} in the guest`,
    safety: 'manual',
    steps: [
      manual(
        "on the host, as the desktop user (or with XAUTHORITY set), merge the display's cookie into the guest user's file",
        `xauth -f ${source} extract - ${opts.display} | xauth -f ${dest} merge - && chown -h ${opts.user.uid}:${opts.user.gid} ${dest}`,
      ),
    ],
  };
}

/** Rewrite the cookie as FamilyWild, so it matches whatever hostname the guest has. */
export function wildcardCookieFix(target: Where, opts: { display: string; guestXauthority: string }): Fix<'x11.wildcard-cookie'> | null {
  if (!pasteableDisplay(opts.display)) return null;
  const dest = fromHost(target, opts.guestXauthority);
  return {
    id: 'x11.wildcard-cookie',
    title: 'Make the cookie match any hostname (FamilyWild)',
    safety: 'manual',
    steps: [
      manual(
        'X clients look the cookie up by hostname; a wildcard entry matches inside a guest with another hostname',
        // `-i` on the reading side: two xauth processes locking the same file can stall each other for 20 s.
        `xauth -i -f ${dest} nlist ${opts.display} | sed -e 's/^..../ffff/' | xauth -f ${dest} nmerge -`,
      ),
    ],
  };
}

/**
 * Let the user's local clients in without a cookie. Unsafe: it widens who may talk to the X server.
 * `userName` is the HOST account of the user's uid (from the host's passwd, never the guest's: L5).
 */
export function xhostLocalUserFix(display: string, userName: string): Fix<'x11.xhost-localuser'> | null {
  if (!pasteableDisplay(display) || !/^[a-z_][a-z0-9_.-]*\$?$/i.test(userName)) return null;
  return {
    id: 'x11.xhost-localuser',
    title: `Allow local clients of ${userName} without a cookie (xhost +si:localuser:${userName})`,
    safety: 'unsafe',
    steps: [
      {
        kind: 'exec',
        where: 'host',
        argv: ['env', `DISPLAY=${display}`, 'xhost', `+si:localuser:${userName}`],
        unless: ['sh', '-c', 'DISPLAY="$1" xhost | grep -qx "SI:localuser:$2"', 'sh', display, userName],
        undo: {
          argv: ['env', `DISPLAY=${display}`, 'xhost', `-si:localuser:${userName}`],
          description: `take ${userName}'s local clients off ${display}'s list again (xhost -si:localuser:${userName})`,
        },
        description: `let every local process of ${userName} use ${display} without a cookie (the X server must be running as the same host; revert with xhost -si:localuser:${userName})`,
      },
    ],
  };
}
