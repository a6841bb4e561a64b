/**
 * Start a faulty DNS server ({@link ./fake-dns-server.mjs}) inside a world namespace.
 */
import { fileURLToPath } from 'node:url';
import type { Cleanup } from './cleanup.js';
import { netOf, type NsRef, type WorldLike } from './networld.js';
import { spawnDaemon } from './proc.js';

/** Behaviours of the fake server; see fake-dns-server.mjs. */
export type FakeDnsMode =
  'ok' | 'silent' | 'wrong-id' | 'garbage' | 'truncated-udp' | 'refused-udp-ok-tcp' | 'late' | 'big-tcp' | 'servfail' | 'nxdomain';

/** Options of {@link startFakeDns}. */
export interface FakeDnsOptions {
  /** Default 53. */
  port?: number;
  /** For `late`: delay before answering (default 3000 ms). */
  delayMs?: number;
  /** The A record returned for every name (default 203.0.113.10). */
  answer?: string;
}

/** A running fake DNS server. */
export interface FakeDnsHandle {
  pid: number;
  addr: string;
  port: number;
  mode: FakeDnsMode;
  stop(): Promise<void>;
}

/** Path of the server script. */
export const FAKE_DNS_SCRIPT = fileURLToPath(new URL('./fake-dns-server.mjs', import.meta.url));

/**
 * Start the fake server on `addr` (UDP and TCP) in namespace `ns` and wait for
 * it to print `ready`. `addr` must exist there (see `NetWorld.addLoAddress`).
 */
export async function startFakeDns(
  worldLike: WorldLike,
  ns: NsRef,
  addr: string,
  mode: FakeDnsMode,
  cleanup: Cleanup,
  opts: FakeDnsOptions = {},
): Promise<FakeDnsHandle> {
  const world = netOf(worldLike);
  const port = opts.port ?? 53;
  const argv = [
    'nsenter',
    `--net=${world.nsPath(ns)}`,
    process.execPath,
    FAKE_DNS_SCRIPT,
    '--addr',
    addr,
    '--mode',
    mode,
    '--port',
    String(port),
    ...(opts.delayMs !== undefined ? ['--delay', String(opts.delayMs)] : []),
    ...(opts.answer ? ['--answer', opts.answer] : []),
  ];
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  let buf = '';
  const d = spawnDaemon(`fake-dns ${mode} ${addr}`, argv, cleanup, {
    onStdout: (s) => {
      buf += s;
      if (/^ready$/m.test(buf)) readyResolve();
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    ready.then(() => 'ready' as const),
    d.exited.then(() => 'exited' as const),
    new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 10_000))),
  ]);
  clearTimeout(timer);
  if (outcome !== 'ready') {
    await d.stop();
    throw new Error(`fake-dns ${mode} on ${addr}:${port} ${outcome}: ${d.output()}`);
  }
  return { pid: d.pid, addr, port, mode, stop: () => d.stop() };
}
