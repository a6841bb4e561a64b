import path from 'node:path';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probePulseConnect } from '../../../src/guest/probes/pulse-connect.js';
import { byteReader, cleanupAll, listen, staleSocket, tmpDir } from './fake-sockets.js';

afterEach(cleanupAll);

interface Auth {
  channel: number;
  command: number;
  tag: number;
  version: number;
  cookie: Buffer;
}

/** Reads one framed AUTH: descriptor, then 'L' command, 'L' tag, 'L' version, 'x' cookie. */
async function readAuth(conn: net.Socket): Promise<Auth> {
  const reader = byteReader(conn);
  const descriptor = await reader.read(20);
  const payload = await reader.read(descriptor.readUInt32BE(0));
  expect([payload[0], payload[5], payload[10], payload[15]]).toEqual([0x4c, 0x4c, 0x4c, 0x78]);
  const cookieLength = payload.readUInt32BE(16);
  return {
    channel: descriptor.readUInt32BE(4),
    command: payload.readUInt32BE(1),
    tag: payload.readUInt32BE(6),
    version: payload.readUInt32BE(11),
    cookie: Buffer.from(payload.subarray(20, 20 + cookieLength)),
  };
}

/** A control packet carrying u32 values, as the server frames it. */
function packet(values: number[], channel = 0xffffffff): Buffer {
  const payload = Buffer.alloc(values.length * 5);
  values.forEach((v, i) => {
    payload[i * 5] = 0x4c;
    payload.writeUInt32BE(v >>> 0, i * 5 + 1);
  });
  const descriptor = Buffer.alloc(20);
  descriptor.writeUInt32BE(payload.length, 0);
  descriptor.writeUInt32BE(channel, 4);
  return Buffer.concat([descriptor, payload]);
}

async function fakePulse(answer: (auth: Auth, conn: net.Socket) => void): Promise<{ socketPath: string; auths: Auth[] }> {
  const socketPath = path.join(await tmpDir(), 'native');
  const auths: Auth[] = [];
  await listen({ path: socketPath }, (conn) => {
    void readAuth(conn).then((auth) => {
      auths.push(auth);
      answer(auth, conn);
    });
  });
  return { socketPath, auths };
}

const COOKIE = Buffer.alloc(256, 0xa5);

describe('probePulseConnect', () => {
  it('authenticates and reports the server version without the SHM/memfd flag bits', async () => {
    const pulse = await fakePulse((auth, conn) => conn.write(packet([2, auth.tag, 35 | 0x80000000 | 0x40000000])));
    const res = await probePulseConnect({ kind: 'path', path: pulse.socketPath }, COOKIE.toString('hex'), 1000);
    expect(res).toMatchObject({ ok: true, stage: 'auth', protocolVersion: 35 });
    expect(pulse.auths[0]).toMatchObject({ channel: 0xffffffff, command: 8, version: 35 });
    expect(pulse.auths[0]?.cookie.equals(COOKIE)).toBe(true);
  });

  it('sends 256 zero bytes when there is no cookie', async () => {
    const pulse = await fakePulse((auth, conn) => conn.write(packet([2, auth.tag, 34])));
    expect(await probePulseConnect({ kind: 'path', path: pulse.socketPath }, null, 1000)).toMatchObject({ ok: true, protocolVersion: 34 });
    expect(pulse.auths[0]?.cookie.equals(Buffer.alloc(256))).toBe(true);
  });

  it('skips unrelated packets before the reply', async () => {
    const pulse = await fakePulse((auth, conn) =>
      conn.write(Buffer.concat([packet([1, 2, 3], 0), packet([2, auth.tag + 9, 1]), packet([2, auth.tag, 35])])),
    );
    expect(await probePulseConnect({ kind: 'path', path: pulse.socketPath }, null, 1000)).toMatchObject({ ok: true, protocolVersion: 35 });
  });

  it('reports an ERROR reply as stage auth with the error text', async () => {
    const pulse = await fakePulse((auth, conn) => conn.write(packet([0, auth.tag, 1])));
    expect(await probePulseConnect({ kind: 'path', path: pulse.socketPath }, null, 1000)).toMatchObject({
      ok: false,
      stage: 'auth',
      errno: null,
      reason: 'access denied',
    });
  });

  it('reports a server that hangs up as closed, and one that says nothing as silent', async () => {
    const closing = await fakePulse((_auth, conn) => conn.end());
    expect(await probePulseConnect({ kind: 'path', path: closing.socketPath }, null, 1000)).toMatchObject({ ok: false, stage: 'closed' });
    const silent = await fakePulse(() => undefined);
    expect(await probePulseConnect({ kind: 'path', path: silent.socketPath }, null, 200)).toMatchObject({ ok: false, stage: 'silent' });
  });

  it('reports connect failures with their errno', async () => {
    const dir = await tmpDir();
    expect(await probePulseConnect({ kind: 'path', path: path.join(dir, 'native') }, null, 500)).toMatchObject({
      ok: false,
      stage: 'connect',
      errno: 'ENOENT',
    });
    await staleSocket(path.join(dir, 'stale'));
    expect(await probePulseConnect({ kind: 'path', path: path.join(dir, 'stale') }, null, 500)).toMatchObject({
      ok: false,
      stage: 'connect',
      errno: 'ECONNREFUSED',
    });
  });

  it('speaks over loopback TCP', async () => {
    const server = await listen({ host: '127.0.0.1' }, (conn) => void readAuth(conn).then((a) => conn.write(packet([2, a.tag, 35]))));
    expect(await probePulseConnect({ kind: 'tcp', host: '127.0.0.1', port: server.port }, null, 1000)).toMatchObject({ ok: true });
  });
});

describe('probePulseConnect with serverInfo: GET_SERVER_INFO after AUTH', () => {
  /** A reply of strings after command and tag. */
  const stringsReply = (tag: number, strings: string[]): Buffer => {
    const head = packet([2, tag]);
    const body = Buffer.concat(strings.map((s) => Buffer.concat([Buffer.from([0x74]), Buffer.from(`${s}\0`)])));
    const payload = Buffer.concat([head.subarray(20), body]);
    const descriptor = Buffer.alloc(20);
    descriptor.writeUInt32BE(payload.length, 0);
    descriptor.writeUInt32BE(0xffffffff, 4);
    return Buffer.concat([descriptor, payload]);
  };
  /** Answers AUTH, then reads GET_SERVER_INFO (command 20) and answers with `reply(tag)`. */
  async function fakeServer(reply: ((tag: number) => Buffer) | null) {
    const socketPath = path.join(await tmpDir(), 'native');
    const commands: number[] = [];
    await listen({ path: socketPath }, (conn) => {
      const reader = byteReader(conn);
      void (async () => {
        const d = await reader.read(20);
        await reader.read(d.readUInt32BE(0));
        conn.write(packet([2, 0, 35]));
        const d2 = await reader.read(20);
        const p = await reader.read(d2.readUInt32BE(0));
        commands.push(p.readUInt32BE(1));
        if (reply) conn.write(reply(p.readUInt32BE(6)));
      })();
    });
    return { socketPath, commands };
  }

  it('pipewire-pulse names itself "PulseAudio (on PipeWire X)"', async () => {
    const s = await fakeServer((tag) => stringsReply(tag, ['PulseAudio (on PipeWire 0.3.65)', '15.0.0', 'alice', 'box']));
    expect(await probePulseConnect({ kind: 'path', path: s.socketPath }, null, 1000, true)).toMatchObject({
      ok: true,
      server: { ok: true, name: 'PulseAudio (on PipeWire 0.3.65)', version: '15.0.0' },
    });
    expect(s.commands).toEqual([20]);
  });

  it('an ERROR reply or silence after AUTH: still authenticated, the server unnamed', async () => {
    const err = await fakeServer((tag) => packet([0, tag, 2]));
    expect(await probePulseConnect({ kind: 'path', path: err.socketPath }, null, 1000, true)).toMatchObject({
      ok: true,
      server: { ok: false, reason: 'unknown command' },
    });
    const silent = await fakeServer(null);
    expect(await probePulseConnect({ kind: 'path', path: silent.socketPath }, null, 300, true)).toMatchObject({
      ok: true,
      server: { ok: false },
    });
  });

  it('without serverInfo nothing more is sent', async () => {
    const s = await fakeServer(null);
    const res = await probePulseConnect({ kind: 'path', path: s.socketPath }, null, 300);
    expect(res).toMatchObject({ ok: true });
    expect('server' in res).toBe(false);
  });
});
