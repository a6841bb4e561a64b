import { lstat } from 'node:fs/promises';
import { defineCheck, type CheckContext } from '../../core/check.js';
import { couldNotRun, finding, outcomeOf, skipped } from '../../core/outcome.js';
import type { Finding, Fix } from '../../core/types.js';
import { resolvConfProvisionFix, writeResolvConfFix } from '../../fixes/plans/resolv-conf-plans.js';
import { nsswitchDnsFix } from '../../fixes/plans/dns-resolve-plans.js';
import type { HostDnsResult } from '../../host/host-dns-query.js';
import { hostNameservers } from '../../host/host-nameservers.js';
import { isProbeTimeout, planQueries, queryBudget, settleBy, type QueryPlan } from '../../guest/dns-query-plan.js';
import type { DnsQueryResponse, DnsVerdict } from '../../guest/probe-protocol.js';
import { DEFAULT_PATH } from '../../guest/guest-env.js';
import { buildDnsQuery } from '../../parse/dns-response.js';
import { GLIBC_MAXNS, parseResolvConf, type Nameserver } from '../../parse/resolv-conf.js';
import type { ExecResult } from '../../targets/target.js';

/** More nameservers than anyone lists on purpose; the rest are not asked. */
const MAX_SERVERS = 8;
const WORKING: ReadonlySet<DnsVerdict> = new Set(['answer', 'nodata', 'nxdomain']);

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

/** The probe had not answered when the budget ran out: the server is silent, or this machine is too busy. */
const missed = (plan: QueryPlan, timeoutMs: number): DnsQueryResponse => ({
  verdict: 'timeout', rcode: null, addresses: [], transport: 'udp', truncatedOverUdp: false, elapsedMs: timeoutMs,
  detail: `no answer within --timeout ${timeoutMs} ms (${plan.attempts} × ${plan.attemptMs} ms attempts; on a busy machine, raise --timeout)`,
});
const glibcLate = (timeoutMs: number): ExecResult => ({ exitCode: null, stdout: '', stderr: '', timedOut: true, notFound: false, spawnError: `no result within ${timeoutMs} ms` });

/** A server works when either question got a real answer; otherwise its worst failure speaks for it. */
function combine(a: DnsQueryResponse, aaaa: DnsQueryResponse): DnsVerdict {
  if (a.verdict === 'answer' || aaaa.verdict === 'answer') return 'answer';
  if (WORKING.has(a.verdict) && WORKING.has(aaaa.verdict)) return a.verdict === 'nxdomain' && aaaa.verdict === 'nxdomain' ? 'nxdomain' : 'nodata';
  return WORKING.has(a.verdict) ? aaaa.verdict : a.verdict;
}

/** The words a user sees for a socket error. */
function errnoText(detail: string | null): string {
  switch (detail) {
    case 'ECONNREFUSED': return 'connection refused (nothing listens on port 53 there)';
    case 'ENETUNREACH': return 'Network is unreachable';
    case 'EHOSTUNREACH': return 'No route to host';
    case 'EADDRNOTAVAIL': return 'Cannot assign requested address';
    default: return detail ?? 'unreachable';
  }
}

/** One finding for one server: what it said, worded for a search engine. */
function serverFinding(r: ServerResult, name: string, someWork: boolean): Finding {
  const failSeverity = r.unused ? 'info' : someWork ? 'warn' : 'fail';
  const ev = {
    server: r.address, line: r.server.line, unusedByGlibc: r.unused,
    a: { verdict: r.a.verdict, rcode: r.a.rcode, addresses: r.a.addresses, transport: r.a.transport, elapsedMs: r.a.elapsedMs, detail: r.a.detail },
    aaaa: { verdict: r.aaaa.verdict, rcode: r.aaaa.rcode, addresses: r.aaaa.addresses, transport: r.aaaa.transport, elapsedMs: r.aaaa.elapsedMs, detail: r.aaaa.detail },
  };
  const failing = WORKING.has(r.a.verdict) ? r.aaaa : r.a;
  const suffix = r.unused ? ' (listed after the third nameserver: glibc never asks it)' : someWork ? ' (another nameserver answers, but lookups wait for this one first)' : '';
  switch (r.verdict) {
    case 'answer': {
      const addrs = [...r.a.addresses, ...r.aaaa.addresses];
      const tcp = r.a.truncatedOverUdp || r.aaaa.truncatedOverUdp ? ', over TCP after a truncated UDP answer' : '';
      // A hostile server may send thousands of records: the message names a few.
      const shown = addrs.length > 8 ? `${addrs.slice(0, 8).join(', ')} and ${addrs.length - 8} more` : addrs.join(', ');
      return finding('server-answers', 'info', `${r.address} answers ${name}: ${shown} (${Math.max(r.a.elapsedMs, r.aaaa.elapsedMs)} ms${tcp})`, ev);
    }
    case 'nxdomain':
      return finding('server-nxdomain', 'info', `${r.address} works: ${name} does not exist (NXDOMAIN)`, ev);
    case 'nodata':
      return finding('server-nodata', 'info', `${r.address} works: ${name} has no A or AAAA record (NOERROR, no data)`, ev);
    case 'refused':
      return finding('server-refused', failSeverity, `${r.address} refused the query for ${name} (status: REFUSED): it does not resolve for this client${suffix}`, ev);
    case 'servfail':
      return finding('server-servfail', failSeverity, `${r.address} answered SERVFAIL for ${name}: it could not reach its own upstream${suffix}`, ev);
    case 'timeout':
      return finding('server-timeout', failSeverity, `${r.address}: connection timed out; no servers could be reached (${failing.detail ?? 'no answer'})${suffix}`, ev);
    case 'unreachable':
      return finding('server-unreachable', failSeverity, `${r.address}: ${errnoText(failing.detail)}${suffix}`, ev);
    case 'bad-response':
      return finding('server-bad-response', failSeverity, `${r.address} sent a reply that does not answer the query (${failing.detail ?? 'malformed'})${suffix}`, ev);
    default:
      return finding('server-other-rcode', failSeverity, `${r.address} answered ${failing.rcode ?? 'an unexpected status'} for ${name}${suffix}`, ev);
  }
}

/**
 * glibc's second opinion: getaddrinfo through the guest's nsswitch.conf, /etc/hosts and resolv.conf.
 * The guest's own `timeout` bounds it: killing the nsenter in front of it would leave getent running.
 */
async function askGlibc(ctx: CheckContext, deadline: number): Promise<ExecResult> {
  const { target } = ctx;
  const asUser = target.user.uid === 0 ? {} : { user: { uid: target.user.uid, gid: target.user.gid, groups: target.user.groups } };
  const opts = () => ({ ...asUser, env: { PATH: DEFAULT_PATH, LC_ALL: 'C' }, timeoutMs: Math.max(100, deadline - performance.now()) });
  const seconds = Math.max(0.1, (deadline - performance.now() - 200) / 1000).toFixed(1);
  const getent = ['getent', 'ahosts', ctx.options.dnsName];
  const bounded = await target.exec(['timeout', '-k', '0.1', seconds, ...getent], opts());
  if (bounded.exitCode === 124) return { ...bounded, exitCode: null, timedOut: true };
  // `timeout` says "failed to run command 'getent'" when getent is missing; otherwise timeout itself is.
  if (bounded.notFound && !/getent/.test(bounded.stderr)) return target.exec(getent, opts());
  return bounded;
}

function glibcAddresses(stdout: string): string[] {
  return [...new Set(stdout.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter((a) => a !== ''))];
}

/** The `hosts:` line of the guest's nsswitch.conf, or null when there is none. */
async function nsswitchHosts(ctx: CheckContext): Promise<string | null> {
  const read = await ctx.target.readFile('/etc/nsswitch.conf');
  if (!read.ok) return null;
  return read.text.split('\n').map((l) => l.trim()).find((l) => /^hosts\s*:/.test(l)) ?? null;
}

/** Findings from getent: it catches nsswitch.conf and /etc/hosts faults the nameservers do not show. */
function glibcFindings(ctx: CheckContext, result: ExecResult, serversAnswer: boolean, hosts: string | null): Finding[] {
  const name = ctx.options.dnsName;
  if (result.notFound) return [finding('getent-missing', 'info', 'getent is not installed in the guest, so glibc\'s own lookup was not tried')];
  const addresses = glibcAddresses(result.stdout);
  const ev = { command: `getent ahosts ${name}`, exitCode: result.exitCode, timedOut: result.timedOut, addresses, nsswitchHosts: hosts, user: ctx.target.user.name };
  if (result.exitCode === 0 && addresses.length > 0) {
    return [finding('glibc-resolves', 'info', `getent ahosts ${name} in the guest: ${addresses.join(', ')}${serversAnswer ? '' : ' (from /etc/hosts or another NSS source, not DNS)'}`, ev)];
  }
  if (!serversAnswer) return [finding('glibc-fails', 'info', `getent ahosts ${name} fails in the guest too (${result.timedOut ? 'timed out' : `exit code ${String(result.exitCode)}`})`, ev)];
  const noDns = hosts !== null && !/\bdns\b/.test(hosts);
  const why = result.timedOut ? 'timed out' : result.exitCode === 2 ? 'not found' : `exit code ${String(result.exitCode)}`;
  return [finding('glibc-fails', 'fail',
    `the nameservers answer, but getent ahosts ${name} fails in the guest (${why}) as ${ctx.target.user.name}: ${noDns ? `/etc/nsswitch.conf says "${hosts}" without dns` : 'check the hosts: line of /etc/nsswitch.conf, /etc/hosts and whether the user can read /etc/resolv.conf'}`, ev)];
}

/** With --compare-host only: the same question from the host's namespace, to place the fault. */
function hostFindings(ctx: CheckContext, host: HostDnsResult | null, guestWorks: boolean): Finding[] {
  const name = ctx.options.dnsName;
  if (host === null) return [finding('host-compare-unavailable', 'info', `the host's nameservers did not answer within --timeout ${ctx.options.timeoutMs} ms`)];
  if (host.answers.length === 0) return [finding('host-compare-unavailable', 'info', `the host's ${host.source} lists no nameserver to compare with`)];
  const answering = host.answers.filter((a) => a.response?.verdict === 'answer');
  const ev = { source: host.source, answers: host.answers.map((a) => ({ server: a.server, verdict: a.response?.verdict ?? null, addresses: a.response?.addresses ?? [], error: a.error })) };
  if (guestWorks) return [finding('host-compared', 'info', `the host resolves ${name} ${answering.length > 0 ? 'too' : 'differently (no answer there)'}`, ev)];
  if (answering.length > 0) {
    return [finding('host-resolves-guest-does-not', 'fail', `the host resolves ${name} (${answering.map((a) => a.server).join(', ')}), the guest does not: the fault is in the guest's DNS setup or its network namespace`, ev)];
  }
  return [finding('host-fails-too', 'info', `the host cannot resolve ${name} either: the fault is upstream of the guest (the host's network or nameservers)`, ev)];
}

/** What it offers when no nameserver works: the host's upstream servers, provided by the container manager. */
async function repairFixes(ctx: CheckContext, guestServers: string[]): Promise<Fix[]> {
  const upstream = await hostNameservers(ctx.target.sharesNetns);
  const fixes: Fix[] = [];
  const differ = upstream.addresses.some((a) => !guestServers.includes(a));
  if (differ) fixes.push(writeResolvConfFix(upstream.addresses, upstream.source));
  const hostIsSymlink = await lstat('/etc/resolv.conf').then((st) => st.isSymbolicLink(), () => false);
  const provision = resolvConfProvisionFix(ctx.target, hostIsSymlink);
  if (provision && differ) fixes.push(provision);
  return fixes;
}

export default defineCheck({
  id: 'dns.resolve',
  group: 'dns',
  title: 'Name resolution from the guest',
  description: 'Asks every nameserver in the guest\'s resolv.conf for --dns-name (A and AAAA, UDP then TCP when truncated) from the guest\'s network namespace, and asks glibc (getent ahosts) in the guest for a second opinion. With --compare-host, asks the host\'s nameservers too, to place the fault.',
  findings: {
    'server-answers': { severity: 'info', description: 'The nameserver answered with addresses.' },
    'server-nxdomain': { severity: 'info', description: 'NXDOMAIN: the server works, the name does not exist.' },
    'server-nodata': { severity: 'info', description: 'NOERROR without A or AAAA records: the server works.' },
    'server-refused': { severity: 'fail', description: 'status: REFUSED: the server does not resolve for this client.' },
    'server-servfail': { severity: 'fail', description: 'SERVFAIL: the server could not reach its upstream.' },
    'server-timeout': { severity: 'fail', description: 'No answer: "connection timed out; no servers could be reached". Warn when another server answers.' },
    'server-unreachable': { severity: 'fail', description: 'Connection refused (nothing listens) or no route to the server.' },
    'server-bad-response': { severity: 'fail', description: 'A reply with the wrong id, another question, or garbage.' },
    'server-other-rcode': { severity: 'fail', description: 'Another DNS status (FORMERR, NOTIMP…).' },
    'glibc-resolves': { severity: 'info', description: 'getent ahosts resolves the name inside the guest.' },
    'glibc-fails': { severity: 'fail', description: 'The nameservers answer but getent fails: nsswitch.conf, /etc/hosts or file permissions.' },
    'getent-missing': { severity: 'info', description: 'No getent in the guest: glibc was not asked.' },
    'host-resolves-guest-does-not': { severity: 'fail', description: 'With --compare-host: the host resolves the name, the guest does not.' },
    'host-fails-too': { severity: 'info', description: 'With --compare-host: the host fails too, so the fault is upstream.' },
    'host-compared': { severity: 'info', description: 'With --compare-host: what the host said.' },
    'host-compare-unavailable': { severity: 'info', description: 'With --compare-host: the host lists no nameserver, or none answered in time.' },
    'resolve-plan': { severity: 'info', description: 'How many attempts of how long were made, from resolv.conf options capped by --timeout.' },
  },
  fixDocs: {
    'dns.write-resolv-conf': 'No nameserver works: write the host\'s upstream nameservers into the guest\'s /etc/resolv.conf.',
    'dns.nsswitch-hosts-dns': 'getent fails while DNS works: put dns on the hosts: line of /etc/nsswitch.conf.',
  },
  probes: ['root'],
  appliesTo: () => true,

  async run(ctx) {
    const { target, options } = ctx;
    const started = performance.now();
    // Room after the deadline for the last reads and for a busy event loop, inside the runner's limit.
    const deadline = started + options.timeoutMs - Math.max(250, options.timeoutMs * 0.2);

    // What it looks at: the nameservers the guest's resolver reads, asked from the guest's namespace.
    const read = await target.readFile('/etc/resolv.conf');
    const conf = read.ok ? parseResolvConf(read.text) : null;
    if (!conf || conf.nameservers.length === 0) return skipped('no nameserver in the guest\'s /etc/resolv.conf: see dns.resolv-conf');
    try {
      buildDnsQuery(0, options.dnsName, 'A');
    } catch {
      return couldNotRun(`--dns-name "${options.dnsName}" is not a name DNS can carry`);
    }

    const plan = planQueries(conf.options, queryBudget(options.timeoutMs));
    const transport = conf.options.useVc ? 'tcp' as const : 'fallback' as const;
    const servers = conf.nameservers.slice(0, MAX_SERVERS);
    // The probe child may run until the deadline: a slow start-up must not be mistaken for a broken probe.
    const ask = (address: string, type: 'A' | 'AAAA') => settleBy(
      target.probe('dns-query', { server: address, name: options.dnsName, type, timeoutMs: plan.attemptMs, attempts: plan.attempts, transport }, { timeoutMs: Math.max(plan.attemptMs, deadline - performance.now()) })
        .catch((error: unknown) => (isProbeTimeout(error) ? missed(plan, options.timeoutMs) : Promise.reject(error as Error))),
      deadline, () => missed(plan, options.timeoutMs));

    // Everything at once: the servers, glibc's second opinion and the host (when asked) share one budget;
    // the files behind the verdict are read meanwhile, so little is left to do after the deadline.
    const hostsLine = nsswitchHosts(ctx);
    const repairs = repairFixes(ctx, servers.slice(0, GLIBC_MAXNS).map((s) => s.address));
    const glibc = settleBy(askGlibc(ctx, deadline), deadline, () => glibcLate(options.timeoutMs));
    const host = options.compareHost
      ? settleBy(ctx.host.askHostNameservers(options.dnsName, plan.attemptMs), deadline, () => null)
      : Promise.resolve(null);
    let results: ServerResult[];
    try {
      results = await Promise.all(servers.map(async (server, i) => {
        const address = server.scopeId === undefined ? server.address : `${server.address}%${server.scopeId}`;
        const [a, aaaa] = await Promise.all([ask(address, 'A'), ask(address, 'AAAA')]);
        return { server, address, a, aaaa, verdict: combine(a, aaaa), unused: i >= GLIBC_MAXNS };
      }));
    } catch (error) {
      await Promise.all([glibc, host, hostsLine, repairs]);
      return couldNotRun(`the DNS probe could not run in the guest's network namespace: ${(error as Error).message}`);
    }

    // How it decides: a server that fails is fatal only when no used server works.
    const used = results.filter((r) => !r.unused);
    const someWork = used.some((r) => WORKING.has(r.verdict));
    const findings = results.map((r) => serverFinding(r, options.dnsName, someWork));
    const glibcSays = glibcFindings(ctx, await glibc, used.some((r) => r.verdict === 'answer'), await hostsLine);
    findings.push(...glibcSays);
    if (options.compareHost) findings.push(...hostFindings(ctx, await host, used.some((r) => r.verdict === 'answer')));
    findings.push(finding('resolve-plan', 'info', `asked ${servers.length} nameserver(s) with ${plan.attempts} attempt(s) of ${plan.attemptMs} ms each (resolv.conf asks for ${plan.wanted.attempts} × ${plan.wanted.timeoutMs} ms; --timeout ${options.timeoutMs} ms)`, { ...plan, transport }));

    // What it offers: working nameservers when none works; the nsswitch line when only glibc fails.
    const fixes: Fix[] = someWork ? [] : await repairs;
    const noDnsLine = glibcSays.find((f) => f.code === 'glibc-fails' && f.severity === 'fail')?.evidence.nsswitchHosts;
    if (typeof noDnsLine === 'string' && !/\bdns\b/.test(noDnsLine)) fixes.push(nsswitchDnsFix(noDnsLine));
    const working = used.filter((r) => WORKING.has(r.verdict)).map((r) => r.address);
    const summary = findings.every((f) => f.severity === 'info') ? `${working.join(', ')} ${working.length === 1 ? 'answers' : 'answer'} ${options.dnsName}` : undefined;
    return outcomeOf(findings, fixes, summary);
  },
});
