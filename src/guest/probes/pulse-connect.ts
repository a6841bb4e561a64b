import type { PulseConnectResponse, PulseServerInfo } from '../../core/probe-types.js';
import { connectSocket, errnoOf, type SocketTarget } from './socket-connect.js';
import {
  buildAuthPacket,
  buildCommandPacket,
  PA_COMMAND_GET_SERVER_INFO,
  PA_COMMAND_ERROR,
  PA_COMMAND_REPLY,
  PA_CONTROL_CHANNEL,
  PA_COOKIE_BYTES,
  PA_VERSION_MASK,
  pulseErrorText,
  readTags,
  readU32Tags,
  takeFrame,
} from './pulse-wire.js';

/** The AUTH is the first command of a connection, so any tag will do. */
const AUTH_TAG = 0;
const SERVER_INFO_TAG = 1;
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

/** The reply to GET_SERVER_INFO (name, version first), or null to keep reading. */
function judgeServerInfo(channel: number, payload: Buffer): PulseServerInfo | null {
  if (channel !== PA_CONTROL_CHANNEL) return null;
  const [command, tag, first, second] = readTags(payload, 4);
  if (tag !== SERVER_INFO_TAG || (command !== PA_COMMAND_REPLY && command !== PA_COMMAND_ERROR)) return null;
  if (command === PA_COMMAND_ERROR)
    return { ok: false, reason: typeof first === 'number' ? pulseErrorText(first) : 'an error with no code' };
  return typeof first === 'string' && typeof second === 'string'
    ? { ok: true, name: first, version: second }
    : { ok: false, reason: 'malformed reply to GET_SERVER_INFO (no name and version strings)' };
}

/**
 * Connects to a PulseAudio native socket and authenticates with the cookie: the server's
 * protocol version, or its refusal (e.g. "access denied"). With `serverInfo`, then asks
 * GET_SERVER_INFO for the server's name and version (pipewire-pulse calls itself
 * "PulseAudio (on PipeWire X)"). `timeoutMs` bounds the whole exchange.
 */
export async function probePulseConnect(
  target: SocketTarget,
  cookieHex: string | null,
  timeoutMs: number,
  serverInfo = false,
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
    const timer = setTimeout(
      () => {
        if (authed) {
          timer2();
          return;
        }
        finish({ ok: false, stage: 'silent', errno: null, reason: `no answer to AUTH within ${timeoutMs} ms` });
      },
      Math.max(1, timeoutMs - elapsed()),
    );

    // After a successful AUTH with serverInfo: the AUTH verdict, waiting for GET_SERVER_INFO's reply.
    let authed: Extract<Verdict, { ok: true }> | null = null;
    const timer2 = (): void => {
      // A server that authenticates but never answers GET_SERVER_INFO is still authenticated.
      if (authed) finish({ ...authed, server: { ok: false, reason: `no answer to GET_SERVER_INFO within ${timeoutMs} ms` } });
    };
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (let frame = takeFrame(buffer); frame; frame = takeFrame(buffer)) {
        buffer = frame.rest;
        if (authed) {
          const info = judgeServerInfo(frame.channel, frame.payload);
          if (info) {
            finish({ ...authed, server: info });
            return;
          }
          continue;
        }
        const verdict = judgeFrame(frame.channel, frame.payload);
        if (verdict?.ok && serverInfo) {
          authed = verdict;
          socket.write(buildCommandPacket(PA_COMMAND_GET_SERVER_INFO, SERVER_INFO_TAG));
          continue;
        }
        if (verdict) {
          finish(verdict);
          return;
        }
      }
      if (buffer.length >= 4 && buffer.readUInt32BE(0) > MAX_FRAME_BYTES) {
        finish({ ok: false, stage: 'auth', errno: null, reason: 'malformed reply to AUTH (oversized frame)' });
      }
    });
    socket.on('error', (error) => {
      if (authed) {
        finish({ ...authed, server: { ok: false, reason: `the server dropped the connection: ${error.message}` } });
        return;
      }
      finish({ ok: false, stage: 'closed', errno: errnoOf(error), reason: `the server dropped the connection: ${error.message}` });
    });
    socket.on('close', () => {
      if (authed) {
        finish({ ...authed, server: { ok: false, reason: 'the server closed the connection without answering GET_SERVER_INFO' } });
        return;
      }
      finish({ ok: false, stage: 'closed', errno: null, reason: 'the server closed the connection without answering AUTH' });
    });
    socket.write(buildAuthPacket(AUTH_TAG, cookieBytes(cookieHex)));
  });
}
