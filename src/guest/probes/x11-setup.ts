import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type { X11SetupResponse } from '../probe-protocol.js';
import { connectSocket, errnoOf, type SocketTarget } from './socket-connect.js';

/** The part of node-x11's connection setup result this probe reads. */
interface X11Display {
  vendor: string;
  release: number;
  screen: { pixel_width: number; pixel_height: number }[];
}

interface X11Client {
  on(event: 'error', listener: (error: Error) => void): void;
}

interface X11Lib {
  createClient(
    options: { stream: Socket; auth: { name: string; data: string }; disableBigRequests: boolean },
    done: (error: Error | undefined, display?: X11Display) => void,
  ): X11Client;
}

// node-x11 is CommonJS without types; loaded when this module is, before privileges drop.
const x11 = createRequire(import.meta.url)('x11') as X11Lib;

/** node-x11 prefixes the server's refusal with this; what follows is the server's own reason. */
const SETUP_FAILED_PREFIX = 'X server connection failed: ';

/** The cookie as node-x11 wants it: one latin1 character per byte, so binary bytes survive. */
function cookieString(dataHex: string): string {
  return Buffer.from(dataHex, 'hex').toString('latin1');
}

/**
 * Catches replies node-x11 cannot handle: status 2 (Authenticate) it would parse as success,
 * and a zero resource-id mask, on which its setup parser loops forever.
 */
function screenFirstChunk(chunk: Buffer): string | null {
  const status = chunk[0];
  if (status === 2) return 'the X server asks for further authentication, which this probe does not speak';
  if (status !== 0 && status !== 1) return `malformed setup reply (status byte ${String(status)})`;
  if (status === 1 && chunk.length >= 20 && chunk.readUInt32LE(16) === 0) return 'malformed setup reply (empty resource-id mask)';
  return null;
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
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  const connected = await connectSocket(target, timeoutMs);
  if (!connected.ok) {
    return { ok: false, stage: 'connect', errno: connected.errno, reason: connected.message, elapsedMs: elapsed() };
  }
  const socket = connected.socket;
  const remainingMs = Math.max(1, timeoutMs - elapsed());

  return new Promise<X11SetupResponse>((resolve) => {
    let settled = false;
    const finish = (response: X11SetupResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(response);
    };
    const timer = setTimeout(() => {
      finish({ ok: false, stage: 'silent', errno: null, reason: `no answer to the X11 setup within ${timeoutMs} ms`, elapsedMs: elapsed() });
    }, remainingMs);

    const onFailure = (error: Error): void => {
      if (error.message.startsWith(SETUP_FAILED_PREFIX)) {
        const reason = error.message.slice(SETUP_FAILED_PREFIX.length).trim();
        finish({ ok: false, stage: 'setup', errno: null, reason, elapsedMs: elapsed() });
        return;
      }
      const code = (error as NodeJS.ErrnoException).code;
      finish({
        ok: false,
        stage: 'closed',
        errno: code === undefined ? null : errnoOf(error),
        reason: `the X server closed the connection before the setup completed: ${error.message}`,
        elapsedMs: elapsed(),
      });
    };

    try {
      const client = x11.createClient(
        {
          stream: socket,
          auth: auth ? { name: auth.name, data: cookieString(auth.dataHex) } : { name: '', data: '' },
          // BIG-REQUESTS would cost a round trip the diagnosis does not need.
          disableBigRequests: true,
        },
        (error, display) => {
          if (error || !display) {
            onFailure(error ?? new Error('no display information'));
            return;
          }
          finish({
            ok: true,
            vendor: display.vendor,
            release: display.release,
            screens: display.screen.map((s) => ({ width: s.pixel_width, height: s.pixel_height })),
            elapsedMs: elapsed(),
          });
        },
      );
      // The refusal itself arrives as an 'error' on the client, not through the callback.
      client.on('error', onFailure);
      // Added before node-x11 attaches its own reader (a microtask later), so this sees data first.
      socket.once('data', (chunk: Buffer) => {
        const verdict = screenFirstChunk(chunk);
        if (verdict) finish({ ok: false, stage: 'setup', errno: null, reason: verdict, elapsedMs: elapsed() });
      });
    } catch (error) {
      onFailure(error instanceof Error ? error : new Error(String(error)));
    }
  });
}
