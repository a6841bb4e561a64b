/**
 * The probe child: started by probe-client in the guest's network namespace, with the
 * guest root as its working directory. Two ways to run it:
 * - `--serve [--roots=N] [--credentials=JSON]`: long-lived, one per (netns, user) and set of guest
 *   roots in a run (`--roots=N`: the roots are descriptors 3…3+N-1, opened by the parent; without
 *   it, the working directory). Loads every probe, drops to the credentials once, then answers newline-delimited JSON requests
 *   (`ProbeServeRequest`, socket paths resolved by the parent, walked again here) concurrently, each reply
 *   carrying its request's id. Exits when stdin ends.
 * - no argument: reads one envelope on stdin, resolves its socket path inside the root as root,
 *   drops credentials, prints one JSON reply and exits.
 */
import { constants, fstatSync, openSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { createInterface } from 'node:readline';
import type {
  DnsQueryRequest,
  ProbeCredentials,
  ProbeName,
  PulseConnectRequest,
  TcpConnectRequest,
  UnixConnectRequest,
  X11SetupRequest,
} from '../core/probe-types.js';
import type { ProbeEnvelope, ProbeReply, ProbeServeReply, ProbeServeRequest } from './probe-protocol.js';
import { prepareProbeSocket, type PreparedSocket } from './probe-socket-plan.js';
import { InRootError, viaFd } from './walk-in-root.js';
import { ProbeRoot } from './probe-root.js';
import type { ApiFsRequest } from '../core/api-fs-types.js';
import type {
  DbusHelloRequest,
  DirWriteRequest,
  PipewireCoreRequest,
  ReadFileRequest,
  WaylandRegistryRequest,
  X11MitShmRequest,
} from '../core/probe-types.js';

/** Longest unix socket path (kept here too, so the child does not load socket code early). */
const MAX_UNIX_PATH_BYTES = 107;
/** Linux's O_PATH (absent from fs.constants): a handle on a directory that needs only search permission. */
const O_PATH = 0o10000000;
const PROBE_NAMES: readonly ProbeName[] = [
  'dns-query',
  'unix-connect',
  'x11-setup',
  'pulse-connect',
  'tcp-connect',
  'api-fs',
  'read-file',
  'dbus-hello',
  'wayland-registry',
  'pipewire-core',
  'x11-mitshm',
  'dir-write',
];
const NO_SOCKET: PreparedSocket = {
  target: { kind: 'unusable', errno: 'EINVAL', message: 'the request names no socket' },
  guestPath: null,
};

/** A loaded probe: runs a request against its socket as finally reachable (null for socketless probes), inside guest root `root`. */
type ProbeRunner = (request: unknown, socket: PreparedSocket | null, root: ProbeRoot) => Promise<unknown>;

// A short-lived process: TurboFan's compiles of its few hot functions cost more CPU than they save. Set here, not on the
// command line: a V8 that no longer knows the flag ignores it instead of refusing to start.
setFlagsFromString('--no-turbofan');

// Libraries must never write into the reply channel: their console output goes to stderr.
console.log = console.error.bind(console);
console.info = console.error.bind(console);
console.debug = console.error.bind(console);

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function checkEnvelope(value: { name?: unknown; request?: unknown } | null): asserts value is { name: ProbeName; request: object } {
  if (!value || typeof value !== 'object') throw new Error('the envelope is not a JSON object');
  if (!PROBE_NAMES.includes(value.name as ProbeName)) throw new Error(`unknown probe ${JSON.stringify(value.name)}`);
  if (!value.request || typeof value.request !== 'object') throw new Error('the envelope has no request');
}

/** Loads probe `name`'s module (as root, so the user need not read our files). */
async function loadRunner(name: ProbeName): Promise<ProbeRunner> {
  switch (name) {
    case 'dns-query': {
      const { probeDnsQuery } = await import('./probes/dns-query.js');
      return (request) => probeDnsQuery(request as DnsQueryRequest);
    }
    case 'tcp-connect': {
      const { probeTcpConnect } = await import('./probes/tcp-connect.js');
      return (request) => probeTcpConnect(request as TcpConnectRequest);
    }
    case 'unix-connect': {
      const { probeUnixConnect } = await import('./probes/unix-connect.js');
      return (request, socket) => {
        const s = socket ?? NO_SOCKET;
        return probeUnixConnect(s.target, (request as UnixConnectRequest).timeoutMs, {
          resolvedPath: s.guestPath,
          ...(s.note ? { note: s.note } : {}),
        });
      };
    }
    case 'x11-setup': {
      const { probeX11Setup } = await import('./probes/x11-setup.js');
      return (request, socket) => {
        const r = request as X11SetupRequest;
        return probeX11Setup((socket ?? NO_SOCKET).target, r.auth, r.timeoutMs);
      };
    }
    case 'x11-mitshm': {
      const { probeX11MitShm } = await import('./probes/x11-mitshm.js');
      return (request, socket) => {
        const r = request as X11MitShmRequest;
        return probeX11MitShm((socket ?? NO_SOCKET).target, r.auth, r.shmid, r.timeoutMs);
      };
    }
    case 'read-file': {
      const { probeReadFile } = await import('./probes/read-file.js');
      return (request, _socket, root) => probeReadFile(request as ReadFileRequest, root);
    }
    case 'dir-write': {
      const { probeDirWrite } = await import('./probes/dir-write.js');
      return (request, _socket, root) => probeDirWrite(request as DirWriteRequest, root);
    }
    case 'api-fs': {
      const { probeApiFs } = await import('./probes/api-fs.js');
      return (request, _socket, root) => probeApiFs(request as ApiFsRequest, root);
    }
    case 'wayland-registry': {
      const { probeWaylandRegistry } = await import('./probes/wayland-registry.js');
      return (request, socket) => probeWaylandRegistry((socket ?? NO_SOCKET).target, (request as WaylandRegistryRequest).timeoutMs);
    }
    case 'pipewire-core': {
      const { probePipewireCore } = await import('./probes/pipewire-core.js');
      return (request, socket) => probePipewireCore((socket ?? NO_SOCKET).target, (request as PipewireCoreRequest).timeoutMs);
    }
    case 'dbus-hello': {
      const { probeDbusHello } = await import('./probes/dbus-hello.js');
      return (request, socket) => {
        const r = request as DbusHelloRequest;
        return probeDbusHello((socket ?? NO_SOCKET).target, r.uid, r.timeoutMs);
      };
    }
    case 'pulse-connect': {
      const { probePulseConnect } = await import('./probes/pulse-connect.js');
      return (request, socket) => {
        const r = request as PulseConnectRequest;
        return probePulseConnect((socket ?? NO_SOCKET).target, r.cookieHex, r.timeoutMs, r.serverInfo === true);
      };
    }
  }
}

/** setgroups, setgid, setuid, in that order: after setuid the others are no longer allowed. */
function dropCredentials(credentials: ProbeCredentials): void {
  const { uid, gid, groups } = credentials;
  if (process.getuid?.() === uid && process.getgid?.() === gid && uid !== 0) return;
  try {
    process.setgroups?.(groups);
    process.setgid?.(gid);
    process.setuid?.(uid);
  } catch (error) {
    throw new Error(`cannot switch to uid ${uid} gid ${gid}: ${messageOf(error)}`);
  }
}

/** Holds the working directory (the guest root, as root, before any drop) so every walk starts at the very same directory: its descriptor. */
function holdGuestRoot(): number {
  return openSync('.', O_PATH | constants.O_DIRECTORY);
}

/** The first descriptor of `--roots=N`: the parent hands the guest roots over as fds 3…3+N-1. */
const FIRST_ROOT_FD = 3;
/** More roots than this in one child is a mistake of the caller's. */
const MAX_ROOTS = 1024;

/**
 * The guest roots this child serves, as descriptors held for its life: with `--roots=N`, the N
 * directories the parent opened (as root, O_PATH) and handed over as descriptors 3…; without it,
 * the working directory, held now. Either way every walk starts at a directory fixed before any
 * privilege is dropped, and no walk opens it again.
 */
function heldRoots(argv: string[]): number[] {
  const arg = argv.find((a) => a.startsWith('--roots='));
  if (!arg) return [holdGuestRoot()];
  const n = Number(arg.slice('--roots='.length));
  if (!Number.isInteger(n) || n < 1 || n > MAX_ROOTS)
    throw new Error(`--roots: expected 1 to ${MAX_ROOTS}, not ${arg.slice('--roots='.length)}`);
  return Array.from({ length: n }, (_, i) => {
    const fd = FIRST_ROOT_FD + i;
    // Each must be the directory handed over, not something else left at that number.
    if (!fstatSync(fd).isDirectory()) throw new Error(`--roots: descriptor ${fd} is not a directory`);
    return fd;
  });
}

const ERRNO_OF_REASON: Record<InRootError['reason'], string> = {
  'symlink-loop': 'ELOOP',
  'not-a-directory': 'ENOTDIR',
  permission: 'EACCES',
  io: 'EIO',
};

/**
 * A socket path is walked inside the guest root here, by whoever this child runs as (so every
 * directory on the way is searched with the user's rights), and connected through the O_PATH
 * descriptor the walk ended on (/proc/self/fd/N): nothing swapped in after the walk, no `..` and no
 * absolute symlink can lead the connect out of the guest, and no path is too long for sun_path.
 * `release` closes the descriptors.
 */
async function reachable(socket: PreparedSocket, root: ProbeRoot): Promise<{ socket: PreparedSocket; release: () => Promise<void> }> {
  const { target } = socket;
  const none = async (): Promise<void> => undefined;
  if (target.kind !== 'path') return { socket, release: none };
  const guestPath = socket.guestPath ?? '/' + target.path;
  const unusable = (errno: string, message: string) => ({
    socket: { ...socket, target: { kind: 'unusable' as const, errno, message } },
    release: none,
  });
  let walked;
  try {
    walked = await root.walk(guestPath);
  } catch (error) {
    const errno = error instanceof InRootError ? ERRNO_OF_REASON[error.reason] : ((error as NodeJS.ErrnoException).code ?? 'EIO');
    return unusable(errno, `connect to ${target.path}: ${(error as Error).message}`);
  }
  if (!walked.handle) {
    await walked.close();
    return unusable('ENOENT', `connect to ${target.path}: no such file or directory in the guest`);
  }
  const long = Buffer.byteLength(target.path) > MAX_UNIX_PATH_BYTES;
  const note = long
    ? `the path is ${Buffer.byteLength(target.path)} bytes, over the ${MAX_UNIX_PATH_BYTES}-byte socket address limit: connected through a descriptor walked to it`
    : socket.note;
  return {
    socket: { ...socket, ...(note ? { note } : {}), target: { kind: 'path', path: viaFd(walked.handle), shown: target.path } },
    release: () => walked.close(),
  };
}

/**
 * Runs one probe on its (already resolved) socket, inside the guest root held as `rootFd`: its walks
 * share one request's cache of directories, closed once it is answered.
 */
async function runWith(runner: ProbeRunner, request: unknown, prepared: PreparedSocket | null, rootFd: number): Promise<unknown> {
  const root = new ProbeRoot(rootFd);
  try {
    if (!prepared) return await runner(request, null, root);
    const { socket, release } = await reachable(prepared, root);
    try {
      return await runner(request, socket, root);
    } finally {
      await release();
    }
  } finally {
    root.end();
  }
}

function parseCredentials(argv: string[]): ProbeCredentials | null {
  const arg = argv.find((a) => a.startsWith('--credentials='));
  if (!arg) return null;
  const value = JSON.parse(arg.slice('--credentials='.length)) as Partial<ProbeCredentials> | null;
  const ids = [value?.uid, value?.gid, ...(Array.isArray(value?.groups) ? value.groups : [NaN])];
  if (!ids.every((n) => Number.isInteger(n) && (n as number) >= 0)) throw new Error('--credentials: expected {"uid","gid","groups"}');
  return value as ProbeCredentials;
}

/** `--serve`: answers requests until stdin ends; a start-up failure becomes every request's reply. */
async function serve(): Promise<void> {
  const runners = new Map<ProbeName, Promise<ProbeRunner>>();
  const runnerOf = (name: ProbeName): Promise<ProbeRunner> => {
    let runner = runners.get(name);
    if (!runner) runners.set(name, (runner = loadRunner(name)));
    return runner;
  };
  let startupError: string | null = null;
  let roots: number[] = [];
  try {
    const credentials = parseCredentials(process.argv.slice(2));
    roots = heldRoots(process.argv.slice(2));
    // A child that drops privileges loads every probe first, as root; one that stays root loads on demand.
    if (credentials) {
      await Promise.all(PROBE_NAMES.map(runnerOf));
      dropCredentials(credentials);
    }
  } catch (error) {
    startupError = messageOf(error);
  }
  const reply = (message: ProbeServeReply): void => void process.stdout.write(JSON.stringify(message) + '\n');

  const answer = async (line: string): Promise<void> => {
    if (line.trim() === '') return;
    let value: Partial<ProbeServeRequest> | null;
    try {
      value = JSON.parse(line) as Partial<ProbeServeRequest> | null;
    } catch {
      return void process.stderr.write(`ignored a request that is not JSON: ${line.slice(0, 200)}\n`);
    }
    const id = value?.id;
    if (typeof id !== 'number') return void process.stderr.write(`ignored a request without an id: ${line.slice(0, 200)}\n`);
    try {
      if (startupError !== null) throw new Error(startupError);
      checkEnvelope(value);
      const index = value.root ?? 0;
      const root = roots[index];
      if (!Number.isInteger(index) || root === undefined)
        throw new Error(`no guest root ${JSON.stringify(index)} in this probe child (it holds ${roots.length})`);
      const response = await runWith(await runnerOf(value.name), value.request, value.socket ?? null, root);
      reply({ id, ok: true, response } as ProbeServeReply);
    } catch (error) {
      reply({ id, ok: false, error: messageOf(error) });
    }
  };

  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', (line) => void answer(line));
  // The parent closed our stdin (or died): nobody is left to answer.
  lines.on('close', () => process.exit(0));
}

/** Without arguments: one envelope on stdin, one reply, exit. */
async function once(): Promise<void> {
  let sent = false;
  const send = (reply: ProbeReply): void => {
    if (sent) return;
    sent = true;
    process.stdout.write(JSON.stringify(reply) + '\n', () => process.exit(reply.ok ? 0 : 1));
  };
  process.on('uncaughtException', (error) => {
    send({ ok: false, error: `the probe crashed: ${error.message}` });
  });
  process.on('unhandledRejection', (error) => {
    send({ ok: false, error: `the probe crashed: ${messageOf(error)}` });
  });
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    const envelope = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Partial<ProbeEnvelope> | null;
    checkEnvelope(envelope);
    const runner = await loadRunner(envelope.name);
    // Resolved as root, inside the root ('.'), so absolute symlinks stay in the guest; walked again to connect.
    const rootFd = holdGuestRoot();
    const socket = await prepareProbeSocket(`/proc/self/fd/${rootFd}`, envelope.name, envelope.request);
    if (envelope.credentials) dropCredentials(envelope.credentials);
    send({ ok: true, response: await runWith(runner, envelope.request, socket, rootFd) } as ProbeReply);
  } catch (error) {
    send({ ok: false, error: messageOf(error) });
  }
}

if (process.argv.includes('--serve')) {
  // A crash cannot be pinned on one request: say why on stderr and exit; the parent fails them all.
  const crash = (error: unknown): void => {
    process.stderr.write(`the probe crashed: ${messageOf(error)}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  void serve().catch(crash);
} else {
  void once();
}
