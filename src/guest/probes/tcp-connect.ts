import type { TcpConnectRequest, TcpConnectResponse } from '../../core/probe-types.js';
import { connectSocket } from './socket-connect.js';

/** Opens a TCP connection to `host:port` and closes it: ok, or the errno that refused it. */
export async function probeTcpConnect(request: TcpConnectRequest): Promise<TcpConnectResponse> {
  const outcome = await connectSocket({ kind: 'tcp', host: request.host, port: request.port }, request.timeoutMs);
  if (!outcome.ok) return { ok: false, errno: outcome.errno, elapsedMs: outcome.elapsedMs };
  outcome.socket.destroy();
  return { ok: true, errno: null, elapsedMs: outcome.elapsedMs };
}
