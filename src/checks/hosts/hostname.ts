import { defineCheck, type CheckContext } from '../../core/check.js';
import { finding, outcomeOf } from '../../core/outcome.js';
import { hostsAddressesOf, isLoopbackAddress, parseEtcHosts } from '../../parse/etc-hosts.js';
import { parseNsswitch } from '../../parse/nsswitch.js';
import { parseFibTrieLocal, parseIfInet6 } from '../../parse/local-addresses.js';
import { guestGetaddrinfo, guestNssModules, type GetentAnswer } from '../../guest/nss-lookup.js';
import { addHostsLinesFix, hostnameAdviceFix } from '../../fixes/plans/hosts-plans.js';
import type { Finding, Fix } from '../../core/types.js';

/** An answer slower than this is what sudo users notice on every command. */
const SLOW_MS = 1000;

export interface HostnameFacts {
  name: string | null;
  hosts: { present: boolean; text: string };
  hostsLine: string | null;
  myhostname: { listed: boolean; installed: boolean };
  own: GetentAnswer | null;
  localhost: GetentAnswer;
  localAddresses: string[];
  kind: CheckContext['target']['kind'];
  root: string;
  machine: string | null;
}

/** gather: the name from the guest's UTS namespace, then both lookups through its NSS, timed. */
export async function gatherHostname(ctx: CheckContext): Promise<HostnameFacts> {
  const { target } = ctx;
  const timeoutMs = Math.max(1500, ctx.options.timeoutMs);
  const [name, hosts, nss, fib, inet6] = await Promise.all([
    target.hostname(), target.readFile('/etc/hosts'), target.readFile('/etc/nsswitch.conf'), target.readProcNet('fib_trie'), target.readProcNet('if_inet6'),
  ]);
  const hostsDb = nss.ok ? parseNsswitch(nss.text).get('hosts') : undefined;
  const [own, localhost, modules] = await Promise.all([
    name === null ? Promise.resolve(null) : guestGetaddrinfo(target, name, timeoutMs),
    guestGetaddrinfo(target, 'localhost', timeoutMs),
    guestNssModules(target, ['myhostname']),
  ]);
  return {
    name,
    hosts: { present: hosts.ok, text: hosts.ok ? hosts.text : '' },
    hostsLine: hostsDb ? `hosts: ${hostsDb.services.map((s) => s.text).join(' ')}` : null,
    myhostname: { listed: hostsDb?.services.some((s) => s.name === 'myhostname') ?? false, installed: modules.myhostname ?? false },
    own,
    localhost,
    localAddresses: [...parseFibTrieLocal(fib ?? ''), ...parseIfInet6(inet6 ?? '')],
    kind: target.kind, root: target.root, machine: target.nspawn?.machine ?? null,
  };
}

const took = (a: GetentAnswer): string => (a.timedOut ? `gave up after ${a.elapsedMs} ms` : `took ${a.elapsedMs} ms`);

/** Why the guest's own name does not resolve, from its files. */
function whyUnresolved(f: HostnameFacts, name: string): string {
  const inFile = f.hosts.present ? hostsAddressesOf(parseEtcHosts(f.hosts.text), name).length > 0 : false;
  const hostsWhy = !f.hosts.present ? '/etc/hosts is missing' : inFile ? '/etc/hosts lists it but the lookup still failed' : `/etc/hosts does not list ${name}`;
  const myWhy = !f.myhostname.listed ? `myhostname is not in the "${f.hostsLine ?? 'hosts:'}" line` : !f.myhostname.installed ? 'libnss_myhostname.so.2 is not installed' : 'myhostname did not answer';
  return `${hostsWhy} and ${myWhy}`;
}

/** judge: each name must answer, quickly, with the machine's own addresses. */
export function judgeHostname(f: HostnameFacts): Finding[] {
  const out: Finding[] = [];
  const ev = (a: GetentAnswer) => ({ name: a.name, addresses: a.addresses, exitCode: a.exitCode, elapsedMs: a.elapsedMs, timedOut: a.timedOut, hostsLine: f.hostsLine, hostsFile: f.hosts.present });
  const lh = f.localhost;
  if (lh.missing || f.own?.missing) return [finding('getent-missing', 'info', 'the guest has no getent, so its name service could not be asked', {})];
  if (lh.addresses.length === 0) out.push(finding('localhost-unresolvable', 'fail', `localhost does not resolve in the guest (getent ahosts localhost ${lh.timedOut ? 'timed out' : `exited ${lh.exitCode}`}): ${f.hosts.present ? '/etc/hosts has no localhost line' : '/etc/hosts is missing'}, and programs and test suites that connect to localhost fail`, ev(lh)));
  else if (!lh.addresses.some(isLoopbackAddress)) out.push(finding('localhost-not-loopback', 'fail', `localhost resolves to ${lh.addresses.join(', ')} in the guest, not to 127.0.0.1 or ::1`, ev(lh)));
  else if (lh.elapsedMs > SLOW_MS) out.push(finding('hostname-slow', 'warn', `localhost resolves, but the lookup ${took(lh)}`, ev(lh)));
  const own = f.own;
  if (own === null || f.name === null) {
    out.push(finding('hostname-unknown', 'info', 'the guest\'s hostname could not be read', {}));
    return out;
  }
  if (own.addresses.length === 0) {
    out.push(finding('hostname-unresolvable', 'fail', `the guest's hostname ${f.name} does not resolve (getent ahosts ${f.name} ${own.timedOut ? `timed out after ${own.elapsedMs} ms` : `exited ${own.exitCode}`}): ${whyUnresolved(f, f.name)}, so sudo prints "sudo: unable to resolve host ${f.name}: Name or service not known"`, ev(own)));
  } else if (!own.addresses.some((a) => isLoopbackAddress(a) || f.localAddresses.includes(a))) {
    out.push(finding('hostname-not-local', 'warn', `the guest's hostname ${f.name} resolves to ${own.addresses.join(', ')}, none of them the guest's own (loopback or ${f.localAddresses.join(', ') || 'none'})`, ev(own)));
  } else if (own.elapsedMs > SLOW_MS) {
    out.push(finding('hostname-slow', 'warn', `the guest's hostname ${f.name} resolves, but the lookup ${took(own)}: it was not answered locally (DNS or a missing module first)`, ev(own)));
  }
  if (out.length === 0) out.push(finding('hostname-resolves', 'info', `${f.name} and localhost resolve to local addresses (${own.addresses.join(', ')}) in ${Math.max(own.elapsedMs, lh.elapsedMs)} ms`, ev(own)));
  return out;
}

/** offer: the missing /etc/hosts lines (safe), and how the container kind keeps name and file in step. */
export function offerHostname(f: HostnameFacts, findings: Finding[]): Fix[] {
  const codes = new Set(findings.map((x) => x.code));
  const entries = parseEtcHosts(f.hosts.text);
  const lines: string[] = [];
  if (codes.has('localhost-unresolvable') && hostsAddressesOf(entries, 'localhost').length === 0) lines.push('127.0.0.1\tlocalhost');
  const ownMissing = codes.has('hostname-unresolvable') || (codes.has('hostname-slow') && f.name !== null && f.own?.addresses.length);
  if (ownMissing && f.name !== null && hostsAddressesOf(entries, f.name).length === 0) lines.push(`127.0.1.1\t${f.name}`);
  const fixes: Fix[] = [];
  if (lines.length > 0) fixes.push(addHostsLinesFix(f.hosts.text, lines));
  const advice = f.name !== null && codes.has('hostname-unresolvable') ? hostnameAdviceFix(f.kind, f.root, f.name, f.machine) : null;
  if (advice) fixes.push(advice);
  return fixes;
}

export default defineCheck({
  id: 'hosts.hostname',
  group: 'hosts',
  title: 'Hostname and localhost resolve in the guest',
  description: 'Reads the hostname of the guest\'s UTS namespace (nspawn sets it to the machine name, unshare --uts changes it) and times `getent ahosts` for it and for localhost through the guest\'s own NSS. Each must answer within a second with a loopback or local address; otherwise sudo prints "sudo: unable to resolve host NAME" on every command and test suites fail on localhost. Names the cause: /etc/hosts missing or lacking the name, myhostname not listed or not installed.',
  findings: {
    'hostname-unresolvable': { severity: 'fail', description: 'The guest\'s hostname does not resolve: "sudo: unable to resolve host NAME: Name or service not known".' },
    'hostname-slow': { severity: 'warn', description: 'The name resolves, but only after more than a second (a DNS round trip, or a timeout, before the answer).' },
    'hostname-not-local': { severity: 'warn', description: 'The hostname resolves to an address that is neither loopback nor the guest\'s own.' },
    'localhost-unresolvable': { severity: 'fail', description: 'localhost does not resolve (an empty or missing /etc/hosts).' },
    'localhost-not-loopback': { severity: 'fail', description: 'localhost resolves to something other than 127.0.0.1 or ::1.' },
    'hostname-unknown': { severity: 'info', description: 'The guest\'s hostname could not be read.' },
    'getent-missing': { severity: 'info', description: 'The guest has no getent to ask its name service.' },
    'hostname-resolves': { severity: 'info', description: 'Both names resolve locally and quickly.' },
  },
  fixDocs: {
    'hosts.add-lines': 'Safe: append "127.0.1.1 NAME" (and "127.0.0.1 localhost" when missing) to the guest\'s /etc/hosts, backed up and undoable.',
    'hosts.schroot-nssdatabases': 'schroot: keep hosts in the profile\'s nssdatabases file.',
    'hosts.nspawn-hostname': 'nspawn: --hostname= matching the guest\'s /etc/hosts, or libnss-myhostname with "hosts: files myhostname …".',
  },
  appliesTo: (ctx) => (ctx.target.kind === 'host' ? 'no guest chosen: name resolution is checked inside a guest' : true),

  async run(ctx) {
    const facts = await gatherHostname(ctx);
    const findings = judgeHostname(facts);
    return outcomeOf(findings, offerHostname(facts, findings));
  },
});
