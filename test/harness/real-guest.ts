/**
 * Booting genuine roots (real-root.ts) the way users do: systemd-nspawn -b in the world's guest
 * namespace, whose uplink is a veth named `host0` (`uplink: 'dhcp'` worlds), with DHCP and DNS
 * from dnsmasq in the "internet" namespace, and real logins through PAM and logind.
 */
import { existsSync, statSync } from 'node:fs';
import type { Cleanup } from './cleanup.js';
import type { DnsmasqHandle } from './dnsmasq.js';
import { bootNspawn, type NspawnGuest, type NspawnOptions } from './nspawn-guest.js';
import { netOf, type WorldLike } from './networld.js';
import { killSync } from './cleanup.js';
import { commOf, descendantsOf, killAndWait, must, spawnDaemon, waitFor } from './proc.js';
import type { RealRoot } from './real-root.js';

/** The leases dnsmasq hands out on the uplink (documentation addresses, real-guests.md). */
export const DHCP_RANGE = { first: '198.51.100.50', last: '198.51.100.99' } as const;

/**
 * DHCP on the inet side of a `dhcp` world's uplink: leases in {@link DHCP_RANGE}, router
 * 198.51.100.1, DNS server 203.0.113.53 (start the world's DNS for it to answer). DNS is off in
 * this dnsmasq (`--port=0`), so it never competes with the world's DNS server.
 */
export async function startDhcp(worldLike: WorldLike, leaseFile: string, cleanup: Cleanup): Promise<DnsmasqHandle> {
  const net = netOf(worldLike);
  const d = spawnDaemon(
    `dhcp on ${net.uplinkInet}`,
    [
      'nsenter',
      `--net=${net.inetNsPath}`,
      'dnsmasq',
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--no-resolv',
      '--no-hosts',
      '--user=root',
      '--pid-file=',
      '--log-facility=-',
      '--port=0',
      '--bind-interfaces',
      `--interface=${net.uplinkInet}`,
      `--dhcp-range=${DHCP_RANGE.first},${DHCP_RANGE.last},1h`,
      `--dhcp-option=option:dns-server,${net.dnsV4}`,
      `--dhcp-option=option:router,${net.gatewayV4}`,
      `--dhcp-leasefile=${leaseFile}`,
      '--dhcp-authoritative',
    ],
    cleanup,
  );
  await waitFor(
    'dnsmasq DHCP listening',
    () => {
      if (d.child.exitCode !== null) throw new Error(`dnsmasq exited: ${d.output()}`);
      return /DHCP, IP range/.test(d.output());
    },
    { timeoutMs: 10_000 },
  );
  return { pid: d.pid, stop: () => d.stop(), output: d.output };
}

/** Enable or disable units in a root that is not running (`systemctl --root`). */
export async function setUnits(root: string, action: 'enable' | 'disable' | 'mask', units: string[]): Promise<void> {
  await must(['systemctl', `--root=${root}`, action, '--quiet', ...units]);
}

/** A genuine root booted by nspawn, which can be rebooted onto the same files. */
export interface RealGuest {
  real: RealRoot;
  machine: string;
  /** The current boot; replaced by {@link RealGuest.reboot}. */
  boot: NspawnGuest;
  /** Power off, wait, and boot the same root again. */
  reboot(): Promise<NspawnGuest>;
  /** Run a command in all of the guest's namespaces, as its own processes see things. */
  exec(argv: string[], timeoutMs?: number): ReturnType<NspawnGuest['exec']>;
  /** The guest's current IPv4 address on host0, once networkd has leased one (null: none yet). */
  host0Address(): Promise<string | null>;
}

/**
 * Boot `real` as `machine` with the world's guest namespace as its network (shared by every
 * guest booted into the same world: the Juno pair) and CAP_NET_ADMIN for its networkd.
 */
export async function bootRealGuest(
  worldLike: WorldLike,
  real: RealRoot,
  machine: string,
  cleanup: Cleanup,
  opts: NspawnOptions = {},
): Promise<RealGuest> {
  const options: NspawnOptions = {
    noMask: true,
    bootTimeoutMs: 30_000,
    ...opts,
    capabilities: ['CAP_NET_ADMIN', ...(opts.capabilities ?? [])],
  };
  const guest: RealGuest = {
    real,
    machine,
    boot: await bootNspawn(worldLike, real.root, machine, cleanup, options),
    reboot: async () => {
      await guest.boot.poweroff();
      guest.boot = await bootNspawn(worldLike, real.root, machine, cleanup, options);
      return guest.boot;
    },
    exec: (argv, timeoutMs = 15_000) => guest.boot.exec(argv, { timeoutMs }),
    host0Address: async () => {
      const r = await guest.exec(['ip', '-4', '-o', 'addr', 'show', 'dev', 'host0']);
      return /inet (\d+\.\d+\.\d+\.\d+)\//.exec(r.stdout)?.[1] ?? null;
    },
  };
  return guest;
}

/** A real login in a booted guest. */
export interface LoginSession {
  /** Host PID of the session's `sleep`. */
  pid: number;
  stop(): Promise<void>;
}

/**
 * Log `user` in through PAM (`runuser -l`): pam_systemd registers the session with the guest's
 * logind, which makes /run/user/UID. The session's process is `sleep 300`, killed by `cleanup`
 * (by its host PID: this nsenter has no --kill-child) or by the guest's poweroff.
 */
export async function loginSession(guest: RealGuest, user: { name: string; uid: number }, cleanup: Cleanup): Promise<LoginSession> {
  const leader = guest.boot.leaderPid;
  const d = spawnDaemon(
    `login ${user.name} in ${guest.machine}`,
    ['nsenter', '-t', String(leader), '-a', 'runuser', '-l', user.name, '-c', 'exec sleep 300'],
    cleanup,
  );
  const runtime = `/proc/${leader}/root/run/user/${user.uid}`;
  const pid = await waitFor(
    `${user.name}'s login session in ${guest.machine}`,
    () => {
      if (d.child.exitCode !== null) throw new Error(`runuser exited: ${d.output()}`);
      const sleeper = descendantsOf(d.pid).find((p) => commOf(p) === 'sleep');
      return sleeper !== undefined && existsSync(runtime) && statSync(runtime).uid === user.uid ? sleeper : undefined;
    },
    { timeoutMs: 15_000 },
  );
  // runuser ends the PAM session (and logind the user's processes) once its child is gone.
  const stop = async (): Promise<void> => {
    await killAndWait(pid).catch(() => undefined);
    await d.stop();
  };
  cleanup.defer(`end ${user.name}'s login (pid ${pid})`, stop, { sync: () => killSync(pid) });
  return { pid, stop };
}
