/**
 * One integration world: a short random id, a Cleanup stack, the network
 * namespaces, a tmpfs base dir `/tmp/ctrtest-<id>`, and lazy creators for
 * guest roots, DNS, X and audio. Typical use:
 *
 * ```ts
 * let w: World;
 * beforeAll(async () => { w = await createWorld(); });
 * afterAll(() => w?.dispose());
 * ```
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Cleanup } from './cleanup.js';
import { startDnsmasq, type DnsmasqHandle, type DnsmasqOptions } from './dnsmasq.js';
import { createNetWorld, type NetWorld } from './networld.js';
import { startPulse, type PulseHandle, type PulseOptions } from './pulse.js';
import { createGuestRoot, createMinimalRoot, ensureBaseTmpfs, type GuestRoot, type GuestRootOptions } from './rootfs.js';
import { realRootSkipReason, unpackRealRoot, type RealSuite } from './real-root.js';
import { hostSnapshot as takeSnapshot, type HostSnapshot } from './snapshot.js';
import { recordWorldId } from './suite-guard.js';
import { allocDisplay, startXvfb, type XvfbHandle, type XvfbOptions } from './xvfb.js';

export { diffSnapshots, hostSnapshot, type HostSnapshot, type SnapshotFilter } from './snapshot.js';

/** Options of {@link createWorld}. */
export interface WorldOptions {
  /** Fixed id (default 6 random hex digits). */
  id?: string;
  /** Start the default dnsmasq right away (see {@link World.dns}). */
  dns?: boolean;
  /** How the guest end of the uplink is set up (see createNetWorld). */
  uplink?: 'static' | 'dhcp';
  /**
   * What {@link World.guestRoot} overlays: the host's `/` (default), or a genuine Debian root of that
   * release, unpacked once per world (real-root.ts), each guest an overlay of its own over it.
   */
  guests?: 'host' | RealSuite;
}

/** An integration world. */
export interface World {
  id: string;
  cleanup: Cleanup;
  net: NetWorld;
  /** tmpfs mount point `/tmp/ctrtest-<id>`. */
  base: string;
  /** `base/state`: a scratch dir for auth files, sockets, logs. */
  stateDir: string;
  /** A name unique to this world: `ctd-<id>-<suffix>` (schroot names, machines, sessions). */
  name(suffix: string): string;
  /** A whole-root overlay guest at `base/<name>` (cached by name). */
  guestRoot(name: string, opts?: GuestRootOptions): Promise<GuestRoot>;
  /** A tiny file-only root at `base/<name>`. */
  minimalRoot(name: string): string;
  /**
   * The world's DNS (dnsmasq in the inet ns on 203.0.113.53 and 2001:db8:53::53,
   * `example.test` → 203.0.113.10, `example.com` → 203.0.113.10, localOnly). Started once.
   */
  dns(opts?: Partial<DnsmasqOptions>): Promise<DnsmasqHandle>;
  /** An Xvfb on a fresh display, auth file in stateDir. */
  xvfb(opts?: XvfbOptions): Promise<XvfbHandle>;
  /** A pulseaudio with its socket dir at `stateDir/pulse-<n>` (or `dir`). */
  pulse(opts?: PulseOptions & { dir?: string }): Promise<PulseHandle>;
  /** Host snapshot ignoring this world's own resources. */
  hostSnapshot(): Promise<HostSnapshot>;
  /** Tear everything down (throws an AggregateError listing failed steps). */
  dispose(): Promise<void>;
}

/** Build a world: netns, base tmpfs, state dir. Dispose it in `afterAll`. */
export async function createWorld(opts: WorldOptions = {}): Promise<World> {
  const id = opts.id ?? randomBytes(3).toString('hex');
  recordWorldId(id);
  const cleanup = new Cleanup(`world ${id}`);
  const base = `/tmp/ctrtest-${id}`;
  try {
    await ensureBaseTmpfs(base, cleanup);
    const stateDir = join(base, 'state');
    mkdirSync(stateDir, { recursive: true });
    const net = await createNetWorld(id, cleanup, { uplink: opts.uplink });
    const roots = new Map<string, Promise<GuestRoot>>();
    const suite = opts.guests ?? 'host';
    let lower: Promise<string> | null = null;
    const lowerDir = (): Promise<string> => (lower ??= unpackRealRoot(base, 'real-lower', suite as RealSuite, cleanup).then((r) => r.root));
    let dns: Promise<DnsmasqHandle> | null = null;
    let pulseN = 0;
    const world: World = {
      id,
      cleanup,
      net,
      base,
      stateDir,
      name: (suffix) => `ctd-${id}-${suffix}`,
      guestRoot: (name, o) => {
        let r = roots.get(name);
        if (!r)
          roots.set(
            name,
            (r =
              suite === 'host'
                ? createGuestRoot(base, name, cleanup, o)
                : lowerDir().then((l) => createGuestRoot(base, name, cleanup, { ...o, lower: l }))),
          );
        return r;
      },
      minimalRoot: (name) => createMinimalRoot(base, name),
      dns: (o) =>
        (dns ??= startDnsmasq(
          net,
          'inet',
          {
            listen: [net.dnsV4, net.dnsV6],
            records: { 'example.test': net.webV4, 'example.com': net.webV4 },
            localOnly: true,
            ...o,
          },
          cleanup,
        )),
      xvfb: async (o) => {
        // Another test process may grab the same free number at the same moment: try the next one.
        for (let attempt = 1; ; attempt++) {
          try {
            return await startXvfb(allocDisplay(), cleanup, { dir: stateDir, ...o });
          } catch (e) {
            if (attempt >= 3) throw e;
          }
        }
      },
      pulse: (o = {}) => startPulse(o.dir ?? join(stateDir, `pulse-${++pulseN}`), cleanup, o),
      hostSnapshot: () =>
        takeSnapshot({
          mountPrefixes: [base, '/run/netns', `/run/schroot/mount/ctd-${id}-`, '/run/systemd/nspawn'],
          namePrefixes: [`ctd-${id}-`],
        }),
      dispose: () => cleanup.run(),
    };
    if (opts.dns) await world.dns();
    return world;
  } catch (e) {
    await cleanup.run().catch(() => undefined);
    throw e;
  }
}

/** The guest worlds the hostile suite runs in: overlays of this host, and of a genuine Debian 12 root (skipped, loudly, when none can be had). */
export function guestWorlds(): { name: string; options: WorldOptions; skip: string | null }[] {
  const reason = realRootSkipReason('bookworm');
  if (reason) console.warn(`SKIPPING the Debian 12 world: ${reason}`);
  return [
    { name: 'host overlay', options: {}, skip: null },
    { name: 'Debian 12 root', options: { guests: 'bookworm' }, skip: reason },
  ];
}
