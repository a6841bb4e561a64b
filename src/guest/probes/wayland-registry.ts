import type { WaylandRegistryResponse } from '../../core/probe-types.js';
import { connectSocket, errnoOf, type SocketTarget } from './socket-connect.js';

type WithoutElapsed<T> = T extends unknown ? Omit<T, 'elapsedMs'> : never;
type Verdict = WithoutElapsed<WaylandRegistryResponse>;

const DISPLAY_ID = 1;
const REGISTRY_ID = 2;
const CALLBACK_ID = 3;
/** Globals kept in the answer; a compositor has a few dozen. */
const MAX_GLOBALS = 128;
const MAX_BUFFERED = 1 << 20;

/** One request: object id, then size << 16 | opcode, then one uint32 argument (native endian: little on the hosts we run on). */
function request(object: number, opcode: number, arg: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt32LE(object, 0);
  b.writeUInt32LE((12 << 16) | opcode, 4);
  b.writeUInt32LE(arg, 8);
  return b;
}

/** A wire string: uint32 length with its NUL, bytes, padded to 4. */
function readString(b: Buffer, at: number): { value: string; next: number } | null {
  if (at + 4 > b.length) return null;
  const len = b.readUInt32LE(at);
  if (at + 4 + len > b.length) return null;
  return { value: b.toString('utf8', at + 4, at + 4 + Math.max(0, len - 1)), next: at + 4 + ((len + 3) & ~3) };
}

/**
 * Connects to a Wayland socket and does what every client does first: wl_display.get_registry,
 * then wl_display.sync; the compositor lists its globals and answers the sync with wl_callback.done.
 */
export async function probeWaylandRegistry(target: SocketTarget, timeoutMs: number): Promise<WaylandRegistryResponse> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  const connected = await connectSocket(target, timeoutMs);
  if (!connected.ok) return { ok: false, stage: 'connect', errno: connected.errno, reason: connected.message, elapsedMs: elapsed() };
  const socket = connected.socket;
  return new Promise<WaylandRegistryResponse>((resolve) => {
    let settled = false;
    let buffer: Buffer = Buffer.alloc(0);
    const globals: string[] = [];
    let count = 0;
    const finish = (verdict: Verdict): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...verdict, elapsedMs: elapsed() });
    };
    const timer = setTimeout(
      () => finish({ ok: false, stage: 'silent', errno: null, reason: `no answer to wl_display.sync within ${timeoutMs} ms` }),
      Math.max(1, timeoutMs - elapsed()),
    );
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length > MAX_BUFFERED) {
        finish({ ok: false, stage: 'protocol', errno: null, reason: 'the compositor sent more than 1 MiB before answering' });
        return;
      }
      while (buffer.length >= 8) {
        const object = buffer.readUInt32LE(0);
        const word = buffer.readUInt32LE(4);
        const size = word >>> 16;
        const opcode = word & 0xffff;
        if (size < 8 || size % 4 !== 0) {
          finish({ ok: false, stage: 'protocol', errno: null, reason: `not a Wayland message (size ${size})` });
          return;
        }
        if (buffer.length < size) return;
        const body = buffer.subarray(8, size);
        buffer = buffer.subarray(size);
        if (object === DISPLAY_ID && opcode === 0) {
          const s = readString(body, 8);
          finish({
            ok: false,
            stage: 'protocol',
            errno: null,
            reason: `wl_display.error ${body.length >= 8 ? body.readUInt32LE(4) : '?'}: ${s?.value ?? ''}`,
          });
          return;
        }
        if (object === REGISTRY_ID && opcode === 0) {
          count++;
          const s = readString(body, 4);
          if (s && globals.length < MAX_GLOBALS) globals.push(s.value);
        }
        if (object === CALLBACK_ID && opcode === 0) {
          finish({ ok: true, stage: 'sync', globals, globalCount: count });
          return;
        }
      }
    });
    socket.on('error', (error) =>
      finish({ ok: false, stage: 'closed', errno: errnoOf(error), reason: `the compositor dropped the connection: ${error.message}` }),
    );
    socket.on('close', () =>
      finish({ ok: false, stage: 'closed', errno: null, reason: 'the compositor closed the connection before answering wl_display.sync' }),
    );
    socket.write(Buffer.concat([request(DISPLAY_ID, 1, REGISTRY_ID), request(DISPLAY_ID, 0, CALLBACK_ID)]));
  });
}
