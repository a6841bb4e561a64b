import { describe, expect, it } from 'vitest';
import {
  holderScanInput,
  holderScanMain,
  type HolderScanFs,
  type HolderScanInput,
  type HolderScanMessage,
} from '../../../src/host/mount-holders-by-id.js';
import { parseMountinfo } from '../../../src/parse/mountinfo.js';
import { hostProcess } from '../support/fake-host.js';

/** A /proc in memory: magic links with the mount id the kernel would give what they lead to, files, directories, errors. */
type Node = { link: string; mnt?: number } | { file: string } | { dir: string[] } | { error: string };

const O_PATH = 0o10000000;

/** The node:fs calls of the scan over `tree`; every path it touches is logged. */
function fakeProc(tree: Record<string, Node>): { fs: HolderScanFs; log: string[] } {
  const log: string[] = [];
  const open = new Map<number, { text: string; at: number }>();
  let next = 100;
  const fail = (code: string): never => {
    throw Object.assign(new Error(code), { code });
  };
  const node = (p: string): Node => tree[p] ?? fail('ENOENT');
  const check = (n: Node): Node => ('error' in n ? fail(n.error) : n);
  const fs = {
    readlinkSync: (p: string) => {
      log.push(`readlink ${p}`);
      const n = check(node(p));
      return 'link' in n ? n.link : fail('EINVAL');
    },
    readdirSync: (p: string) => {
      log.push(`readdir ${p}`);
      const n = check(node(p));
      return 'dir' in n ? n.dir : fail('ENOTDIR');
    },
    openSync: (p: string, flags?: number | string) => {
      log.push(`open ${p}`);
      const self = /^\/proc\/self\/fdinfo\/(\d+)$/.exec(p);
      let text: string;
      if (self) text = open.get(Number(self[1]))?.text ?? fail('ENOENT');
      else {
        const n = check(node(p));
        if (flags === O_PATH) text = `pos:\t0\nflags:\t012000000\nmnt_id:\t${'link' in n ? (n.mnt ?? 1) : 1}\nino:\t5\n`;
        else text = 'file' in n ? n.file : fail('EISDIR');
      }
      open.set(next, { text, at: 0 });
      return next++;
    },
    readSync: (fd: number, buf: Buffer, off: number, len: number) => {
      const f = open.get(fd)!;
      const chunk = Buffer.from(f.text.slice(f.at, f.at + len), 'latin1');
      chunk.copy(buf, off);
      f.at += chunk.length;
      return chunk.length;
    },
    closeSync: (fd: number) => void open.delete(fd),
  };
  return { fs: fs as unknown as HolderScanFs, log };
}

// The host's root (27), and a chroot's leftover mounts: proc (40, device 0:28) and /dev/shm (42, device 0:2a).
const MOUNTS = parseMountinfo(
  [
    '27 1 254:0 / / rw - ext4 /dev/vda rw',
    '40 27 0:40 / /srv/g/proc rw - proc proc rw',
    '41 27 0:6 / /srv/g/dev rw - devtmpfs devtmpfs rw',
    '42 41 0:42 / /srv/g/dev/shm rw - tmpfs tmpfs rw',
  ].join('\n'),
);
const OWN = 'mnt:[4026531841]';

/** A process of our mount namespace, rooted at our root, with these links and files. */
function proc(pid: number, parts: { cwd?: Node; fds?: Record<string, Node>; maps?: string; mntns?: string; comm?: string }) {
  const d = `/proc/${pid}`;
  const fds = parts.fds ?? {};
  const out: Record<string, Node> = {
    [`${d}/ns/mnt`]: { link: parts.mntns ?? OWN },
    [`${d}/cwd`]: parts.cwd ?? { link: '/', mnt: 27 },
    [`${d}/fd`]: { dir: Object.keys(fds) },
    [`${d}/maps`]: { file: parts.maps ?? '' },
    [`${d}/comm`]: { file: `${parts.comm ?? 'sleep'}\n` },
  };
  for (const [n, link] of Object.entries(fds)) {
    out[`${d}/fd/${n}`] = link;
    if ('link' in link) out[`${d}/fdinfo/${n}`] = { file: `pos:\t0\nflags:\t02\nmnt_id:\t${link.mnt ?? 27}\nino:\t9\n` };
  }
  return out;
}

function run(tree: Record<string, Node>, pids: number[], more: Partial<HolderScanInput> = {}) {
  const { fs, log } = fakeProc(tree);
  const input = {
    ...holderScanInput(
      // Mount namespaces not known from the process scan: the scan reads each one's link.
      pids.map((pid) => hostProcess({ pid, rootId: '1:2', mntns: null })),
      MOUNTS,
      new Set([40, 41, 42]),
      { ownMntns: OWN, ownRootId: '1:2', budgetMs: Infinity, selfPid: 1 },
    ),
    ...more,
  };
  const messages: HolderScanMessage[] = [];
  holderScanMain(input, fs, (m) => messages.push(m));
  const holders = messages.flatMap((m) => (m.kind === 'holders' ? m.holders : []));
  const done = messages.find((m) => m.kind === 'done');
  return { holders, done, log };
}

describe('holderScanMain: the holders of some mounts, by the mount id the kernel gives what each process holds', () => {
  it('names a cwd and an open file on the mounts, and not a file whose name only looks like it lies on one', () => {
    const { holders, done } = run(
      {
        ...proc(10, { cwd: { link: '/srv/g/proc/1', mnt: 40 }, comm: 'bash' }),
        // Beside the mount point, on the root filesystem: the path reads like one on /srv/g/dev.
        ...proc(11, { fds: { 0: { link: '/srv/g/dev (deleted)', mnt: 27 }, 3: { link: '/srv/g/dev/shm/x', mnt: 42 } } }),
      },
      [10, 11],
    );
    expect(holders).toEqual([
      { pid: 10, comm: 'bash', how: 'cwd', path: '/srv/g/proc/1', mountId: 40 },
      { pid: 11, comm: 'sleep', how: 'fd', path: '/srv/g/dev/shm/x', mountId: 42 },
    ]);
    expect(done).toMatchObject({ read: 2, total: 2, unreadable: 0, stoppedAtBudget: false });
  });

  it('reads no fdinfo for a link that cannot lie on the mounts (sockets, other directories)', () => {
    const { holders, log } = run(proc(12, { fds: { 0: { link: 'socket:[123]' }, 1: { link: '/var/log/x', mnt: 27 } } }), [12]);
    expect(holders).toEqual([]);
    expect(log.filter((l) => l.includes('fdinfo'))).toEqual([]);
  });

  it('reads nothing more of a process in another mount namespace (it holds that namespace’s copies)', () => {
    const { holders, log } = run(proc(13, { mntns: 'mnt:[4026532000]', cwd: { link: '/srv/g/proc', mnt: 40 } }), [13]);
    expect(holders).toEqual([]);
    expect(log).toEqual(['readlink /proc/13/ns/mnt']);
  });

  it('finds a mapping by the device of its maps line, then by its map_files mount id', () => {
    const maps = [
      '7f0000000000-7f0000001000 rw-s 00000000 00:2a 77 /srv/g/dev/shm/seg',
      '7f0000002000-7f0000003000 r--p 00000000 fe:00 88 /usr/lib/libc.so.6',
      '7f0000004000-7f0000005000 rw-s 00000000 00:2a 79 /srv/g/dev/shm/other-ns-copy',
      '',
    ].join('\n');
    const tree = {
      ...proc(14, { maps }),
      '/proc/14/map_files/7f0000000000-7f0000001000': { link: '/srv/g/dev/shm/seg', mnt: 42 },
      '/proc/14/map_files/7f0000004000-7f0000005000': { link: '/srv/g/dev/shm/other-ns-copy', mnt: 99 },
    };
    const { holders, log } = run(tree, [14]);
    expect(holders).toEqual([{ pid: 14, comm: 'sleep', how: 'map', path: '/srv/g/dev/shm/seg', mountId: 42 }]);
    // libc's mapping is on another device: never opened.
    expect(log.some((l) => l.includes('7f0000002000'))).toBe(false);
  });

  it('stops at its budget and says how far it got', () => {
    const { done, log } = run({ ...proc(15, {}), ...proc(16, {}) }, [15, 16], { budgetMs: -1 });
    expect(done).toMatchObject({ read: 0, total: 2, stoppedAtBudget: true });
    expect(log).toEqual([]);
  });

  it('counts its budget from when it was asked for: waiting for the scan thread comes out of it, down to a quarter', () => {
    const now = performance.timeOrigin + performance.now();
    const waited = run({ ...proc(15, {}), ...proc(16, {}) }, [15, 16], { budgetMs: 0.001, askedAt: now - 60 });
    expect(waited.done).toMatchObject({ read: 0, total: 2, stoppedAtBudget: true });
    expect(waited.done?.kind === 'done' && waited.done.elapsedMs).toBeGreaterThanOrEqual(60);
    expect(waited.log).toEqual([]);
    // Waited longer than its whole budget: a quarter of it (15 s here) is still left for reading.
    const late = run({ ...proc(15, {}), ...proc(16, {}) }, [15, 16], { budgetMs: 60_000, askedAt: now - 70_000 });
    expect(late.done).toMatchObject({ read: 2, total: 2, stoppedAtBudget: false });
  });

  it('counts a process whose fds it may not read as unreadable (not root)', () => {
    const tree = { ...proc(17, {}), '/proc/17/fd': { error: 'EACCES' } as Node };
    const { done } = run(tree, [17]);
    expect(done).toMatchObject({ read: 1, unreadable: 1 });
  });

  it('leaves out, unread, processes already known to be in another mount namespace; those rooted at our root come first', () => {
    const input = holderScanInput(
      [
        hostProcess({ pid: 20, mntns: OWN, rootId: '9:9' }),
        hostProcess({ pid: 21, mntns: 'mnt:[4026532000]' }),
        hostProcess({ pid: 22, mntns: null, rootId: '1:2' }),
      ],
      MOUNTS,
      new Set([40]),
      { ownMntns: OWN, ownRootId: '1:2', budgetMs: 100 },
    );
    expect(input.pids).toEqual([22, 20]);
    expect(input.ownRoot).toEqual([1, 0]);
    expect(input.ownMntnsKnown).toEqual([0, 1]);
    expect(input.mounts).toEqual([{ id: 40, mountPoint: '/srv/g/proc', mapDev: '00:28' }]);
  });

  it('skips a process that is gone, and ctr-doctor itself', () => {
    const { done, holders } = run(proc(1, { cwd: { link: '/srv/g/proc', mnt: 40 } }), [1, 18]);
    expect(holders).toEqual([]);
    expect(done).toMatchObject({ read: 2, unreadable: 0 });
  });
});
