import { defineCheck, type CheckContext } from '../../core/check.js';
import { couldNotRun, finding, outcomeOf } from '../../core/outcome.js';
import type { Finding, Fix } from '../../core/types.js';
import { parseNspawnArgs } from '../../parse/nspawn-args.js';
import { parsePing, type PingOutcome } from '../../parse/ping-output.js';
import { hasIpv4DefaultRoute, hasIpv6DefaultRoute, parseProcNetDevNames } from '../../parse/proc-net.js';
import { noUplinkFixes, pingPermissionFix } from '../../fixes/plans/net-plans.js';
import { DEFAULT_PATH, type ExecResult } from '../../core/target.js';

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
async function pingWith(run: (argv: string[]) => Promise<ExecResult>, address: string, left: () => number): Promise<{ argv: string[]; result: ExecResult }> {
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

function evidenceOf(run: PingRun): Record<string, unknown> {
  const { outcome } = run;
  return {
    via: run.via, command: run.argv.join(' '), exitCode: run.result.exitCode,
    transmitted: outcome.transmitted, received: outcome.received, lossPercent: outcome.lossPercent, rttMs: outcome.rttMs,
    ...(outcome.message ? { message: outcome.message } : {}),
  };
}

/** What the guest's network namespace has, to explain "Network is unreachable". */
async function routeEvidence(ctx: CheckContext): Promise<Record<string, unknown>> {
  const { target } = ctx;
  const [dev, route, route6] = await Promise.all([target.readProcNet('dev'), target.readProcNet('route'), target.readProcNet('ipv6_route')]);
  return {
    interfaces: dev === null ? null : parseProcNetDevNames(dev),
    ipv4DefaultRoute: route === null ? null : hasIpv4DefaultRoute(route),
    ipv6DefaultRoute: route6 === null ? null : hasIpv6DefaultRoute(route6),
  };
}

/** The fixes for "no way out", from how the container was started. */
function pathFixes(ctx: CheckContext): Fix[] {
  const argv = ctx.target.nspawn?.argv;
  return noUplinkFixes(ctx.target, argv && argv.length > 0 ? parseNspawnArgs(argv) : null);
}

/** How it decides: one finding per way a ping ends. */
async function verdict(ctx: CheckContext, run: PingRun): Promise<{ findings: Finding[]; fixes: Fix[] }> {
  const address = ctx.options.pingTarget;
  const { outcome } = run;
  const ev = evidenceOf(run);
  const from = run.via === 'guest' ? 'from the guest' : 'from the guest\'s network namespace (host\'s ping)';
  switch (outcome.error) {
    case 'no-route': {
      const routes = await routeEvidence(ctx);
      const onlyLo = Array.isArray(routes.interfaces) && routes.interfaces.every((n) => n === 'lo');
      const why = onlyLo ? ' (the namespace has only the loopback interface)' : routes.ipv4DefaultRoute === false ? ' (no default route)' : '';
      return {
        findings: [finding('ping-no-route', 'fail', `ping ${address} ${from}: ${outcome.message ?? 'Network is unreachable'}${why}`, { ...ev, ...routes })],
        fixes: pathFixes(ctx),
      };
    }
    case 'unreachable':
      return { findings: [finding('ping-unreachable', 'fail', `ping ${address} ${from}: ${outcome.message ?? 'Destination Host Unreachable'}`, ev)], fixes: pathFixes(ctx) };
    case 'unknown-host':
      return { findings: [finding('ping-target-unresolved', 'fail', `ping ${address}: ${outcome.message ?? 'Name or service not known'} (give --ping-target an IP address, or see the dns checks)`, ev)], fixes: [] };
    case 'permission':
      return { findings: [finding('ping-not-permitted', 'warn', `ping ${address} ${from}: ${outcome.message ?? 'Operation not permitted'}`, ev)], fixes: [] };
    case 'other':
      if (/sendmsg|sendto/.test(outcome.message ?? '')) {
        return { findings: [finding('ping-blocked', 'fail', `ping ${address} ${from}: ${outcome.message ?? ''} (a firewall rule rejects outgoing ICMP)`, ev)], fixes: [] };
      }
      if (run.result.timedOut) break;
      return { findings: [finding('ping-failed', 'fail', `ping ${address} ${from} failed: ${outcome.message ?? `exit code ${String(run.result.exitCode)}`}`, ev)], fixes: [] };
    case null:
      break;
  }
  const sent = outcome.transmitted ?? 0;
  const got = outcome.received ?? 0;
  if (sent > 0 && got === sent && outcome.rttMs) {
    return { findings: [finding('ping-ok', 'info', `ping ${address} ${from}: ${got}/${sent} replies, rtt min/avg/max ${outcome.rttMs.min}/${outcome.rttMs.avg}/${outcome.rttMs.max} ms`, ev)], fixes: [] };
  }
  if (got > 0) {
    return { findings: [finding('ping-loss', 'warn', `ping ${address} ${from}: ${outcome.lossPercent ?? Math.round(100 - (100 * got) / sent)}% packet loss (${got}/${sent} replies)`, ev)], fixes: [] };
  }
  const loss = sent > 0 ? `${sent} packets transmitted, 0 received, 100% packet loss` : `no reply within ${ctx.options.timeoutMs} ms`;
  return { findings: [finding('ping-loss', 'fail', `ping ${address} ${from}: ${loss}`, ev)], fixes: pathFixes(ctx) };
}

/** Why the desktop user may not send ICMP: no capability on the binary and a gid outside ping_group_range. */
async function permissionEvidence(ctx: CheckContext): Promise<{ pingPath: string; evidence: Record<string, unknown> }> {
  const range = await ctx.target.execInNetns(['cat', '/proc/sys/net/ipv4/ping_group_range'], { timeoutMs: 500 });
  const [low, high] = range.stdout.trim().split(/\s+/).map(Number);
  let pingPath = '/usr/bin/ping';
  for (const p of PING_PATHS) {
    const s = await ctx.target.stat(p);
    if ('type' in s && s.type === 'file') { pingPath = p; break; }
  }
  const gid = ctx.target.user.gid;
  const inRange = low !== undefined && high !== undefined && gid >= low && gid <= high;
  return { pingPath, evidence: { pingGroupRange: range.exitCode === 0 ? range.stdout.trim() : null, gid, gidInPingGroupRange: inRange, pingPath } };
}

export default defineCheck({
  id: 'net.ping',
  group: 'net',
  title: 'ICMP reachability from the guest',
  description: 'Pings --ping-target from inside the guest\'s network namespace as the desktop user (falling back to the host\'s ping in that namespace), and tells apart no route, unreachable, packet loss, a missing ping and ICMP not permitted.',
  findings: {
    'ping-ok': { severity: 'info', description: 'Every ping came back; the round-trip time is reported.' },
    'ping-no-route': { severity: 'fail', description: '"connect: Network is unreachable": the guest\'s namespace has no route (often only lo, as with nspawn --private-network).' },
    'ping-unreachable': { severity: 'fail', description: '"Destination Host Unreachable": a gateway answered that it cannot reach the target.' },
    'ping-loss': { severity: 'fail', description: 'Packets were lost: some (warn) or all (fail).' },
    'ping-missing': { severity: 'info', description: 'ping is not installed in the guest; the host\'s ping was used inside the guest\'s network namespace.' },
    'ping-not-permitted': { severity: 'warn', description: '"ping: socket: Operation not permitted": ping has no cap_net_raw and the user\'s group is outside net.ipv4.ping_group_range.' },
    'ping-blocked': { severity: 'fail', description: '"sendmsg: Operation not permitted": a firewall rejects outgoing ICMP.' },
    'ping-target-unresolved': { severity: 'fail', description: 'The ping target is a name that did not resolve.' },
    'ping-failed': { severity: 'fail', description: 'ping failed in a way not recognised; its message is quoted.' },
  },
  fixDocs: {
    'net.nspawn-network-veth': 'nspawn --private-network without an uplink: --network-veth (VirtualEthernet=yes) plus systemd-networkd.',
    'net.nspawn-share-host-network': 'nspawn: drop --private-network (Private=no) to use the host\'s network.',
    'net.nspawn-enable-networkd': 'nspawn --network-veth: enable systemd-networkd on the host and in the guest.',
    'net.netns-route': 'A namespace given with --network-namespace-path: give it an uplink and a default route.',
    'net.fix-host-network': 'chroot and schroot share the host\'s network: fix the host.',
    'net.fix-guest-netns': 'The guest\'s process was started in another network namespace: give that one a route.',
    'net.ping-permission': 'setcap cap_net_raw+ep on the guest\'s ping, or widen net.ipv4.ping_group_range.',
  },
  appliesTo: () => true,

  async run(ctx) {
    const { target, options } = ctx;
    const started = performance.now();
    const left = () => Math.max(300, options.timeoutMs - RESERVE_MS - (performance.now() - started));
    const findings: Finding[] = [];
    const fixes: Fix[] = [];

    // What it looks at: the guest's own ping, run as the desktop user, in the guest.
    const asUser = target.user.uid === 0 ? {} : { user: { uid: target.user.uid, gid: target.user.gid, groups: target.user.groups } };
    const env = { PATH: DEFAULT_PATH, LC_ALL: 'C' };
    const guestPing = await pingWith((argv) => target.exec(argv, { ...asUser, env, timeoutMs: left() + 200 }), options.pingTarget, left);
    const inGuest = guestPing.result;
    let run: PingRun = { via: 'guest', argv: guestPing.argv, result: inGuest, outcome: parsePing(inGuest.stdout, inGuest.stderr, inGuest.exitCode) };

    if (inGuest.spawnError && !inGuest.notFound) return couldNotRun(`cannot run ping in the guest: ${inGuest.spawnError}`);
    const missing = inGuest.notFound;
    const denied = !missing && run.outcome.error === 'permission';
    if (missing || denied) {
      if (missing) {
        findings.push(finding('ping-missing', 'info', `ping is not installed in the guest ("${options.pingTarget}" was pinged with the host's ping inside the guest's network namespace)`, { stderr: inGuest.stderr.trim().slice(0, 200) }));
      } else {
        const why = await permissionEvidence(ctx);
        findings.push(finding('ping-not-permitted', 'warn',
          `ping in the guest fails for ${target.user.name} (uid ${target.user.uid}): ${run.outcome.message ?? 'Operation not permitted'}; ping has no cap_net_raw and gid ${target.user.gid} is ${why.evidence.gidInPingGroupRange ? 'inside' : 'outside'} net.ipv4.ping_group_range (${String(why.evidence.pingGroupRange)})`,
          { ...evidenceOf(run), ...why.evidence }));
        fixes.push(pingPermissionFix(why.pingPath, target.user.gid));
      }
      // The guest has no usable ping: the host's ping, as root, inside the guest's network namespace.
      const hostPing = await pingWith((argv) => target.execInNetns(argv, { timeoutMs: left() + 200 }), options.pingTarget, left);
      const fromHost = hostPing.result;
      if (fromHost.notFound || (fromHost.spawnError && fromHost.exitCode === null)) {
        if (missing) return couldNotRun(`ping is installed neither in the guest nor on the host (${fromHost.spawnError ?? 'not found'})`);
        return outcomeOf(findings, fixes);
      }
      run = { via: 'host-in-netns', argv: hostPing.argv, result: fromHost, outcome: parsePing(fromHost.stdout, fromHost.stderr, fromHost.exitCode) };
    }

    // What it offers: the way out for this kind of container, or how to let the user ping.
    const decided = await verdict(ctx, run);
    findings.push(...decided.findings);
    fixes.push(...decided.fixes);
    const allInfo = findings.every((f) => f.severity === 'info');
    return outcomeOf(findings, fixes, allInfo ? decided.findings[0]?.message : undefined);
  },
});
