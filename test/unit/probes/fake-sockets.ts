/** Temporary directories and stream servers (unix path, abstract, loopback TCP) for probe tests. */
import { mkdtemp, rm, link } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const cleanups: (() => Promise<unknown>)[] = [];

/** Runs and forgets every cleanup registered by the helpers below. */
export async function cleanupAll(): Promise<void> {
  await Promise.all(cleanups.splice(0).map((c) => c().catch(() => undefined)));
}

/** A fresh directory under the OS tmpdir, removed by cleanupAll(). */
export async function tmpDir(prefix = 'ctr-doctor-probe-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A listening server whose connections go to `onConnection`; `connections` counts them. */
export interface FakeServer {
  server: net.Server;
  connections: number;
  /** For TCP servers. */
  port: number;
}

/** Listens on a unix path, abstract name (leading NUL) or loopback TCP (`{port: 0}`). */
export async function listen(where: { path: string } | { host: string }, onConnection: (conn: net.Socket) => void): Promise<FakeServer> {
  const fake: FakeServer = { server: net.createServer(), connections: 0, port: 0 };
  const open = new Set<net.Socket>();
  fake.server.on('connection', (conn) => {
    fake.connections++;
    open.add(conn);
    conn.on('close', () => open.delete(conn));
    conn.on('error', () => undefined);
    onConnection(conn);
  });
  await new Promise<void>((resolve, reject) => {
    fake.server.once('error', reject);
    if ('path' in where) fake.server.listen(where.path, () => resolve());
    else fake.server.listen(0, where.host, () => resolve());
  });
  const address = fake.server.address();
  if (address && typeof address === 'object') fake.port = address.port;
  cleanups.push(() => {
    // A paused connection never notices its peer is gone, and close() would wait for it.
    for (const conn of open) conn.destroy();
    return new Promise((resolve) => fake.server.close(resolve));
  });
  return fake;
}

/** A socket file with nothing listening: hard-linked from a live socket, then the server closes. */
export async function staleSocket(file: string): Promise<void> {
  const live = `${file}.live`;
  const server = await listen({ path: live }, () => undefined);
  await link(live, file);
  // libuv unlinks only the name it bound, so the hard link stays behind, stale.
  await new Promise((resolve) => server.server.close(resolve));
}

/** Reads a connection in exact byte counts: `read(n)` resolves with the next `n` bytes. */
export function byteReader(conn: net.Socket): { read(n: number): Promise<Buffer> } {
  let buf = Buffer.alloc(0);
  const waiting: { n: number; resolve: (b: Buffer) => void }[] = [];
  const serve = (): void => {
    while (waiting.length > 0 && buf.length >= waiting[0]!.n) {
      const { n, resolve } = waiting.shift()!;
      resolve(buf.subarray(0, n));
      buf = buf.subarray(n);
    }
  };
  conn.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    serve();
  });
  return {
    read(n: number): Promise<Buffer> {
      return new Promise((resolve) => {
        waiting.push({ n, resolve });
        serve();
      });
    },
  };
}
