import { defineCheck, type CheckContext, type Reported, type EarlyOutcome } from '../../core/check.js';
import { findingBuilder } from '../../core/findings.js';
import { guestUnreadable } from '../guest-access.js';
import { DEFAULT_PATH } from '../../core/target.js';
import { isBuiltinLocale, isCUtf8, localeAvailable, normaliseLocaleName, parseLocaleList } from '../../parse/locale-name.js';
import { generateLocaleFix, runWithLocaleFix } from '../../fixes/plans/locale-plans.js';
import type { TargetKind } from '../../core/types.js';
import { LOCALE_DIR, localesFromFiles } from './locale-files.js';

/** The variables setlocale(LC_ALL, "") reads, strongest first. */
const LC_VARS = [
  'LC_ALL',
  'LC_CTYPE',
  'LC_NUMERIC',
  'LC_TIME',
  'LC_COLLATE',
  'LC_MONETARY',
  'LC_MESSAGES',
  'LC_PAPER',
  'LC_NAME',
  'LC_ADDRESS',
  'LC_TELEPHONE',
  'LC_MEASUREMENT',
  'LC_IDENTIFICATION',
  'LANG',
];

const findings = {
  'locale-missing': {
    severity: 'warn',
    message:
      '{variable}={value} names a locale the guest does not have ({listedBy} lists {available}), so programs print "{usersSee}" and fall back to C',
    description:
      'A session variable names a locale the guest does not have: "perl: warning: Setting locale failed.", "bash: warning: setlocale: LC_ALL: cannot change locale", "locale: Cannot set LC_CTYPE to default locale".',
  },
  'c-utf8-missing': {
    severity: 'info',
    message: 'the guest has no C.UTF-8 locale either (glibc before 2.35): use LANG=C, or generate a locale',
    description: 'The guest has no C.UTF-8 either: LANG=C is the fallback.',
  },
  'locale-unset': {
    severity: 'info',
    message: 'the session sets no LANG or LC_* (from {envSource}): programs use the C locale',
    description: 'The session sets no locale variables.',
  },
  'locales-unlisted': {
    severity: 'info',
    message: "could not list the guest's locales: {why}, and the guest's `locale -a` {how}",
    description: "The guest's locales could not be listed.",
  },
  'locale-ok': {
    severity: 'info',
    message: '{vars}: the guest has {them}',
    description: 'Every locale the session names exists in the guest.',
  },
} as const;

const fixDocs = {
  'locale.use-available':
    'chroot: env LANG=C.UTF-8 LC_ALL= chroot ROOT; schroot: the same, or keep LANG out of preserve-environment; nspawn: --setenv=LANG=C.UTF-8 (a booted guest reads /etc/locale.conf). C.UTF-8 only when the guest has it, C otherwise.',
  'locale.generate':
    'Generate the locale inside the guest: Debian locales + locale.gen + locale-gen; Fedora glibc-langpack-XX; Arch locale.gen + locale-gen.',
} as const;

interface Facts {
  /** The session's locale variables that name something (empty values dropped). */
  vars: { name: string; value: string }[];
  /** Normalised names the guest has, or null when they could not be listed. */
  available: string[] | null;
  /** Who answered: the guest's files, or its `locale -a` when they could not. */
  listedBy: 'locale -a' | typeof LOCALE_DIR | null;
  /** Why the files could not answer (then `locale -a` was asked), or null. */
  filesUnusable: string | null;
  /** How the guest's `locale -a` failed, when it was asked and did not list. */
  localeA: string | null;
  envSource: string;
  osId: string | null;
  kind: TargetKind;
  root: string;
  machine: string | null;
}

// What it looks at: the session's LANG/LC_* and the locales the guest has: from its own files (the locale-archive's
// name table, /usr/lib/locale, locale.alias) as `locale -a` reads them, or from the guest's `locale -a` when they cannot say.
async function gather(ctx: CheckContext): Promise<Facts | EarlyOutcome> {
  const denied = await guestUnreadable(ctx);
  if (denied) return denied;
  const { target } = ctx;
  const vars = LC_VARS.map((name) => ({ name, value: target.env[name] ?? '' })).filter((v) => v.value !== '');
  const [files, osRelease] = await Promise.all([
    vars.length === 0 ? null : localesFromFiles(target),
    target.readFile('/etc/os-release', { maxBytes: 16 * 1024 }),
  ]);
  let available: string[] | null = null;
  let listedBy: Facts['listedBy'] = null;
  let localeA: string | null = null;
  if (files?.ok) {
    available = [...new Set(files.names.map(normaliseLocaleName))].sort();
    listedBy = LOCALE_DIR;
  } else if (files) {
    // A guest command only when the files cannot answer (a musl guest, a damaged archive).
    const list = await target.exec(['locale', '-a'], {
      env: { PATH: DEFAULT_PATH, LC_ALL: 'C' },
      timeoutMs: Math.max(300, Math.floor(ctx.options.timeoutMs * 0.7)),
    });
    if (list.exitCode === 0) {
      available = [...parseLocaleList(list.stdout)];
      listedBy = 'locale -a';
    } else
      localeA = list.notFound
        ? 'is not there'
        : list.timedOut
          ? 'timed out'
          : list.spawnError !== undefined
            ? `could not start (${list.spawnError})`
            : `exited ${list.exitCode}`;
  }
  const osId = osRelease.ok ? (/^ID=("?)([\w.-]+)\1\s*$/m.exec(osRelease.text)?.[2] ?? null) : null;
  return {
    vars,
    available,
    listedBy,
    filesUnusable: files && !files.ok ? files.reason : null,
    localeA,
    envSource: target.envSource,
    osId,
    kind: target.kind,
    root: target.root,
    machine: target.nspawn?.machine ?? null,
  };
}

/** The warning users see for this variable (both confirmed on a Debian 12 guest). */
function usersSee(name: string, value: string): string {
  return name === 'LC_ALL' ? `bash: warning: setlocale: LC_ALL: cannot change locale (${value})` : 'perl: warning: Setting locale failed.';
}

const found = findingBuilder(findings);

// How it decides: every value must be C/POSIX or a locale the guest lists (after glibc's codeset normalisation).
function judge(f: Facts) {
  if (f.vars.length === 0) return [found('locale-unset', { envSource: f.envSource })];
  if (f.available === null)
    return [
      found(
        'locales-unlisted',
        { why: f.filesUnusable ?? 'its files hold no locale', how: f.localeA ?? 'did not run' },
        { vars: f.vars, filesUnusable: f.filesUnusable },
      ),
    ];
  const have = new Set(f.available);
  // LC_ALL overrides everything else: when it is set and good, the others are never read.
  const lcAll = f.vars.find((v) => v.name === 'LC_ALL');
  const relevant = lcAll && localeAvailable(lcAll.value, have) ? [lcAll] : f.vars;
  const broken = relevant.filter((v) => !isBuiltinLocale(v.value) && !localeAvailable(v.value, have));
  const evidence = {
    vars: Object.fromEntries(f.vars.map((v) => [v.name, v.value])),
    available: f.available.slice(0, 50),
    listedBy: f.listedBy,
    ...(f.filesUnusable !== null ? { filesUnusable: f.filesUnusable } : {}),
  };
  if (broken.length === 0) {
    const named = relevant.map((v) => `${v.name}=${v.value}`).join(', ');
    return {
      findings: [found('locale-ok', { vars: named, them: relevant.length === 1 ? 'it' : 'them' }, evidence)],
      summary: `${named}: present in the guest`,
    };
  }
  const available = `${f.available.slice(0, 8).join(', ')}${f.available.length > 8 ? ', …' : ''}`;
  const out: Reported<typeof findings>[] = broken.map((v) =>
    found(
      'locale-missing',
      { variable: v.name, value: v.value, listedBy: f.listedBy ?? 'the guest', available, usersSee: usersSee(v.name, v.value) },
      { ...evidence, variable: v.name, value: v.value },
    ),
  );
  if (!have.has('C.utf8')) out.push(found('c-utf8-missing', {}, evidence));
  return out;
}

// What it offers: run with a locale the guest has, or generate the missing one.
function offer(f: Facts, reported: readonly Reported<typeof findings>[]) {
  const missing = reported.flatMap((r) => (r.code === 'locale-missing' ? [String(r.data.value)] : []));
  if (missing.length === 0) return [];
  const fallback = f.available?.includes('C.utf8') ? 'C.UTF-8' : 'C';
  const values = [...new Set(missing.filter((v) => !isCUtf8(v)))];
  return [
    runWithLocaleFix(
      f.kind,
      f.root,
      fallback,
      f.vars.map((v) => v.name),
      f.machine,
    ),
    values.length > 0 ? generateLocaleFix(f.osId, values) : null,
  ];
}

export default defineCheck({
  id: 'locale.lang',
  group: 'locale',
  title: 'Session locale exists in the guest',
  description:
    'Takes LC_ALL, each LC_* and LANG from the session and looks them up in what `locale -a` lists inside the guest (read from the guest\'s own locale-archive name table, /usr/lib/locale and locale.alias as glibc\'s `locale -a` reads them; the guest\'s `locale -a` is run only when those files cannot say), with glibc\'s codeset normalisation (UTF-8 and utf8 are the same). A missing one makes perl print "Setting locale failed", bash "setlocale: LC_ALL: cannot change locale" and locale "Cannot set LC_CTYPE to default locale"; C.UTF-8 is suggested only when the guest has it.',
  findings,
  fixDocs,
  appliesTo: (ctx) => (ctx.target.kind === 'host' ? 'no guest chosen: the session locale is checked inside a guest' : true),
  gather,
  judge,
  offer,
});
