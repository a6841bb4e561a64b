// The guest-files server (check --all's guest reads with synchronous calls in a child process):
// the same answers as the main thread's walk, the deadline policy for a request that never
// answers (a hung mount), the pass's root handle kept open under it, and a CLI that still exits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { GuestFiles, beginReadPass } from '../../../src/guest/guest-files.js';
import { endLiveChildren } from '../../../src/core/live-children.js';
import {
  endGuestFilesServers,
  deadlineMs,
  guestFilesServerInUse,
  guestFilesServerPids,
  useGuestFilesServer,
} from '../../../src/guest/guest-files-client.js';
import { resolveGuestPath, InRootError } from '../../../src/guest/in-root.js';
import { readFileCapped } from '../../../src/guest/capped-read.js';
import { walkInRoot, walkInRootSync } from '../../../src/guest/walk-in-root.js';
import { closeAll, runStepsSync } from '../../../src/guest/walk-steps.js';
import * as fs from 'node:fs';
import { makeHostileRoot } from '../support/hostile-links.js';

let base: string;
let root: string;
let other: string;

/** Paths that take every way of the walk: plain, links (absolute, relative, out of the root), loops, FIFO, device, missing. */
const PATHS = [
  '/etc/hosts',
  '/etc/abs-link',
  '/etc/rel-link',
  '/etc/host-abs',
  '/etc/host-dotdot',
  '/etc/loop-a',
  '/etc/dangling',
  '/etc/to-root',
  '/etc/to-root/etc/hosts',
  '/etc/fifo',
  '/etc/zero-link',
  '/etc/big',
  '/etc/hosts/below-a-file',
  '/../../etc/./hosts',
  '/missing/deeper',
  '/',
  '/etc',
];

beforeAll(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'ctd-fsrv-'));
  ({ root } = makeHostileRoot(base));
  other = path.join(base, 'other');
  mkdirSync(path.join(other, 'etc'), { recursive: true });
  writeFileSync(path.join(other, 'etc/hosts'), 'other\n');
  symlinkSync('/dev/zero', path.join(root, 'etc/zero-link'));
  execFileSync('mkfifo', [path.join(root, 'etc/fifo')]);
  execFileSync('mkfifo', [path.join(root, 'hang')]);
  const fd = openSync(path.join(root, 'etc/big'), 'w');
  ftruncateSync(fd, 3 * 1024 * 1024);
  closeSync(fd);
});

afterAll(() => {
  endGuestFilesServers();
  rmSync(base, { recursive: true, force: true });
});

/** Every operation on every path, in one pass (the pass's held root, as a diagnosis reads). */
async function everything(): Promise<unknown[]> {
  const end = beginReadPass(root);
  const files = new GuestFiles(root);
  try {
    return await Promise.all(
      PATHS.flatMap((p) => [
        files.stat(p),
        files.stat(p, { followLast: false }),
        files.readFile(p, { maxBytes: 4096 }),
        files.readlink(p),
        files.readdir(p),
        resolveGuestPath(root, p).catch((e: unknown) => (e instanceof InRootError ? `${e.reason}: ${e.message}` : e)),
      ]),
    );
  } finally {
    end();
  }
}

/** Whether a process is still there (a zombie counts as gone). */
function running(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** The descriptors of this process that hold `dir`. */
function fdsOn(dir: string): string[] {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === dir;
    } catch {
      return false;
    }
  });
}

/** What a walk found, whichever driver made it (handles left out: numbers or FileHandles). */
const found = (w: { guestPath: string; stats: fs.Stats | null; name: string; symlinks: unknown[]; dirs: { guestPath: string }[] }) => ({
  guestPath: w.guestPath,
  ino: w.stats?.ino ?? null,
  name: w.name,
  symlinks: w.symlinks,
  dirs: w.dirs.map((d) => d.guestPath),
});

/** A started server for one test: its pid, and passes that are ended with it (ending one earlier is fine: an end is idempotent). */
interface TestServer {
  pid: number | undefined;
  beginPass: (root: string) => () => void;
}

/** Runs `body` with a fresh guest-files server under the test variables asked for, then ends its passes, the servers and the variables, whatever happened. */
async function withServers(env: { hang?: boolean; deadlineMs?: number }, body: (server: TestServer) => Promise<void>): Promise<void> {
  endGuestFilesServers();
  if (env.hang) process.env.CTR_DOCTOR_TEST_HANG_PATH = '/hang';
  if (env.deadlineMs !== undefined) process.env.CTR_DOCTOR_FILES_DEADLINE_MS = String(env.deadlineMs);
  const ends: (() => void)[] = [];
  try {
    useGuestFilesServer();
    const [pid] = guestFilesServerPids();
    await body({
      pid,
      beginPass: (at) => {
        const end = beginReadPass(at);
        ends.push(end);
        return end;
      },
    });
  } finally {
    for (const end of ends) end();
    delete process.env.CTR_DOCTOR_TEST_HANG_PATH;
    delete process.env.CTR_DOCTOR_FILES_DEADLINE_MS;
    endGuestFilesServers();
  }
}

describe('guest-files server', () => {
  it('walks like the main thread: the synchronous driver finds what the async one finds', async () => {
    for (const p of PATHS)
      for (const followLast of [true, false]) {
        const sync = (() => {
          try {
            const w = walkInRootSync(root, p, { followLast });
            runStepsSync(closeAll(w.held), fs);
            return found(w);
          } catch (e) {
            return String(e);
          }
        })();
        const async = await walkInRoot(root, p, { followLast }).then(
          async (w) => {
            await w.close();
            return found(w);
          },
          (e: unknown) => String(e),
        );
        expect(sync, `${p} followLast=${String(followLast)}`).toEqual(async);
      }
  });

  it('answers every operation exactly as this thread does, hostile paths included, and never opens the FIFO', async () => {
    expect(guestFilesServerInUse()).toBe(false);
    const here = await everything();
    useGuestFilesServer();
    expect(guestFilesServerInUse()).toBe(true);
    const there = await everything();
    expect(there).toEqual(here);
    expect(guestFilesServerPids().length).toBe(1);
    // The links out of the root found nothing of the host's; the FIFO and the device were refused, not read.
    const texts = there.filter(
      (v): v is { ok: true; text: string } => typeof v === 'object' && v !== null && (v as { ok?: boolean }).ok === true,
    );
    expect(texts.map((t) => t.text).join('')).not.toContain('HOST');
    expect(there).toContainEqual({ ok: false, reason: 'not-a-file', message: '/etc/fifo is a fifo, not a regular file' });
    expect(there).toContainEqual(expect.objectContaining({ ok: true, truncated: true }));
  });

  it('reads host files as this thread does: capped, FIFOs and devices refused, /proc/self about the CLI itself', async () => {
    const reads = () =>
      Promise.all([
        readFileCapped(path.join(root, 'etc/hosts'), 1024),
        readFileCapped(path.join(root, 'etc/hosts'), 4),
        readFileCapped(path.join(root, 'etc/fifo'), 1024),
        readFileCapped('/dev/zero', 1024),
        readFileCapped(path.join(root, 'nope'), 1024),
        readFileCapped(path.join(root, 'etc'), 1024),
      ]);
    endGuestFilesServers();
    const here = await reads();
    useGuestFilesServer();
    expect(await reads()).toEqual(here);
    expect(here).toEqual(['127.0.0.1 localhost\n', '127.', null, null, null, null]);
    // Ours, even with the server in use: its /proc/self would be the server's.
    expect(await readFileCapped('/proc/self/status', 64 * 1024)).toMatch(new RegExp(`^Pid:\\s+${process.pid}$`, 'm'));
  });

  it('a server that never comes up (killed while it loads): its reads and all later ones are made on this thread', async () => {
    endGuestFilesServers();
    useGuestFilesServer();
    const [pid] = guestFilesServerPids();
    process.kill(pid!, 'SIGKILL');
    const end = beginReadPass(root);
    const files = new GuestFiles(root);
    try {
      expect(await files.readFile('/etc/abs-link')).toMatchObject({ ok: true, text: 'target\n' });
      expect(guestFilesServerInUse()).toBe(false);
      expect(await files.stat('/etc/hosts')).toMatchObject({ type: 'file', guestPath: '/etc/hosts' });
      expect(guestFilesServerPids()).toEqual([]);
    } finally {
      end();
      endGuestFilesServers();
    }
  });

  it("the CLI's end ends the server and waits for it: nothing of it is left, not even a zombie", async () => {
    endGuestFilesServers();
    useGuestFilesServer();
    const [pid] = guestFilesServerPids();
    const end = beginReadPass(root);
    try {
      expect(await new GuestFiles(root).readFile('/etc/hosts')).toMatchObject({ ok: true });
    } finally {
      end();
    }
    expect(fs.existsSync(`/proc/${pid}`)).toBe(true);
    await endLiveChildren();
    expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
    endGuestFilesServers();
  });

  it('a request that never answers: lost after the deadline, its server killed, the requests behind it answered', async () => {
    await withServers({ hang: true, deadlineMs: 300 }, async ({ pid: stuckPid }) => {
      const endRoot = beginReadPass(root);
      const endOther = beginReadPass(other);
      const files = new GuestFiles(root);
      const started = performance.now();
      const hung = files.readFile('/hang');
      const behind = files.readFile('/etc/hosts');
      const otherGuest = new GuestFiles(other).readFile('/etc/hosts');
      expect(await hung).toEqual({ ok: false, reason: 'io', message: '/hang: no answer in 300 ms (a hung file system in the guest?)' });
      expect(performance.now() - started).toBeLessThan(5000);
      expect(await behind).toMatchObject({ ok: true, text: '127.0.0.1 localhost\n' });
      expect(await otherGuest).toMatchObject({ ok: true, text: 'other\n' });
      // The pass ends while the stuck server may still use its root's descriptor: that one stays open until it is dead.
      endRoot();
      endOther();
      await new Promise((r) => setTimeout(r, 200));
      expect(running(stuckPid!)).toBe(false);
      expect(fdsOn(root)).toEqual([]);
      // That guest now has a server of its own: the next hang there stalls no other guest.
      const pids = guestFilesServerPids();
      expect(pids).not.toContain(stuckPid);
      const end2 = beginReadPass(other);
      expect(await new GuestFiles(other).readFile('/etc/hosts')).toMatchObject({ ok: true });
      end2();
    });
  });

  it('a batch hung in its middle: the requests before the hung one answer for real, only it is lost, those behind it too', async () => {
    await withServers({ hang: true, deadlineMs: 300 }, async ({ pid: stuckPid, beginPass }) => {
      // It answers batches in one message and shows its progress in an unnamed file (its descriptor 4).
      await new Promise((r) => setTimeout(r, 100));
      expect(readlinkSync(`/proc/${stuckPid!}/fd/4`)).toMatch(/^\/(dev\/shm|tmp)\/#\d+ \(deleted\)$/);
      const end = beginPass(root);
      const files = new GuestFiles(root);
      const started = performance.now();
      // One turn of the loop: one batch, the hung read third.
      const before = [files.readFile('/etc/hosts'), files.stat('/etc/abs-link')];
      const hung = files.readFile('/hang');
      const behind = [files.readFile('/etc/rel-link'), files.readdir('/etc')];
      const answered = await Promise.all([...before, hung, ...behind]);
      expect(performance.now() - started).toBeGreaterThanOrEqual(290);
      expect(performance.now() - started).toBeLessThan(5000);
      expect(answered[0]).toMatchObject({ ok: true, text: '127.0.0.1 localhost\n' });
      expect(answered[1]).toMatchObject({ type: 'file', guestPath: '/run/x/target' });
      expect(answered[2]).toEqual({ ok: false, reason: 'io', message: '/hang: no answer in 300 ms (a hung file system in the guest?)' });
      expect(answered[3]).toMatchObject({ ok: true, text: 'target\n' });
      expect(answered[4]).toEqual(expect.arrayContaining(['hosts', 'abs-link']));
      end();
      // The pass's root stays open until the stuck server is dead (its number must not be reused under it), then closes.
      for (let i = 0; i < 150 && fdsOn(root).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(fdsOn(root)).toEqual([]);
      expect(running(stuckPid!)).toBe(false);
      expect(guestFilesServerPids()).not.toContain(stuckPid);
    });
  });

  it('a batch of fast requests that takes longer than the deadline in all loses none: each request has its own', async () => {
    await withServers({}, async ({ beginPass }) => {
      beginPass(root);
      const files = new GuestFiles(root);
      /** One turn of the loop: one batch of `n` distinct paths (a pass walks each path once); its answers and how long it took. */
      const batch = async (tag: string, n: number) => {
        const started = performance.now();
        const answers = await Promise.all(Array.from({ length: n }, (_, i) => files.readFile(`/etc/nope-${tag}-${i}`)));
        return { answers, ms: performance.now() - started };
      };
      // This machine's pace first (with the default deadline; after a warm-up), then a deadline an eighth of the long batch's time.
      await batch('warm', 3000);
      const pace = await batch('pace', 3000);
      const deadline = Math.max(100, Math.round(pace.ms / 2));
      process.env.CTR_DOCTOR_FILES_DEADLINE_MS = String(deadline);
      const long = await batch('long', 12_000);
      // Else the test proves nothing: the batch as a whole outlasted the deadline.
      expect(long.ms).toBeGreaterThan(deadline);
      expect(long.answers.filter((a) => a.ok || a.reason !== 'missing')).toEqual([]);
    });
  });

  it('a server that dies in the middle of a batch: what it had made answers for real, the rest as lost with why, as before', async () => {
    await withServers({ hang: true, deadlineMs: 60000 }, async ({ pid, beginPass }) => {
      beginPass(root);
      const files = new GuestFiles(root);
      const answers = Promise.all([files.readFile('/etc/hosts'), files.readFile('/hang'), files.readFile('/etc/rel-link')]);
      // Stuck on the FIFO (its answers so far unsent); then killed, by something else than the deadline.
      await new Promise((r) => setTimeout(r, 300));
      process.kill(pid!, 'SIGKILL');
      const [first, hung, behind] = await answers;
      expect(first).toMatchObject({ ok: true, text: '127.0.0.1 localhost\n' });
      const lost = { ok: false, reason: 'io', message: '/hang: the guest-files server ended (killed by SIGKILL)' };
      expect(hung).toEqual(lost);
      expect(behind).toEqual({ ...lost, message: '/etc/rel-link: the guest-files server ended (killed by SIGKILL)' });
    });
  });

  it('holds the pass root open while a request is in the server, even when the pass ends first', async () => {
    await withServers({ hang: true, deadlineMs: 400 }, async ({ beginPass }) => {
      const end = beginPass(root);
      const hung = new GuestFiles(root).readFile('/hang');
      await new Promise((r) => setTimeout(r, 100));
      end();
      // Ended, but the server still walks from that descriptor number: it must not be closed (and reused) under it.
      expect(fdsOn(root).length).toBe(1);
      expect(await hung).toMatchObject({ ok: false, reason: 'io' });
      await new Promise((r) => setTimeout(r, 200));
      expect(fdsOn(root)).toEqual([]);
    });
  });

  it('a process with a server stuck in a blocking open still exits at once, with its exit code, and leaves no server behind', () => {
    const dist = (rel: string) => pathToFileURL(path.resolve(__dirname, '../../../dist/src/guest', rel)).href;
    const script = `
      const { GuestFiles, beginReadPass } = await import(${JSON.stringify(dist('guest-files.js'))});
      const client = await import(${JSON.stringify(dist('guest-files-client.js'))});
      client.useGuestFilesServer();
      beginReadPass(${JSON.stringify(root)});
      void new GuestFiles(${JSON.stringify(root)}).readFile('/hang');
      setTimeout(() => { process.stdout.write(client.guestFilesServerPids().join(' ')); process.exit(5); }, 300);
    `;
    const started = Date.now();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH, CTR_DOCTOR_TEST_HANG_PATH: '/hang', CTR_DOCTOR_FILES_DEADLINE_MS: '60000' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status, r.stderr).toBe(5);
    expect(Date.now() - started).toBeLessThan(10_000);
    const pid = Number(r.stdout.trim());
    expect(pid).toBeGreaterThan(0);
    expect(running(pid)).toBe(false);
  });

  it("reuses a pass's directories for its later walks, closes them when the pass ends, and never serves another pass from them", async () => {
    endGuestFilesServers();
    useGuestFilesServer();
    const [pid] = guestFilesServerPids();
    /** The server's descriptors on `dir` or below it. */
    const serverFdsUnder = (dir: string): string[] =>
      readdirSync(`/proc/${pid!}/fd`).flatMap((fd) => {
        try {
          const target = readlinkSync(`/proc/${pid!}/fd/${fd}`);
          return target === dir || target.startsWith(dir + '/') ? [target] : [];
        } catch {
          return [];
        }
      });
    const gone = async (dir: string): Promise<string[]> => {
      for (let i = 0; i < 100 && serverFdsUnder(dir).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
      return serverFdsUnder(dir);
    };
    mkdirSync(path.join(root, 'srv/a'), { recursive: true });
    writeFileSync(path.join(root, 'srv/a/one'), 'one\n');
    try {
      const endA = beginReadPass(root);
      const a = new GuestFiles(root);
      expect(await a.readFile('/srv/a/one')).toMatchObject({ ok: true, text: 'one\n' });
      const rootFdA = fdsOn(root);
      expect(rootFdA.length).toBe(1);
      // Held for the pass: its root (opened once) and the directories on the way.
      expect(serverFdsUnder(root).sort()).toEqual([root, path.join(root, 'srv'), path.join(root, 'srv/a')]);
      renameSync(path.join(root, 'srv/a'), path.join(root, 'srv/old'));
      mkdirSync(path.join(root, 'srv/a'));
      writeFileSync(path.join(root, 'srv/a/two'), 'new\n');
      writeFileSync(path.join(root, 'srv/old/two'), 'old\n');
      // A later walk of the same pass goes through the directory the pass walked (one guest for the pass).
      expect(await a.readFile('/srv/a/two')).toMatchObject({ ok: true, text: 'old\n' });
      endA();
      expect(await gone(root)).toEqual([]);
      // The next pass on another root gets the same descriptor number in this process: nothing of the pass before answers it.
      const endOther = beginReadPass(other);
      expect(await new GuestFiles(other).readFile('/etc/hosts')).toMatchObject({ ok: true, text: 'other\n' });
      expect(fdsOn(other)).toEqual(rootFdA);
      endOther();
      expect(await gone(other)).toEqual([]);
      // And the next pass on this root walks what is there now.
      const endB = beginReadPass(root);
      expect(await new GuestFiles(root).readFile('/srv/a/two')).toMatchObject({ ok: true, text: 'new\n' });
      endB();
      expect(await gone(root)).toEqual([]);
    } finally {
      rmSync(path.join(root, 'srv'), { recursive: true, force: true });
      endGuestFilesServers();
    }
  });

  it("gives a request half of the run's --timeout, at least 1 s, unless CTR_DOCTOR_FILES_DEADLINE_MS says otherwise", () => {
    expect(deadlineMs({})).toBe(1000);
    useGuestFilesServer(10_000);
    expect(deadlineMs({})).toBe(5000);
    expect(deadlineMs({ CTR_DOCTOR_FILES_DEADLINE_MS: '250' })).toBe(250);
    useGuestFilesServer(500);
    expect(deadlineMs({})).toBe(1000);
    useGuestFilesServer(2000);
    endGuestFilesServers();
  });
});
