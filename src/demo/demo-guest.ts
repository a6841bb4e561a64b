import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readlink, rmdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCommand } from '../host/run-command.js';
import { HOST_ENV, hostTool } from '../host/host-programs.js';
import { describeExit } from '../fixes/command-steps.js';
import { shellQuote } from '../fixes/plans/shell-quote.js';
import { buildCopiedRoot } from './copied-root.js';
import { breakGuest, demoSessionEnv, DEMO_UID } from './break-guest.js';

/** A throwaway broken guest: a root on its own tmpfs, a process chrooted into it, in its own network namespace. */
export interface DemoGuest {
  /** The temp dir holding everything (a tmpfs mount). */
  base: string;
  root: string;
  /** How the root was made. */
  method: 'overlay' | 'copy';
  netns: string;
  /** The chrooted `sleep` that makes it a running guest. */
  pid: number;
  /** The TARGET to give ctr-doctor. */
  target: string;
  /** A shell command that removes it all (printed by `--keep`). */
  cleanupCommand: string;
  /** Removes it all; returns what could not be removed. */
  destroy(): Promise<string[]>;
}

const NETNS_DIR = '/run/netns';

async function must(argv: string[]): Promise<void> {
  const result = await runCommand(argv, { timeoutMs: 30_000 });
  if (result.exitCode !== 0) throw new Error(describeExit(argv, result));
}

const isMountPoint = async (p: string) => (await runCommand(['mountpoint', '-q', p], { timeoutMs: 5000 })).exitCode === 0;

/** Waits until `pid` runs `comm` with its root at `root`. */
async function waitForChroot(pid: number, root: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await readlink(`/proc/${pid}/root`).catch(() => null)) === root) return;
    await sleep(10);
  }
  throw new Error(`the demo's chrooted sleep (pid ${pid}) did not start`);
}

/** Teardown actions, run newest first; each failure is collected, none stops the others. */
class Teardown {
  private readonly steps: { label: string; run: () => Promise<void> }[] = [];
  readonly commands: string[] = [];

  add(label: string, command: string, run: () => Promise<void>): void {
    this.steps.push({ label, run });
    this.commands.push(command);
  }

  async run(): Promise<string[]> {
    const problems: string[] = [];
    for (const step of this.steps.splice(0).reverse()) {
      await step.run().catch((error: unknown) => problems.push(`${step.label}: ${(error as Error).message}`));
    }
    return problems;
  }

  /** The shell line that does the same, newest first. */
  shell(): string {
    return [...this.commands].reverse().join('; ');
  }
}

/**
 * Builds the demo guest: a tmpfs in a temp dir, an overlay of `/` on it (or a copied minimal
 * root), a fresh tmpfs on its /run, the seed's breakage, a network namespace with only `lo`,
 * and a `sleep` chrooted into it as uid 1000 inside that namespace. Everything is undone by `destroy`.
 */
export async function buildDemoGuest(log: (line: string) => void): Promise<DemoGuest> {
  const teardown = new Teardown();
  try {
    const base = await mkdtemp(path.join(os.tmpdir(), 'ctr-doctor-demo-'));
    teardown.add(`remove ${base}`, `rmdir ${shellQuote(base)}`, () => rmdir(base));
    // Root's alone (0700): the guest runs as a real uid 1000, and no host process of that uid may reach its root
    // to root a decoy there (a process whose root is the demo's would be a session candidate: audit L6).
    await must(['mount', '-t', 'tmpfs', '-o', 'mode=700,uid=0,gid=0,size=512m', 'ctr-doctor-demo', base]);
    teardown.add(`unmount ${base}`, `umount -R ${shellQuote(base)}`, async () => {
      await runCommand(['mount', '--make-rslave', base]);
      await must(['umount', '-R', base]);
    });
    await must(['mount', '--make-private', base]);
    const root = path.join(base, 'root');
    for (const dir of ['upper', 'work', 'root', 'state']) await mkdir(path.join(base, dir));

    let method: DemoGuest['method'] = 'overlay';
    const overlay = await runCommand(
      ['mount', '-t', 'overlay', '-o', `lowerdir=/,upperdir=${base}/upper,workdir=${base}/work`, 'ctr-doctor-demo', root],
      { timeoutMs: 30_000 },
    );
    if (overlay.exitCode === 0 && (await isMountPoint(root))) {
      teardown.add(`unmount ${root}`, `umount -R ${shellQuote(root)}`, async () => {
        await runCommand(['mount', '--make-rslave', root]);
        await must(['umount', '-R', root]);
      });
    } else {
      method = 'copy';
      log(`overlay of / not available (${(overlay.stderr.trim() || 'mount failed').split('\n')[0]}); copying a minimal root instead`);
      await buildCopiedRoot(root);
    }
    await mkdir(path.join(root, 'run'), { recursive: true });
    // A fresh /run, as after boot: nothing of the host's /run/user leaks in.
    await must(['mount', '-t', 'tmpfs', '-o', 'mode=755,size=16m', 'ctr-doctor-demo-run', path.join(root, 'run')]);
    const user = await breakGuest(root);

    const netns = `ctr-doctor-demo-${process.pid}`;
    const netnsDirWasMounted = await isMountPoint(NETNS_DIR);
    await must(['ip', 'netns', 'add', netns]);
    teardown.add(`delete netns ${netns}`, `ip netns del ${netns}`, async () => {
      await must(['ip', 'netns', 'del', netns]);
      // `ip netns add` bind-mounts /run/netns onto itself the first time; put that back too.
      if (!netnsDirWasMounted && (await readdir(NETNS_DIR).catch(() => ['?'])).length === 0) {
        await runCommand(['umount', NETNS_DIR]);
        await rmdir(NETNS_DIR).catch(() => undefined);
      }
    });
    await must(['ip', '-n', netns, 'link', 'set', 'lo', 'up']);

    const env = Object.entries(demoSessionEnv(user)).map(([k, v]) => `${k}=${v}`);
    const child = spawn(
      hostTool('nsenter'),
      [
        `--net=${NETNS_DIR}/${netns}`,
        hostTool('chroot'),
        `--userspec=${DEMO_UID}:${DEMO_UID}`,
        `--groups=${DEMO_UID}`,
        root,
        '/usr/bin/env',
        '-i',
        ...env,
        'sleep',
        '600',
      ],
      { stdio: 'ignore', env: { ...HOST_ENV } },
    );
    const pid = child.pid;
    if (pid === undefined) throw new Error("could not start the demo guest's sleep");
    const exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        resolve();
      }),
    );
    teardown.add(`stop the guest's sleep (pid ${pid})`, `kill ${pid}`, async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await Promise.race([exited, sleep(5000)]);
    });
    await waitForChroot(pid, root);
    child.unref();

    return {
      base,
      root,
      method,
      netns,
      pid,
      target: `chroot:${root}`,
      cleanupCommand: teardown.shell(),
      destroy: () => teardown.run(),
    };
  } catch (error) {
    const problems = await teardown.run();
    if (problems.length > 0) log(`cleanup after a failed start: ${problems.join('; ')}`);
    throw error;
  }
}
