import { InRootError, hostPathOf, resolveGuestPath } from './in-root.js';
import type { ProbeName, ProbeRequests } from '../core/probe-types.js';
import type { SocketTarget } from './probes/socket-connect.js';

/** A socket as the probe will reach it, with what the guest calls it. */
export interface PreparedSocket {
  /** A `path` target is relative to the guest root and free of symlinks; the child walks it again and connects through the descriptor. */
  target: SocketTarget;
  /** The guest path after following symlinks inside the root; null for abstract/TCP/unusable. */
  guestPath: string | null;
  note?: string;
}

type SocketSpec = { path?: string; abstract?: string; host?: string; port?: number };

const ERRNO_OF_REASON: Record<InRootError['reason'], string> = {
  'symlink-loop': 'ELOOP',
  'not-a-directory': 'ENOTDIR',
  permission: 'EACCES',
  io: 'EIO',
};

/**
 * Resolves a guest socket path inside `root` (as the caller: root, so absolute symlinks are
 * re-rooted and no host file is reachable); the target is the relative path from the root.
 */
async function prepareGuestPath(root: string, guestPath: string): Promise<PreparedSocket> {
  try {
    const resolved = await resolveGuestPath(root, guestPath);
    return { target: { kind: 'path', path: hostPathOf('.', resolved) }, guestPath: resolved };
  } catch (error) {
    const errno = error instanceof InRootError ? ERRNO_OF_REASON[error.reason] : 'EIO';
    return { target: { kind: 'unusable', errno, message: (error as Error).message }, guestPath: null };
  }
}

async function prepareSocket(root: string, socket: SocketSpec, defaultPort: number): Promise<PreparedSocket> {
  if (socket.path !== undefined) return prepareGuestPath(root, socket.path);
  if (socket.abstract !== undefined) return { target: { kind: 'abstract', name: socket.abstract }, guestPath: null };
  if (socket.host !== undefined) return { target: { kind: 'tcp', host: socket.host, port: socket.port ?? defaultPort }, guestPath: null };
  return { target: { kind: 'unusable', errno: 'EINVAL', message: 'the request names no socket' }, guestPath: null };
}

/**
 * The socket probe `name` will connect to, resolved inside the guest at `root`; null for
 * probes that take no socket (dns-query, tcp-connect) or an unknown name.
 */
export function prepareProbeSocket<K extends ProbeName>(root: string, name: K, request: ProbeRequests[K]): Promise<PreparedSocket> | null {
  // The request comes from our own checks, but a malformed one must not throw here.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
  const r = (request ?? {}) as Partial<ProbeRequests['unix-connect'] & ProbeRequests['x11-setup']>;
  switch (name) {
    case 'unix-connect':
      return prepareSocket(root, { path: r.path, abstract: r.abstract }, 0);
    case 'x11-setup':
      return prepareSocket(root, r.socket ?? {}, 6000);
    case 'pulse-connect':
      return prepareSocket(root, r.socket ?? {}, 4713);
    case 'wayland-registry':
    case 'pipewire-core':
      return prepareSocket(root, { path: r.socket?.path }, 0);
    case 'x11-mitshm':
      return prepareSocket(root, { path: r.socket?.path, abstract: r.socket?.abstract }, 0);
    case 'dbus-hello':
      return prepareSocket(root, { path: r.socket?.path, abstract: r.socket?.abstract }, 0);
    default:
      return null;
  }
}
