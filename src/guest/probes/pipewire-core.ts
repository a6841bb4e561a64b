import { constants } from 'node:os';
import type { PipewireCoreResponse } from '../../core/probe-types.js';
import { connectSocket, errnoOf, type SocketTarget } from './socket-connect.js';
import {
  coreDoneOf,
  coreErrorOf,
  coreInfoOf,
  helloAndSync,
  PW_ASYNC_BIT,
  PW_CORE_EVENT_DONE,
  PW_CORE_EVENT_ERROR,
  PW_CORE_EVENT_INFO,
  PW_ID_CORE,
  takeMessage,
} from './pipewire-wire.js';

type WithoutElapsed<T> = T extends unknown ? Omit<T, 'elapsedMs'> : never;
type Verdict = WithoutElapsed<PipewireCoreResponse>;

/** Our sync's sequence number; the core echoes it in Core::Done. */
const SYNC_SEQ = 1;
const MAX_BUFFERED = 1 << 21;

/** "EACCES" for -13, as the core's error event carries a negative errno. */
function errnoName(res: number): string {
  const found = Object.entries(constants.errno).find(([, n]) => n === -res);
  return found ? found[0] : `error ${res}`;
}

/**
 * Connects to a PipeWire native socket and does what every client does first: Core::Hello,
 * then Core::Sync. The core answers with its info event (name, version, user, host), any
 * events for the client object, and Core::Done for our sync; or with Core::Error.
 */
export async function probePipewireCore(target: SocketTarget, timeoutMs: number): Promise<PipewireCoreResponse> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  const connected = await connectSocket(target, timeoutMs);
  if (!connected.ok) return { ok: false, stage: 'connect', errno: connected.errno, reason: connected.message, elapsedMs: elapsed() };
  const socket = connected.socket;
  return new Promise<PipewireCoreResponse>((resolve) => {
    let settled = false;
    let buffer: Buffer = Buffer.alloc(0);
    let core: ReturnType<typeof coreInfoOf> = null;
    const finish = (verdict: Verdict): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...verdict, elapsedMs: elapsed() });
    };
    const timer = setTimeout(
      () => finish({ ok: false, stage: 'silent', errno: null, reason: `no answer to Core::Hello and Core::Sync within ${timeoutMs} ms` }),
      Math.max(1, timeoutMs - elapsed()),
    );
    const onMessage = (id: number, opcode: number, payload: Buffer): Verdict | null => {
      // Events of other objects (the client's own info, say) are not our answer.
      if (id !== PW_ID_CORE) return null;
      if (opcode === PW_CORE_EVENT_INFO) {
        core = coreInfoOf(payload);
        return core
          ? null
          : {
              ok: false,
              stage: 'protocol',
              errno: null,
              reason: 'a Core::Info event that is not a struct of id, cookie, user, host, version and name',
            };
      }
      if (opcode === PW_CORE_EVENT_ERROR) {
        const e = coreErrorOf(payload);
        return {
          ok: false,
          stage: 'error',
          errno: e ? errnoName(e.res) : null,
          reason: e ? `Core::Error ${errnoName(e.res)}: ${e.message}` : 'a malformed Core::Error event',
        };
      }
      if (opcode === PW_CORE_EVENT_DONE) {
        const done = coreDoneOf(payload);
        if (!done || done.id !== PW_ID_CORE || (done.seq & ~PW_ASYNC_BIT) !== SYNC_SEQ) return null;
        return core
          ? { ok: true, stage: 'sync', core }
          : { ok: false, stage: 'protocol', errno: null, reason: 'Core::Done came without a Core::Info before it' };
      }
      return null;
    };
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length > MAX_BUFFERED) {
        finish({ ok: false, stage: 'protocol', errno: null, reason: 'the server sent more than 2 MiB before answering' });
        return;
      }
      try {
        for (let cut = takeMessage(buffer); cut; cut = takeMessage(buffer)) {
          buffer = cut.rest;
          const verdict = onMessage(cut.message.id, cut.message.opcode, cut.message.payload);
          if (verdict) {
            finish(verdict);
            return;
          }
        }
      } catch (error) {
        finish({ ok: false, stage: 'protocol', errno: null, reason: `not PipeWire's native protocol: ${(error as Error).message}` });
      }
    });
    socket.on('error', (error) =>
      finish({ ok: false, stage: 'closed', errno: errnoOf(error), reason: `the server dropped the connection: ${error.message}` }),
    );
    socket.on('close', () =>
      finish({ ok: false, stage: 'closed', errno: null, reason: 'the server closed the connection before answering Core::Sync' }),
    );
    socket.write(helloAndSync(SYNC_SEQ));
  });
}
