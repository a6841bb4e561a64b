import { defineCheck, type CheckContext } from '../../core/check.js';
import { DEFAULT_PATH } from '../../guest/run-command.js';
import { finding, outcomeOf } from '../../core/outcome.js';
import { isBuiltinLocale, isCUtf8, localeAvailable, normaliseLocaleName, parseLocaleList } from '../../parse/locale-name.js';
import { generateLocaleFix, runWithLocaleFix } from '../../fixes/plans/locale-plans.js';
import type { Finding, Fix } from '../../core/types.js';

/** The variables setlocale(LC_ALL, "") reads, strongest first. */
const LC_VARS = ['LC_ALL', 'LC_CTYPE', 'LC_NUMERIC', 'LC_TIME', 'LC_COLLATE', 'LC_MONETARY', 'LC_MESSAGES', 'LC_PAPER', 'LC_NAME', 'LC_ADDRESS', 'LC_TELEPHONE', 'LC_MEASUREMENT', 'LC_IDENTIFICATION', 'LANG'];

export interface LocaleFacts {
  /** The session's locale variables that name something (empty values dropped). */
  vars: { name: string; value: string }[];
  /** Normalised names the guest has, or null when they could not be listed. */
  available: string[] | null;
  listedBy: 'locale -a' | '/usr/lib/locale' | null;
  envSource: string;
  osId: string | null;
  kind: CheckContext['target']['kind'];
  root: string;
  machine: string | null;
}

/** Without `locale`, the compiled locales glibc would find: directories under /usr/lib/locale (the archive is not read). */
async function listFromDirectory(ctx: CheckContext): Promise<string[] | null> {
  const entries = await ctx.target.readdir('/usr/lib/locale');
  if (entries === null) return null;
  // A locale-archive holds names this cannot see: listing only the directories would give false alarms.
  if (entries.includes('locale-archive')) return null;
  return entries.map(normaliseLocaleName);
}

/** gather: the session's LANG/LC_* and what `locale -a` lists inside the guest. */
export async function gatherLocale(ctx: CheckContext): Promise<LocaleFacts> {
  const { target } = ctx;
  const vars = LC_VARS.map((name) => ({ name, value: target.env[name] ?? '' })).filter((v) => v.value !== '');
  const [list, osRelease] = await Promise.all([
    vars.length === 0 ? null : target.exec(['locale', '-a'], { env: { PATH: DEFAULT_PATH, LC_ALL: 'C' }, timeoutMs: Math.max(1000, ctx.options.timeoutMs) }),
    target.readFile('/etc/os-release', { maxBytes: 16 * 1024 }),
  ]);
  let available: string[] | null = null;
  let listedBy: LocaleFacts['listedBy'] = null;
  if (list !== null && list.exitCode === 0) {
    available = [...parseLocaleList(list.stdout)];
    listedBy = 'locale -a';
  } else if (list !== null) {
    available = await listFromDirectory(ctx);
    listedBy = available === null ? null : '/usr/lib/locale';
  }
  const osId = osRelease.ok ? /^ID=("?)([\w.-]+)\1\s*$/m.exec(osRelease.text)?.[2] ?? null : null;
  return { vars, available, listedBy, envSource: target.envSource, osId, kind: target.kind, root: target.root, machine: target.nspawn?.machine ?? null };
}

/** The one-line warning glibc users see for this variable. */
function usersSee(name: string, value: string): string {
  if (name === 'LC_ALL') return `bash: warning: setlocale: LC_ALL: cannot change locale (${value})`;
  return 'perl: warning: Setting locale failed.';
}

/** judge: every value must be C/POSIX or a locale the guest lists. */
export function judgeLocale(f: LocaleFacts): Finding[] {
  if (f.vars.length === 0) return [finding('locale-unset', 'info', `the session sets no LANG or LC_* (from ${f.envSource}): programs use the C locale`, {})];
  if (f.available === null) return [finding('locales-unlisted', 'info', 'could not list the guest\'s locales (no locale program, and a locale-archive it cannot read)', { vars: f.vars })];
  const have = new Set(f.available);
  // LC_ALL overrides everything else: when it is set and good, the others are never read.
  const lcAll = f.vars.find((v) => v.name === 'LC_ALL');
  const relevant = lcAll && localeAvailable(lcAll.value, have) ? [lcAll] : f.vars;
  const broken = relevant.filter((v) => !isBuiltinLocale(v.value) && !localeAvailable(v.value, have));
  const hasCUtf8 = have.has('C.utf8');
  const evidence = { vars: Object.fromEntries(f.vars.map((v) => [v.name, v.value])), available: f.available.slice(0, 50), listedBy: f.listedBy };
  if (broken.length === 0) return [finding('locale-ok', 'info', `${relevant.map((v) => `${v.name}=${v.value}`).join(', ')}: the guest has ${relevant.length === 1 ? 'it' : 'them'}`, evidence)];
  const out = broken.map((v) => finding('locale-missing', 'warn',
    `${v.name}=${v.value} names a locale the guest does not have (${f.listedBy} lists ${f.available!.slice(0, 8).join(', ')}${f.available!.length > 8 ? ', …' : ''}), so programs print "${usersSee(v.name, v.value)}" and fall back to C`,
    { ...evidence, variable: v.name, value: v.value }));
  if (!hasCUtf8) out.push(finding('c-utf8-missing', 'info', 'the guest has no C.UTF-8 locale either (glibc before 2.35): use LANG=C, or generate a locale', evidence));
  return out;
}

/** offer: run with a locale the guest has, or generate the missing one. */
export function offerLocale(f: LocaleFacts, findings: Finding[]): Fix[] {
  const missing = findings.filter((x) => x.code === 'locale-missing');
  if (missing.length === 0) return [];
  const fallback = f.available?.includes('C.utf8') ? 'C.UTF-8' : 'C';
  const values = [...new Set(missing.map((m) => String(m.evidence.value)).filter((v) => !isCUtf8(v)))];
  const fixes = [runWithLocaleFix(f.kind, f.root, fallback, f.vars.map((v) => v.name), f.machine)];
  if (values.length > 0) fixes.push(generateLocaleFix(f.osId, values));
  return fixes;
}

export default defineCheck({
  id: 'locale.lang',
  group: 'locale',
  title: 'Session locale exists in the guest',
  description: 'Takes LC_ALL, each LC_* and LANG from the session and looks them up in what `locale -a` lists inside the guest, with glibc\'s codeset normalisation (UTF-8 and utf8 are the same). A missing one makes perl print "Setting locale failed", bash "setlocale: LC_ALL: cannot change locale" and locale "Cannot set LC_CTYPE to default locale"; C.UTF-8 is suggested only when the guest has it.',
  findings: {
    'locale-missing': { severity: 'warn', description: 'A session variable names a locale the guest does not have: perl: warning: Setting locale failed.' },
    'c-utf8-missing': { severity: 'info', description: 'The guest has no C.UTF-8 either (glibc before 2.35): LANG=C is the fallback.' },
    'locale-unset': { severity: 'info', description: 'The session sets no locale variables.' },
    'locales-unlisted': { severity: 'info', description: 'The guest\'s locales could not be listed.' },
    'locale-ok': { severity: 'info', description: 'Every locale the session names exists in the guest.' },
  },
  fixDocs: {
    'locale.use-available': 'chroot: env LANG=C.UTF-8 LC_ALL= chroot ROOT; schroot: the same, or keep LANG out of preserve-environment; nspawn: --setenv=LANG=C.UTF-8 (a booted guest reads /etc/locale.conf).',
    'locale.generate': 'Generate the locale inside the guest: Debian locales + locale.gen + locale-gen; Fedora glibc-langpack-XX.',
  },
  appliesTo: (ctx) => (ctx.target.kind === 'host' ? 'no guest chosen: the session locale is checked inside a guest' : true),

  async run(ctx) {
    const facts = await gatherLocale(ctx);
    const findings = judgeLocale(facts);
    return outcomeOf(findings, offerLocale(facts, findings));
  },
});
