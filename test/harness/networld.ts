/**
 * A fake internet made of three network namespaces, never linked to a real
 * interface:
 *
 * - `ctd-<id>-inet`: the "internet": 203.0.113.53 (DNS), 203.0.113.10 (web)
 *   and 2001:db8:53::53 on its `lo`; 198.51.100.1 / 2001:db8::1 on a veth.
 * - `ctd-<id>-guest`: where guests live: 198.51.100.2 / 2001:db8::2, default
 *   routes via the inet side.
 * - `ctd-<id>-off`: offline, only `lo`, no routes ("Network is unreachable").
 *
 * With `uplink: 'dhcp'` the guest end of the veth is named `host0` and left unconfigured, as
 * systemd-nspawn's `--network-veth` would give a booted guest: its own networkd leases an
 * address from dnsmasq's DHCP on the inet side (see {@link startDhcp} in real-guest.ts).
 */
import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import type { Cleanup } from './cleanup.js';
import { runSyncQuiet } from './cleanup.js';
import { must, run, type RunOptions, type RunResult } from './proc.js';

/** Which namespace of the world: a short key or a full netns name. */
export type NsRef = 'inet' | 'guest' | 'off' | (string & {});

/** The network part of an integration world. */
export interface NetWorld {
  id: string;
  inetNs: string;
  guestNs: string;
  offNs: string;
  /** The inet side of the uplink veth (dnsmasq's DHCP listens here in `dhcp` mode). */
  uplinkInet: string;
  /** `/run/netns/<guestNs>`: pass to `nsenter --net=`. */
  guestNsPath: string;
  inetNsPath: string;
  offNsPath: string;
  /** Gateway (inet side of the veth) and guest addresses. */
  gatewayV4: '198.51.100.1';
  guestV4: '198.51.100.2';
  gatewayV6: '2001:db8::1';
  guestV6: '2001:db8::2';
  dnsV4: '203.0.113.53';
  dnsV6: '2001:db8:53::53';
  webV4: '203.0.113.10';
  /** Full netns name of a ref. */
  ns(ref: NsRef): string;
  /** `/run/netns/…` path of a ref. */
  nsPath(ref: NsRef): string;
  /** Run `argv` inside a namespace (`nsenter --net=…`); never throws. */
  exec(ns: NsRef, argv: string[], opts?: RunOptions): Promise<RunResult>;
  /** Add another address (e.g. `203.0.113.54` or `2001:db8:53::54`) to `lo` of a namespace. */
  addLoAddress(ns: NsRef, addr: string): Promise<void>;
}

const NETNS_DIR = '/run/netns';
let worldsUp = 0;
/** Whether /run/netns was a mount point before our first world; if not, we unmount it at the end. */
let netnsDirPreexisting: boolean | null = null;

async function mountpoint(path: string): Promise<boolean> {
  return (await run(['mountpoint', '-q', path])).exitCode === 0;
}

/** After the last world: undo the `/run/netns` bind mount that `ip netns add` created, if empty. */
async function releaseNetnsDir(): Promise<void> {
  if (worldsUp > 0 || netnsDirPreexisting !== false) return;
  if (existsSync(NETNS_DIR) && readdirSync(NETNS_DIR).length === 0) {
    if (await mountpoint(NETNS_DIR)) await must(['umount', NETNS_DIR]);
    try {
      rmdirSync(NETNS_DIR);
    } catch {
      /* someone else uses it */
    }
  }
  netnsDirPreexisting = null;
}

/** Options of {@link createNetWorld}. */
export interface NetWorldOptions {
  /** `static` (default): 198.51.100.2 on the guest end; `dhcp`: a bare `host0` for a booted guest's networkd. */
  uplink?: 'static' | 'dhcp';
}

/** Create the three namespaces of world `id` (keep `id` ≤ 6 chars) and register their removal. */
export async function createNetWorld(id: string, cleanup: Cleanup, opts: NetWorldOptions = {}): Promise<NetWorld> {
  if (!/^[a-z0-9]{1,8}$/.test(id)) throw new Error(`bad world id ${JSON.stringify(id)}`);
  if (netnsDirPreexisting === null) {
    netnsDirPreexisting = existsSync(NETNS_DIR) && (await mountpoint(NETNS_DIR));
  }
  worldsUp++;
  cleanup.defer(
    'release /run/netns',
    async () => {
      worldsUp--;
      await releaseNetnsDir();
    },
    {
      sync: () => {
        if (netnsDirPreexisting === false && existsSync(NETNS_DIR) && readdirSync(NETNS_DIR).length === 0) {
          runSyncQuiet(['umount', NETNS_DIR]);
        }
      },
    },
  );

  const inetNs = `ctd-${id}-inet`;
  const guestNs = `ctd-${id}-guest`;
  const offNs = `ctd-${id}-off`;
  const names: Record<string, string> = { inet: inetNs, guest: guestNs, off: offNs };
  const ns = (ref: NsRef): string => names[ref] ?? ref;
  const nsPath = (ref: NsRef): string => `${NETNS_DIR}/${ns(ref)}`;

  for (const n of [inetNs, guestNs, offNs]) {
    await must(['ip', 'netns', 'add', n]);
    cleanup.defer(
      `ip netns del ${n}`,
      async () => {
        if (existsSync(`${NETNS_DIR}/${n}`)) await must(['ip', 'netns', 'del', n]);
      },
      { sync: () => runSyncQuiet(['ip', 'netns', 'del', n]) },
    );
    await must(['ip', '-n', n, 'link', 'set', 'lo', 'up']);
  }

  const vi = `ctd${id}i`;
  const dhcp = opts.uplink === 'dhcp';
  // networkd's 80-container-host0.network matches this name in a container.
  const vg = dhcp ? 'host0' : `ctd${id}g`;
  const ipn = (n: string, ...a: string[]): Promise<string> => must(['ip', '-n', n, ...a]);
  // Created directly between our namespaces: nothing touches the host's interfaces.
  await ipn(inetNs, 'link', 'add', vi, 'type', 'veth', 'peer', 'name', vg, 'netns', guestNs);
  await ipn(inetNs, 'addr', 'add', '198.51.100.1/24', 'dev', vi);
  await ipn(inetNs, 'addr', 'add', '2001:db8::1/64', 'dev', vi, 'nodad');
  await ipn(inetNs, 'link', 'set', vi, 'up');
  if (!dhcp) {
    await ipn(guestNs, 'addr', 'add', '198.51.100.2/24', 'dev', vg);
    await ipn(guestNs, 'addr', 'add', '2001:db8::2/64', 'dev', vg, 'nodad');
    await ipn(guestNs, 'link', 'set', vg, 'up');
    await ipn(guestNs, 'route', 'add', 'default', 'via', '198.51.100.1');
    await ipn(guestNs, '-6', 'route', 'add', 'default', 'via', '2001:db8::1');
  }
  await ipn(inetNs, 'addr', 'add', '203.0.113.53/32', 'dev', 'lo');
  await ipn(inetNs, 'addr', 'add', '203.0.113.10/32', 'dev', 'lo');
  await ipn(inetNs, 'addr', 'add', '2001:db8:53::53/128', 'dev', 'lo', 'nodad');

  return {
    id,
    inetNs,
    guestNs,
    offNs,
    uplinkInet: vi,
    guestNsPath: nsPath('guest'),
    inetNsPath: nsPath('inet'),
    offNsPath: nsPath('off'),
    gatewayV4: '198.51.100.1',
    guestV4: '198.51.100.2',
    gatewayV6: '2001:db8::1',
    guestV6: '2001:db8::2',
    dnsV4: '203.0.113.53',
    dnsV6: '2001:db8:53::53',
    webV4: '203.0.113.10',
    ns,
    nsPath,
    exec: (ref, argv, opts) => run(['nsenter', `--net=${nsPath(ref)}`, ...argv], opts),
    addLoAddress: async (ref, addr) => {
      const cidr = addr.includes('/') ? addr : addr.includes(':') ? `${addr}/128` : `${addr}/32`;
      await must(['ip', '-n', ns(ref), 'addr', 'add', cidr, 'dev', 'lo', ...(addr.includes(':') ? ['nodad'] : [])]);
    },
  };
}

/** A {@link NetWorld}, or anything holding one as `net` (such as a `World`). */
export type WorldLike = NetWorld | { net: NetWorld };

/** The NetWorld of a {@link WorldLike}. */
export function netOf(w: WorldLike): NetWorld {
  return 'net' in w ? w.net : w;
}
