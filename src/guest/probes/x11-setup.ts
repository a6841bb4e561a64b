import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { endianness } from 'node:os';
import { Duplex } from 'node:stream';
import type { X11SetupResponse } from '../../core/probe-types.js';
import { connectSocket, errnoOf, type SocketTarget } from './socket-connect.js';

/** The part of node-x11's connection setup result this probe reads. */
interface X11Display {
  vendor: string;
  release: number;
  screen: { pixel_width: number; pixel_height: number }[];
  client: X11ClientApi;
}

interface X11Lib {
  createClient(
    options: { display: string; stream: Duplex; auth: { name: string; data: string }; disableBigRequests: boolean; shm: boolean },
    done: (error: Error | undefined, display?: X11Display) => void,
  ): { on(event: 'error', listener: (error: Error) => void): void };
}

// node-x11 is CommonJS without types; loaded when this module is, before privileges drop.
const x11 = createRequire(import.meta.url)('x11') as X11Lib;

/** node-x11 prefixes the server's refusal with this; what follows is the server's own reason. */
const SETUP_FAILED_PREFIX = 'X server connection failed: ';
/** Status byte, pad, major, minor, then the rest's length in 4-byte units. */
const REPLY_HEADER_BYTES = 8;

type WithoutElapsed<T> = T extends unknown ? Omit<T, 'elapsedMs'> : never;

/** The cookie as node-x11 wants it: one latin1 character per byte, so binary bytes survive. */
function cookieString(dataHex: string): string {
  return Buffer.from(dataHex, 'hex').toString('latin1');
}

/**
 * Checks a complete setup reply before node-x11 parses it. node-x11 would take status 2
 * (Authenticate) for success, and it loops forever on a zero resource-id mask, so a broken
 * server could hang the probe at full CPU; those are refused here.
 */
function screenSetupReply(reply: Buffer): string | null {
  const status = reply[0];
  if (status === 0) return null;
  if (status === 2) return 'the X server asks for further authentication, which this probe does not speak';
  if (status !== 1) return `malformed setup reply (status byte ${String(status)})`;
  if (reply.length < 40) return 'malformed setup reply (shorter than its fixed part)';
  const mask = endianness() === 'LE' ? reply.readUInt32LE(16) : reply.readUInt32BE(16);
  return mask === 0 ? 'malformed setup reply (empty resource-id mask)' : null;
}

/**
 * Stands between the socket and node-x11: collects the whole setup reply (its length is
 * in the header), screens it, and only then lets node-x11 read it.
 */
function screenedStream(socket: Socket, onRefused: (verdict: WithoutElapsed<X11Failure>) => void): Duplex {
  let pending: Buffer = Buffer.alloc(0);
  let handedOver = false;
  const proxy = new Duplex({
    read: () => undefined,
    write: (chunk: Buffer, _encoding, callback) => void socket.write(chunk, callback),
    final: (callback) => void socket.end(callback),
  });
  socket.on('data', (chunk: Buffer) => {
    if (handedOver) return void proxy.push(chunk);
    pending = Buffer.concat([pending, chunk]);
    if (pending.length < REPLY_HEADER_BYTES) return;
    // The server answers in the byte order node-x11 declared, which is the host's.
    const units = endianness() === 'LE' ? pending.readUInt16LE(6) : pending.readUInt16BE(6);
    if (pending.length < REPLY_HEADER_BYTES + units * 4) return;
    const refusal = screenSetupReply(pending);
    if (refusal) {
      onRefused({ ok: false, stage: 'setup', errno: null, reason: refusal });
      return;
    }
    handedOver = true;
    proxy.push(pending);
  });
  socket.on('end', () => proxy.push(null));
  return proxy;
}

/** What a connection's user gets: the client, once the setup succeeded. */
export interface X11Connection {
  vendor: string;
  release: number;
  screens: { width: number; height: number }[];
  /** node-x11's client, for requests after the setup. */
  client: X11ClientApi;
}

/** The part of node-x11's client the extension probes use. */
export interface X11ClientApi {
  require(name: 'shm', done: (error: Error | undefined | null, ext?: unknown) => void): void;
  QueryExtension(name: string, done: (error: Error | undefined | null, ext?: { present: boolean; majorOpcode: number }) => void): void;
  AllocID(): number;
}

/** A failed connection, as every X11 probe reports it. */
export type X11Failure = Extract<X11SetupResponse, { ok: false }>;

/**
 * Connects, performs the X11 connection setup with the given cookie, then hands the connection to
 * `use` and reports what it returned; or the stage that failed with the server's own reason (e.g.
 * "Invalid MIT-MAGIC-COOKIE-1 key"). `timeoutMs` bounds the connect, the setup and `use` together.
 */
export async function withX11Connection<T>(
  target: SocketTarget,
  auth: { name: string; dataHex: string } | null,
  timeoutMs: number,
  use: (connection: X11Connection) => Promise<T>,
): Promise<{ ok: true; value: T; elapsedMs: number } | X11Failure> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  const connected = await connectSocket(target, timeoutMs);
  if (!connected.ok) {
    return { ok: false, stage: 'connect', errno: connected.errno, reason: connected.message, elapsedMs: elapsed() };
  }
  const socket = connected.socket;

  return new Promise((resolve) => {
    let settled = false;
    const finish = (verdict: { ok: true; value: T } | WithoutElapsed<X11Failure>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...verdict, elapsedMs: elapsed() });
    };
    const timer = setTimeout(
      () => {
        finish({ ok: false, stage: 'silent', errno: null, reason: `no answer to the X11 setup within ${timeoutMs} ms` });
      },
      Math.max(1, timeoutMs - elapsed()),
    );

    const onFailure = (error: Error): void => {
      if (error.message.startsWith(SETUP_FAILED_PREFIX)) {
        finish({ ok: false, stage: 'setup', errno: null, reason: error.message.slice(SETUP_FAILED_PREFIX.length).trim() });
        return;
      }
      const code = (error as NodeJS.ErrnoException).code;
      const reason = 'the X server closed the connection before the setup completed';
      finish({
        ok: false,
        stage: 'closed',
        errno: code === undefined ? null : errnoOf(error),
        reason: code === undefined ? reason : `${reason}: ${error.message}`,
      });
    };
    socket.on('error', onFailure);
    // Deferred, so a refusal sent just before the hang-up is parsed first.
    socket.on('close', () =>
      setImmediate(() => {
        onFailure(new Error('connection closed'));
      }),
    );

    try {
      const client = x11.createClient(
        {
          // Fixed, so node-x11 never parses the inherited $DISPLAY (it throws on odd ones).
          display: ':0',
          stream: screenedStream(socket, finish),
          auth: auth ? { name: auth.name, data: cookieString(auth.dataHex) } : { name: '', data: '' },
          // BIG-REQUESTS would cost a round trip the diagnosis does not need.
          disableBigRequests: true,
          // node-x11's own MIT-SHM segments (files in /dev/shm) are never made: a probe only asks.
          shm: false,
        },
        (error, display) => {
          if (error || !display) {
            onFailure(error ?? new Error('no display information'));
            return;
          }
          const connection: X11Connection = {
            vendor: display.vendor,
            release: display.release,
            screens: display.screen.map((s) => ({ width: s.pixel_width, height: s.pixel_height })),
            client: display.client,
          };
          use(connection).then(
            (value) => {
              finish({ ok: true, value });
            },
            (e: unknown) => {
              finish({ ok: false, stage: 'closed', errno: null, reason: e instanceof Error ? e.message : String(e) });
            },
          );
        },
      );
      // The refusal itself arrives as an 'error' on the client, not through the callback.
      client.on('error', onFailure);
    } catch (error) {
      onFailure(error instanceof Error ? error : new Error(String(error)));
    }
  });
}

/**
 * Performs the X11 connection setup with the given cookie and reports what the server said:
 * its vendor and screens, or its own reason for refusing (e.g. "Invalid MIT-MAGIC-COOKIE-1 key").
 * `timeoutMs` bounds the connect and the setup together.
 */
export async function probeX11Setup(
  target: SocketTarget,
  auth: { name: string; dataHex: string } | null,
  timeoutMs: number,
): Promise<X11SetupResponse> {
  const r = await withX11Connection(target, auth, timeoutMs, ({ vendor, release, screens }) =>
    Promise.resolve({ vendor, release, screens }),
  );
  return r.ok ? { ok: true, ...r.value, elapsedMs: r.elapsedMs } : r;
}
