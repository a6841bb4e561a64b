import { defineCheck, type CheckContext, type Reported, type EarlyOutcome } from '../../core/check.js';
import { findingBuilder } from '../../core/findings.js';
import { guestUnreadable } from '../guest-access.js';
import { hostsAddressesOf, isLoopbackAddress, parseEtcHosts } from '../../parse/etc-hosts.js';
import { parseNsswitch } from '../../parse/nsswitch.js';
import { parseFibTrieLocal, parseIfInet6 } from '../../parse/local-addresses.js';
import { guestGetaddrinfoAll, guestNssModules, type GetentAnswer } from '../nss-lookup.js';
import { asDesktopUser, withCommandSlot, type CommandSlot } from '../command-batch.js';
import { addHostsLinesFix, hostnameAdviceFix } from '../../fixes/plans/hosts-plans.js';
import type { TargetKind } from '../../core/types.js';

/** An answer slower than this is what sudo users notice on every command. */
const SLOW_MS = 1000;

const findings = {
  'hostname-unresolvable': {
    severity: 'warn',
    message:
      'the guest\'s hostname {name} does not resolve (getent ahosts {name} {how}): {why}, so sudo warns "sudo: unable to resolve host {name}: Name or service not known" (or "…: Temporary failure in name resolution" when no nameserver answers) on every command',
    description:
      'The guest\'s hostname does not resolve through its NSS: sudo warns "sudo: unable to resolve host NAME: Name or service not known" on every command (and still runs it); hostname -i fails.',
  },
  'hostname-slow': {
    severity: 'warn',
    message: '{name} resolves in the guest, but the lookup {took}: it was not answered locally (a DNS round trip or a timeout came first)',
    description: 'The hostname or localhost resolves, but only after more than a second.',
  },
  'hostname-not-local': {
    severity: 'warn',
    message: "the guest's hostname {name} resolves to {addresses}, none of them the guest's own (loopback or {local})",
    description: "The hostname resolves to an address that is neither loopback nor the guest's own.",
  },
  'localhost-unresolvable': {
    severity: 'fail',
    message:
      'localhost does not resolve in the guest (getent ahosts localhost {how}): {why}, and programs and test suites that connect to localhost fail',
    description: 'localhost does not resolve (an empty or missing /etc/hosts).',
  },
  'localhost-not-loopback': {
    severity: 'fail',
    message: 'localhost resolves to {addresses} in the guest, not to 127.0.0.1 or ::1',
    description: 'localhost resolves to something other than 127.0.0.1 or ::1.',
  },
  'hostname-unknown': {
    severity: 'info',
    message: "the guest's hostname could not be read",
    description: "The guest's hostname could not be read.",
  },
  'getent-missing': {
    severity: 'info',
    message: 'the guest has no getent, so its name service could not be asked',
    description: 'The guest has no getent to ask its name service.',
  },
  'hostname-resolves': {
    severity: 'info',
    message: '{name} and localhost resolve to local addresses ({addresses}) in {ms} ms',
    description: 'Both names resolve locally and quickly.',
  },
} as const;

const fixDocs = {
  'hosts.add-lines':
    'Safe: append "127.0.1.1 NAME" (and "127.0.0.1 localhost" when missing) to the guest\'s /etc/hosts, backed up and undoable.',
  'hosts.schroot-nssdatabases': "schroot: keep hosts in the profile's nssdatabases file.",
  'hosts.nspawn-hostname': 'nspawn: --hostname= matching the guest\'s /etc/hosts, or libnss-myhostname with "hosts: files myhostname …".',
} as const;

interface Facts {
  name: string | null;
  hosts: { present: boolean; text: string };
  hostsLine: string | null;
  myhostname: { listed: boolean; installed: boolean };
  own: GetentAnswer | null;
  localhost: GetentAnswer;
  /** A numeric address, which getaddrinfo answers without NSS: what a lookup costs before NSS (starting getent, or the command). */
  baselineMs: number;
  localAddresses: string[];
  kind: TargetKind;
  root: string;
  machine: string | null;
}

// What it looks at: the name from the guest's UTS namespace, then both lookups through its own NSS, timed.
function gather(ctx: CheckContext): Promise<Facts | EarlyOutcome> {
  // The slot is taken now, in the turn every check starts in: the lookups share the diagnosis's one guest chain.
  return withCommandSlot(ctx.target, (slot) => gatherWith(ctx, slot));
}

async function gatherWith(ctx: CheckContext, slot: CommandSlot): Promise<Facts | EarlyOutcome> {
  const { target } = ctx;
  // The name first (a command for a guest in its own UTS namespace), then three lookups at once: all within the check's time.
  const timeoutMs = Math.max(300, Math.floor(ctx.options.timeoutMs * 0.7));
  // Asked as soon as the name is known, before the files are read: the other checks' guest commands wait for these to share a chain.
  // A numeric address first: what the lookup itself costs, NSS aside. As the desktop user, like net.ping's and dns.resolve's
  // commands, so that all share one chain: what the user's programs resolve.
  const looked = target.hostname().then(async (name) => ({
    name,
    answers: await guestGetaddrinfoAll(
      slot,
      ['127.0.0.1', 'localhost', ...(name === null ? [] : [name])],
      timeoutMs,
      asDesktopUser(target),
    ),
  }));
  const denied = await guestUnreadable(ctx);
  if (denied) return looked.then(() => denied);
  const [{ name, answers }, hosts, nss, fib, inet6, modules] = await Promise.all([
    looked,
    target.readFile('/etc/hosts'),
    target.readFile('/etc/nsswitch.conf'),
    target.readProcNet('fib_trie'),
    target.readProcNet('if_inet6'),
    guestNssModules(target, ['myhostname']),
  ]);
  const hostsDb = nss.ok ? parseNsswitch(nss.text).get('hosts') : undefined;
  const [baseline, localhost, own = null] = answers as [GetentAnswer, GetentAnswer, GetentAnswer?];
  return {
    name,
    hosts: { present: hosts.ok, text: hosts.ok ? hosts.text : '' },
    hostsLine: hostsDb ? `hosts: ${hostsDb.services.map((s) => s.text).join(' ')}` : null,
    myhostname: { listed: hostsDb?.services.some((s) => s.name === 'myhostname') ?? false, installed: modules.myhostname ?? false },
    own,
    localhost,
    baselineMs: baseline.elapsedMs,
    localAddresses: [...parseFibTrieLocal(fib ?? ''), ...parseIfInet6(inet6 ?? '')],
    kind: target.kind,
    root: target.root,
    machine: target.nspawn?.machine ?? null,
  };
}

const took = (a: GetentAnswer): string => (a.timedOut ? `gave up after ${a.elapsedMs} ms` : `took ${a.elapsedMs} ms`);
/** Time spent in the lookup itself, not in starting the command (on a loaded machine that alone can pass a second). */
const lookupMs = (f: Facts, a: GetentAnswer): number => Math.max(0, a.elapsedMs - f.baselineMs);
const how = (a: GetentAnswer): string => (a.timedOut ? `timed out after ${a.elapsedMs} ms` : `exited ${a.exitCode}`);

/** Why the guest's own name does not resolve, from its files. */
function whyUnresolved(f: Facts, name: string): string {
  const inFile = f.hosts.present && hostsAddressesOf(parseEtcHosts(f.hosts.text), name).length > 0;
  const hostsWhy = !f.hosts.present
    ? '/etc/hosts is missing'
    : inFile
      ? '/etc/hosts lists it but the lookup still failed'
      : `/etc/hosts does not list ${name}`;
  const myWhy = !f.myhostname.listed
    ? `myhostname is not in the "${f.hostsLine ?? 'hosts:'}" line`
    : !f.myhostname.installed
      ? 'libnss_myhostname.so.2 is not installed'
      : 'myhostname did not answer';
  return `${hostsWhy} and ${myWhy}`;
}

const found = findingBuilder(findings);

// How it decides: each name must answer, within a second, with the machine's own addresses.
function judge(f: Facts) {
  const ev = (a: GetentAnswer) => ({
    name: a.name,
    addresses: a.addresses,
    exitCode: a.exitCode,
    elapsedMs: a.elapsedMs,
    baselineMs: f.baselineMs,
    timedOut: a.timedOut,
    hostsLine: f.hostsLine,
    hostsFile: f.hosts.present,
  });
  const lh = f.localhost;
  if (lh.missing || f.own?.missing) return [found('getent-missing', {})];
  const out: Reported<typeof findings>[] = [];
  if (lh.addresses.length === 0)
    out.push(
      found(
        'localhost-unresolvable',
        { how: how(lh), why: f.hosts.present ? '/etc/hosts has no localhost line' : '/etc/hosts is missing' },
        ev(lh),
      ),
    );
  else if (!lh.addresses.some(isLoopbackAddress)) out.push(found('localhost-not-loopback', { addresses: lh.addresses.join(', ') }, ev(lh)));
  else if (lookupMs(f, lh) > SLOW_MS) out.push(found('hostname-slow', { name: 'localhost', took: took(lh) }, ev(lh)));
  const own = f.own;
  if (own === null || f.name === null) return [...out, found('hostname-unknown', {})];
  if (own.addresses.length === 0)
    out.push(found('hostname-unresolvable', { name: f.name, how: how(own), why: whyUnresolved(f, f.name) }, ev(own)));
  else if (!own.addresses.some((a) => isLoopbackAddress(a) || f.localAddresses.includes(a)))
    out.push(
      found(
        'hostname-not-local',
        { name: f.name, addresses: own.addresses.join(', '), local: f.localAddresses.join(', ') || 'none' },
        ev(own),
      ),
    );
  else if (lookupMs(f, own) > SLOW_MS) out.push(found('hostname-slow', { name: f.name, took: took(own) }, ev(own)));
  if (out.length > 0) return out;
  return [
    found('hostname-resolves', { name: f.name, addresses: own.addresses.join(', '), ms: Math.max(own.elapsedMs, lh.elapsedMs) }, ev(own)),
  ];
}

// What it offers: the missing /etc/hosts lines (safe), and how the container kind keeps the name and the file in step.
function offer(f: Facts, reported: readonly Reported<typeof findings>[]) {
  const codes = new Set(reported.map((r) => r.code));
  const entries = parseEtcHosts(f.hosts.text);
  const lines: string[] = [];
  if (codes.has('localhost-unresolvable') && hostsAddressesOf(entries, 'localhost').length === 0) lines.push('127.0.0.1\tlocalhost');
  const ownNeedsLine = codes.has('hostname-unresolvable') || reported.some((r) => r.code === 'hostname-slow' && r.data.name === f.name);
  if (ownNeedsLine && f.name !== null && hostsAddressesOf(entries, f.name).length === 0) lines.push(`127.0.1.1\t${f.name}`);
  const advice = f.name !== null && codes.has('hostname-unresolvable') ? hostnameAdviceFix(f.kind, f.root, f.name, f.machine) : null;
  return [lines.length > 0 ? addHostsLinesFix(f.hosts.text, lines) : null, advice];
}

export default defineCheck({
  id: 'hosts.hostname',
  group: 'hosts',
  title: 'Hostname and localhost resolve in the guest',
  description:
    'Reads the hostname of the guest\'s UTS namespace (nspawn sets it to the machine name, unshare --uts changes it) and times `getent ahosts` for it and for localhost through the guest\'s own NSS. Each must answer within a second with a loopback or local address; otherwise sudo prints "sudo: unable to resolve host NAME" on every command and test suites fail on localhost. Names the cause: /etc/hosts missing or lacking the name, myhostname not listed or not installed.',
  findings,
  fixDocs,
  appliesTo: (ctx) => (ctx.target.kind === 'host' ? 'no guest chosen: name resolution is checked inside a guest' : true),
  gather,
  judge,
  offer,
});
