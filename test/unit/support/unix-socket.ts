import net from 'node:net';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

/** A real listening unix socket at `file` (parents created); close it when done. */
export async function listenUnix(file: string): Promise<net.Server> {
  mkdirSync(path.dirname(file), { recursive: true });
  const server = net.createServer((c) => c.destroy());
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(file, resolve));
  return server;
}
