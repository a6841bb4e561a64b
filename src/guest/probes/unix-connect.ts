import type { UnixConnectResponse } from '../../core/probe-types.js';
import { connectSocket, describeTarget, type SocketTarget } from './socket-connect.js';

/**
 * Connects to a unix socket (a path already resolved inside the guest root, or an abstract
 * name) and closes it again. `resolvedPath` is the guest path the probe ended on; `note`
 * is appended to the message (for example how an over-long path was reached).
 */
export async function probeUnixConnect(
  target: SocketTarget,
  timeoutMs: number,
  place: { resolvedPath: string | null; note?: string } = { resolvedPath: null },
): Promise<UnixConnectResponse> {
  const outcome = await connectSocket(target, timeoutMs);
  const suffix = place.note ? ` (${place.note})` : '';
  if (!outcome.ok) {
    return { ok: false, errno: outcome.errno, message: outcome.message + suffix, resolvedPath: place.resolvedPath };
  }
  outcome.socket.destroy();
  return {
    ok: true,
    errno: null,
    message: `connected to ${describeTarget(target)} in ${outcome.elapsedMs} ms${suffix}`,
    resolvedPath: place.resolvedPath,
  };
}
