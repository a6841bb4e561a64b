import type { DbusHelloResponse } from '../../core/probe-types.js';
import { connectSocket, errnoOf, type SocketTarget } from './socket-connect.js';
import { authExternalLine, helloMessage, takeMessage } from './dbus-wire.js';

type WithoutElapsed<T> = T extends unknown ? Omit<T, 'elapsedMs'> : never;
type Verdict = WithoutElapsed<DbusHelloResponse>;

/** Longest SASL line a server sends before BEGIN. */
const MAX_LINE_BYTES = 4096;

/**
 * Connects to a bus socket and does what every client does first: the NUL byte,
 * `AUTH EXTERNAL <hex uid>`, `OK <guid>`, `BEGIN`, then Hello, answered with a unique name (`:1.N`).
 * `uid` is the one the client states (the guest user's). `timeoutMs` bounds the whole exchange.
 */
export async function probeDbusHello(target: SocketTarget, uid: number, timeoutMs: number): Promise<DbusHelloResponse> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  const connected = await connectSocket(target, timeoutMs);
  if (!connected.ok) return { ok: false, stage: 'connect', errno: connected.errno, reason: connected.message, elapsedMs: elapsed() };
  const socket = connected.socket;

  return new Promise<DbusHelloResponse>((resolve) => {
    let settled = false;
    let stage: 'auth' | 'hello' = 'auth';
    let guid = '';
    let buffer: Buffer = Buffer.alloc(0);
    const finish = (verdict: Verdict): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...verdict, elapsedMs: elapsed() });
    };
    const timer = setTimeout(
      () =>
        finish({
          ok: false,
          stage: 'silent',
          errno: null,
          reason: `no answer to ${stage === 'auth' ? 'AUTH EXTERNAL' : 'Hello'} within ${timeoutMs} ms`,
        }),
      Math.max(1, timeoutMs - elapsed()),
    );

    const onAuthLine = (line: string): void => {
      if (line.startsWith('OK ')) {
        guid = line.slice(3).trim();
        stage = 'hello';
        socket.write(Buffer.concat([Buffer.from('BEGIN\r\n', 'ascii'), helloMessage()]));
      } else if (line.startsWith('REJECTED')) {
        finish({ ok: false, stage: 'auth', errno: null, reason: `the bus rejected AUTH EXTERNAL for uid ${uid}: ${line.slice(0, 200)}` });
      } else {
        finish({ ok: false, stage: 'auth', errno: null, reason: `unexpected answer to AUTH: ${JSON.stringify(line.slice(0, 200))}` });
      }
    };

    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (stage === 'auth') {
        const end = buffer.indexOf('\r\n');
        if (end < 0) {
          if (buffer.length > MAX_LINE_BYTES)
            finish({ ok: false, stage: 'auth', errno: null, reason: 'the answer to AUTH is not a SASL line' });
          return;
        }
        const line = buffer.toString('latin1', 0, end);
        buffer = buffer.subarray(end + 2);
        onAuthLine(line);
        if ((stage as string) !== 'hello') return;
      }
      for (;;) {
        const m = takeMessage(buffer);
        if (m === null) return;
        if (m === 'malformed') {
          finish({ ok: false, stage: 'hello', errno: null, reason: 'the answer to Hello is not a D-Bus message' });
          return;
        }
        buffer = m.rest;
        if (m.type === 2 && m.firstString !== null) {
          finish({ ok: true, stage: 'hello', name: m.firstString, guid });
          return;
        }
        if (m.type === 3) {
          finish({
            ok: false,
            stage: 'hello',
            errno: null,
            reason: `Hello failed: ${m.errorName ?? 'error'}${m.firstString ? `: ${m.firstString}` : ''}`,
          });
          return;
        }
      }
    });
    socket.on('error', (error) =>
      finish({ ok: false, stage: 'closed', errno: errnoOf(error), reason: `the bus dropped the connection: ${error.message}` }),
    );
    socket.on('close', () =>
      finish(
        stage === 'hello'
          ? // dbus-daemon says OK to any uid that proves itself, then hangs up on one its policy does not allow.
            {
              ok: false,
              stage: 'denied',
              errno: null,
              reason: `the bus accepted AUTH EXTERNAL for uid ${uid}, then closed the connection before answering Hello: its policy does not allow that uid (a bus of another user)`,
            }
          : { ok: false, stage: 'closed', errno: null, reason: 'the bus closed the connection during AUTH' },
      ),
    );
    socket.write(Buffer.concat([Buffer.from([0]), Buffer.from(authExternalLine(uid), 'ascii')]));
  });
}
