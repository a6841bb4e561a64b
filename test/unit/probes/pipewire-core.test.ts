import path from 'node:path';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probePipewireCore } from '../../../src/guest/probes/pipewire-core.js';
import { helloAndSync, readPod, takeMessage } from '../../../src/guest/probes/pipewire-wire.js';
import { byteReader, cleanupAll, listen, staleSocket, tmpDir } from './fake-sockets.js';

afterEach(cleanupAll);

/** SPA POD builders, as the server writes them (little-endian, 8-byte padding). */
const pad = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((8 - (b.length % 8)) % 8)]);
const pod = (type: number, body: Buffer): Buffer => {
  const h = Buffer.alloc(8);
  h.writeUInt32LE(body.length, 0);
  h.writeUInt32LE(type, 4);
  return Buffer.concat([h, pad(body)]);
};
const int = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v, 0);
  return pod(4, b);
};
const long = (v: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(v, 0);
  return pod(5, b);
};
const str = (s: string): Buffer => pod(8, Buffer.from(`${s}\0`));
const struct = (...items: Buffer[]): Buffer => {
  const body = Buffer.concat(items);
  const h = Buffer.alloc(8);
  h.writeUInt32LE(body.length, 0);
  h.writeUInt32LE(14, 4);
  return Buffer.concat([h, body]);
};
const msg = (id: number, opcode: number, payload: Buffer): Buffer => {
  const h = Buffer.alloc(16);
  h.writeUInt32LE(id, 0);
  h.writeUInt32LE((opcode << 24) | payload.length, 4);
  return Buffer.concat([h, payload]);
};
const info = (version = '0.3.65') =>
  msg(
    0,
    0,
    Buffer.concat([
      struct(int(0), int(1234), str('alice'), str('box'), str(version), str('pipewire-0'), long(31n), struct(int(0))),
      struct(int(0), int(7)),
    ]),
  );
const clientInfo = msg(1, 0, struct(int(33), long(1n), struct(int(0))));
const done = (seq: number) => msg(0, 1, struct(int(0), int(seq)));
const error = (res: number, text: string) => msg(0, 3, struct(int(0), int(0), int(res), str(text)));

/** A fake core: reads Hello and Sync (asserting their shape), then writes `answer(syncSeq)`. */
async function fakeCore(
  answer: (syncSeq: number, conn: net.Socket) => void,
): Promise<{ socketPath: string; seen: { id: number; opcode: number; args: unknown[] }[] }> {
  const socketPath = path.join(await tmpDir(), 'pipewire-0');
  const seen: { id: number; opcode: number; args: unknown[] }[] = [];
  await listen({ path: socketPath }, (conn) => {
    const reader = byteReader(conn);
    void (async () => {
      for (let i = 0; i < 2; i++) {
        const head = await reader.read(16);
        const body = await reader.read(head.readUInt32LE(4) & 0xffffff);
        const p = readPod(body);
        const args = p?.pod.type === 'struct' ? p.pod.items.map((x) => ('value' in x ? x.value : x.type)) : [];
        seen.push({ id: head.readUInt32LE(0), opcode: head.readUInt32LE(4) >>> 24, args });
      }
      answer(Number(seen[1]?.args[1]), conn);
    })();
  });
  return { socketPath, seen };
}

describe('probePipewireCore', () => {
  it('sends Core::Hello(3) and Core::Sync(0, seq), and reads the core info before Core::Done', async () => {
    const core = await fakeCore((seq, conn) => conn.write(Buffer.concat([info(), clientInfo, done(seq)])));
    const res = await probePipewireCore({ kind: 'path', path: core.socketPath }, 1000);
    expect(res).toMatchObject({
      ok: true,
      stage: 'sync',
      core: { name: 'pipewire-0', version: '0.3.65', userName: 'alice', hostName: 'box', cookie: 1234 },
    });
    expect(core.seen[0]).toEqual({ id: 0, opcode: 1, args: [3] });
    expect(core.seen[1]).toMatchObject({ id: 0, opcode: 2, args: [0, 0x40000001] });
  });

  it('waits for the Done of its own sync, across split writes', async () => {
    const core = await fakeCore((seq, conn) => {
      const all = Buffer.concat([info('1.0.5'), done(seq + 5), done(seq)]);
      conn.write(all.subarray(0, 13));
      setTimeout(() => conn.write(all.subarray(13)), 20);
    });
    expect(await probePipewireCore({ kind: 'path', path: core.socketPath }, 1000)).toMatchObject({ ok: true, core: { version: '1.0.5' } });
  });

  it("a Core::Error names the errno and the server's text", async () => {
    const core = await fakeCore((_seq, conn) => conn.write(error(-13, 'access denied')));
    expect(await probePipewireCore({ kind: 'path', path: core.socketPath }, 1000)).toMatchObject({
      ok: false,
      stage: 'error',
      errno: 'EACCES',
      reason: 'Core::Error EACCES: access denied',
    });
  });

  it('Done with no info before it, an oversized frame, silence and a hang-up', async () => {
    const noInfo = await fakeCore((seq, conn) => conn.write(done(seq)));
    expect(await probePipewireCore({ kind: 'path', path: noInfo.socketPath }, 1000)).toMatchObject({ ok: false, stage: 'protocol' });
    const huge = await fakeCore((_seq, conn) => {
      const h = Buffer.alloc(16);
      h.writeUInt32LE(0xffffff, 4);
      conn.write(h);
    });
    expect(await probePipewireCore({ kind: 'path', path: huge.socketPath }, 1000)).toMatchObject({ ok: false, stage: 'protocol' });
    const silent = await fakeCore(() => undefined);
    expect(await probePipewireCore({ kind: 'path', path: silent.socketPath }, 200)).toMatchObject({ ok: false, stage: 'silent' });
    const closing = await fakeCore((_seq, conn) => conn.end());
    expect(await probePipewireCore({ kind: 'path', path: closing.socketPath }, 1000)).toMatchObject({ ok: false, stage: 'closed' });
  });

  it('connect failures keep their errno', async () => {
    const dir = await tmpDir();
    expect(await probePipewireCore({ kind: 'path', path: path.join(dir, 'pipewire-0') }, 500)).toMatchObject({
      ok: false,
      stage: 'connect',
      errno: 'ENOENT',
    });
    await staleSocket(path.join(dir, 'stale'));
    expect(await probePipewireCore({ kind: 'path', path: path.join(dir, 'stale') }, 500)).toMatchObject({
      ok: false,
      stage: 'connect',
      errno: 'ECONNREFUSED',
    });
  });
});

describe('pipewire-wire', () => {
  it('Hello then Sync, each a 16-byte header and one struct', () => {
    const first = takeMessage(helloAndSync(1));
    expect(first?.message).toMatchObject({ id: 0, opcode: 1, seq: 0, fds: 0 });
    expect(first?.message.payload.length).toBe(24);
    const second = takeMessage(first!.rest);
    expect(second?.message).toMatchObject({ id: 0, opcode: 2, seq: 1 });
    expect(second?.rest.length).toBe(0);
  });

  it('a POD cut short reads as null', () => {
    expect(readPod(struct(int(1), str('x')).subarray(0, 20))).toBeNull();
  });
});
