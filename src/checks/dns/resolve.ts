import { cannotRun, defineCheck, skip, type CheckContext, type Reported } from '../../core/check.js';
import { findingBuilder } from '../../core/findings.js';
import type { HostDnsResult } from '../../core/host.js';
import type { DnsQueryResponse, DnsVerdict } from '../../core/probe-types.js';
import type { ExecResult } from '../../core/target.js';
import type { Fix } from '../../core/types.js';
import { resolvConfProvisionFix, writeResolvConfFix } from '../../fixes/plans/resolv-conf-plans.js';
import { nsswitchDnsFix } from '../../fixes/plans/dns-resolve-plans.js';
import { resolvConfLinkManager, WORKING, type ServerProof } from '../../fixes/plans/dns-evidence.js';
import { DEFAULT_PATH } from '../../core/target.js';
import { buildDnsQuery } from '../../parse/dns-response.js';
import { GLIBC_MAXNS, parseResolvConf, type Nameserver } from '../../parse/resolv-conf.js';
import { askFromGuest, hostCandidates } from './asked-servers.js';
import { isProbeTimeout, planQueries, queryBudget, settleBy, type QueryPlan } from './dns-query-plan.js';
import { hostsRoute } from './glibc-route.js';
import { gatherResolvedFacts, STUB_ADDRESS, type ResolvedFacts } from './resolved-facts.js';
import { asDesktopUser, withCommandSlot, type CommandSlot } from '../command-batch.js';

/** More nameservers than anyone lists on purpose; the rest are not asked. */
const MAX_SERVERS = 8;

const findings = {
  'server-answers': {
    severity: 'info',
    message: '{server} answers {name}: {addresses} ({ms} ms{tcp})',
    description: 'The nameserver answered with addresses.',
  },
  'server-nxdomain': {
    severity: 'info',
    message: '{server} works: {name} does not exist (NXDOMAIN)',
    description: 'NXDOMAIN: the server works, the name does not exist.',
  },
  'server-nodata': {
    severity: 'info',
    message: '{server} works: {name} has no A or AAAA record (NOERROR, no data)',
    description: 'NOERROR without A or AAAA records: the server works.',
  },
  'server-refused': {
    severity: 'fail',
    message: '{server} refused the query for {name} (status: REFUSED): it does not resolve for this client',
    description: "status: REFUSED from a server that is not the guest's resolved: it does not resolve for this client.",
  },
  'stub-no-upstream': {
    severity: 'fail',
    message:
      '{server} answered {rcode} for {name}: it is the guest\'s own systemd-resolved stub (pid {pid}), which has no upstream server (/run/systemd/resolve/resolv.conf says "# No DNS servers known.")',
    description: "REFUSED or SERVFAIL from the guest's own resolved, explained by its missing upstream server.",
  },
  'server-servfail': {
    severity: 'fail',
    message: '{server} answered SERVFAIL for {name}: it could not reach its own upstream',
    description: 'SERVFAIL: the server could not reach its upstream.',
  },
  'server-timeout': {
    severity: 'fail',
    message: '{server}: connection timed out; no servers could be reached ({detail})',
    description: 'No answer: "connection timed out; no servers could be reached".',
  },
  'server-unreachable': {
    severity: 'fail',
    message: '{server}: {detail}',
    description: 'Connection refused (nothing listens) or no route to the server.',
  },
  'server-bad-response': {
    severity: 'fail',
    message: '{server} sent a reply that does not answer the query ({detail})',
    description: 'A reply with the wrong id, another question, or garbage.',
  },
  'server-other-rcode': {
    severity: 'fail',
    message: '{server} answered {rcode} for {name}',
    description: 'Another DNS status (FORMERR, NOTIMP…).',
  },
  'server-fails-others-answer': {
    severity: 'warn',
    message: '{server}: {what} (another nameserver answers, but lookups wait for this one first)',
    description: 'A nameserver fails while another one answers: lookups are slow.',
  },
  'server-unused-fails': {
    severity: 'info',
    message: '{server}: {what} (listed after the third nameserver: glibc never asks it)',
    description: "A nameserver beyond glibc's three fails; nothing asks it.",
  },
  'glibc-resolves': {
    severity: 'info',
    message: 'getent ahosts {name} in the guest: {addresses}{source}',
    description: 'getent ahosts resolves the name inside the guest.',
  },
  'glibc-fails': {
    severity: 'fail',
    message: 'the nameservers answer, but getent ahosts {name} fails in the guest ({why}) as {user}: {cause}',
    description:
      "The nameservers answer but glibc does not: nsswitch.conf routes lookups elsewhere (the guest's own resolved without upstream, no dns), /etc/hosts, or file permissions.",
  },
  'glibc-fails-too': {
    severity: 'info',
    message: 'getent ahosts {name} fails in the guest too ({why})',
    description: 'No nameserver answers and glibc fails as well.',
  },
  'getent-missing': {
    severity: 'info',
    message: "getent is not installed in the guest, so glibc's own lookup was not tried",
    description: 'No getent in the guest: glibc was not asked.',
  },
  'host-resolves-guest-does-not': {
    severity: 'fail',
    message: "the host resolves {name} ({servers}), the guest does not: the fault is in the guest's DNS setup or its network namespace",
    description: 'With --compare-host: the host resolves the name, the guest does not.',
  },
  'host-fails-too': {
    severity: 'info',
    message: "the host cannot resolve {name} either: the fault is upstream of the guest (the host's network or nameservers)",
    description: 'With --compare-host: the host fails too, so the fault is upstream.',
  },
  'host-compared': { severity: 'info', message: 'the host resolves {name} {how}', description: 'With --compare-host: what the host said.' },
  'host-compare-unavailable': {
    severity: 'info',
    message: '{why}',
    description: 'With --compare-host: the host lists no nameserver, or none answered in time.',
  },
  'resolve-plan': {
    severity: 'info',
    message:
      'asked {count} nameserver(s) with {attempts} attempt(s) of {attemptMs} ms each (resolv.conf asks for {wantAttempts} × {wantMs} ms; --timeout {timeoutMs} ms)',
    description: 'How many attempts of how long were made, from resolv.conf options capped by --timeout.',
  },
} as const;

const fixDocs = {
  'dns.write-resolv-conf':
    "No nameserver works: write the host's upstream nameservers into the guest's /etc/resolv.conf; safe only when each answered from the guest's network namespace.",
  'dns.nspawn-resolv-conf-uplink': 'nspawn: --resolv-conf=copy-uplink (or replace-uplink), or ResolvConf=copy-uplink in the .nspawn file.',
  'dns.schroot-resolv-conf': 'schroot: copyfiles entry, or an fstab bind when the host file is a symlink.',
  'dns.chroot-resolv-conf': "chroot: cp -L the host's resolv.conf into the guest.",
  'dns.nsswitch-hosts-dns': 'getent fails while DNS works: put dns on the hosts: line of /etc/nsswitch.conf.',
} as const;

/** One nameserver's A and AAAA answers, and the verdict they add up to. */
interface ServerResult {
  server: Nameserver;
  address: string;
  a: DnsQueryResponse;
  aaaa: DnsQueryResponse;
  verdict: DnsVerdict;
  /** Beyond glibc's three: listed, but never asked by applications. */
  unused: boolean;
}

/** What dns.resolve looks at. */
interface Facts {
  name: string;
  user: string;
  results: ServerResult[];
  glibc: ExecResult;
  resolved: ResolvedFacts;
  host: HostDnsResult | null;
  compareHost: boolean;
  plan: QueryPlan;
  transport: 'tcp' | 'fallback';
  timeoutMs: number;
  place: Parameters<typeof resolvConfProvisionFix>[0];
  link: string | null;
  hostResolvIsSymlink: boolean;
  /** The host's upstream servers a write fix would use (when none of the guest's works), and what they said from the guest. */
  upstream: { addresses: string[]; source: string; proof: ServerProof };
}

/** The probe had not answered when the budget ran out: the server is silent, or this machine is too busy. */
const missed = (plan: QueryPlan, timeoutMs: number): DnsQueryResponse => ({
  verdict: 'timeout',
  rcode: null,
  addresses: [],
  transport: 'udp',
  truncatedOverUdp: false,
  elapsedMs: timeoutMs,
  detail: `no answer within --timeout ${timeoutMs} ms (${plan.attempts} × ${plan.attemptMs} ms attempts; on a busy machine, raise --timeout)`,
});
const glibcLate = (timeoutMs: number): ExecResult => ({
  exitCode: null,
  stdout: '',
  stderr: '',
  timedOut: true,
  notFound: false,
  spawnError: `no result within ${timeoutMs} ms`,
});

/** A server works when either question got a real answer; otherwise its worst failure speaks for it. */
function combine(a: DnsQueryResponse, aaaa: DnsQueryResponse): DnsVerdict {
  if (a.verdict === 'answer' || aaaa.verdict === 'answer') return 'answer';
  if (WORKING.has(a.verdict) && WORKING.has(aaaa.verdict))
    return a.verdict === 'nxdomain' && aaaa.verdict === 'nxdomain' ? 'nxdomain' : 'nodata';
  return WORKING.has(a.verdict) ? aaaa.verdict : a.verdict;
}

/** The words a user sees for a socket error. */
function errnoText(detail: string | null): string {
  switch (detail) {
    case 'ECONNREFUSED':
      return 'connection refused (nothing listens on port 53 there)';
    case 'ENETUNREACH':
      return 'Network is unreachable';
    case 'EHOSTUNREACH':
      return 'No route to host';
    case 'EADDRNOTAVAIL':
      return 'Cannot assign requested address';
    default:
      return detail ?? 'unreachable';
  }
}

/**
 * glibc's second opinion: getaddrinfo through the guest's nsswitch.conf, /etc/hosts and resolv.conf.
 * The guest's own `timeout` bounds it: killing the nsenter in front of it would leave getent running.
 */
async function askGlibc(ctx: CheckContext, slot: CommandSlot, deadline: number): Promise<ExecResult> {
  const { target, host } = ctx;
  const opts = () => ({
    ...asDesktopUser(target),
    env: { PATH: DEFAULT_PATH, LC_ALL: 'C' },
    timeoutMs: Math.max(100, deadline - host.now()),
  });
  const seconds = Math.max(0.1, (deadline - host.now() - 200) / 1000).toFixed(1);
  const getent = ['getent', 'ahosts', ctx.options.dnsName];
  // Through the slot: with the diagnosis's other guest commands in one chain.
  const bounded = await slot.exec(['timeout', '-k', '0.1', seconds, ...getent], opts());
  if (bounded.exitCode === 124) return { ...bounded, exitCode: null, timedOut: true };
  // `timeout` says "failed to run command 'getent'" when getent is missing; otherwise timeout itself is.
  if (bounded.notFound && !/getent/.test(bounded.stderr)) return target.exec(getent, opts());
  return bounded;
}

// What it looks at: every nameserver of the guest's resolv.conf, asked from its namespace; glibc in the guest; resolved
// and nsswitch.conf; with --compare-host the host's own servers; and, when none works, the host's servers from the guest.
function gather(ctx: CheckContext) {
  // The slot is taken now, in the turn every check starts in (glibc's getent is asked after resolv.conf is read).
  return withCommandSlot(ctx.target, (slot) => gatherWith(ctx, slot));
}

async function gatherWith(ctx: CheckContext, slot: CommandSlot) {
  const { target, host, options } = ctx;
  // Room after the deadline for the last reads and for a busy event loop, inside the runner's limit.
  const deadline = host.now() + options.timeoutMs - Math.max(250, options.timeoutMs * 0.2);
  // glibc is asked first, before resolv.conf is read (it reads it itself): its getent then joins the other checks'
  // guest commands in one chain. When the check ends early, its answer is not waited for.
  const asked = askGlibc(ctx, slot, deadline);
  // Handled from the start (its failure is settleBy's to report below, or nobody's after an early end).
  void asked.catch(() => undefined);
  const read = await target.readFile('/etc/resolv.conf');
  const conf = read.ok ? parseResolvConf(read.text) : null;
  if (!conf || conf.nameservers.length === 0) return skip("no nameserver in the guest's /etc/resolv.conf: see dns.resolv-conf");
  try {
    buildDnsQuery(0, options.dnsName, 'A');
  } catch {
    return cannotRun(`--dns-name "${options.dnsName}" is not a name DNS can carry`);
  }
  const plan = planQueries(conf.options, queryBudget(options.timeoutMs));
  const transport = conf.options.useVc ? ('tcp' as const) : ('fallback' as const);
  const servers = conf.nameservers.slice(0, MAX_SERVERS);
  const settle = performance.now() + Math.max(0, deadline - host.now());
  // The probe child may run until the deadline: a slow start-up must not be mistaken for a broken probe.
  const ask = (address: string, type: 'A' | 'AAAA') =>
    settleBy(
      target
        .probe(
          'dns-query',
          { server: address, name: options.dnsName, type, timeoutMs: plan.attemptMs, attempts: plan.attempts, transport },
          { timeoutMs: Math.max(plan.attemptMs, deadline - host.now()) },
        )
        .catch((error: unknown) => (isProbeTimeout(error) ? missed(plan, options.timeoutMs) : Promise.reject(error as Error))),
      settle,
      () => missed(plan, options.timeoutMs),
    );

  // Everything at once: the servers, glibc's second opinion and the host (when asked) share one budget.
  const glibc = settleBy(asked, settle, () => glibcLate(options.timeoutMs));
  const compared = options.compareHost
    ? settleBy(host.askHostNameservers(options.dnsName, plan.attemptMs), settle, () => null)
    : Promise.resolve(null);
  const side = Promise.all([gatherResolvedFacts(ctx), target.readlink('/etc/resolv.conf'), host.lstat('/etc/resolv.conf')]);
  let results: ServerResult[];
  try {
    results = await Promise.all(
      servers.map(async (server, i) => {
        const address = server.scopeId === undefined ? server.address : `${server.address}%${server.scopeId}`;
        const [a, aaaa] = await Promise.all([ask(address, 'A'), ask(address, 'AAAA')]);
        return { server, address, a, aaaa, verdict: combine(a, aaaa), unused: i >= GLIBC_MAXNS };
      }),
    );
  } catch (error) {
    await Promise.all([glibc, compared, side]);
    return cannotRun(`the DNS probe could not run in the guest's network namespace: ${(error as Error).message}`);
  }
  const [resolved, link, hostLink] = await side;
  // Servers for a repair are asked only when the guest's own do not work, with what is left of the budget.
  const someWork = results.some((r) => !r.unused && WORKING.has(r.verdict));
  const guestServers = results.map((r) => r.server.address);
  const candidates = someWork ? { addresses: [], source: 'none' } : await hostCandidates(host, target.sharesNetns);
  const fresh = candidates.addresses.some((a) => !guestServers.includes(a));
  const proof = fresh ? await askFromGuest(ctx, candidates.addresses, deadline) : { name: options.dnsName, asked: [] };
  return {
    name: options.dnsName,
    user: target.user.name,
    results,
    glibc: await glibc,
    resolved,
    host: await compared,
    compareHost: options.compareHost,
    plan,
    transport,
    timeoutMs: options.timeoutMs,
    place: {
      kind: target.kind,
      root: target.root,
      ...(target.schroot ? { schroot: target.schroot } : {}),
      ...(target.nspawn ? { nspawn: target.nspawn } : {}),
    },
    link,
    hostResolvIsSymlink: hostLink?.type === 'symlink',
    upstream: { addresses: fresh ? candidates.addresses : [], source: candidates.source, proof },
  } satisfies Facts;
}

const found = findingBuilder(findings);
type Found = Reported<typeof findings>;

function evidenceOf(r: ServerResult): Record<string, unknown> {
  const one = (q: DnsQueryResponse) => ({
    verdict: q.verdict,
    rcode: q.rcode,
    addresses: q.addresses,
    transport: q.transport,
    elapsedMs: q.elapsedMs,
    detail: q.detail,
  });
  return { server: r.address, line: r.server.line, unusedByGlibc: r.unused, a: one(r.a), aaaa: one(r.aaaa) };
}

/** The failure in words, for the codes that only say that another server answers or that nobody asks this one. */
function failureText(r: ServerResult, name: string): string {
  const failing = WORKING.has(r.a.verdict) ? r.aaaa : r.a;
  switch (r.verdict) {
    case 'refused':
      return `refused the query for ${name} (status: REFUSED)`;
    case 'servfail':
      return `answered SERVFAIL for ${name}`;
    case 'timeout':
      return `connection timed out (${failing.detail ?? 'no answer'})`;
    case 'unreachable':
      return errnoText(failing.detail);
    case 'bad-response':
      return `sent a reply that does not answer the query (${failing.detail ?? 'malformed'})`;
    default:
      return `answered ${failing.rcode ?? 'an unexpected status'}`;
  }
}

/** One finding for one server: what it said, worded for a search engine, and why when the guest's resolved says it. */
function serverFinding(r: ServerResult, name: string, someWork: boolean, resolved: ResolvedFacts): Found {
  const ev = evidenceOf(r);
  const failing = WORKING.has(r.a.verdict) ? r.aaaa : r.a;
  switch (r.verdict) {
    case 'answer': {
      const addrs = [...r.a.addresses, ...r.aaaa.addresses];
      const tcp = r.a.truncatedOverUdp || r.aaaa.truncatedOverUdp ? ', over TCP after a truncated UDP answer' : '';
      // A hostile server may send thousands of records: the message names a few.
      const shown = addrs.length > 8 ? `${addrs.slice(0, 8).join(', ')} and ${addrs.length - 8} more` : addrs.join(', ');
      return found('server-answers', { server: r.address, name, addresses: shown, ms: Math.max(r.a.elapsedMs, r.aaaa.elapsedMs), tcp }, ev);
    }
    case 'nxdomain':
      return found('server-nxdomain', { server: r.address, name }, ev);
    case 'nodata':
      return found('server-nodata', { server: r.address, name }, ev);
    default:
      break;
  }
  if (r.unused) return found('server-unused-fails', { server: r.address, what: failureText(r, name) }, ev);
  if (someWork) return found('server-fails-others-answer', { server: r.address, what: failureText(r, name) }, ev);
  const holder = resolved.holder;
  if (
    (r.verdict === 'refused' || r.verdict === 'servfail') &&
    r.address === STUB_ADDRESS &&
    holder?.whose === 'guest' &&
    resolved.upstream.noneKnown
  ) {
    return found(
      'stub-no-upstream',
      { server: r.address, rcode: failing.rcode ?? r.verdict.toUpperCase(), name, pid: holder.pid ?? '?' },
      { ...ev, upstream: resolved.upstream },
    );
  }
  switch (r.verdict) {
    case 'refused':
      return found('server-refused', { server: r.address, name }, ev);
    case 'servfail':
      return found('server-servfail', { server: r.address, name }, ev);
    case 'timeout':
      return found('server-timeout', { server: r.address, detail: failing.detail ?? 'no answer' }, ev);
    case 'unreachable':
      return found('server-unreachable', { server: r.address, detail: errnoText(failing.detail) }, ev);
    case 'bad-response':
      return found('server-bad-response', { server: r.address, detail: failing.detail ?? 'malformed' }, ev);
    default:
      return found('server-other-rcode', { server: r.address, name, rcode: failing.rcode ?? 'an unexpected status' }, ev);
  }
}

function glibcAddresses(stdout: string): string[] {
  return [
    ...new Set(
      stdout
        .split('\n')
        .map((l) => l.trim().split(/\s+/)[0] ?? '')
        .filter((a) => a !== ''),
    ),
  ];
}

/** Findings from getent: it catches what the nameservers do not show (nsswitch.conf, nss-resolve, /etc/hosts). */
function glibcFindings(facts: Facts, serversAnswer: boolean): Found[] {
  const { glibc: result, name, resolved } = facts;
  if (result.notFound) return [found('getent-missing', {})];
  const addresses = glibcAddresses(result.stdout);
  const hosts = resolved.nsswitch?.line ?? null;
  const ev = {
    command: `getent ahosts ${name}`,
    exitCode: result.exitCode,
    timedOut: result.timedOut,
    addresses,
    nsswitchHosts: hosts,
    user: facts.user,
  };
  if (result.exitCode === 0 && addresses.length > 0) {
    return [
      found(
        'glibc-resolves',
        { name, addresses: addresses.join(', '), source: serversAnswer ? '' : ' (from /etc/hosts or another NSS source, not DNS)' },
        ev,
      ),
    ];
  }
  const why = result.timedOut ? 'timed out' : result.exitCode === 2 ? 'not found' : `exit code ${String(result.exitCode)}`;
  if (!serversAnswer) return [found('glibc-fails-too', { name, why }, ev)];
  const route = hostsRoute(
    resolved,
    facts.results.filter((r) => !r.unused).map((r) => r.address),
  );
  const noDns = resolved.nsswitch !== null && !resolved.nsswitch.services.some((s) => s.name === 'dns');
  const cause = route.deadEnd
    ? `nsswitch.conf "${hosts ?? ''}" asks the guest's own systemd-resolved (pid ${resolved.guest.join(', ')}) first, through nss-resolve, and it has no upstream server; [!UNAVAIL=return] ends the lookup there, so the nameservers of /etc/resolv.conf are never asked`
    : noDns
      ? `/etc/nsswitch.conf says "${hosts ?? ''}" without dns`
      : `check the hosts: line of /etc/nsswitch.conf (${route.text}), /etc/hosts and whether the user can read /etc/resolv.conf`;
  return [found('glibc-fails', { name, why, user: facts.user, cause }, { ...ev, route: route.text, deadEnd: route.deadEnd })];
}

/** With --compare-host only: the same question from the host's namespace, to place the fault. */
function hostFindings(facts: Facts, guestWorks: boolean): Found[] {
  const { host, name } = facts;
  if (host === null)
    return [found('host-compare-unavailable', { why: `the host's nameservers did not answer within --timeout ${facts.timeoutMs} ms` })];
  if (host.answers.length === 0)
    return [found('host-compare-unavailable', { why: `the host's ${host.source} lists no nameserver to compare with` })];
  const answering = host.answers.filter((a) => a.response?.verdict === 'answer');
  const ev = {
    source: host.source,
    answers: host.answers.map((a) => ({
      server: a.server,
      verdict: a.response?.verdict ?? null,
      addresses: a.response?.addresses ?? [],
      error: a.error,
    })),
  };
  if (guestWorks) return [found('host-compared', { name, how: answering.length > 0 ? 'too' : 'differently (no answer there)' }, ev)];
  if (answering.length > 0)
    return [found('host-resolves-guest-does-not', { name, servers: answering.map((a) => a.server).join(', ') }, ev)];
  return [found('host-fails-too', { name }, ev)];
}

// How it decides: a server that fails is fatal only when no used server works; glibc has the last word.
function judge(facts: Facts) {
  const used = facts.results.filter((r) => !r.unused);
  const someWork = used.some((r) => WORKING.has(r.verdict));
  const out: Found[] = facts.results.map((r) => serverFinding(r, facts.name, someWork, facts.resolved));
  const answered = used.some((r) => r.verdict === 'answer');
  out.push(...glibcFindings(facts, answered));
  if (facts.compareHost) out.push(...hostFindings(facts, answered));
  const { plan } = facts;
  out.push(
    found(
      'resolve-plan',
      {
        count: facts.results.length,
        attempts: plan.attempts,
        attemptMs: plan.attemptMs,
        wantAttempts: plan.wanted.attempts,
        wantMs: plan.wanted.timeoutMs,
        timeoutMs: facts.timeoutMs,
      },
      { ...plan, transport: facts.transport },
    ),
  );
  const working = used.filter((r) => WORKING.has(r.verdict)).map((r) => r.address);
  return { findings: out, summary: `${working.join(', ')} ${working.length === 1 ? 'answers' : 'answer'} ${facts.name}` };
}

// What it offers: working nameservers when none works (verified from the guest's namespace); the nsswitch line when only glibc fails.
function offer(facts: Facts, reported: readonly Found[]) {
  const fixes: (Fix<keyof typeof fixDocs> | null)[] = [];
  const { upstream } = facts;
  if (upstream.addresses.length > 0) {
    fixes.push(
      writeResolvConfFix(upstream.addresses, upstream.source, upstream.proof, {
        link: facts.link,
        manager: resolvConfLinkManager(facts.link),
      }),
    );
    fixes.push(resolvConfProvisionFix(facts.place, facts.hostResolvIsSymlink));
  }
  const glibc = reported.find((f) => f.code === 'glibc-fails');
  const hosts = facts.resolved.nsswitch;
  if (glibc && hosts !== null && !hosts.services.some((s) => s.name === 'dns'))
    fixes.push(nsswitchDnsFix(hosts.line) as Fix<'dns.nsswitch-hosts-dns'>);
  return fixes;
}

export default defineCheck({
  id: 'dns.resolve',
  group: 'dns',
  title: 'Name resolution from the guest',
  description:
    "Asks every nameserver in the guest's resolv.conf for --dns-name (A and AAAA, UDP then TCP when truncated) from the guest's network namespace, and asks glibc (getent ahosts) in the guest for a second opinion, explaining a failure by where nsswitch.conf sends it (the guest's own systemd-resolved, and whether it has upstream servers). With --compare-host, asks the host's nameservers too, to place the fault.",
  findings,
  fixDocs,
  probes: ['root'],
  // A fix to the stub (resolved stopped or started, its list linked) changes what glibc gets: check it again too.
  dependsOn: ['dns.resolv-conf', 'dns.stub'],
  appliesTo: () => true,
  gather,
  judge,
  offer,
});
