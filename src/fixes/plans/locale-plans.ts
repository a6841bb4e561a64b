import type { Fix, TargetKind } from '../../core/types.js';
import { manual, nspawnFileStep } from './manual-steps.js';
import { shellQuote } from './shell-quote.js';

/** Run the guest with a locale it has: C.UTF-8 when it has that, else C. */
export function runWithLocaleFix(
  kind: TargetKind,
  root: string,
  fallback: string,
  vars: string[],
  machine: string | null,
): Fix<'locale.use-available'> {
  // Guest strings (its locale names, its session's variable names), quoted or validated (H6).
  const unset = vars
    .filter((v) => v !== 'LANG' && /^[A-Z_][A-Z0-9_]*$/.test(v))
    .map((v) => `${v}=`)
    .join(' ');
  const env = `${shellQuote(`LANG=${fallback}`)}${unset ? ` ${unset}` : ''}`;
  const plain = /^[A-Za-z0-9_.@-]+$/.test(fallback);
  const steps =
    kind === 'nspawn'
      ? [
          manual(
            'start the machine with a locale it has',
            `systemd-nspawn ${shellQuote(`--setenv=LANG=${fallback}`)} -D ${shellQuote(root)} …`,
          ),
          ...(machine && plain ? [nspawnFileStep(machine, `[Exec]\nEnvironment=LANG=${fallback}`)] : []),
          manual('a booted guest reads /etc/locale.conf', `LANG=${plain ? fallback : 'C.UTF-8'}`, 'guest'),
        ]
      : kind === 'schroot'
        ? [manual('enter with a locale the chroot has (or keep LANG and LC_* out of preserve-environment)', `env ${env} schroot -c CHROOT`)]
        : [manual('enter with a locale the guest has', `env ${env} chroot ${shellQuote(root)} …`)];
  return { id: 'locale.use-available', title: `Run the guest's programs with ${env}`, safety: 'manual', steps };
}

/** Generate the missing locale inside the guest, the distribution's way. */
export function generateLocaleFix(osId: string | null, wanted: string[]): Fix<'locale.generate'> {
  // A guest's locale names go into sed scripts in single quotes: only plain names (H6).
  const locales = wanted.filter((l) => /^[A-Za-z0-9_.@-]+$/.test(l));
  const debian = `apt-get install -y locales && ${locales.map((l) => `sed -i 's/^# *\\(${l.replace(/[.[\]*^$\\/]/g, '\\$&')}\\)/\\1/' /etc/locale.gen`).join(' && ')} && locale-gen`;
  const fedora = `dnf install -y ${[...new Set(locales.map((l) => `glibc-langpack-${l.split(/[_.@]/)[0]}`))].join(' ')}`;
  const arch = `${locales.map((l) => `sed -i 's/^#\\(${l.replace(/[.[\]*^$\\/]/g, '\\$&')}\\)/\\1/' /etc/locale.gen`).join(' && ')} && locale-gen`;
  const family =
    osId === null
      ? null
      : /debian|ubuntu|raspbian|mint|kali/.test(osId)
        ? 'debian'
        : /fedora|rhel|centos|rocky|alma/.test(osId)
          ? 'fedora'
          : /arch|manjaro/.test(osId)
            ? 'arch'
            : null;
  const steps =
    family === 'debian'
      ? [manual('inside the guest, as root', debian, 'guest')]
      : family === 'fedora'
        ? [manual('inside the guest, as root', fedora, 'guest')]
        : family === 'arch'
          ? [manual('inside the guest, as root', arch, 'guest')]
          : [
              manual(
                'inside the guest, as root (Debian and Ubuntu; Fedora: glibc-langpack-XX; Arch: uncomment it in /etc/locale.gen and run locale-gen)',
                debian,
                'guest',
              ),
            ];
  return { id: 'locale.generate', title: `Generate ${locales.join(', ')} in the guest`, safety: 'manual', steps };
}
