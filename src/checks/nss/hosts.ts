import { defineCheck, type CheckContext, type Reported, type EarlyOutcome } from '../../core/check.js';
import { findingBuilder } from '../../core/findings.js';
import { guestUnreadable } from '../guest-access.js';
import { nssActionOf, parseNsswitch, type NssDatabase, type NssStatus } from '../../parse/nsswitch.js';
import { guestGetaddrinfo, guestNssModules, type GetentAnswer } from '../nss-lookup.js';
import { hostResolvedSocket, RESOLVED_VARLINK } from '../../host/host-resolved.js';
import { hostsLineFix } from '../../fixes/plans/nss-plans.js';

/** Modules that answer only for their own names (the machine's, containers', .local): other names go on. */
const OWN_NAMES_ONLY = new Set(['files', 'myhostname', 'mymachines', 'wins', 'libvirt', 'libvirt_guest', 'docker']);

const findings = {
  'hosts-no-resolver': {
    severity: 'fail',
    message:
      '/etc/nsswitch.conf line {line} "{hostsLine}": {why}, so getent, curl and apt fail with "Temporary failure in name resolution" even when the nameservers answer{getent}',
    description:
      'No module on the hosts: line asks DNS for an ordinary name (`resolve` with no resolved reachable and no `dns` after it): "Temporary failure in name resolution" while DNS works.',
  },
  'hosts-resolve-is-hosts': {
    severity: 'warn',
    message: `names go to the host's systemd-resolved through a shared ${RESOLVED_VARLINK}, while the guest has its own network namespace: the answers follow the host's network, not the guest's`,
    description: "resolve reaches the host's systemd-resolved through a shared /run, while the guest has its own network namespace.",
  },
  'hosts-module-missing': {
    severity: 'info',
    message: '"{module}" is listed in the hosts: line but libnss_{module}.so.2 is not in the guest: glibc skips it as unavailable',
    description: 'A module on the hosts: line is not installed in the guest (glibc skips it).',
  },
  'nsswitch-missing': {
    severity: 'info',
    message: 'the guest has no /etc/nsswitch.conf: glibc uses "hosts: dns [!UNAVAIL=return] files"',
    description: "No /etc/nsswitch.conf: glibc's built-in default applies.",
  },
  'hosts-line-missing': {
    severity: 'info',
    message: '/etc/nsswitch.conf has no hosts: line: glibc uses "hosts: dns [!UNAVAIL=return] files"',
    description: "No hosts: line: glibc's built-in default applies.",
  },
  'hosts-line-ok': { severity: 'info', message: '"{hostsLine}" reaches DNS through {module}', description: 'The hosts: line reaches DNS.' },
} as const;

const fixDocs = {
  'nss.hosts-line':
    'Unsafe: rewrite the guest\'s hosts: line so resolve hands over to dns ("hosts: files myhostname resolve [!UNAVAIL=return] dns", modules it has only), backed up and undoable. nspawn: or boot the guest with its own resolved.',
} as const;

interface Facts {
  nsswitch: { present: boolean; text: string };
  hosts: NssDatabase | null;
  modules: Record<string, boolean>;
  /** Whether resolved's Varlink socket accepts a connection in the guest (null: resolve not listed). */
  resolved: { reachable: boolean; errno: string | null; hostsOwn: boolean } | null;
  privateNetns: boolean;
  /** `getent ahosts` of the test name, asked only when the line looks broken. */
  getent: GetentAnswer | null;
  dnsName: string;
}

/** What a module does with an ordinary DNS name, given what the guest has. */
function statusFor(name: string, f: Pick<Facts, 'modules' | 'resolved'>): NssStatus | 'resolves' {
  if (!f.modules[name]) return 'UNAVAIL';
  if (name === 'resolve') return f.resolved?.reachable ? 'resolves' : 'UNAVAIL';
  if (name === 'dns') return 'resolves';
  // mdns*_minimal answer only .local and are unavailable for other names.
  if (name.startsWith('mdns')) return 'UNAVAIL';
  return OWN_NAMES_ONLY.has(name) ? 'NOTFOUND' : 'NOTFOUND';
}

/** Walks the `hosts:` line as glibc does for a name only DNS knows: where does it end? */
export function walkHostsLine(
  db: NssDatabase,
  f: Pick<Facts, 'modules' | 'resolved'>,
): { reaches: string | null; stoppedAt: string | null; steps: string[] } {
  const steps: string[] = [];
  for (const s of db.services) {
    const status = statusFor(s.name, f);
    if (status === 'resolves') return { reaches: s.name, stoppedAt: null, steps: [...steps, `${s.name}: asks DNS`] };
    const action = nssActionOf(s, status);
    steps.push(`${s.text}: ${status}${action === 'return' ? ', return' : ''}`);
    if (action === 'return') return { reaches: null, stoppedAt: s.text, steps };
  }
  return { reaches: null, stoppedAt: null, steps };
}

async function probeResolved(ctx: CheckContext): Promise<Facts['resolved']> {
  const [r, guestSock, hostSock] = await Promise.all([
    ctx.target
      .probe('unix-connect', { path: RESOLVED_VARLINK, timeoutMs: Math.max(200, Math.min(1000, Math.floor(ctx.options.timeoutMs * 0.3))) })
      .catch((e: unknown) => ({ ok: false, errno: 'EIO', message: (e as Error).message, resolvedPath: null })),
    ctx.target.stat(RESOLVED_VARLINK),
    hostResolvedSocket(ctx.host),
  ]);
  const hostsOwn = hostSock !== null && !('error' in guestSock) && guestSock.dev === hostSock.dev && guestSock.ino === hostSock.ino;
  return { reachable: r.ok, errno: r.errno, hostsOwn };
}

// What it looks at: the guest's hosts: line, its modules' libraries, whether resolved answers there; getent only to quote a broken line.
async function gather(ctx: CheckContext): Promise<Facts | EarlyOutcome> {
  const denied = await guestUnreadable(ctx);
  if (denied) return denied;
  const { target } = ctx;
  const nss = await target.readFile('/etc/nsswitch.conf');
  const hosts = nss.ok ? (parseNsswitch(nss.text).get('hosts') ?? null) : null;
  const names = [...new Set(hosts?.services.map((s) => s.name) ?? [])];
  const [modules, resolved] = await Promise.all([
    guestNssModules(target, names),
    names.includes('resolve') ? probeResolved(ctx) : Promise.resolve(null),
  ]);
  const facts: Facts = {
    nsswitch: { present: nss.ok, text: nss.ok ? nss.text : '' },
    hosts,
    modules,
    resolved,
    privateNetns: !target.sharesNetns,
    getent: null,
    dnsName: ctx.options.dnsName,
  };
  if (hosts && walkHostsLine(hosts, facts).reaches === null)
    facts.getent = await guestGetaddrinfo(target, ctx.options.dnsName, Math.max(300, Math.floor(ctx.options.timeoutMs * 0.5)));
  return facts;
}

/** The line that works: resolve keeps its place and hands over to dns when it is unavailable; missing modules dropped. */
export function repairedHostsLine(db: NssDatabase, modules: Record<string, boolean>): string {
  const kept = db.services
    .filter((s) => s.name !== 'dns' && modules[s.name] !== false)
    .map((s) => (s.name === 'resolve' ? 'resolve [!UNAVAIL=return]' : s.name.startsWith('mdns') ? s.text : s.name));
  return `hosts: ${[...kept, 'dns'].join(' ')}`;
}

const found = findingBuilder(findings);

// How it decides: some module on the line must reach a resolver for an ordinary name.
function judge(f: Facts) {
  if (!f.nsswitch.present) return [found('nsswitch-missing', {})];
  if (!f.hosts) return [found('hosts-line-missing', {})];
  const hostsLine = `hosts: ${f.hosts.services.map((s) => s.text).join(' ')}`;
  const walk = walkHostsLine(f.hosts, f);
  const missing = Object.entries(f.modules)
    .filter(([, present]) => !present)
    .map(([m]) => m);
  const evidence = {
    line: hostsLine,
    lineNumber: f.hosts.line,
    steps: walk.steps,
    missingModules: missing,
    resolved: f.resolved,
    getent: f.getent,
  };
  const out: Reported<typeof findings>[] = [];
  if (walk.reaches === null) {
    const stop = walk.stoppedAt !== null ? `lookups stop at "${walk.stoppedAt}"` : 'no module asks DNS';
    const resolveWhy =
      f.modules.resolve === false
        ? 'libnss_resolve.so.2 is not installed, '
        : f.resolved && !f.resolved.reachable
          ? `resolve is not reachable (no systemd-resolved at ${RESOLVED_VARLINK}: ${f.resolved.errno ?? 'no answer'}), `
          : '';
    const why = `${resolveWhy}${resolveWhy ? 'no dns follows it and ' : ''}${stop}`;
    const getent =
      f.getent && f.getent.exitCode !== 0
        ? `; getent ahosts ${f.dnsName} ${f.getent.timedOut ? 'timed out' : `exits ${f.getent.exitCode}`}`
        : '';
    out.push(found('hosts-no-resolver', { line: f.hosts.line, hostsLine, why, getent }, evidence));
  } else if (walk.reaches === 'resolve' && f.resolved?.hostsOwn && f.privateNetns) {
    out.push(found('hosts-resolve-is-hosts', {}, evidence));
  }
  for (const module of missing.filter((m) => m !== 'resolve' || walk.reaches !== null))
    out.push(found('hosts-module-missing', { module }, evidence));
  if (!out.some((r) => r.code === 'hosts-no-resolver' || r.code === 'hosts-resolve-is-hosts'))
    out.unshift(found('hosts-line-ok', { hostsLine, module: walk.reaches ?? 'dns' }, evidence));
  return out;
}

// What it offers: the repaired line, written into the guest's file (unsafe: it changes how the guest resolves every name).
function offer(f: Facts, reported: readonly Reported<typeof findings>[]) {
  if (!f.hosts || !reported.some((r) => r.code === 'hosts-no-resolver')) return [];
  return [hostsLineFix(f.nsswitch.text, f.hosts.line, repairedHostsLine(f.hosts, f.modules))];
}

export default defineCheck({
  id: 'nss.hosts',
  group: 'nss',
  title: 'nsswitch hosts: reaches a resolver',
  description:
    "Parses the guest's `hosts:` line in /etc/nsswitch.conf, checks each module's libnss_X.so.2 exists in the guest and, for `resolve`, that systemd-resolved's Varlink socket answers there; then walks the line as glibc does for a name only DNS knows. `resolve` with no resolved reachable and no `dns` after it (nss-resolve stopped falling back to nss-dns in systemd 234) makes getent, curl and apt fail while the nameservers answer.",
  findings,
  fixDocs,
  probes: ['root'],
  appliesTo: (ctx) => (ctx.target.kind === 'host' ? 'no guest chosen: nsswitch.conf is checked inside a guest' : true),
  gather,
  judge,
  offer,
});
