/**
 * Boot a systemd-nspawn guest (test-targets.md §5) from a whole-root overlay,
 * in the world's guest netns, without machined, in its own cgroup.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import { killSync, runSyncQuiet } from './cleanup.js';
import { netOf, type WorldLike } from './networld.js';
import { childrenOf, commOf, killAndWait, must, run, type RunOptions, type RunResult, spawnDaemon, waitFor } from './proc.js';

/** Units of this host that make an overlay guest slow, noisy or `degraded`. */
export const NSPAWN_MASKED_UNITS = [
  'postgresql.service',
  'postgresql@.service',
  'podman.service',
  'podman.socket',
  'podman-auto-update.service',
  'podman-auto-update.timer',
  'podman-clean-transient.service',
  'podman-restart.service',
  'podman-kube@.service',
  'e2scrub_reap.service',
  'e2scrub_all.timer',
  'schroot.service',
  'apt-daily.timer',
  'apt-daily-upgrade.timer',
  'man-db.timer',
  'dpkg-db-backup.timer',
  'fstrim.timer',
  // Installed for promtool (scripts/test-packages.txt); its daemon fails in a guest that is not its host.
  'prometheus.service',
];

/** Options of {@link bootNspawn}. */
export interface NspawnOptions {
  /** `netns` (default): `--network-namespace-path=` the world's guest netns; `none`: `--private-network`. */
  privateNetwork?: 'netns' | 'none';
  /** `--bind=` values (`SRC[:DST]`). */
  binds?: string[];
  /** `--bind-ro=` values. */
  bindRo?: string[];
  /** `--resolv-conf=` mode; default `off` (keep the guest's file). */
  resolvConf?: string;
  /** `--setenv=K=V` for the guest's PID 1. */
  setenv?: Record<string, string>;
  /** Extra units to mask (on top of {@link NSPAWN_MASKED_UNITS}). */
  mask?: string[];
  /** Boot timeout (default 20 s). */
  bootTimeoutMs?: number;
  /**
   * `--capability=` values. `--network-namespace-path=` drops CAP_NET_ADMIN, which the guest's
   * networkd needs (its unit is skipped without it): real guests with an uplink pass it back.
   */
  capabilities?: string[];
  /** Skip masking this host's noisy units (a genuine root has none of them). */
  noMask?: boolean;
}

/** A booted nspawn guest. */
export interface NspawnGuest {
  /** PID of systemd-nspawn. */
  nspawnPid: number;
  /** PID of the guest's systemd (child of nspawn). */
  leaderPid: number;
  machine: string;
  /** `running` or `degraded`. */
  state: string;
  /** Milliseconds from spawn until the state was reached. */
  bootMs: number;
  /** Run a command in all the guest's namespaces (`nsenter -t LEADER -a`). Never throws. */
  exec(argv: string[], opts?: RunOptions): Promise<RunResult>;
  /** SIGRTMIN+4 to the leader, wait for nspawn to exit (SIGKILL after 10 s). Idempotent. */
  poweroff(): Promise<void>;
  /** nspawn's console output so far. */
  output(): string;
}

const NSPAWN_RUN = '/run/systemd/nspawn';
let nspawnTmpfsUsers = 0;
let nspawnDirCreated = false;

async function isMountPoint(p: string): Promise<boolean> {
  return (await run(['mountpoint', '-q', p])).exitCode === 0;
}

/** Our tmpfs on /run/systemd/nspawn (by its source name), and whether any machine still uses it. */
function nspawnTmpfsIdle(): boolean {
  const ours = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === NSPAWN_RUN && / - tmpfs ctrtest_nspawn /.test(l));
  // nspawn keeps its lock files after exit; a running machine has its propagate directory.
  const inUse = ['propagate'].some((d) => {
    try {
      return readdirSync(join(NSPAWN_RUN, d)).length > 0;
    } catch {
      return false;
    }
  });
  return ours && !inUse;
}

/**
 * Mount a tmpfs on /run/systemd/nspawn unless one is mounted. Other test processes (other runs on
 * this machine) may share it, so whoever releases it last while no machine uses it unmounts it.
 */
async function acquireNspawnTmpfs(cleanup: Cleanup): Promise<void> {
  if (nspawnTmpfsUsers === 0 && !(await isMountPoint(NSPAWN_RUN))) {
    nspawnDirCreated = !existsSync(NSPAWN_RUN);
    mkdirSync(NSPAWN_RUN, { recursive: true });
    await must(['mount', '-t', 'tmpfs', '-o', 'mode=755,size=16m', 'ctrtest_nspawn', NSPAWN_RUN]);
  }
  nspawnTmpfsUsers++;
  cleanup.defer(
    `release ${NSPAWN_RUN} tmpfs`,
    async () => {
      if (--nspawnTmpfsUsers > 0 || !nspawnTmpfsIdle()) return;
      await run(['mount', '--make-rslave', NSPAWN_RUN]);
      // Another process may have started a machine meanwhile: busy means it is theirs to release.
      const r = await run(['umount', NSPAWN_RUN]);
      if (r.exitCode === 0 && nspawnDirCreated) rmdirSync(NSPAWN_RUN);
    },
    {
      sync: () => {
        if (!nspawnTmpfsIdle()) return;
        runSyncQuiet(['umount', NSPAWN_RUN]);
        if (nspawnDirCreated) runSyncQuiet(['rmdir', NSPAWN_RUN]);
      },
    },
  );
}

/** Remove a cgroup directory tree depth first (only empty cgroups can go). */
function rmCgroupTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) rmCgroupTree(join(dir, e.name));
  }
  rmdirSync(dir);
}

/** Block the thread for `ms` (only for the synchronous exit fallback). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** True when a cgroup v2 directory (or a descendant) still holds processes. */
function cgroupPopulated(dir: string): boolean {
  try {
    return /^populated 1$/m.test(readFileSync(join(dir, 'cgroup.events'), 'utf8'));
  } catch {
    return false;
  }
}

/** SIGKILL every process in a cgroup v2 subtree (`cgroup.kill`, Linux ≥ 5.14). */
function killCgroup(dir: string): void {
  try {
    writeFileSync(join(dir, 'cgroup.kill'), '1');
  } catch {
    /* gone or unsupported */
  }
}

/** Cgroup dirs we create (unified) or nspawn creates (named systemd v1 hierarchy) for `name`. */
function cgroupDirs(name: string): string[] {
  return ['/sys/fs/cgroup/unified', '/sys/fs/cgroup/systemd'].filter((h) => existsSync(h)).map((h) => join(h, name));
}

/**
 * Boot `root` with `systemd-nspawn -b` as machine `machine` (make it unique per
 * world, e.g. `ctd-<id>-n`). Masks noisy host units in the guest, runs nspawn in
 * its own cgroup, waits for `is-system-running` = running/degraded. Cleanup
 * powers off, kills if needed, removes cgroups and propagate mounts.
 */
export async function bootNspawn(
  worldLike: WorldLike,
  root: string,
  machine: string,
  cleanup: Cleanup,
  opts: NspawnOptions = {},
): Promise<NspawnGuest> {
  const world = netOf(worldLike);
  if (!/^[a-zA-Z0-9][a-zA-Z0-9-]{0,63}$/.test(machine)) throw new Error(`bad machine name ${machine}`);
  await acquireNspawnTmpfs(cleanup);

  const units = [...(opts.noMask ? [] : NSPAWN_MASKED_UNITS), ...(opts.mask ?? [])];
  if (units.length > 0) await must(['systemctl', `--root=${root}`, 'mask', '--quiet', ...units]);

  const cgName = machine.startsWith(`ctd-${world.id}-`) ? machine : `ctd-${world.id}-${machine}`;
  const [unifiedCg] = cgroupDirs(cgName);
  if (!unifiedCg) throw new Error('no /sys/fs/cgroup/unified');
  // A reboot of the same machine reuses its (then empty) cgroup.
  if (existsSync(unifiedCg) && cgroupPopulated(unifiedCg)) throw new Error(`cgroup ${cgName} is in use: is ${machine} still running?`);
  mkdirSync(unifiedCg, { recursive: true });
  cleanup.defer(
    `rmdir cgroups ${cgName}`,
    async () => {
      // Anything still in our cgroup is ours (e.g. an orphaned container after SIGKILL).
      if (cgroupPopulated(unifiedCg)) {
        console.warn(`[harness] cgroup ${cgName} still populated: cgroup.kill`);
        killCgroup(unifiedCg);
        await waitFor(`cgroup ${cgName} empty`, () => !cgroupPopulated(unifiedCg), { timeoutMs: 10_000 });
      }
      for (const d of cgroupDirs(cgName)) {
        await waitFor(
          `cgroup ${d} removable`,
          () => {
            rmCgroupTree(d);
            return true;
          },
          { timeoutMs: 5_000, intervalMs: 100 },
        );
      }
    },
    {
      sync: () => {
        killCgroup(unifiedCg);
        for (let i = 0; i < 60 && cgroupPopulated(unifiedCg); i++) sleepSync(50);
        for (const d of cgroupDirs(cgName)) {
          try {
            rmCgroupTree(d);
          } catch {
            /* best effort */
          }
        }
      },
    },
  );

  const args = [
    '-q',
    '-D',
    root,
    '-M',
    machine,
    '--register=no',
    '--keep-unit',
    ...(opts.privateNetwork === 'none' ? ['--private-network'] : [`--network-namespace-path=${world.guestNsPath}`]),
    `--resolv-conf=${opts.resolvConf ?? 'off'}`,
    ...(opts.capabilities ?? []).map((c) => `--capability=${c}`),
    ...(opts.binds ?? []).map((b) => `--bind=${b}`),
    ...(opts.bindRo ?? []).map((b) => `--bind-ro=${b}`),
    ...Object.entries(opts.setenv ?? {}).map(([k, v]) => `--setenv=${k}=${v}`),
    '-b',
  ];
  // Enter our own cgroup before exec, so --keep-unit does not share one with other containers.
  const script = 'echo $$ > "$1/cgroup.procs" && shift && exec systemd-nspawn "$@"';
  const t0 = performance.now();
  const d = spawnDaemon(`systemd-nspawn ${machine}`, ['sh', '-c', script, 'sh', unifiedCg, ...args], cleanup);
  const nspawnPid = d.pid;

  const propagate = join(NSPAWN_RUN, 'propagate', machine);
  cleanup.defer(`clean ${propagate}`, async () => {
    if (!existsSync(propagate)) return;
    if (await isMountPoint(propagate)) {
      await run(['mount', '--make-rslave', propagate]);
      await must(['umount', '-R', propagate]);
    }
    rmdirSync(propagate);
  });

  let leaderPid = 0;
  let stopping: Promise<void> | null = null;
  const poweroff = (): Promise<void> => {
    stopping ??= (async () => {
      if (d.child.exitCode !== null || d.child.signalCode !== null) return;
      // SIGRTMIN+4 = poweroff for systemd; before the leader is known, nspawn's own SIGTERM handling halts it.
      if (leaderPid) await run(['kill', '-s', 'SIGRTMIN+4', String(leaderPid)]);
      else await run(['kill', '-s', 'SIGTERM', String(nspawnPid)]);
      // A guest stopping a user session (logind, systemd --user) may take a while on a loaded machine.
      const done = await Promise.race([d.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20_000))]);
      if (!done) {
        console.warn(`[harness] nspawn ${machine} did not power off in 20 s; killing`);
        await killAndWait(nspawnPid, { signal: 'SIGKILL', child: d.child });
        // Killing nspawn leaves the container's processes in our cgroup: end them too, so a reboot finds it empty.
        if (cgroupPopulated(unifiedCg)) {
          killCgroup(unifiedCg);
          await waitFor(`cgroup ${cgName} empty`, () => !cgroupPopulated(unifiedCg), { timeoutMs: 10_000 });
        }
      }
    })();
    return stopping;
  };
  cleanup.defer(`poweroff nspawn ${machine}`, poweroff, {
    sync: () => {
      if (leaderPid) killSync(leaderPid);
      killSync(nspawnPid);
    },
  });

  // The leader is nspawn's child in a new PID namespace (the transient "outer child" is not).
  const nspawnPidNs = readlinkSync(`/proc/${nspawnPid}/ns/pid`);
  leaderPid = await waitFor(
    `nspawn ${machine} leader`,
    () => {
      if (d.child.exitCode !== null) throw new Error(`systemd-nspawn exited: ${d.output()}`);
      return childrenOf(nspawnPid).find((c) => {
        try {
          return readlinkSync(`/proc/${c}/ns/pid`) !== nspawnPidNs && commOf(c) === 'systemd';
        } catch {
          return false;
        }
      });
    },
    { timeoutMs: 10_000, intervalMs: 20 },
  );

  const exec = (argv: string[], o?: RunOptions): Promise<RunResult> => run(['nsenter', '-t', String(leaderPid), '-a', ...argv], o);
  let state = '';
  await waitFor(
    `nspawn ${machine} to reach running`,
    async () => {
      if (d.child.exitCode !== null) throw new Error(`systemd-nspawn exited: ${d.output()}`);
      state = (await exec(['systemctl', 'is-system-running'], { timeoutMs: 5_000 })).stdout.trim();
      return state === 'running' || state === 'degraded';
    },
    { timeoutMs: opts.bootTimeoutMs ?? 20_000, intervalMs: 100 },
  ).catch((e: unknown) => {
    throw new Error(`${String(e)} (last state ${state || 'none'}); console:\n${d.output().slice(-3000)}`);
  });
  const bootMs = performance.now() - t0;
  if (state === 'degraded') {
    const failed = await exec(['systemctl', '--failed', '--no-legend', '--plain']);
    console.warn(`[harness] nspawn ${machine} degraded: ${failed.stdout.trim()}`);
  }
  return { nspawnPid, leaderPid, machine, state, bootMs, exec, poweroff, output: d.output };
}
