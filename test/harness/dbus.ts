/**
 * Real dbus-daemon buses for the dbus.* checks: a session bus run as a given user on a socket
 * path or an abstract name, in a private network namespace unless told otherwise.
 */
import { chmodSync, chownSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Cleanup } from './cleanup.js';
import { spawnDaemon, waitFor } from './proc.js';

/** A running dbus-daemon. */
export interface BusHandle {
  pid: number;
  /** The address it printed (with its guid). */
  address: string;
  stop(): Promise<void>;
}

/** Options of {@link startBus}. */
export interface BusOptions {
  /** `unix:path=…` (its directory made, owned by `uid`, mode `dirMode`) or `unix:abstract=…`. */
  address: string;
  uid?: number;
  gid?: number;
  /** Mode of the socket's directory (default 0700). */
  dirMode?: number;
  /** Run in this netns path; default a private one (`unshare --net`). */
  netns?: string;
  /** A config file of the test's own (never the machine's system.conf); default `--session`. */
  configFile?: string;
}

/** `dbus-daemon --session|--config-file=F --address=A --nofork --nopidfile --print-address=1`, as `uid`; waits for its address. Killed by `cleanup`. */
export async function startBus(cleanup: Cleanup, opts: BusOptions): Promise<BusHandle> {
  const uid = opts.uid ?? 0;
  const gid = opts.gid ?? uid;
  const path = /^unix:path=([^,;]+)/.exec(opts.address)?.[1];
  if (path) {
    mkdirSync(dirname(path), { recursive: true });
    chownSync(dirname(path), uid, gid);
    chmodSync(dirname(path), opts.dirMode ?? 0o700);
  }
  const argv = [
    ...(opts.netns ? ['nsenter', `--net=${opts.netns}`] : ['unshare', '--net']),
    ...(uid !== 0 ? ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups'] : []),
    'dbus-daemon',
    opts.configFile ? `--config-file=${opts.configFile}` : '--session',
    `--address=${opts.address}`,
    '--nofork',
    '--nopidfile',
    '--print-address=1',
  ];
  let printed = '';
  const d = spawnDaemon(`dbus-daemon ${opts.address}`, argv, cleanup, {
    cleanEnv: true,
    env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', LANG: 'C', HOME: '/' },
    onStdout: (s) => {
      printed += s;
    },
  });
  await waitFor(
    `dbus-daemon on ${opts.address}`,
    () => {
      if (d.child.exitCode !== null) throw new Error(`dbus-daemon exited: ${d.output()}`);
      return printed.includes('\n');
    },
    { timeoutMs: 15_000, intervalMs: 20 },
  );
  return { pid: d.pid, address: printed.trim(), stop: () => d.stop() };
}
