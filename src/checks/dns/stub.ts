import { cannotRun, defineCheck, type CheckContext, type Reported } from '../../core/check.js';
import { findingBuilder } from '../../core/findings.js';
import type { DnsQueryResponse } from '../../core/probe-types.js';
import type { Fix } from '../../core/types.js';
import { parseNspawnArgs } from '../../parse/nspawn-args.js';
import { parseProcNetUdp, udpBindCovers } from '../../parse/proc-net.js';
import { GLIBC_MAXNS, parseResolvConf } from '../../parse/resolv-conf.js';
import { nspawnVethFix } from '../../fixes/plans/net-plans.js';
import { writeResolvConfFix } from '../../fixes/plans/resolv-conf-plans.js';
import { resolvConfLinkManager, type ServerProof } from '../../fixes/plans/dns-evidence.js';
import {
  disableGuestResolvedFix,
  enableGuestNetworkdFix,
  enableGuestResolvedFix,
  nspawnResolvConfUplinkFix,
  upstreamResolvConfFix,
} from '../../fixes/plans/dns-stub-plans.js';
import { askFromGuest, hostCandidates, isLoopbackAddress } from './asked-servers.js';
import { isProbeTimeout, queryBudget, settleBy } from './dns-query-plan.js';
import { hostsRoute } from './glibc-route.js';
import { gatherResolvedFacts, STUB_ADDRESS, type ResolvedFacts } from './resolved-facts.js';

const PATH = '/etc/resolv.conf';
const RESOLVCONF_PATHS = ['/sbin/resolvconf', '/usr/sbin/resolvconf'];
const RESOLVED_PATHS = ['/lib/systemd/systemd-resolved', '/usr/lib/systemd/systemd-resolved'];

const findings = {
  'resolvconf-empty': {
    severity: 'fail',
    message: '{path} has no nameserver: resolvconf in the guest{link} found no DNS servers inside the container and wrote an empty file',
    description: 'resolvconf in the guest wrote a resolv.conf without nameservers: inside a container it finds none.',
  },
  'resolved-processes': {
    severity: 'info',
    message: 'systemd-resolved runs {where}',
    description:
      "Which systemd-resolved processes share the guest's network namespace, and whose they are (the guest's PID namespace, or another system's).",
  },
  'stub-owned-elsewhere': {
    severity: 'warn',
    message:
      "127.0.0.53 in the guest's network namespace is served by another system's systemd-resolved (pid {holder}), not by the guest's own (pid {guest})",
    description:
      "Another system sharing the network namespace holds 127.0.0.53: the guest's resolv.conf reaches that resolved, not its own.",
  },
  'stub-served-by-other': {
    severity: 'info',
    message: "127.0.0.53 in the guest's network namespace is served by the systemd-resolved of another system sharing it (pid {holder})",
    description: "The guest has no resolved of its own; another system's stub serves the shared namespace.",
  },
  'resolved-stub-off': {
    severity: 'info',
    message: "the guest's systemd-resolved (pid {pid}) has its stub off: it does not listen on 127.0.0.53{why}",
    description: "The guest's resolved does not hold 127.0.0.53 (another process had it when it started, or DNSStubListener=no).",
  },
  'resolved-no-upstream': {
    severity: 'fail',
    message:
      'the guest\'s systemd-resolved (pid {pid}) has no upstream DNS server ({file} says "# No DNS servers known."), and glibc asks it: {route}',
    description:
      'The guest\'s resolved knows no upstream server, so every lookup through it fails (REFUSED from its stub, "not found" through nss-resolve).',
  },
  'nsswitch-hosts': {
    severity: 'info',
    message: 'nsswitch.conf "{line}": {route}',
    description: 'Where glibc sends host lookups in the guest, service by service.',
  },
  'stub-not-listening': {
    severity: 'fail',
    message: "{path} says nameserver {server}, but nothing listens there in the guest's network namespace: connection refused{from}",
    description:
      'resolv.conf names 127.0.0.53 (or another loopback address) but nothing listens there in the guest\'s network namespace: "connection refused".',
  },
  'stub-silent': {
    severity: 'fail',
    message: "{server} in the guest's network namespace does not answer ({detail}){bound}",
    description: 'The loopback nameserver does not answer within --timeout.',
  },
  'stub-upstream-fails': {
    severity: 'warn',
    message: "{server} answers {rcode} in the guest's network namespace: the stub runs but has no working upstream server",
    description: 'The stub answers, but with SERVFAIL or REFUSED: it has no working upstream.',
  },
  'stub-answers': {
    severity: 'info',
    message: "{server} answers in the guest's network namespace ({verdict}, {ms} ms)",
    description: "The loopback nameserver answers in the guest's namespace.",
  },
  'resolv-conf-from-host': {
    severity: 'info',
    message: "{path} is bind-mounted into the guest ({root} from {source}): it changes when the host's does",
    description: '/etc/resolv.conf is bind-mounted into the guest (nspawn does this when the host runs resolved).',
  },
  'no-stub': {
    severity: 'info',
    message: "no loopback nameserver in {path} and no systemd-resolved in the guest's network namespace",
    description: 'No loopback nameserver and no resolved: nothing for this check to look at.',
  },
} as const;

const fixDocs = {
  'dns.enable-guest-resolved':
    'systemctl enable --now systemd-networkd systemd-resolved in the guest, and link /etc/resolv.conf to /run/systemd/resolve/resolv.conf.',
  'dns.enable-guest-networkd':
    "The guest's resolved has no upstream: systemctl enable --now systemd-networkd in the guest (DHCP on host0), or DNS= in resolved.conf.",
  'dns.disable-guest-resolved':
    "systemctl disable --now systemd-resolved in the guest, leaving the other system's stub alone; a resolv.conf link into its runtime files becomes a file naming 127.0.0.53 (once that answered).",
  'dns.use-host-stub':
    'Write nameserver 127.0.0.53 into the guest: the stub of the host sharing its network namespace (once it answered there).',
  'dns.nspawn-resolv-conf-uplink': 'nspawn --resolv-conf=copy-uplink or replace-uplink (ResolvConf= in the .nspawn file).',
  'net.nspawn-network-veth': 'Give the nspawn guest its own network namespace, so each resolved has its own 127.0.0.53.',
  'dns.write-resolv-conf':
    "Write the host's upstream nameservers into the guest's /etc/resolv.conf: safe only when each answered from the guest's network namespace.",
  'dns.schroot-upstream-resolv-conf': "schroot: bind resolved's upstream list in the profile's fstab, or copy resolv.conf with copyfiles.",
  'dns.chroot-upstream-resolv-conf': "chroot: mount --bind the host's upstream list over the guest's resolv.conf.",
} as const;

/** What the guest looks like from the DNS-stub point of view. */
interface Facts {
  place: Pick<CheckContext['target'], 'kind' | 'root' | 'schroot' | 'nspawn' | 'pid' | 'sharesNetns' | 'netnsPath'>;
  nameservers: string[];
  loopbacks: string[];
  /** The file is readable and names no nameserver. */
  noNameserver: boolean;
  link: string | null;
  bindMount: { source: string; root: string } | null;
  resolved: ResolvedFacts;
  booted: boolean;
  resolvconfInGuest: boolean;
  resolvedInstalled: boolean;
  networkdRuns: boolean;
  /** What each loopback nameserver said, asked from the guest's namespace. */
  asked: { server: string; response: DnsQueryResponse }[];
  port53: string[] | null;
  /** The host's upstream servers a write fix would use, and what they said from the guest's namespace. */
  upstream: { addresses: string[]; source: string; proof: ServerProof };
}

/** The link points into resolved's runtime directory. */
function linksIntoResolved(link: string | null): boolean {
  return link !== null && /(^|\/)run\/systemd\/resolve\//.test(link);
}

async function anyExists(ctx: CheckContext, paths: string[]): Promise<boolean> {
  const found = await Promise.all(paths.map(async (p) => 'type' in (await ctx.target.stat(p))));
  return found.some(Boolean);
}

/** Asks one loopback nameserver, from the guest's namespace, whether anything answers there. */
async function askStub(ctx: CheckContext, server: string, deadline: number): Promise<DnsQueryResponse> {
  const budget = queryBudget(deadline - ctx.host.now() + 150);
  const late = (): DnsQueryResponse => ({
    verdict: 'timeout',
    rcode: null,
    addresses: [],
    transport: 'udp',
    truncatedOverUdp: false,
    elapsedMs: budget,
    detail: `no answer within --timeout ${ctx.options.timeoutMs} ms (on a busy machine, raise --timeout)`,
  });
  return settleBy(
    ctx.target
      .probe(
        'dns-query',
        { server, name: ctx.options.dnsName, type: 'A', timeoutMs: budget, attempts: 1, transport: 'fallback' },
        { timeoutMs: Math.max(budget, deadline - ctx.host.now()) },
      )
      .catch((error: unknown) => (isProbeTimeout(error) ? late() : Promise.reject(error as Error))),
    performance.now() + Math.max(0, deadline - ctx.host.now()),
    late,
  );
}

// What it looks at: resolv.conf, the resolved processes of the namespace and whose they are, the stub socket's holder,
// the guest resolved's upstream list, nsswitch.conf, and what each loopback nameserver answers there.
async function gather(ctx: CheckContext) {
  const { target, host, options } = ctx;
  const deadline = host.now() + options.timeoutMs - Math.max(250, options.timeoutMs * 0.2);
  const [read, link, mounts, guestProcs, resolved] = await Promise.all([
    target.readFile(PATH),
    target.readlink(PATH),
    target.mounts(),
    target.processes(),
    gatherResolvedFacts(ctx),
  ]);
  if (!read.ok && read.reason === 'permission')
    return cannotRun(`needs root: run with sudo (cannot read ${PATH} in the guest: ${read.message})`);
  const conf = read.ok ? parseResolvConf(read.text) : null;
  const nameservers = (conf?.nameservers ?? []).slice(0, GLIBC_MAXNS).map((n) => n.address);
  const loopbacks = nameservers.filter(isLoopbackAddress);
  const mount = mounts.find((m) => m.mountPoint === PATH);
  const argv = target.nspawn?.argv ?? [];
  const leader = guestProcs.find((p) => p.pid === target.pid);
  const noNameserver = read.ok && nameservers.length === 0;
  const [resolvconfInGuest, resolvedInstalled, udp, udp6] = await Promise.all([
    anyExists(ctx, RESOLVCONF_PATHS),
    anyExists(ctx, RESOLVED_PATHS),
    loopbacks.length > 0 ? target.readProcNet('udp') : null,
    loopbacks.length > 0 ? target.readProcNet('udp6') : null,
  ]);
  let asked: Facts['asked'];
  try {
    asked = await Promise.all(loopbacks.map(async (server) => ({ server, response: await askStub(ctx, server, deadline) })));
  } catch (error) {
    return cannotRun(`the DNS probe could not run in the guest's network namespace: ${(error as Error).message}`);
  }
  // Only a file that will need writing gets its servers asked.
  const needsUpstream =
    noNameserver ||
    asked.some((a) => a.response.verdict === 'unreachable' || a.response.verdict === 'timeout' || a.response.verdict === 'bad-response');
  const candidates = needsUpstream ? await hostCandidates(host, target.sharesNetns) : { addresses: [], source: 'none' };
  const proof =
    candidates.addresses.length > 0 ? await askFromGuest(ctx, candidates.addresses, deadline) : { name: options.dnsName, asked: [] };
  return {
    place: {
      kind: target.kind,
      root: target.root,
      pid: target.pid,
      sharesNetns: target.sharesNetns,
      netnsPath: target.netnsPath,
      ...(target.schroot ? { schroot: target.schroot } : {}),
      ...(target.nspawn ? { nspawn: target.nspawn } : {}),
    },
    nameservers,
    loopbacks,
    noNameserver,
    link,
    bindMount: mount ? { source: mount.source, root: mount.root } : null,
    resolved,
    booted: leader?.comm === 'systemd' || (argv.length > 0 && parseNspawnArgs(argv).boot),
    // A file resolved writes is resolved's, even where resolvconf is installed too.
    resolvconfInGuest:
      !linksIntoResolved(link) && (resolvconfInGuest || /resolvconf/.test(link ?? '') || (read.ok && /resolvconf/i.test(read.text))),
    resolvedInstalled,
    networkdRuns: guestProcs.some((p) => p.comm === 'systemd-network'),
    asked,
    port53:
      udp === null && udp6 === null
        ? null
        : parseProcNetUdp(`${udp ?? ''}${udp6 ?? ''}`)
            .filter((s) => s.port === 53)
            .map((s) => s.address),
    upstream: { ...candidates, proof },
  } satisfies Facts;
}

const found = findingBuilder(findings);
type Found = Reported<typeof findings>;

/** `in the guest (pid 120) and in another system sharing its network namespace (pid 7)`. */
function whereResolved(r: ResolvedFacts): string {
  return [
    r.guest.length > 0 ? `in the guest (pid ${r.guest.join(', ')})` : '',
    r.others.length > 0
      ? `in another system sharing its network namespace (pid ${r.others.join(', ')}; outside the guest's PID namespace)`
      : '',
  ]
    .filter(Boolean)
    .join(' and ');
}

// How it decides: resolvconf's empty file (Loki), whose resolved holds the stub and whether the guest's own has an
// upstream (Juno, or resolved without networkd), then what each loopback nameserver answered.
function judge(facts: Facts) {
  const r = facts.resolved;
  const out: Found[] = [];
  if (facts.bindMount)
    out.push(found('resolv-conf-from-host', { path: PATH, root: facts.bindMount.root, source: facts.bindMount.source }, facts.bindMount));
  if (r.guest.length + r.others.length > 0)
    out.push(
      found(
        'resolved-processes',
        { where: whereResolved(r) },
        { guest: r.guest, sameNetns: r.others, netns: r.netns, stubHolder: r.holder },
      ),
    );
  if (facts.noNameserver && facts.resolvconfInGuest) {
    out.push(found('resolvconf-empty', { path: PATH, link: facts.link ? ` (${PATH} -> ${facts.link})` : '' }, { link: facts.link }));
  }
  const route = hostsRoute(r, facts.nameservers);
  const guestPid = r.guest[0];
  if (guestPid !== undefined && r.holder !== null && r.holder.whose === 'other') {
    out.push(found('stub-owned-elsewhere', { holder: r.holder.pid ?? '?', guest: guestPid }, { holder: r.holder, guest: r.guest }));
  } else if (guestPid === undefined && r.holder?.whose === 'other' && facts.loopbacks.includes(STUB_ADDRESS)) {
    out.push(found('stub-served-by-other', { holder: r.holder.pid ?? '?' }, { holder: r.holder }));
  }
  if (guestPid !== undefined && r.udpRead && r.holder?.whose !== 'guest') {
    const why = r.holder?.whose === 'other' ? `; another system's resolved (pid ${r.holder.pid ?? '?'}) held it when it started` : '';
    out.push(found('resolved-stub-off', { pid: guestPid, why }, { pid: guestPid, holder: r.holder }));
  }
  // The guest's own resolved without upstream matters when glibc or the stub leads to it.
  const reached =
    route.viaGuestResolved ||
    (r.holder?.whose === 'guest' && facts.loopbacks.includes(STUB_ADDRESS)) ||
    (facts.link !== null && /(^|\/)run\/systemd\/resolve\/resolv\.conf$/.test(facts.link));
  if (guestPid !== undefined && r.upstream.noneKnown && reached) {
    out.push(
      found(
        'resolved-no-upstream',
        { pid: guestPid, file: '/run/systemd/resolve/resolv.conf', route: route.text },
        { pid: guestPid, upstream: r.upstream, nsswitchHosts: r.nsswitch?.line ?? null },
      ),
    );
  }
  if (r.nsswitch !== null && guestPid !== undefined)
    out.push(
      found('nsswitch-hosts', { line: r.nsswitch.line, route: route.text }, { line: r.nsswitch.line, services: r.nsswitch.services }),
    );
  const explained = out.some((f) => f.code === 'resolved-no-upstream');
  for (const { server, response } of facts.asked) {
    const ev = {
      server,
      verdict: response.verdict,
      rcode: response.rcode,
      detail: response.detail,
      port53Listeners: facts.port53,
      bindMounted: facts.bindMount !== null,
    };
    const boundHere = facts.port53?.filter((a) => udpBindCovers(a, server)) ?? [];
    if (response.verdict === 'unreachable') {
      const from = facts.bindMount ? ' (the file is bind-mounted from the host, whose stub does not serve this namespace)' : '';
      out.push(found('stub-not-listening', { path: PATH, server, from }, ev));
    } else if (response.verdict === 'timeout' || response.verdict === 'bad-response') {
      out.push(
        found(
          'stub-silent',
          {
            server,
            detail: response.detail ?? response.verdict,
            bound: boundHere.length > 0 ? ': a socket is bound to port 53 there' : '',
          },
          ev,
        ),
      );
    } else if (response.verdict === 'servfail' || response.verdict === 'refused') {
      // The missing upstream is the reason; the REFUSED itself is evidence of it.
      if (!explained) out.push(found('stub-upstream-fails', { server, rcode: response.rcode ?? response.verdict }, ev));
    } else {
      out.push(found('stub-answers', { server, verdict: response.verdict, ms: response.elapsedMs }, ev));
    }
  }
  if (out.length === 0) return [found('no-stub', { path: PATH }, { nameservers: facts.nameservers })];
  const answers = out.find((f) => f.code === 'stub-answers');
  return { findings: out, ...(answers ? { summary: `${answers.data.server} answers in the guest's network namespace` } : {}) };
}

/** What it offers for a loopback nameserver nobody serves, by container kind. */
function deadStubFixes(facts: Facts): (Fix | null)[] {
  const { place, upstream } = facts;
  const replaces = { link: facts.link, manager: resolvConfLinkManager(facts.link) };
  if (place.kind === 'nspawn')
    return [
      nspawnResolvConfUplinkFix(place),
      enableGuestResolvedFix({ booted: facts.booted, resolvedInstalled: facts.resolvedInstalled, replaces }),
    ];
  return [
    upstream.addresses.length > 0 && !facts.bindMount
      ? writeResolvConfFix(upstream.addresses, upstream.source, upstream.proof, replaces)
      : null,
    upstreamResolvConfFix(place, upstream.source === 'none' ? '/etc/resolv.conf' : upstream.source),
  ];
}

// What it offers: per situation, the seed's fixes, made to hold on a booted guest and verified where they write servers.
function offer(facts: Facts, reported: readonly Found[]) {
  const has = (code: Found['code']): boolean => reported.some((f) => f.code === code);
  const r = facts.resolved;
  const replaces = { link: facts.link, manager: resolvConfLinkManager(facts.link) };
  const stubProof: ServerProof = {
    name: facts.upstream.proof.name,
    asked: facts.asked
      .filter((a) => a.server === STUB_ADDRESS)
      .map((a) => ({ server: a.server, verdict: a.response.verdict, detail: a.response.detail })),
  };
  const fixes: (Fix | null)[] = [];
  const juno = r.guest.length > 0 && r.others.length > 0 && (has('resolved-no-upstream') || has('stub-owned-elsewhere'));
  if (juno) {
    const linksToGuestResolved = linksIntoResolved(facts.link);
    fixes.push(disableGuestResolvedFix({ booted: facts.booted, pids: r.guest, linksToGuestResolved, stub: stubProof, replaces }));
    if (facts.place.kind === 'nspawn') fixes.push(nspawnVethFix(facts.place));
  } else if (has('resolved-no-upstream') && !facts.networkdRuns) {
    fixes.push(enableGuestNetworkdFix({ booted: facts.booted }));
  }
  if (has('resolvconf-empty')) {
    if (r.others.length > 0 && r.guest.length === 0) {
      // Starting resolved here would put a second one in the namespace: the other system's stub already serves it.
      fixes.push({
        id: 'dns.use-host-stub',
        title: 'Use the stub of the systemd-resolved that serves this shared network namespace',
        safety: 'manual',
        steps: [
          {
            kind: 'manual',
            where: 'guest',
            description: "write nameserver 127.0.0.53 (the other system's stub, in the same network namespace)",
            snippet: 'nameserver 127.0.0.53\noptions edns0 trust-ad\n',
          },
        ],
      });
    } else if (facts.place.kind === 'nspawn' || facts.booted) {
      fixes.push(enableGuestResolvedFix({ booted: facts.booted, resolvedInstalled: facts.resolvedInstalled, replaces }));
    } else fixes.push(...deadStubFixes(facts));
  }
  if (!juno && (has('stub-not-listening') || has('stub-silent'))) fixes.push(...deadStubFixes(facts));
  return fixes.filter((f, i) => f === null || fixes.findIndex((g) => g?.id === f.id) === i) as (Fix<keyof typeof fixDocs> | null)[];
}

export default defineCheck({
  id: 'dns.stub',
  group: 'dns',
  title: 'Local DNS stubs (systemd-resolved, 127.0.0.53)',
  description:
    "Looks at systemd-resolved as the guest's programs meet it: which resolved processes share the guest's network namespace and whose they are (by PID namespace), which one holds the 127.0.0.53 stub, whether the guest's own has upstream servers, and where nsswitch.conf sends glibc. Also resolvconf writing an empty resolv.conf inside a container, and a loopback nameserver with nothing behind it.",
  findings,
  fixDocs,
  probes: ['root'],
  dependsOn: ['dns.resolv-conf'],
  appliesTo: () => true,
  gather,
  judge,
  offer,
});
