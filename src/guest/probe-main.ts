/**
 * The probe child: started by probe-client in the guest's network namespace, with the
 * guest root as its working directory. Reads one envelope on stdin, prints one JSON reply
 * on stdout, exits. Imports only the probe it runs.
 */
import path from 'node:path';
import { InRootError, resolveInRoot } from './in-root.js';
import type { ProbeCredentials, ProbeEnvelope, ProbeName, ProbeReply } from './probe-protocol.js';
import type { SocketTarget } from './probes/socket-connect.js';

/** Longest unix socket path (kept here too, so the child does not load socket code early). */
const MAX_UNIX_PATH_BYTES = 107;
const PROBE_NAMES: readonly ProbeName[] = ['dns-query', 'unix-connect', 'x11-setup', 'pulse-connect', 'tcp-connect'];

/** A socket as the probe will reach it, with what the guest calls it. */
interface PreparedSocket {
  target: SocketTarget;
  guestPath: string | null;
  note?: string;
}

/** A loaded probe, bound to its request; socket probes take the socket as finally reachable. */
type LoadedProbe =
  | { socket: PreparedSocket; run: (socket: PreparedSocket) => Promise<unknown> }
  | { socket: null; run: () => Promise<unknown> };

// Libraries must never write into the reply channel: their console output goes to stderr.
console.log = console.error.bind(console);
console.info = console.error.bind(console);
console.debug = console.error.bind(console);

let sent = false;

function send(reply: ProbeReply): void {
  if (sent) return;
  sent = true;
  process.stdout.write(JSON.stringify(reply) + '\n', () => process.exit(reply.ok ? 0 : 1));
}

function fail(error: string): void {
  send({ ok: false, error });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseEnvelope(text: string): ProbeEnvelope {
  const value = JSON.parse(text) as Partial<ProbeEnvelope> | null;
  if (!value || typeof value !== 'object') throw new Error('the envelope is not a JSON object');
  if (!PROBE_NAMES.includes(value.name as ProbeName)) throw new Error(`unknown probe ${JSON.stringify(value.name)}`);
  if (!value.request || typeof value.request !== 'object') throw new Error('the envelope has no request');
  return { name: value.name as ProbeName, request: value.request, credentials: value.credentials ?? null } as ProbeEnvelope;
}

/** Resolves a guest socket path inside the root ('.'), as root, so absolute symlinks stay in the guest. */
async function prepareGuestPath(guestPath: string): Promise<PreparedSocket> {
  try {
    const resolved = await resolveInRoot('.', guestPath);
    return { target: { kind: 'path', path: resolved.hostPath }, guestPath: resolved.guestPath };
  } catch (error) {
    const errno =
      error instanceof InRootError
        ? { 'symlink-loop': 'ELOOP', 'not-a-directory': 'ENOTDIR', permission: 'EACCES', io: 'EIO' }[error.reason]
        : 'EIO';
    return { target: { kind: 'unusable', errno, message: (error as Error).message }, guestPath: null };
  }
}

async function prepareSocket(
  socket: { path?: string; abstract?: string; host?: string; port?: number },
  defaultPort: number,
): Promise<PreparedSocket> {
  if (socket.path !== undefined) return prepareGuestPath(socket.path);
  if (socket.abstract !== undefined) return { target: { kind: 'abstract', name: socket.abstract }, guestPath: null };
  if (socket.host !== undefined) return { target: { kind: 'tcp', host: socket.host, port: socket.port ?? defaultPort }, guestPath: null };
  return { target: { kind: 'unusable', errno: 'EINVAL', message: 'the request names no socket' }, guestPath: null };
}

/** Loads the probe's module (as root, so the user need not read our files) and binds its request. */
async function loadProbe(envelope: ProbeEnvelope): Promise<LoadedProbe> {
  switch (envelope.name) {
    case 'dns-query': {
      const request = (envelope as ProbeEnvelope<'dns-query'>).request;
      const { probeDnsQuery } = await import('./probes/dns-query.js');
      return { socket: null, run: () => probeDnsQuery(request) };
    }
    case 'tcp-connect': {
      const request = (envelope as ProbeEnvelope<'tcp-connect'>).request;
      const { probeTcpConnect } = await import('./probes/tcp-connect.js');
      return { socket: null, run: () => probeTcpConnect(request) };
    }
    case 'unix-connect': {
      const request = (envelope as ProbeEnvelope<'unix-connect'>).request;
      const socket = await prepareSocket({ path: request.path, abstract: request.abstract }, 0);
      const { probeUnixConnect } = await import('./probes/unix-connect.js');
      return {
        socket,
        run: (s) => probeUnixConnect(s.target, request.timeoutMs, { resolvedPath: s.guestPath, ...(s.note ? { note: s.note } : {}) }),
      };
    }
    case 'x11-setup': {
      const request = (envelope as ProbeEnvelope<'x11-setup'>).request;
      const socket = await prepareSocket(request.socket ?? {}, 6000);
      const { probeX11Setup } = await import('./probes/x11-setup.js');
      return { socket, run: (s) => probeX11Setup(s.target, request.auth, request.timeoutMs) };
    }
    case 'pulse-connect': {
      const request = (envelope as ProbeEnvelope<'pulse-connect'>).request;
      const socket = await prepareSocket(request.socket ?? {}, 4713);
      const { probePulseConnect } = await import('./probes/pulse-connect.js');
      return { socket, run: (s) => probePulseConnect(s.target, request.cookieHex, request.timeoutMs) };
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
    throw new Error(`cannot switch to uid ${uid} gid ${gid}: ${(error as Error).message}`);
  }
}

/** A relative path too long for sun_path is reached from its directory instead (as the user). */
function shortenPath(socket: PreparedSocket): PreparedSocket {
  const { target } = socket;
  if (target.kind !== 'path' || Buffer.byteLength(target.path) <= MAX_UNIX_PATH_BYTES) return socket;
  const note = `the path is ${Buffer.byteLength(target.path)} bytes, over the ${MAX_UNIX_PATH_BYTES}-byte socket address limit: connected from its directory`;
  try {
    process.chdir(path.posix.dirname(target.path));
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code ?? 'EIO';
    return { ...socket, note, target: { kind: 'unusable', errno, message: `${socket.guestPath ?? target.path}: ${errno} on its directory` } };
  }
  return { ...socket, note, target: { kind: 'path', path: './' + path.posix.basename(target.path) } };
}

async function main(): Promise<void> {
  const envelope = parseEnvelope(await readStdin());
  const probe = await loadProbe(envelope);
  if (envelope.credentials) dropCredentials(envelope.credentials);
  const response = probe.socket ? await probe.run(shortenPath(probe.socket)) : await probe.run();
  send({ ok: true, response } as ProbeReply);
}

process.on('uncaughtException', (error) => fail(`the probe crashed: ${error.message}`));
process.on('unhandledRejection', (error) => fail(`the probe crashed: ${String((error as Error)?.message ?? error)}`));
main().catch((error: unknown) => fail(error instanceof Error ? error.message : String(error)));
