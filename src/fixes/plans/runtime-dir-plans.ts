import type { Fix } from '../../core/types.js';
import { manual, nspawnFileStep } from './manual-steps.js';
import { hostPathInRoot, shellQuote } from './shell-quote.js';
import type { FixPlace } from './x11-plans.js';

/** What one runtime-dir bind sets in the guest: one environment variable, e.g. DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus. */
export interface RuntimeBindSpec<I extends string> {
  ids: { nspawn: I; schroot: I; chroot: I };
  /** What it brings, for titles: "the session bus". */
  what: string;
  uid: number;
  /** The variable and value to set in the guest, or null when the default finds it. */
  env: { name: string; value: string } | null;
  /** The schroot profile's fstab file, when known (named in the step). */
  fstabFile: string | null;
}

/**
 * Bind the host's /run/user/UID into the guest at the same path and set one variable. nspawn's
 * --bind-user= does not carry the runtime directory (systemd#41546): pair it with a plain --bind.
 */
export function runtimeDirBindFix<I extends string>(place: FixPlace, spec: RuntimeBindSpec<I>): Fix<I> | null {
  const dir = `/run/user/${spec.uid}`;
  const assign = spec.env ? `${spec.env.name}=${spec.env.value}` : null;
  switch (place.kind) {
    case 'nspawn': {
      const machine = place.nspawn?.machine ?? 'MACHINE';
      const setenv = assign ? ` --setenv=${shellQuote(assign)}` : '';
      return {
        id: spec.ids.nspawn,
        title: `Bind ${dir} into the machine for ${spec.what}${assign ? ` and set ${spec.env!.name}` : ''}`,
        safety: 'manual',
        steps: [
          manual(
            `restart the machine with the runtime directory bound (with --bind-user=, add this plain --bind too: --bind-user does not carry ${dir}, systemd#41546)`,
            `systemd-nspawn --bind=${dir}${setenv} -b -D … -M ${shellQuote(machine)}`,
          ),
          nspawnFileStep(machine, `[Files]\nBind=${dir}${assign ? `\n\n[Exec]\nEnvironment=${assign}` : ''}`),
        ],
      };
    }
    case 'schroot': {
      const chroot = place.schroot?.chroot ?? 'NAME';
      const file = spec.fstabFile ?? `the fstab of ${chroot}'s profile (setup.fstab)`;
      return {
        id: spec.ids.schroot,
        title: `Bind ${dir} in ${spec.fstabFile ?? "the schroot profile's fstab"} for ${spec.what}`,
        safety: 'manual',
        steps: [
          manual(`add this line to ${file}, then start a new session`, `${dir} ${dir} none rw,bind 0 0`),
          ...(assign
            ? [
                manual(
                  `keep ${spec.env!.name} and XDG_RUNTIME_DIR: add to [${chroot}] in /etc/schroot/chroot.d/`,
                  'preserve-environment=true',
                ),
              ]
            : []),
        ],
      };
    }
    case 'chroot': {
      const inRoot = shellQuote(hostPathInRoot(place.root, dir));
      return {
        id: spec.ids.chroot,
        title: `Bind ${dir} into the chroot for ${spec.what}`,
        safety: 'manual',
        steps: [
          manual("bind the host's runtime directory before entering the chroot", `mkdir -p ${inRoot} && mount --bind ${dir} ${inRoot}`),
          manual('in the shell inside the guest', `export XDG_RUNTIME_DIR=${dir}${assign ? ` ${shellQuote(assign)}` : ''}`, 'guest'),
        ],
      };
    }
    default:
      return null;
  }
}
