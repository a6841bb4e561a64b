import { defineCheck, cannotRun, type CheckContext, type EarlyOutcome, type Reported } from '../../core/check.js';
import { findingBuilder, renderMessage } from '../../core/findings.js';
import { parseNspawnArgs } from '../../parse/nspawn-args.js';
import { parsePing, type PingOutcome } from '../../parse/ping-output.js';
import { hasIpv4DefaultRoute, hasIpv6DefaultRoute, parseProcNetDevNames } from '../../parse/proc-net.js';
import { noUplinkFixes, pingPermissionFix } from '../../fixes/plans/net-plans.js';
import { DEFAULT_PATH, type ExecResult, type Target } from '../../core/target.js';
import { asDesktopUser, withCommandSlot, type CommandSlot } from '../command-batch.js';

const findings = {
  'ping-ok': {
    severity: 'info',
    message: 'ping {address} {from}: {got}/{sent} replies, rtt min/avg/max {min}/{avg}/{max} ms',
    description: 'Every ping came back; the round-trip time is reported.',
  },
  'ping-no-route': {
    severity: 'fail',
    message: 'ping {address} {from}: {said}{why}',
    description:
      '"connect: Network is unreachable": the guest\'s namespace has no route (often only lo, as with nspawn --private-network).',
  },
  'ping-unreachable': {
    severity: 'fail',
    message: 'ping {address} {from}: {said}',
    description: '"Destination Host Unreachable": a gateway answered that it cannot reach the target.',
  },
  'ping-loss': { severity: 'fail', message: 'ping {address} {from}: {loss}', description: 'Every packet was lost.' },
  'ping-partial-loss': {
    severity: 'warn',
    message: 'ping {address} {from}: {percent}% packet loss ({got}/{sent} replies)',
    description: 'Some packets were lost, some came back.',
  },
  'ping-missing': {
    severity: 'info',
    message: 'ping is not installed in the guest ("{address}" was pinged with the host\'s ping inside the guest\'s network namespace)',
    description: "ping is not installed in the guest; the host's ping was used inside the guest's network namespace.",
  },
  'ping-not-permitted': {
    severity: 'warn',
    message:
      'ping in the guest fails for {user} (uid {uid}): {said}; ping has no cap_net_raw and gid {gid} is {inOrOut} net.ipv4.ping_group_range ({range})',
    description:
      '"ping: socket: Operation not permitted": ping has no cap_net_raw and the user\'s group is outside net.ipv4.ping_group_range.',
  },
  'ping-blocked': {
    severity: 'fail',
    message: 'ping {address} {from}: {said} (a firewall rule rejects outgoing ICMP)',
    description: '"sendmsg: Operation not permitted": a firewall rejects outgoing ICMP.',
  },
  'ping-target-unresolved': {
    severity: 'fail',
    message: 'ping {address}: {said} (give --ping-target an IP address, or see the dns checks)',
    description: 'The ping target is a name that did not resolve.',
  },
  'ping-failed': {
    severity: 'fail',
    message: 'ping {address} {from} failed: {said}',
    description: "ping failed in a way not recognised (the host's ping refused in the guest's namespace too); its message is quoted.",
  },
} as const;

const fixDocs = {
  'net.nspawn-network-veth': 'nspawn --private-network without an uplink: --network-veth (VirtualEthernet=yes) plus systemd-networkd.',
  'net.nspawn-share-host-network': "nspawn: drop --private-network (Private=no) to use the host's network.",
  'net.nspawn-enable-networkd': 'nspawn --network-veth: enable systemd-networkd on the host and in the guest.',
  'net.netns-route': 'A namespace given with --network-namespace-path: give it an uplink and a default route.',
  'net.fix-host-network': "chroot and schroot share the host's network: fix the host.",
  'net.fix-guest-netns': "The guest's process was started in another network namespace: give that one a route.",
  'net.ping-permission': "setcap cap_net_raw+ep on the guest's ping, or widen net.ipv4.ping_group_range.",
} as const;

/**
 * Two packets: a partial loss still shows (1/2 = 50%). Both are sent at once (`-l 2`, a preload
 * iputils allows any user up to 3), so a healthy run ends with the replies, not after an interval.
 */
const COUNT = 2;
/** Kept back from --timeout for starting ping through nsenter/chroot and reading its output. */
const RESERVE_MS = 250;
/** The guest paths a distribution installs ping at. */
const PING_PATHS = ['/usr/bin/ping', '/bin/ping', '/usr/sbin/ping', '/sbin/ping'];

/** `ping` for a run that ends within `budgetMs`: COUNT packets at once, then waiting at most what is left for replies. */
function pingArgv(address: string, budgetMs: number): string[] {
  const waitS = Math.max(0.2, budgetMs / 1000);
  return ['ping', '-n', '-c', String(COUNT), '-l', String(COUNT), '-W', waitS.toFixed(1), address];
}

/** The same with only the options every ping knows (BusyBox has neither -n nor -l). */
function plainPingArgv(address: string, budgetMs: number): string[] {
  return ['ping', '-c', String(COUNT), '-W', String(Math.max(1, Math.floor(budgetMs / 1000))), address];
}

/** ping refused its options (an old or BusyBox ping) rather than failing to ping. */
function rejectedOptions(result: ExecResult): boolean {
  return result.exitCode !== 0 && /invalid option|unrecognized option|illegal option|^usage:/im.test(`${result.stderr}\n${result.stdout}`);
}

/** Runs ping through `run`; a ping that refuses our options is run again with the plain ones. */
async function pingWith(
  run: (argv: string[]) => Promise<ExecResult>,
  address: string,
  left: () => number,
): Promise<{ argv: string[]; result: ExecResult }> {
  const argv = pingArgv(address, left());
  const result = await run(argv);
  if (!rejectedOptions(result)) return { argv, result };
  const plain = plainPingArgv(address, left());
  return { argv: plain, result: await run(plain) };
}

/** Which ping answered, and what it said. */
interface PingRun {
  via: 'guest' | 'host-in-netns';
  argv: string[];
  result: ExecResult;
  outcome: PingOutcome;
}

/** Why the desktop user may not send ICMP: the ping binary found, and the namespace's ping_group_range. */
interface PermissionFacts {
  pingPath: string;
  pingGroupRange: string | null;
  gidInPingGroupRange: boolean;
}

/** What the guest's network namespace has, to explain "Network is unreachable". */
interface RouteFacts {
  interfaces: string[] | null;
  ipv4DefaultRoute: boolean | null;
  ipv6DefaultRoute: boolean | null;
}

interface Facts {
  address: string;
  timeoutMs: number;
  user: { name: string; uid: number; gid: number };
  /** The guest's own ping, as the desktop user. */
  guest: PingRun;
  /** ping is not installed in the guest. */
  missing: boolean;
  /** Why the guest could not be entered at all (a normal user's run: no right to its root or namespaces); null when it was. */
  unentered?: string | null;
  /** Set when the guest's ping was refused for the user. */
  permission: PermissionFacts | null;
  /** The host's ping in the guest's network namespace, when the guest's could not be used; null when there is none either. */
  host: PingRun | null;
  /** Read only when the ping that decides said "no route". */
  routes: RouteFacts | null;
  /** How the guest was made, for the "no way out" fixes. */
  place: Pick<Target, 'kind' | 'root' | 'pid' | 'sharesNetns' | 'netnsPath' | 'nspawn'>;
}

const pingRun = (via: PingRun['via'], run: { argv: string[]; result: ExecResult }): PingRun => ({
  via,
  ...run,
  outcome: parsePing(run.result.stdout, run.result.stderr, run.result.exitCode),
});

async function permissionFacts(ctx: CheckContext): Promise<PermissionFacts> {
  const range = await ctx.target.execInNetns(['cat', '/proc/sys/net/ipv4/ping_group_range'], { timeoutMs: 500 });
  const [low, high] = range.stdout.trim().split(/\s+/).map(Number);
  let pingPath = '/usr/bin/ping';
  for (const p of PING_PATHS) {
    const s = await ctx.target.stat(p);
    if ('type' in s && s.type === 'file') {
      pingPath = p;
      break;
    }
  }
  const gid = ctx.target.user.gid;
  return {
    pingPath,
    pingGroupRange: range.exitCode === 0 ? range.stdout.trim() : null,
    gidInPingGroupRange: low !== undefined && high !== undefined && gid >= low && gid <= high,
  };
}

async function routeFacts(ctx: CheckContext): Promise<RouteFacts> {
  const { target } = ctx;
  const [dev, route, route6] = await Promise.all([
    target.readProcNet('dev'),
    target.readProcNet('route'),
    target.readProcNet('ipv6_route'),
  ]);
  return {
    interfaces: dev === null ? null : parseProcNetDevNames(dev),
    ipv4DefaultRoute: route === null ? null : hasIpv4DefaultRoute(route),
    ipv6DefaultRoute: route6 === null ? null : hasIpv6DefaultRoute(route6),
  };
}

// What it looks at: the guest's own ping run as the desktop user in the guest; when it is missing or refused,
// why it was refused and the host's ping (as root) inside the guest's network namespace; for "no route", the routes.
function gather(ctx: CheckContext): Promise<Facts | EarlyOutcome> {
  // The slot is taken now, in the turn every check starts in: the ping shares the diagnosis's one guest chain.
  return withCommandSlot(ctx.target, (slot) => gatherWith(ctx, slot));
}

async function gatherWith(ctx: CheckContext, slot: CommandSlot): Promise<Facts | EarlyOutcome> {
  const { target, options, host } = ctx;
  const started = host.now();
  const left = () => Math.max(300, options.timeoutMs - RESERVE_MS - (host.now() - started));
  const env = { PATH: DEFAULT_PATH, LC_ALL: 'C' };
  // The first ping through the slot (with the diagnosis's other guest lookups); a retry with plain options alone.
  const guest = pingRun(
    'guest',
    await pingWith((argv) => slot.exec(argv, { ...asDesktopUser(target), env, timeoutMs: left() + 200 }), options.pingTarget, left),
  );
  // Without root the guest cannot be entered (EACCES/EPERM at spawn); the host's ping in its namespace still answers.
  const spawnError = guest.result.notFound ? undefined : guest.result.spawnError;
  const unentered = spawnError !== undefined && /\b(EACCES|EPERM)\b/.test(spawnError) ? spawnError : null;
  if (spawnError !== undefined && unentered === null) return cannotRun(`cannot run ping in the guest: ${spawnError}`);
  const missing = guest.result.notFound;
  const denied = !missing && guest.outcome.error === 'permission';
  const permission = denied ? await permissionFacts(ctx) : null;
  let fallback: PingRun | null = null;
  if (missing || denied || unentered !== null) {
    // The guest has no usable ping: the host's ping, as root, inside the guest's network namespace.
    const run = await pingWith((argv) => target.execInNetns(argv, { timeoutMs: left() + 200 }), options.pingTarget, left);
    const unusable = run.result.notFound || (run.result.spawnError !== undefined && run.result.exitCode === null);
    if (unusable && missing)
      return cannotRun(`ping is installed neither in the guest nor on the host (${run.result.spawnError ?? 'not found'})`);
    if (unusable && unentered !== null) return cannotRun(`needs root: run with sudo (cannot enter the guest to ping: ${unentered})`);
    fallback = unusable ? null : pingRun('host-in-netns', run);
  }
  const deciding = missing || denied || unentered !== null ? fallback : guest;
  const { kind, root, pid, sharesNetns, netnsPath, nspawn } = target;
  return {
    address: options.pingTarget,
    timeoutMs: options.timeoutMs,
    user: { name: target.user.name, uid: target.user.uid, gid: target.user.gid },
    guest,
    missing,
    unentered,
    permission,
    host: fallback,
    routes: deciding?.outcome.error === 'no-route' ? await routeFacts(ctx) : null,
    place: { kind, root, pid, sharesNetns, netnsPath, ...(nspawn ? { nspawn } : {}) },
  };
}

const found = findingBuilder(findings);

function evidenceOf(run: PingRun): Record<string, unknown> {
  const { outcome } = run;
  return {
    via: run.via,
    command: run.argv.join(' '),
    exitCode: run.result.exitCode,
    transmitted: outcome.transmitted,
    received: outcome.received,
    lossPercent: outcome.lossPercent,
    rttMs: outcome.rttMs,
    ...(outcome.message ? { message: outcome.message } : {}),
  };
}

/** The ping that decides reachability: the guest's own, or the host's in its namespace when the guest's could not be used. */
const decidingRun = (f: Facts): PingRun | null => (f.missing || f.permission || f.unentered ? f.host : f.guest);

/** One finding for the way the deciding ping ended. */
function verdict(f: Facts, run: PingRun): Reported<typeof findings> {
  const { address } = f;
  const { outcome } = run;
  const ev = evidenceOf(run);
  const from = run.via === 'guest' ? 'from the guest' : "from the guest's network namespace (host's ping)";
  const said = (fallback: string) => outcome.message ?? fallback;
  switch (outcome.error) {
    case 'no-route': {
      const routes = f.routes ?? { interfaces: null, ipv4DefaultRoute: null, ipv6DefaultRoute: null };
      const onlyLo = Array.isArray(routes.interfaces) && routes.interfaces.every((n) => n === 'lo');
      const why = onlyLo
        ? ' (the namespace has only the loopback interface)'
        : routes.ipv4DefaultRoute === false
          ? ' (no default route)'
          : '';
      return found('ping-no-route', { address, from, said: said('Network is unreachable'), why }, { ...ev, ...routes });
    }
    case 'unreachable':
      return found('ping-unreachable', { address, from, said: said('Destination Host Unreachable') }, ev);
    case 'unknown-host':
      return found('ping-target-unresolved', { address, said: said('Name or service not known') }, ev);
    case 'permission':
      // Only the host's ping, as root, gets here (the guest's refusal is ping-not-permitted): something else forbids ICMP.
      return found('ping-failed', { address, from, said: said('Operation not permitted') }, ev);
    case 'other':
      if (/sendmsg|sendto/.test(outcome.message ?? '')) return found('ping-blocked', { address, from, said: said('') }, ev);
      if (!run.result.timedOut) return found('ping-failed', { address, from, said: said(`exit code ${String(run.result.exitCode)}`) }, ev);
      break;
    case null:
      break;
  }
  const sent = outcome.transmitted ?? 0;
  const got = outcome.received ?? 0;
  if (sent > 0 && got === sent && outcome.rttMs) return found('ping-ok', { address, from, got, sent, ...outcome.rttMs }, ev);
  if (got > 0)
    return found(
      'ping-partial-loss',
      { address, from, percent: outcome.lossPercent ?? Math.round(100 - (100 * got) / sent), got, sent },
      ev,
    );
  const loss = sent > 0 ? `${sent} packets transmitted, 0 received, 100% packet loss` : `no reply within ${f.timeoutMs} ms`;
  return found('ping-loss', { address, from, loss }, ev);
}

// How it decides: why the guest's own ping could not be used, then one finding for the way the deciding ping ended.
function judge(f: Facts) {
  const out: Reported<typeof findings>[] = [];
  if (f.missing) out.push(found('ping-missing', { address: f.address }, { stderr: f.guest.result.stderr.trim().slice(0, 200) }));
  if (f.permission) {
    const p = f.permission;
    out.push(
      found(
        'ping-not-permitted',
        {
          user: f.user.name,
          uid: f.user.uid,
          said: f.guest.outcome.message ?? 'Operation not permitted',
          gid: f.user.gid,
          inOrOut: p.gidInPingGroupRange ? 'inside' : 'outside',
          range: String(p.pingGroupRange),
        },
        { ...evidenceOf(f.guest), gid: f.user.gid, ...p },
      ),
    );
  }
  const run = decidingRun(f);
  if (run === null) return out;
  const decided = verdict(f, run);
  // A healthy run's summary is the ping's own line (round-trip times), not the note that the host's ping was used.
  return { findings: [...out, decided], summary: renderMessage(findings[decided.code].message, decided.data) };
}

// What it offers: the way out for this kind of container when nothing gets through, and how to let the user ping.
function offer(f: Facts, reported: readonly Reported<typeof findings>[]) {
  const noWayOut = reported.some((r) => r.code === 'ping-no-route' || r.code === 'ping-unreachable' || r.code === 'ping-loss');
  const argv = f.place.nspawn?.argv;
  return [
    ...(f.permission ? [pingPermissionFix(f.permission.pingPath, f.user.gid)] : []),
    ...(noWayOut ? noUplinkFixes(f.place, argv && argv.length > 0 ? parseNspawnArgs(argv) : null) : []),
  ];
}

export default defineCheck({
  id: 'net.ping',
  group: 'net',
  title: 'ICMP reachability from the guest',
  description:
    "Pings --ping-target from inside the guest's network namespace as the desktop user (falling back to the host's ping in that namespace), and tells apart no route, unreachable, packet loss, a missing ping and ICMP not permitted.",
  findings,
  fixDocs,
  appliesTo: () => true,
  gather,
  judge,
  offer,
});
