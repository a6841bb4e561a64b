import { defineCheck, type CheckContext } from '../../core/check.js';
import { couldNotRun, finding, outcomeOf } from '../../core/outcome.js';
import type { Finding, Fix } from '../../core/types.js';
import { isProbeTimeout, queryBudget, settleBy } from '../../guest/dns-query-plan.js';
import type { DnsQueryResponse } from '../../guest/probe-protocol.js';
import { hostNameservers, isLoopbackAddress } from '../../host/host-nameservers.js';
import type { HostProcess } from '../../host/procfs.js';
import { parseNspawnArgs } from '../../parse/nspawn-args.js';
import { parseProcNetUdp, udpBindCovers } from '../../parse/proc-net.js';
import { GLIBC_MAXNS, parseResolvConf } from '../../parse/resolv-conf.js';
import { nspawnVethFix } from '../../fixes/plans/net-plans.js';
import { writeResolvConfFix } from '../../fixes/plans/resolv-conf-plans.js';
import {
  disableGuestResolvedFix, enableGuestResolvedFix, nspawnResolvConfUplinkFix, upstreamResolvConfFix,
} from '../../fixes/plans/dns-stub-plans.js';
import type { GuestProcess } from '../../targets/target.js';

const PATH = '/etc/resolv.conf';
const RESOLVED_COMM = 'systemd-resolve';
const RESOLVCONF_PATHS = ['/sbin/resolvconf', '/usr/sbin/resolvconf'];
const RESOLVED_PATHS = ['/lib/systemd/systemd-resolved', '/usr/lib/systemd/systemd-resolved'];

/** What the guest looks like from the DNS-stub point of view. */
interface StubFacts {
  nameservers: string[];
  loopbacks: string[];
  /** The file is empty or has no nameserver line. */
  noNameserver: boolean;
  link: string | null;
  bindMount: { source: string; root: string } | null;
  guestResolved: GuestProcess[];
  /** resolved processes outside the guest that share its network namespace. */
  hostResolvedHere: HostProcess[];
  guestNetns: string | null;
  booted: boolean;
  resolvconfInGuest: boolean;
  resolvedInstalled: boolean;
}

async function anyExists(ctx: CheckContext, paths: string[]): Promise<boolean> {
  const found = await Promise.all(paths.map(async (p) => 'type' in (await ctx.target.stat(p))));
  return found.some(Boolean);
}

/** What it looks at: resolv.conf, the resolved processes on both sides and their network namespaces, the mount table. */
async function gatherFacts(ctx: CheckContext): Promise<StubFacts | string> {
  const { target, host } = ctx;
  const [read, link, mounts, guestProcs, hostProcs, resolved, ownNetns] = await Promise.all([
    target.readFile(PATH), target.readlink(PATH), target.mounts(), target.processes(), host.processes(), host.resolvedProcesses(), host.ownNetns(),
  ]);
  if (!read.ok && read.reason === 'permission') return `needs root: run with sudo (cannot read ${PATH} in the guest: ${read.message})`;
  const conf = read.ok ? parseResolvConf(read.text) : null;
  const nameservers = (conf?.nameservers ?? []).slice(0, GLIBC_MAXNS).map((n) => n.address);
  const guestPids = new Set(guestProcs.map((p) => p.pid));
  // Network namespaces are compared by their /proc/PID/ns/net link, e.g. net:[4026531840].
  const guestNetns = target.pid !== null ? hostProcs.find((p) => p.pid === target.pid)?.netns ?? null : ownNetns;
  const mount = mounts.find((m) => m.mountPoint === PATH);
  const argv = target.nspawn?.argv ?? [];
  const leader = guestProcs.find((p) => p.pid === target.pid);
  const [resolvconfInGuest, resolvedInstalled] = await Promise.all([anyExists(ctx, RESOLVCONF_PATHS), anyExists(ctx, RESOLVED_PATHS)]);
  return {
    nameservers,
    loopbacks: nameservers.filter(isLoopbackAddress),
    noNameserver: read.ok && nameservers.length === 0,
    link,
    bindMount: mount ? { source: mount.source, root: mount.root } : null,
    guestResolved: guestProcs.filter((p) => p.comm === RESOLVED_COMM),
    hostResolvedHere: resolved.filter((p) => !guestPids.has(p.pid) && guestNetns !== null && p.netns === guestNetns),
    guestNetns,
    booted: leader?.comm === 'systemd' || (argv.length > 0 && parseNspawnArgs(argv).boot),
    resolvconfInGuest: resolvconfInGuest || /resolvconf/.test(link ?? '') || (read.ok && /resolvconf/i.test(read.text)),
    resolvedInstalled,
  };
}

/** Sockets bound to port 53 in the guest's network namespace. */
async function port53Listeners(ctx: CheckContext): Promise<string[] | null> {
  const [udp, udp6] = await Promise.all([ctx.target.readProcNet('udp'), ctx.target.readProcNet('udp6')]);
  if (udp === null && udp6 === null) return null;
  return parseProcNetUdp(`${udp ?? ''}${udp6 ?? ''}`).filter((s) => s.port === 53).map((s) => s.address);
}

/** The guest's resolv.conf links into its own resolved's runtime files. */
function linksToGuestResolved(link: string | null): boolean {
  return link !== null && /(^|\/)run\/systemd\/resolve\//.test(link);
}

/** What it offers for a loopback nameserver nobody serves, by container kind. */
async function deadStubFixes(ctx: CheckContext, facts: StubFacts): Promise<Fix[]> {
  const { target } = ctx;
  const fixes: Fix[] = [];
  if (target.kind === 'nspawn') {
    fixes.push(nspawnResolvConfUplinkFix(target));
    fixes.push(enableGuestResolvedFix({ booted: facts.booted, resolvedInstalled: facts.resolvedInstalled }));
    return fixes;
  }
  const upstream = await hostNameservers(false);
  const routable = upstream.addresses.filter((a) => !isLoopbackAddress(a));
  if (routable.length > 0 && !facts.bindMount) fixes.push(writeResolvConfFix(routable, upstream.source));
  const lasting = upstreamResolvConfFix(target, upstream.source === 'none' ? '/etc/resolv.conf' : upstream.source);
  if (lasting) fixes.push(lasting);
  return fixes;
}

/** Asks one loopback nameserver, from the guest's namespace, whether anything answers there. */
async function askStub(ctx: CheckContext, server: string, deadline: number): Promise<DnsQueryResponse> {
  // Reading every process's namespaces came first and may have taken a while on a busy host.
  const budget = queryBudget(deadline - performance.now() + 150);
  const late = (): DnsQueryResponse => ({ verdict: 'timeout', rcode: null, addresses: [], transport: 'udp', truncatedOverUdp: false, elapsedMs: budget, detail: `no answer within --timeout ${ctx.options.timeoutMs} ms (on a busy machine, raise --timeout)` });
  return settleBy(
    ctx.target.probe('dns-query', { server, name: ctx.options.dnsName, type: 'A', timeoutMs: budget, attempts: 1, transport: 'fallback' }, { timeoutMs: Math.max(budget, deadline - performance.now()) })
      .catch((error: unknown) => (isProbeTimeout(error) ? late() : Promise.reject(error as Error))),
    deadline, late,
  );
}

export default defineCheck({
  id: 'dns.stub',
  group: 'dns',
  title: 'Local DNS stubs (systemd-resolved, 127.0.0.53)',
  description: 'Looks for the three stub failures of the seed: resolvconf writing an empty resolv.conf inside a container; two systemd-resolved stubs (host and guest) in one network namespace; and a 127.0.0.53 (or other loopback) nameserver with nothing listening in the guest\'s private namespace.',
  findings: {
    'resolvconf-empty': { severity: 'fail', description: 'resolvconf in the guest wrote a resolv.conf without nameservers: inside a container it finds none.' },
    'two-resolved-stubs': { severity: 'fail', description: 'systemd-resolved runs in the guest and on the host in the same network namespace: both want 127.0.0.53 and DNS breaks on both sides.' },
    'stub-not-listening': { severity: 'fail', description: 'resolv.conf names 127.0.0.53 (or another loopback address) but nothing listens there in the guest\'s network namespace: "connection refused".' },
    'stub-silent': { severity: 'fail', description: 'The loopback nameserver does not answer within --timeout.' },
    'stub-upstream-fails': { severity: 'warn', description: 'The stub answers, but with SERVFAIL or REFUSED: it has no working upstream.' },
    'stub-answers': { severity: 'info', description: 'The loopback nameserver answers in the guest\'s namespace.' },
    'resolv-conf-from-host': { severity: 'info', description: '/etc/resolv.conf is bind-mounted into the guest (nspawn does this when the host runs resolved).' },
    'resolved-processes': { severity: 'info', description: 'Which systemd-resolved processes run, in the guest and in its network namespace.' },
    'no-stub': { severity: 'info', description: 'No loopback nameserver and no resolved: nothing for this check to look at.' },
  },
  fixDocs: {
    'dns.enable-guest-resolved': 'systemctl enable --now systemd-networkd systemd-resolved in the guest, and link /etc/resolv.conf to /run/systemd/resolve/resolv.conf.',
    'dns.disable-guest-resolved': 'systemctl disable --now systemd-resolved in the guest, leaving the host\'s stub alone.',
    'dns.nspawn-resolv-conf-uplink': 'nspawn --resolv-conf=copy-uplink or replace-uplink (ResolvConf= in the .nspawn file).',
    'net.nspawn-network-veth': 'Give the nspawn guest its own network namespace, so each resolved has its own 127.0.0.53.',
    'dns.write-resolv-conf': 'Write the host\'s upstream nameservers into the guest\'s /etc/resolv.conf.',
    'dns.schroot-upstream-resolv-conf': 'schroot: bind resolved\'s upstream list in the profile\'s fstab, or copy resolv.conf with copyfiles.',
    'dns.chroot-upstream-resolv-conf': 'chroot: mount --bind the host\'s upstream list over the guest\'s resolv.conf.',
  },
  probes: ['root'],
  appliesTo: () => true,

  async run(ctx) {
    const { target, options } = ctx;
    const deadline = performance.now() + options.timeoutMs - Math.max(250, options.timeoutMs * 0.2);
    const facts = await gatherFacts(ctx);
    if (typeof facts === 'string') return couldNotRun(facts);
    const findings: Finding[] = [];
    const fixes: Fix[] = [];

    if (facts.bindMount) {
      findings.push(finding('resolv-conf-from-host', 'info', `${PATH} is bind-mounted into the guest (${facts.bindMount.root} from ${facts.bindMount.source}): it changes when the host's does`, facts.bindMount));
    }
    if (facts.guestResolved.length > 0 || facts.hostResolvedHere.length > 0) {
      findings.push(finding('resolved-processes', 'info',
        `systemd-resolved runs ${[facts.guestResolved.length > 0 ? `in the guest (pid ${facts.guestResolved.map((p) => p.pid).join(', ')})` : '', facts.hostResolvedHere.length > 0 ? `outside it in the same network namespace (pid ${facts.hostResolvedHere.map((p) => p.pid).join(', ')})` : ''].filter(Boolean).join(' and ')}`,
        { guest: facts.guestResolved.map((p) => p.pid), sameNetns: facts.hostResolvedHere.map((p) => p.pid), netns: facts.guestNetns }));
    }

    // How it decides, situation 2 (Juno): two stubs in one namespace.
    const twoStubs = facts.guestResolved.length > 0 && facts.hostResolvedHere.length > 0;
    if (twoStubs) {
      findings.push(finding('two-resolved-stubs', 'fail',
        `two systemd-resolved stubs share one network namespace (${facts.guestNetns ?? 'unknown'}): the guest's (pid ${facts.guestResolved.map((p) => p.pid).join(', ')}) and the host's (pid ${facts.hostResolvedHere.map((p) => p.pid).join(', ')}); both serve 127.0.0.53, which breaks DNS on host and guest`,
        { guestPids: facts.guestResolved.map((p) => p.pid), hostPids: facts.hostResolvedHere.map((p) => p.pid), netns: facts.guestNetns }));
      fixes.push(disableGuestResolvedFix({ booted: facts.booted, pids: facts.guestResolved.map((p) => p.pid), linksToGuestResolved: linksToGuestResolved(facts.link) }));
      if (target.kind === 'nspawn') fixes.push(nspawnVethFix(target));
    }

    // Situation 1 (Loki): resolvconf inside the container found nothing to write.
    if (facts.noNameserver && facts.resolvconfInGuest) {
      findings.push(finding('resolvconf-empty', 'fail', `${PATH} has no nameserver: resolvconf in the guest${facts.link ? ` (${PATH} -> ${facts.link})` : ''} found no DNS servers inside the container and wrote an empty file`, { link: facts.link }));
      if (facts.hostResolvedHere.length > 0) {
        // Starting resolved here would make situation 2: the host's stub already serves this namespace.
        fixes.push({ id: 'dns.use-host-stub', title: 'Use the host\'s systemd-resolved stub, which serves this shared network namespace', safety: 'safe',
          steps: [{ kind: 'write', where: 'guest', path: PATH, content: '# Written by ctr-doctor: the host\'s systemd-resolved stub serves this network namespace\nnameserver 127.0.0.53\noptions edns0 trust-ad\n', mode: 0o644, description: 'write nameserver 127.0.0.53 (the host\'s stub, in the same network namespace)' }] });
      } else if (target.kind === 'nspawn' || facts.booted) {
        fixes.push(enableGuestResolvedFix({ booted: facts.booted, resolvedInstalled: facts.resolvedInstalled }));
      } else {
        fixes.push(...(await deadStubFixes(ctx, facts)));
      }
    }

    // Situation 3: a loopback nameserver in the guest's namespace, with nothing (useful) behind it.
    const bound = facts.loopbacks.length > 0 ? settleBy(port53Listeners(ctx), deadline, () => null) : Promise.resolve(null);
    const asked = await Promise.all(facts.loopbacks.map(async (server) => ({ server, response: await askStub(ctx, server, deadline).catch((e: unknown) => e as Error) })));
    const listeners = await bound;
    const failed = asked.find((a) => a.response instanceof Error);
    if (failed) return couldNotRun(`the DNS probe could not run in the guest's network namespace: ${(failed.response as Error).message}`);
    for (const { server, response } of asked as { server: string; response: DnsQueryResponse }[]) {
      const boundHere = listeners?.filter((a) => udpBindCovers(a, server)) ?? null;
      const ev = { server, verdict: response.verdict, rcode: response.rcode, detail: response.detail, port53Listeners: listeners, bindMounted: facts.bindMount !== null };
      if (response.verdict === 'unreachable') {
        const from = facts.bindMount ? ' (the file is bind-mounted from the host, whose stub does not serve this namespace)' : '';
        findings.push(finding('stub-not-listening', 'fail', `${PATH} says nameserver ${server}, but nothing listens there in the guest's network namespace: connection refused${from}`, ev));
        if (!twoStubs) fixes.push(...(await deadStubFixes(ctx, facts)));
      } else if (response.verdict === 'timeout' || response.verdict === 'bad-response') {
        findings.push(finding('stub-silent', 'fail', `${server} in the guest's network namespace does not answer (${response.detail ?? response.verdict})${boundHere && boundHere.length > 0 ? ': a socket is bound to port 53 there' : ''}`, ev));
        if (!twoStubs) fixes.push(...(await deadStubFixes(ctx, facts)));
      } else if (response.verdict === 'servfail' || response.verdict === 'refused') {
        findings.push(finding('stub-upstream-fails', 'warn', `${server} answers ${response.rcode ?? response.verdict} in the guest's network namespace: the stub runs but has no working upstream server`, ev));
      } else {
        findings.push(finding('stub-answers', 'info', `${server} answers in the guest's network namespace (${response.verdict}, ${response.elapsedMs} ms)`, ev));
      }
    }

    if (findings.length === 0) findings.push(finding('no-stub', 'info', `no loopback nameserver in ${PATH} and no systemd-resolved in the guest's network namespace`, { nameservers: facts.nameservers }));
    const unique = fixes.filter((f, i) => fixes.findIndex((g) => g.id === f.id) === i);
    const pass = findings.every((f) => f.severity === 'info');
    return outcomeOf(findings, unique, pass ? findings.find((f) => f.code === 'stub-answers')?.message ?? findings[0]?.message : undefined);
  },
});
