import type { Fix, FixStep } from '../../core/types.js';
import { manual } from './manual-steps.js';
import { shellQuote } from './shell-quote.js';

/**
 * Mask failed units in a booted guest: a /dev/null symlink in its /etc/systemd/system (what
 * `systemctl mask` writes; undo removes it), then daemon-reload and reset-failed so the guest's
 * state is computed again. Unsafe: a masked unit never starts, even when it would be needed.
 */
export function maskUnitsFix(units: string[]): Fix<'nspawn.mask-failed-units'> {
  const links: FixStep[] = units.map((u) => ({
    kind: 'symlink',
    where: 'guest',
    path: `/etc/systemd/system/${u}`,
    target: '/dev/null',
    description: `mask ${u} (/etc/systemd/system/${u} -> /dev/null)`,
  }));
  return {
    id: 'nspawn.mask-failed-units',
    title: `Mask ${units.join(', ')} in the booted guest`,
    safety: 'unsafe',
    steps: [
      ...links,
      { kind: 'exec', where: 'guest', argv: ['systemctl', 'daemon-reload'], description: "let the guest's systemd read the masks" },
      {
        kind: 'exec',
        where: 'guest',
        argv: ['systemctl', 'reset-failed', ...units],
        description: `forget that ${units.join(', ')} failed, so the guest can reach "running"`,
      },
    ],
  };
}

/** For the next boot: mask from the host, or wait for the guest instead of polling. */
export function bootAdviceFix(root: string, units: string[]): Fix<'nspawn.boot-advice'> {
  return {
    id: 'nspawn.boot-advice',
    title: 'Mask the units before the next boot, and wait for the guest properly',
    safety: 'manual',
    steps: [
      ...(units.length > 0
        ? [manual('on the host, with the guest stopped', `systemctl --root=${shellQuote(root)} mask ${units.join(' ')}`)]
        : []),
      manual('wait for the boot to finish instead of polling', 'systemctl is-system-running --wait', 'guest'),
    ],
  };
}
