import net from 'node:net';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { HostContext } from '../../../src/host/host-context.js';

/** A real listening unix socket at `file` (parents created); close it when done. */
export async function listenUnix(file: string): Promise<net.Server> {
  mkdirSync(path.dirname(file), { recursive: true });
  const server = net.createServer((c) => c.destroy());
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(file, resolve));
  return server;
}

/** A host context whose /tmp/.X11-unix listing is `sockets` (liveness is still probed for real). */
export function hostWithX11Sockets(sockets: { display: number; path: string }[]): HostContext {
  const host = new HostContext({ invokingEnv: {} });
  Object.defineProperty(host, 'x11Sockets', { value: async () => sockets });
  return host;
}
