import { expect } from 'vitest';
import check from '../../../src/checks/x11/mitshm.js';
import { checkTester, type CaseWorld } from '../support/check-tester.js';
import type { FakeHostFile, FakeHostScenario } from '../support/fake-host.js';
import type { FakeScenario } from '../support/fake-target.js';
import type { CheckOutcome } from '../../../src/core/types.js';
import type { X11MitShmRequest, X11MitShmResponse } from '../../../src/core/probe-types.js';

const snippets = (o: CheckOutcome) => o.fixes.flatMap((f) => f.steps.map((s) => ('snippet' in s ? (s.snippet ?? '') : '')));
const HOST_IPC = 'ipc:[4026531839]';
const OWN_IPC = 'ipc:[4026532777]';
const SOCKET = '/tmp/.X11-unix/X0';
const XPID = 500;
const GUEST_PID = 400;
const UNIX_HEADER = 'Num       RefCount Protocol Flags    Type St Inode Path\n';
const listening = (inode: number, path: string) => `0000000000000000: 00000002 00000000 00010000 0001 01 ${inode} ${path}\n`;

/** The world of the case being run: probe scripts act on its FakeHost as the X server would. */
let world: CaseWorld | null = null;

/** An X server in IPC namespace `serverNs`: attaches a segment of that namespace, refusing 0600 ones of other users when `otherUser`. */
function xServer(serverNs: string, opts: { present?: boolean; otherUser?: boolean } = {}) {
  return {
    name: 'x11-mitshm' as const,
    response: (r: X11MitShmRequest): X11MitShmResponse => {
      const base = { ok: true as const, vendor: 'The X.Org Foundation', elapsedMs: 3 };
      if (opts.present === false) return { ...base, present: false, majorOpcode: null, version: null, sharedPixmaps: null, attach: null };
      const shm = { ...base, present: true, majorOpcode: 130, version: '1.2', sharedPixmaps: true };
      if (r.shmid === null) return { ...shm, attach: null };
      const seg = world?.host.shm.get(serverNs)?.find((s) => s.shmid === r.shmid);
      const refused = seg === undefined || (opts.otherUser === true && (seg.mode & 0o006) === 0);
      if (refused) return { ...shm, attach: { ok: false, errorCode: 10, error: 'Bad access', majorOpcode: 130, minorOpcode: 1 } };
      world?.host.attachShm(serverNs, r.shmid, XPID);
      return { ...shm, attach: { ok: true } };
    },
  };
}

/** The host: the X server (pid 500) holding the listening /tmp/.X11-unix/X0, in `serverNs`; the guest's process in `guestNs`. */
function host(opts: {
  guestNs: string;
  serverNs: string;
  serverFound?: boolean;
  shm?: FakeHostScenario['shm'];
  serverUid?: number;
}): FakeHostScenario {
  const files: Record<string, FakeHostFile> = {
    [`/proc/${GUEST_PID}/ns/ipc`]: { symlink: opts.guestNs },
    '/proc/self/ns/ipc': { symlink: HOST_IPC },
    [`/proc/${XPID}/ns/ipc`]: { symlink: opts.serverNs },
    [`/proc/${XPID}/net/unix`]: UNIX_HEADER + listening(9000, SOCKET),
    [`/proc/${GUEST_PID}/net/unix`]: UNIX_HEADER,
  };
  if (opts.serverFound !== false) files[`/proc/${XPID}/fd/3`] = { symlink: 'socket:[9000]' };
  return {
    files,
    processes: [
      { pid: GUEST_PID, comm: 'sleep', uid: 1000, netns: 'net:[9]' },
      { pid: XPID, comm: 'Xvfb', uid: opts.serverUid ?? 0, netns: 'net:[1]' },
    ],
    ...(opts.shm ? { shm: opts.shm } : {}),
  };
}

/** The server's socket file, through its root, is the guest's very socket file (same dev and inode). */
async function sameSocketFile(w: CaseWorld): Promise<void> {
  world = w;
  const st = await w.target.stat(SOCKET);
  if ('error' in st) throw new Error('no fake socket');
  w.host.setFile(`/proc/${XPID}/root${SOCKET}`, { socket: true, dev: st.dev, ino: st.ino });
}

const uname = { argv: ['uname', '-n'], result: { stdout: 'box\n' } };
const guest = (extra: FakeScenario = {}): FakeScenario => ({
  env: { DISPLAY: ':0' },
  pid: GUEST_PID,
  files: { [SOCKET]: '' },
  commands: [uname],
  ...extra,
});
const nspawn = { kind: 'nspawn' as const, nspawn: { machine: 'box', nspawnPid: 1, argv: [] as string[] } };
const apart = host({ guestNs: OWN_IPC, serverNs: HOST_IPC });
const together = host({ guestNs: HOST_IPC, serverNs: HOST_IPC });

checkTester(check, [
  {
    name: 'same IPC namespace: the server attaches the very segment made in the guest, pass',
    target: guest({ probes: [xServer(HOST_IPC)] }),
    host: together,
    setup: sameSocketFile,
    status: 'pass',
    codes: ['mitshm-ok'],
    summary: 'MIT-SHM 1.2 works for user with Xvfb (pid 500)',
    assert: (o, { host: h, target }) => {
      expect(target.log.probes[0]).toMatchObject({ name: 'x11-mitshm', asUser: true, request: { socket: { path: SOCKET }, shmid: 0 } });
      expect(h.log.shm).toEqual([`create ${HOST_IPC} 1000 0600`, `remove ${HOST_IPC} 0`]);
      expect(o.findings[0]?.evidence).toMatchObject({
        guestIpc: HOST_IPC,
        serverIpc: HOST_IPC,
        server: { pid: XPID, comm: 'Xvfb', via: 'path' },
      });
      expect(o.findings[0]?.message).toContain('last pid 500');
    },
  },
  {
    name: 'the guest in its own IPC namespace (unshare --ipc): BadAccess on X_ShmAttach, warn; chroot fixes',
    target: guest({ probes: [xServer(HOST_IPC)] }),
    host: apart,
    setup: sameSocketFile,
    status: 'warn',
    codes: ['mitshm-ipc-namespace'],
    fixes: ['x11.export-no-mitshm', 'x11.share-ipc-namespace'],
    assert: (o, { host: h }) => {
      const m = o.findings[0]?.message ?? '';
      expect(m).toContain(`IPC namespace ${OWN_IPC}`);
      expect(m).toContain('X_ShmAttach');
      expect(m).toContain('major opcode 130');
      // Known apart: no second (0666) attempt, and the segment is gone.
      expect(h.log.shm).toEqual([`create ${OWN_IPC} 1000 0600`, `remove ${OWN_IPC} 0`]);
      expect(h.shm.get(OWN_IPC)).toEqual([]);
      expect(snippets(o)).toContain('export QT_X11_NO_MITSHM=1');
      expect(snippets(o).some((s) => s.startsWith(`nsenter --ipc=/proc/${XPID}/ns/ipc -- chroot `))).toBe(true);
    },
  },
  {
    name: 'nspawn: always its own IPC namespace; --setenv and the .nspawn line, no --ipc (nspawn has none)',
    target: guest({ ...nspawn, probes: [xServer(HOST_IPC)] }),
    host: apart,
    setup: sameSocketFile,
    status: 'warn',
    codes: ['mitshm-ipc-namespace'],
    fixes: ['x11.nspawn-no-mitshm'],
    assert: (o) => {
      expect(o.findings[0]?.message).toContain('systemd-nspawn always gives a machine its own IPC namespace');
      expect(snippets(o)).toContain('systemd-nspawn --setenv=QT_X11_NO_MITSHM=1 -b -D … -M box');
      expect(snippets(o)).toContain('[Exec]\nEnvironment=QT_X11_NO_MITSHM=1');
      expect(snippets(o).join('\n')).not.toContain('--ipc');
    },
  },
  {
    name: 'schroot: the variable kept with -p, and the IPC namespace',
    target: guest({ kind: 'schroot', schroot: { chroot: 'bookworm', session: null }, probes: [xServer(HOST_IPC)] }),
    host: apart,
    setup: sameSocketFile,
    status: 'warn',
    codes: ['mitshm-ipc-namespace'],
    fixes: ['x11.schroot-no-mitshm', 'x11.share-ipc-namespace'],
    assert: (o) => expect(snippets(o)).toContain('QT_X11_NO_MITSHM=1 schroot -p -c bookworm'),
  },
  {
    name: "a pid target: its own process's namespace counts (not another session process of that root); export, and restart without it",
    target: guest({ kind: 'pid', sessionPid: 401, probes: [xServer(HOST_IPC)] }),
    host: apart,
    setup: async (w) => {
      await sameSocketFile(w);
      w.host.setFile('/proc/401/ns/ipc', { symlink: HOST_IPC });
    },
    status: 'warn',
    codes: ['mitshm-ipc-namespace'],
    fixes: ['x11.export-no-mitshm', 'x11.share-ipc-namespace'],
    assert: (o) => expect(o.findings[0]?.evidence.guestIpcOf).toBe(`the guest's process ${GUEST_PID}`),
  },
  {
    name: 'hostile names are quoted in what is pasted: machine and root',
    target: guest({ kind: 'nspawn', nspawn: { machine: "b'x$(id)", nspawnPid: 1, argv: [] }, probes: [xServer(HOST_IPC)] }),
    host: apart,
    setup: sameSocketFile,
    status: 'warn',
    codes: ['mitshm-ipc-namespace'],
    fixes: ['x11.nspawn-no-mitshm'],
    assert: (o) => expect(snippets(o)).toContain(`systemd-nspawn --setenv=QT_X11_NO_MITSHM=1 -b -D … -M 'b'\\''x$(id)'`),
  },
  {
    name: 'the server\'s namespace has a segment of the same id: the attach "succeeds" on it, but not on ours: still apart',
    target: guest({ probes: [xServer(HOST_IPC)] }),
    host: host({ guestNs: OWN_IPC, serverNs: HOST_IPC, serverFound: false }),
    setup: async (w) => {
      await sameSocketFile(w);
      // Another program's segment 0 in the host's namespace.
      w.host.shm.set(HOST_IPC, [
        { shmid: 0, mode: 0o666, bytes: 4096, creatorPid: 9, lastPid: 0, attaches: 0, uid: 1000, gid: 1000, attachTime: 0 },
      ]);
    },
    status: 'warn',
    codes: ['mitshm-ipc-namespace'],
    fixes: ['x11.export-no-mitshm', 'x11.share-ipc-namespace'],
    assert: (o) => {
      expect(o.findings[0]?.message).toContain("shows no attach in the guest's namespace");
      expect(o.findings[0]?.evidence.serverNotFound).toMatch(/not found/);
    },
  },
  {
    name: 'same namespace, the server runs as another user: 0600 refused, 0666 attached: warn',
    target: guest({ probes: [xServer(HOST_IPC, { otherUser: true })] }),
    host: host({ guestNs: HOST_IPC, serverNs: HOST_IPC, serverUid: 1001 }),
    setup: sameSocketFile,
    status: 'warn',
    codes: ['mitshm-other-user'],
    fixes: ['x11.export-no-mitshm'],
    assert: (o, { host: h }) => {
      expect(o.findings[0]?.message).toContain('uid 1001');
      expect(h.log.shm).toEqual([
        `create ${HOST_IPC} 1000 0600`,
        `remove ${HOST_IPC} 0`,
        `create ${HOST_IPC} 1000 0666`,
        `remove ${HOST_IPC} 1`,
      ]);
    },
  },
  {
    name: 'refused even 0666, the server process not found: attach refused, warn',
    target: guest({ probes: [xServer('ipc:[elsewhere]')] }),
    host: host({ guestNs: HOST_IPC, serverNs: HOST_IPC, serverFound: false }),
    setup: sameSocketFile,
    status: 'warn',
    codes: ['mitshm-attach-refused'],
    fixes: ['x11.export-no-mitshm'],
    assert: (o) => expect(o.findings[0]?.message).toContain('another IPC namespace is the likely cause'),
  },
  {
    name: "a guest in a user namespace: the segment is made as the user's host uid (its uid_map), as the probe child runs",
    target: guest({ ...nspawn, probes: [xServer(HOST_IPC)] }),
    host: apart,
    setup: async (w) => {
      await sameSocketFile(w);
      w.host.setFile(`/proc/${GUEST_PID}/uid_map`, '         0     100000      65536\n');
      w.host.setFile(`/proc/${GUEST_PID}/gid_map`, '         0     100000      65536\n');
    },
    status: 'warn',
    codes: ['mitshm-ipc-namespace'],
    fixes: ['x11.nspawn-no-mitshm'],
    assert: (_o, { host: h }) => expect(h.log.shm[0]).toBe(`create ${OWN_IPC} 101000 0600`),
  },
  {
    name: "the user has no host uid in the guest's user namespace: no segment, the namespaces decide",
    target: guest({ ...nspawn, probes: [xServer(HOST_IPC)] }),
    host: apart,
    setup: async (w) => {
      await sameSocketFile(w);
      w.host.setFile(`/proc/${GUEST_PID}/uid_map`, '         0     100000      1\n');
      w.host.setFile(`/proc/${GUEST_PID}/gid_map`, '         0     100000      1\n');
    },
    status: 'warn',
    codes: ['mitshm-ipc-namespace'],
    fixes: ['x11.nspawn-no-mitshm'],
    assert: (o, { host: h }) => {
      expect(h.log.shm).toEqual([]);
      expect(o.findings[0]?.message).toContain('has no host uid');
    },
  },
  {
    name: 'the server has no MIT-SHM: nothing can fail, pass',
    target: guest({ probes: [xServer(HOST_IPC, { present: false })] }),
    host: apart,
    setup: sameSocketFile,
    status: 'pass',
    codes: ['mitshm-absent'],
  },
  {
    name: 'no segment can be made (not root): the namespaces decide, apart',
    target: guest({ probes: [xServer(HOST_IPC)] }),
    host: host({ guestNs: OWN_IPC, serverNs: HOST_IPC, shm: { createError: 'nsenter: Operation not permitted' } }),
    setup: sameSocketFile,
    status: 'warn',
    codes: ['mitshm-ipc-namespace'],
    fixes: ['x11.export-no-mitshm', 'x11.share-ipc-namespace'],
    assert: (o, { target }) => {
      expect(o.findings[0]?.message).toContain('no attach round trip');
      expect(o.findings[0]?.message).toContain('Operation not permitted');
      expect(target.log.probes[0]?.request).toMatchObject({ shmid: null });
    },
  },
  {
    name: 'no segment, same namespace: info only',
    target: guest({ probes: [xServer(HOST_IPC)] }),
    host: host({ guestNs: HOST_IPC, serverNs: HOST_IPC, shm: { createError: 'ipcmk: not found' } }),
    setup: sameSocketFile,
    status: 'pass',
    codes: ['mitshm-same-ipc-namespace'],
  },
  {
    name: 'no segment, no server found: cannot tell, info',
    target: guest({ probes: [xServer(HOST_IPC)] }),
    host: host({ guestNs: HOST_IPC, serverNs: HOST_IPC, serverFound: false, shm: { createError: 'ipcmk: not found' } }),
    setup: sameSocketFile,
    status: 'pass',
    codes: ['mitshm-unknown'],
  },
  {
    name: 'the segment table cannot be read back: the namespaces tell (apart)',
    target: guest({ probes: [xServer(HOST_IPC)] }),
    host: host({ guestNs: OWN_IPC, serverNs: HOST_IPC, shm: { unreadable: true } }),
    setup: async (w) => {
      await sameSocketFile(w);
      w.host.shm.set(HOST_IPC, [
        { shmid: 0, mode: 0o666, bytes: 4096, creatorPid: 9, lastPid: 0, attaches: 0, uid: 1000, gid: 1000, attachTime: 0 },
      ]);
    },
    status: 'warn',
    codes: ['mitshm-ipc-namespace'],
    fixes: ['x11.export-no-mitshm', 'x11.share-ipc-namespace'],
  },
  {
    name: "another server's socket of the same name (another mount namespace) is not taken for ours",
    target: guest({ probes: [xServer(HOST_IPC)] }),
    host: host({ guestNs: HOST_IPC, serverNs: HOST_IPC, shm: { createError: 'ipcmk: not found' } }),
    setup: (w) => {
      world = w;
      w.host.setFile(`/proc/${XPID}/root${SOCKET}`, { socket: true, dev: 77, ino: 77 });
    },
    status: 'pass',
    codes: ['mitshm-unknown'],
    assert: (o) => expect(o.findings[0]?.evidence.server).toBeNull(),
  },
  {
    name: "only the abstract socket (no path socket in the guest): the holder of @/tmp/.X11-unix/X0 in the guest's netns, namespaces only",
    target: {
      env: { DISPLAY: ':0' },
      pid: GUEST_PID,
      commands: [uname],
      procNet: { unix: UNIX_HEADER + listening(9000, '@/tmp/.X11-unix/X0') },
    },
    host: apart,
    setup: (w) => {
      world = w;
    },
    status: 'warn',
    codes: ['mitshm-ipc-namespace'],
    fixes: ['x11.export-no-mitshm', 'x11.share-ipc-namespace'],
    assert: (o, { target, host: h }) => {
      expect(target.log.probes).toEqual([]);
      expect(h.log.shm).toEqual([]);
      expect(o.findings[0]?.evidence.server).toMatchObject({ pid: XPID, via: 'abstract' });
    },
  },
  {
    name: "a chroot with no process: ctr-doctor's own IPC namespace stands for the guest's",
    target: guest({ pid: null, probes: [xServer(HOST_IPC)] }),
    host: together,
    setup: sameSocketFile,
    status: 'pass',
    codes: ['mitshm-ok'],
    assert: (o) => expect(o.findings[0]?.evidence.guestIpcOf).toMatch(/ctr-doctor's own/),
  },
  {
    name: 'the X11 setup fails: skip, x11.socket says why',
    target: guest({
      probes: [
        { name: 'x11-mitshm', response: { ok: false, stage: 'setup', errno: null, reason: 'Authorization required', elapsedMs: 1 } },
      ],
    }),
    host: together,
    setup: sameSocketFile,
    status: 'skip',
    codes: [],
    summary: /see x11\.socket/,
    assert: (_o, { host: h }) => expect(h.shm.get(HOST_IPC)).toEqual([]),
  },
  {
    name: 'the probe cannot start: error, and the segment is removed',
    target: guest({
      probes: [
        { name: 'x11-mitshm', response: { ok: false, stage: 'silent', errno: null, reason: '', elapsedMs: 1 }, error: 'spawn failed' },
      ],
    }),
    host: together,
    setup: sameSocketFile,
    status: 'error',
    codes: ['check-could-not-run'],
    assert: (_o, { host: h }) => expect(h.log.shm).toEqual([`create ${HOST_IPC} 1000 0600`, `remove ${HOST_IPC} 0`]),
  },
  { name: 'DISPLAY unset: skip (x11.display)', target: { env: {} }, status: 'skip', codes: [], summary: /x11\.display/ },
  { name: 'a TCP display: skip', target: { env: { DISPLAY: 'localhost:10.0' } }, status: 'skip', codes: [], summary: /TCP display/ },
  {
    name: 'no desktop session: the shared skip',
    target: { session: null, noSessionReason: 'no desktop session' },
    status: 'skip',
    codes: [],
  },
]);
