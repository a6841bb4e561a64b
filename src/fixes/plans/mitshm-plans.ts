import type { Fix } from '../../core/types.js';
import { manual, nspawnFileStep } from './manual-steps.js';
import { shellQuote } from './shell-quote.js';
import type { FixPlace } from './x11-plans.js';

/** The switch Qt reads (Qt 4 to 6, xcb): no MIT-SHM, images go through the socket. */
const NO_MITSHM = 'QT_X11_NO_MITSHM=1';

/** Why nspawn cannot simply share the IPC namespace, said once in every nspawn step. */
const NSPAWN_NO_SHARE =
  "systemd-nspawn always gives the machine its own IPC namespace and has no option to share the host's (systemd#37841; --share-ipc, PR #2982, was not merged)";

/**
 * Turn MIT-SHM off for the guest's X clients (Qt reads QT_X11_NO_MITSHM=1; other toolkits fall back
 * after the error, or need their own switch), per kind. Null for kinds with no session to set it in.
 */
export function noMitShmFix(place: FixPlace): Fix<'x11.nspawn-no-mitshm' | 'x11.schroot-no-mitshm' | 'x11.export-no-mitshm'> | null {
  switch (place.kind) {
    case 'nspawn': {
      const machine = shellQuote(place.nspawn?.machine ?? 'MACHINE');
      return {
        id: 'x11.nspawn-no-mitshm',
        title: `Turn MIT-SHM off for the machine's X clients (${NO_MITSHM})`,
        safety: 'manual',
        steps: [
          manual(
            `${NSPAWN_NO_SHARE}: start it with MIT-SHM off for Qt programs`,
            `systemd-nspawn --setenv=${NO_MITSHM} -b -D … -M ${machine}`,
          ),
          nspawnFileStep(machine, `[Exec]\nEnvironment=${NO_MITSHM}`),
          manual(
            "or for one program inside the machine (or the program's own switch to turn MIT-SHM off)",
            `${NO_MITSHM} PROGRAM`,
            'guest',
          ),
        ],
      };
    }
    case 'schroot': {
      const chroot = place.schroot?.chroot ?? 'NAME';
      return {
        id: 'x11.schroot-no-mitshm',
        title: `Turn MIT-SHM off for the session's X clients (${NO_MITSHM})`,
        safety: 'manual',
        steps: [
          manual(
            `schroot passes the variable only when it keeps the environment (-p, or preserve-environment=true in [${chroot}] in /etc/schroot/chroot.d/)`,
            `${NO_MITSHM} schroot -p -c ${shellQuote(chroot)}`,
          ),
          manual("or in the desktop user's ~/.profile inside the chroot", `export ${NO_MITSHM}`, 'guest'),
        ],
      };
    }
    case 'chroot':
    case 'pid':
    case 'self':
      return {
        id: 'x11.export-no-mitshm',
        title: `Turn MIT-SHM off for the guest's X clients (${NO_MITSHM})`,
        safety: 'manual',
        steps: [
          manual(
            "in the shell inside the guest, before starting X programs (or the program's own switch to turn MIT-SHM off)",
            `export ${NO_MITSHM}`,
            'guest',
          ),
        ],
      };
    default:
      return null;
  }
}

/**
 * Start the guest's programs in the X server's IPC namespace: chroot and schroot share the host's
 * unless whatever started them unshared it (unshare --ipc, bwrap --unshare-ipc or --unshare-all,
 * firejail --ipc-namespace). `serverPid` is the X server's host pid. Null for nspawn (it cannot).
 */
export function shareIpcFix(place: FixPlace, serverPid: number | null): Fix<'x11.share-ipc-namespace'> | null {
  const enter = serverPid === null ? null : `nsenter --ipc=/proc/${Math.trunc(serverPid)}/ns/ipc --`;
  const why =
    "the guest's programs were started in an IPC namespace of their own (unshare --ipc, bwrap --unshare-ipc or --unshare-all, firejail --ipc-namespace): start them without it";
  switch (place.kind) {
    case 'chroot':
      return {
        id: 'x11.share-ipc-namespace',
        title: "Start the guest's programs in the X server's IPC namespace",
        safety: 'manual',
        steps: [
          manual(
            enter === null ? why : `${why}, or enter the X server's one`,
            `${enter === null ? '' : `${enter} `}chroot ${shellQuote(place.root)} PROGRAM`,
          ),
        ],
      };
    case 'schroot': {
      const chroot = shellQuote(place.schroot?.chroot ?? 'NAME');
      return {
        id: 'x11.share-ipc-namespace',
        title: "Start the session in the X server's IPC namespace",
        safety: 'manual',
        steps: [
          manual(enter === null ? why : `${why}, or enter the X server's one`, `${enter === null ? '' : `${enter} `}schroot -c ${chroot}`),
        ],
      };
    }
    case 'pid':
    case 'self':
      return {
        id: 'x11.share-ipc-namespace',
        title: 'Restart the guest without an IPC namespace of its own',
        safety: 'manual',
        // Nothing to paste: how it was started is not known here.
        steps: [{ kind: 'manual', where: 'host', description: why }],
      };
    default:
      return null;
  }
}
