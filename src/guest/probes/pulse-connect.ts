import type { PulseConnectResponse } from '../probe-protocol.js';
import { connectSocket, errnoOf, type SocketTarget } from './socket-connect.js';
import {
  buildAuthPacket,
  PA_COMMAND_ERROR,
  PA_COMMAND_REPLY,
  PA_CONTROL_CHANNEL,
  PA_COOKIE_BYTES,
  PA_VERSION_MASK,
  pulseErrorText,
  readU32Tags,
  takeFrame,
} from './pulse-wire.js';

/** The AUTH is the first command of a connection, so any tag will do. */
const AUTH_TAG = 0;
/** A first reply larger than this is not an answer to AUTH. */
const MAX_FRAME_BYTES = 64 * 1024;

/** The cookie as 256 bytes: zeros when none (an `auth-anonymous=1` server accepts anything). */
function cookieBytes(cookieHex: string | null): Buffer {
  const cookie = Buffer.alloc(PA_COOKIE_BYTES);
  if (cookieHex) Buffer.from(cookieHex, 'hex').copy(cookie, 0, 0, PA_COOKIE_BYTES);
  return cookie;
}

type WithoutElapsed<T> = T extends unknown ? Omit<T, 'elapsedMs'> : never;
/** A response before its timing is added. */
type Verdict = WithoutElapsed<PulseConnectResponse>;

/** Decides on the reply to our AUTH, or returns null to keep reading. */
function judgeFrame(channel: number, payload: Buffer): Verdict | null {
  // Memblocks and unrelated commands are not our answer.
  if (channel !== PA_CONTROL_CHANNEL) return null;
  const [command, tag, value] = readU32Tags(payload, 3);
  if (command === undefined || tag === undefined || value === undefined) {
    return { ok: false, stage: 'auth', errno: null, reason: 'malformed reply to AUTH (not a command, tag and value)' };
  }
  if (tag !== AUTH_TAG || (command !== PA_COMMAND_REPLY && command !== PA_COMMAND_ERROR)) return null;
  if (command === PA_COMMAND_ERROR) {
    return { ok: false, stage: 'auth', errno: null, reason: pulseErrorText(value) };
  }
  return { ok: true, stage: 'auth', protocolVersion: value & PA_VERSION_MASK };
}

/**
 * Connects to a PulseAudio native socket and authenticates with the cookie: the server's
 * protocol version, or its refusal (e.g. "access denied"). `timeoutMs` bounds the whole exchange.
 */
export async function probePulseConnect(
  target: SocketTarget,
  cookieHex: string | null,
  timeoutMs: number,
): Promise<PulseConnectResponse> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  const connected = await connectSocket(target, timeoutMs);
  if (!connected.ok) {
    return { ok: false, stage: 'connect', errno: connected.errno, reason: connected.message, elapsedMs: elapsed() };
  }
  const socket = connected.socket;

  return new Promise<PulseConnectResponse>((resolve) => {
    let settled = false;
    let buffer: Buffer = Buffer.alloc(0);
    const finish = (verdict: Verdict): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...verdict, elapsedMs: elapsed() });
    };
    const timer = setTimeout(() => {
      finish({ ok: false, stage: 'silent', errno: null, reason: `no answer to AUTH within ${timeoutMs} ms` });
    }, Math.max(1, timeoutMs - elapsed()));

    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (let frame = takeFrame(buffer); frame; frame = takeFrame(buffer)) {
        buffer = frame.rest;
        const verdict = judgeFrame(frame.channel, frame.payload);
        if (verdict) { finish(verdict); return; }
      }
      if (buffer.length >= 4 && buffer.readUInt32BE(0) > MAX_FRAME_BYTES) {
        finish({ ok: false, stage: 'auth', errno: null, reason: 'malformed reply to AUTH (oversized frame)' });
      }
    });
    socket.on('error', (error) => {
      finish({ ok: false, stage: 'closed', errno: errnoOf(error), reason: `the server dropped the connection: ${error.message}` });
    });
    socket.on('close', () => {
      finish({ ok: false, stage: 'closed', errno: null, reason: 'the server closed the connection without answering AUTH' });
    });
    socket.write(buildAuthPacket(AUTH_TAG, cookieBytes(cookieHex)));
  });
}
