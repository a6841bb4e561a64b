/**
 * systemd-resolved as the guest's programs meet it: which resolved processes share the guest's
 * network namespace and whose they are (the guest's PID namespace, or another system's), which
 * process holds the 127.0.0.53 stub socket there, whether the guest's own resolved has any
 * upstream server, and where nsswitch.conf's `hosts:` line sends glibc. Gathered once per check
 * through the Target and Host ports; everything here is a fact, judged by the dns.* checks.
 */
import type { CheckContext } from '../../core/check.js';
import { deepFreeze } from '../../core/deep-freeze.js';
import type { HostProcess } from '../../core/host.js';
import { parseNsswitch, type NssService } from '../../parse/nsswitch.js';
import { parseProcNetUdp } from '../../parse/proc-net.js';
import { parseResolvConf } from '../../parse/resolv-conf.js';
import { RESOLVED_UPSTREAM_FILE } from '../../fixes/plans/dns-evidence.js';

/** resolved's process name as /proc/PID/comm shows it (15 characters). */
export const RESOLVED_COMM = 'systemd-resolve';
/** The stub address resolved listens on unless its stub is off. */
export const STUB_ADDRESS = '127.0.0.53';

/** Who holds the UDP socket of 127.0.0.53:53 in the guest's network namespace. */
export interface StubHolder {
  inode: number | null;
  /** The process holding it, when it is one of the resolved processes there. */
  pid: number | null;
  whose: 'guest' | 'other' | 'unknown';
}

/** What the guest's own resolved knows of upstream servers. */
export interface ResolvedUpstream {
  /** Nameservers listed in {@link RESOLVED_UPSTREAM_FILE}. */
  servers: string[];
  /** The file says "No DNS servers known." */
  noneKnown: boolean;
  /** The file could be read in the guest. */
  read: boolean;
}

/** The guest's nsswitch.conf `hosts:` line, as written and parsed. */
export interface NsswitchHosts {
  line: string;
  services: NssService[];
}

/** The `hosts:` database of an nsswitch.conf, or null without one. */
export function nsswitchHosts(text: string): NsswitchHosts | null {
  const db = parseNsswitch(text).get('hosts');
  return db === undefined ? null : { line: `hosts: ${db.services.map((s) => s.text).join(' ')}`, services: db.services };
}

/** systemd-resolved and glibc's route to it, for one guest. */
export interface ResolvedFacts {
  /** The guest's network namespace (`net:[N]`), or null when unknown. */
  netns: string | null;
  /** resolved processes of the guest (its PID namespace, or its root for chroots). */
  guest: number[];
  /** resolved processes of other systems in the same network namespace (the host, another guest). */
  others: number[];
  /** null: nothing is bound to 127.0.0.53:53 there (or /proc/net/udp was unreadable: see `udpRead`). */
  holder: StubHolder | null;
  udpRead: boolean;
  upstream: ResolvedUpstream;
  /** The guest's nsswitch.conf `hosts:` line, or null without one. */
  nsswitch: NsswitchHosts | null;
}

async function link(ctx: CheckContext, path: string): Promise<string | null> {
  return ctx.host.readlink(path);
}

/** The inode of the socket bound to 127.0.0.53:53 (UDP) in the guest's namespace; undefined when unreadable. */
async function stubInode(ctx: CheckContext): Promise<number | null | undefined> {
  const udp = await ctx.target.readProcNet('udp');
  if (udp === null) return undefined;
  const bound = parseProcNetUdp(udp).find((s) => s.port === 53 && s.address === STUB_ADDRESS);
  return bound === undefined ? null : bound.inode;
}

/** Whether `pid` has `socket:[inode]` open (a look at its descriptors through the Host port). */
async function holds(ctx: CheckContext, pid: number, inode: number): Promise<boolean> {
  const fds = (await ctx.host.readdir(`/proc/${pid}/fd`)) ?? [];
  const want = `socket:[${inode}]`;
  for (const fd of fds.slice(0, 256)) if ((await link(ctx, `/proc/${pid}/fd/${fd}`)) === want) return true;
  return false;
}

/** The guest's resolved processes against the others in its network namespace, by PID namespace (or root, for chroots). */
async function splitByOwner(ctx: CheckContext, here: HostProcess[]): Promise<{ guest: number[]; others: number[] }> {
  const { target } = ctx;
  const members = new Set((await target.processes()).map((p) => p.pid));
  // A guest with a PID namespace of its own (nspawn, many pid targets): its sandboxed services share it, not its mount namespace.
  const [own, guestPidns] = await Promise.all([
    link(ctx, '/proc/self/ns/pid'),
    target.pid !== null ? link(ctx, `/proc/${target.pid}/ns/pid`) : null,
  ]);
  const ownPidns = guestPidns !== null && guestPidns !== own;
  const guest: number[] = [];
  const others: number[] = [];
  for (const p of here) {
    const mine = members.has(p.pid) || (ownPidns && (await link(ctx, `/proc/${p.pid}/ns/pid`)) === guestPidns);
    (mine ? guest : others).push(p.pid);
  }
  return { guest, others };
}

/** Reads resolved's upstream list inside the guest (through the guest's own symlinks). */
async function readUpstream(ctx: CheckContext): Promise<ResolvedUpstream> {
  const read = await ctx.target.readFile(RESOLVED_UPSTREAM_FILE, { maxBytes: 64 * 1024 });
  if (!read.ok) return { servers: [], noneKnown: false, read: false };
  return {
    servers: parseResolvConf(read.text).nameservers.map((n) => n.address),
    noneKnown: /No DNS servers known/i.test(read.text),
    read: true,
  };
}

/** How much of nsswitch.conf is read for its hosts line. */
const NSSWITCH_CAP = 64 * 1024;

/** The text of a read's first `cap` bytes: what a read capped at `cap` gives (its bytes decoded). */
export function firstBytes(read: { text: string; bytes: Buffer }, cap: number): string {
  return read.bytes.length > cap ? read.bytes.subarray(0, cap).toString('utf8') : read.text;
}

/** Facts gathered so far, by guest and host: dns.stub and dns.resolve ask for the same ones in one run. */
const gathered = new WeakMap<CheckContext['target'], WeakMap<CheckContext['host'], Promise<ResolvedFacts>>>();

/**
 * Gathers {@link ResolvedFacts}: a handful of /proc reads, no command and no packet; once per guest and
 * host context (its checks of one run share them, frozen). A fix's re-check opens both afresh.
 */
export function gatherResolvedFacts(ctx: CheckContext): Promise<ResolvedFacts> {
  let byHost = gathered.get(ctx.target);
  if (byHost === undefined) {
    byHost = new WeakMap();
    gathered.set(ctx.target, byHost);
  }
  let facts = byHost.get(ctx.host);
  if (facts === undefined) {
    facts = gatherAfresh(ctx).then(deepFreeze);
    byHost.set(ctx.host, facts);
  }
  return facts;
}

async function gatherAfresh(ctx: CheckContext): Promise<ResolvedFacts> {
  const { target, host } = ctx;
  const [procs, resolved, ownNetns, nsswitchRead, inode] = await Promise.all([
    host.processes(),
    host.resolvedProcesses(),
    host.ownNetns(),
    // At the default cap: the very read nss.hosts and hosts.hostname make (one guest walk for the three).
    target.readFile('/etc/nsswitch.conf'),
    stubInode(ctx),
  ]);
  const netns = target.pid !== null ? (procs.find((p) => p.pid === target.pid)?.netns ?? null) : ownNetns;
  const here = netns === null ? [] : resolved.filter((p) => p.netns === netns);
  const { guest, others } = await splitByOwner(ctx, here);
  let holder: StubHolder | null = null;
  if (inode !== undefined && inode !== null) {
    const owners = await Promise.all(here.map(async (p) => ((await holds(ctx, p.pid, inode)) ? p.pid : null)));
    const pid = owners.find((p) => p !== null) ?? null;
    holder = { inode, pid, whose: pid === null ? 'unknown' : guest.includes(pid) ? 'guest' : 'other' };
  }
  return {
    netns,
    guest,
    others,
    holder,
    udpRead: inode !== undefined,
    upstream: guest.length > 0 ? await readUpstream(ctx) : { servers: [], noneKnown: false, read: false },
    nsswitch: nsswitchRead.ok ? nsswitchHosts(firstBytes(nsswitchRead, NSSWITCH_CAP)) : null,
  };
}
