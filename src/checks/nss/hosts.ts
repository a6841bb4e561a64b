import { defineCheck, type CheckContext } from '../../core/check.js';
import { finding, outcomeOf } from '../../core/outcome.js';
import { nssActionOf, parseNsswitch, type NssDatabase, type NssStatus } from '../../parse/nsswitch.js';
import { guestGetaddrinfo, guestNssModules, type GetentAnswer } from '../../guest/nss-lookup.js';
import { hostResolvedSocket, RESOLVED_VARLINK } from '../../host/host-resolved.js';
import { hostsLineFix } from '../../fixes/plans/nss-plans.js';
import type { Finding, Fix } from '../../core/types.js';

/** Modules that answer only for their own names (the machine's, containers', .local): other names go on. */
const OWN_NAMES_ONLY = new Set(['files', 'myhostname', 'mymachines', 'mdns', 'mdns4', 'mdns6', 'mdns_minimal', 'mdns4_minimal', 'mdns6_minimal', 'wins', 'libvirt', 'libvirt_guest', 'docker']);
/** Modules that ask a DNS server for any name. */
const RESOLVERS = new Set(['dns', 'resolve']);

export interface NssHostsFacts {
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
function statusFor(name: string, f: Pick<NssHostsFacts, 'modules' | 'resolved'>): NssStatus | 'resolves' {
  if (!f.modules[name]) return 'UNAVAIL';
  if (name === 'resolve') return f.resolved?.reachable ? 'resolves' : 'UNAVAIL';
  if (name === 'dns') return 'resolves';
  return OWN_NAMES_ONLY.has(name) ? (name.startsWith('mdns') ? 'UNAVAIL' : 'NOTFOUND') : 'NOTFOUND';
}

/** Walks the `hosts:` line as glibc does for a name only DNS knows: where does it end? */
export function walkHostsLine(db: NssDatabase, f: Pick<NssHostsFacts, 'modules' | 'resolved'>): { reaches: string | null; stoppedAt: string | null; steps: string[] } {
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

/** gather: the guest's hosts: line, its modules' libraries, whether resolved answers there. */
export async function gatherNssHosts(ctx: CheckContext): Promise<NssHostsFacts> {
  const { target } = ctx;
  const nss = await target.readFile('/etc/nsswitch.conf');
  const hosts = nss.ok ? parseNsswitch(nss.text).get('hosts') ?? null : null;
  const names = [...new Set(hosts?.services.map((s) => s.name) ?? [])];
  const [modules, resolved] = await Promise.all([
    guestNssModules(target, names),
    names.includes('resolve') ? probeResolved(ctx) : Promise.resolve(null),
  ]);
  const facts: NssHostsFacts = { nsswitch: { present: nss.ok, text: nss.ok ? nss.text : '' }, hosts, modules, resolved, privateNetns: !target.sharesNetns, getent: null, dnsName: ctx.options.dnsName };
  if (hosts && walkHostsLine(hosts, facts).reaches === null) facts.getent = await guestGetaddrinfo(target, ctx.options.dnsName, Math.max(1000, ctx.options.timeoutMs));
  return facts;
}

async function probeResolved(ctx: CheckContext): Promise<NssHostsFacts['resolved']> {
  const [r, guestSock, hostSock] = await Promise.all([
    ctx.target.probe('unix-connect', { path: RESOLVED_VARLINK, timeoutMs: Math.min(1000, ctx.options.timeoutMs) }).catch((e: Error) => ({ ok: false, errno: 'EIO', message: e.message, resolvedPath: null })),
    ctx.target.stat(RESOLVED_VARLINK),
    hostResolvedSocket(),
  ]);
  const hostsOwn = hostSock !== null && !('error' in guestSock) && guestSock.dev === hostSock.dev && guestSock.ino === hostSock.ino;
  return { reachable: r.ok, errno: r.errno, hostsOwn };
}

/** The line that would work: resolve keeps its place, and hands over to dns when it is unavailable. */
export function repairedHostsLine(db: NssDatabase, modules: Record<string, boolean>): string {
  const kept = db.services.filter((s) => s.name !== 'dns' && modules[s.name] !== false).map((s) => (s.name === 'resolve' ? 'resolve [!UNAVAIL=return]' : s.name.startsWith('mdns') ? s.text : s.name));
  return `hosts: ${[...kept, 'dns'].join(' ')}`;
}

/** judge: some module on the line must reach a resolver for an ordinary name. */
export function judgeNssHosts(f: NssHostsFacts): Finding[] {
  if (!f.nsswitch.present) return [finding('nsswitch-missing', 'info', 'the guest has no /etc/nsswitch.conf: glibc uses "hosts: dns [!UNAVAIL=return] files"', {})];
  if (!f.hosts) return [finding('hosts-line-missing', 'info', '/etc/nsswitch.conf has no hosts: line: glibc uses "hosts: dns [!UNAVAIL=return] files"', {})];
  const line = `hosts: ${f.hosts.services.map((s) => s.text).join(' ')}`;
  const walk = walkHostsLine(f.hosts, f);
  const missing = Object.entries(f.modules).filter(([, present]) => !present).map(([m]) => m);
  const evidence = { line, lineNumber: f.hosts.line, steps: walk.steps, missingModules: missing, resolved: f.resolved, getent: f.getent };
  const out: Finding[] = [];
  if (walk.reaches === null) {
    const why = walk.stoppedAt !== null ? `lookups stop at "${walk.stoppedAt}"` : 'no module after them asks DNS';
    const resolveWhy = f.resolved && !f.resolved.reachable ? `resolve is not reachable (${RESOLVED_VARLINK}: ${f.resolved.errno ?? 'no answer'}${f.modules.resolve === false ? ', and libnss_resolve.so.2 is not installed' : ''}) and ` : f.modules.resolve === false ? 'libnss_resolve.so.2 is not installed and ' : '';
    const quote = f.getent && f.getent.exitCode !== 0 ? `; getent ahosts ${f.dnsName} ${f.getent.timedOut ? 'timed out' : `exits ${f.getent.exitCode}`}` : '';
    out.push(finding('hosts-no-resolver', 'fail',
      `/etc/nsswitch.conf line ${f.hosts.line} "${line}": ${resolveWhy}${why}, so getent, curl and apt fail with "Temporary failure in name resolution" even when the nameservers answer${quote}`, evidence));
  } else if (walk.reaches === 'resolve' && f.resolved?.hostsOwn && f.privateNetns) {
    out.push(finding('hosts-resolve-is-hosts', 'warn', `names go to the host's systemd-resolved through a shared ${RESOLVED_VARLINK}, while the guest has its own network namespace: the answers follow the host's network, not the guest's`, evidence));
  }
  for (const m of missing.filter((x) => x !== 'resolve' || walk.reaches !== null)) {
    out.push(finding('hosts-module-missing', 'info', `"${m}" is listed in the hosts: line but libnss_${m}.so.2 is not in the guest: glibc skips it as unavailable`, evidence));
  }
  if (!out.some((x) => x.severity !== 'info')) out.unshift(finding('hosts-line-ok', 'info', `"${line}" reaches DNS through ${walk.reaches}`, evidence));
  return out;
}

/** offer: the repaired line, written into the guest's file (unsafe: it changes how the guest resolves every name). */
export function offerNssHosts(f: NssHostsFacts, findings: Finding[]): Fix[] {
  if (!f.hosts || !findings.some((x) => x.code === 'hosts-no-resolver')) return [];
  return [hostsLineFix(f.nsswitch.text, f.hosts.line, repairedHostsLine(f.hosts, f.modules))];
}

export default defineCheck({
  id: 'nss.hosts',
  group: 'nss',
  title: 'nsswitch hosts: reaches a resolver',
  description: 'Parses the guest\'s `hosts:` line in /etc/nsswitch.conf, checks each module\'s libnss_X.so.2 exists in the guest and, for `resolve`, that systemd-resolved\'s Varlink socket answers there; then walks the line as glibc does for a name only DNS knows. `resolve` with no resolved reachable and no `dns` after it (nss-resolve stopped falling back to nss-dns in systemd 234) makes getent, curl and apt fail while the nameservers answer.',
  findings: {
    'hosts-no-resolver': { severity: 'fail', description: 'No module on the hosts: line asks DNS for an ordinary name: "Temporary failure in name resolution" while DNS works.' },
    'hosts-resolve-is-hosts': { severity: 'warn', description: 'resolve reaches the host\'s systemd-resolved through a shared /run, while the guest has its own network namespace.' },
    'hosts-module-missing': { severity: 'info', description: 'A module on the hosts: line is not installed in the guest (glibc skips it).' },
    'nsswitch-missing': { severity: 'info', description: 'No /etc/nsswitch.conf: glibc\'s built-in default applies.' },
    'hosts-line-missing': { severity: 'info', description: 'No hosts: line: glibc\'s built-in default applies.' },
    'hosts-line-ok': { severity: 'info', description: 'The hosts: line reaches DNS.' },
  },
  fixDocs: {
    'nss.hosts-line': 'Unsafe: rewrite the guest\'s hosts: line as "hosts: files myhostname resolve [!UNAVAIL=return] dns" (modules it has only), backed up and undoable.',
  },
  appliesTo: (ctx) => (ctx.target.kind === 'host' ? 'no guest chosen: nsswitch.conf is checked inside a guest' : true),
  probes: ['root'],

  async run(ctx) {
    const facts = await gatherNssHosts(ctx);
    const findings = judgeNssHosts(facts);
    return outcomeOf(findings, offerNssHosts(facts, findings));
  },
});
