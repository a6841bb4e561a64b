import path from 'node:path';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probeX11Setup } from '../../../src/guest/probes/x11-setup.js';
import { byteReader, cleanupAll, listen, tmpDir } from './fake-sockets.js';

afterEach(cleanupAll);

const pad4 = (n: number): number => (4 - (n % 4)) % 4;

/** Reads the client's setup request (little-endian, as node-x11 sends on x86). */
async function readHello(conn: net.Socket): Promise<{ name: string; data: Buffer }> {
  const reader = byteReader(conn);
  const head = await reader.read(12);
  const nameLen = head.readUInt16LE(6);
  const dataLen = head.readUInt16LE(8);
  const rest = await reader.read(nameLen + pad4(nameLen) + dataLen + pad4(dataLen));
  const dataAt = nameLen + pad4(nameLen);
  return { name: rest.subarray(0, nameLen).toString('latin1'), data: Buffer.from(rest.subarray(dataAt, dataAt + dataLen)) };
}

/** The server's refusal: status 0, reason length, protocol 11.0, length in 4-byte units, reason. */
function failureReply(reason: string): Buffer {
  const text = Buffer.from(reason, 'latin1');
  const padded = Buffer.concat([text, Buffer.alloc(pad4(text.length))]);
  const head = Buffer.alloc(8);
  head.writeUInt8(0, 0);
  head.writeUInt8(text.length, 1);
  head.writeUInt16LE(11, 2);
  head.writeUInt16LE(0, 4);
  head.writeUInt16LE(padded.length / 4, 6);
  return Buffer.concat([head, padded]);
}

/** A minimal success: one pixmap format, one screen with one depth and one visual. */
function successReply(vendor: string, width: number, height: number): Buffer {
  const vendorBytes = Buffer.from(vendor, 'latin1');
  const fixed = Buffer.alloc(32);
  fixed.writeUInt32LE(12_101_004, 0); // release
  fixed.writeUInt32LE(0x00200000, 4); // resource-id-base
  fixed.writeUInt32LE(0x001fffff, 8); // resource-id-mask
  fixed.writeUInt32LE(256, 12); // motion-buffer-size
  fixed.writeUInt16LE(vendorBytes.length, 16);
  fixed.writeUInt16LE(0xffff, 18); // maximum-request-length
  fixed.writeUInt8(1, 20); // screens
  fixed.writeUInt8(1, 21); // pixmap formats
  fixed.writeUInt8(0, 22); // image byte order LSBFirst
  fixed.writeUInt8(0, 23);
  fixed.writeUInt8(32, 24);
  fixed.writeUInt8(32, 25);
  fixed.writeUInt8(8, 26); // min keycode
  fixed.writeUInt8(255, 27); // max keycode
  const vendorPadded = Buffer.concat([vendorBytes, Buffer.alloc(pad4(vendorBytes.length))]);
  const format = Buffer.from([24, 32, 32, 0, 0, 0, 0, 0]);
  const screen = Buffer.alloc(40);
  screen.writeUInt32LE(0x100, 0); // root window
  screen.writeUInt32LE(0x20, 4); // default colormap
  screen.writeUInt32LE(0xffffff, 8);
  screen.writeUInt32LE(0, 12);
  screen.writeUInt16LE(width, 20);
  screen.writeUInt16LE(height, 22);
  screen.writeUInt16LE(271, 24);
  screen.writeUInt16LE(203, 26);
  screen.writeUInt16LE(1, 28);
  screen.writeUInt16LE(1, 30);
  screen.writeUInt32LE(0x21, 32); // root visual
  screen.writeUInt8(0, 36);
  screen.writeUInt8(0, 37);
  screen.writeUInt8(24, 38); // root depth
  screen.writeUInt8(1, 39); // allowed depths
  const depth = Buffer.alloc(8);
  depth.writeUInt8(24, 0);
  depth.writeUInt16LE(1, 2);
  const visual = Buffer.alloc(24);
  visual.writeUInt32LE(0x21, 0);
  visual.writeUInt8(4, 4); // TrueColor
  visual.writeUInt8(8, 5);
  visual.writeUInt16LE(256, 6);
  visual.writeUInt32LE(0xff0000, 8);
  visual.writeUInt32LE(0x00ff00, 12);
  visual.writeUInt32LE(0x0000ff, 16);
  const body = Buffer.concat([fixed, vendorPadded, format, screen, depth, visual]);
  const head = Buffer.alloc(8);
  head.writeUInt8(1, 0);
  head.writeUInt16LE(11, 2);
  head.writeUInt16LE(0, 4);
  head.writeUInt16LE(body.length / 4, 6);
  return Buffer.concat([head, body]);
}

/** A fake X server on a unix socket; `answer` decides what to send after the hello. */
async function fakeX(
  answer: (hello: { name: string; data: Buffer }, conn: net.Socket) => void,
): Promise<{ socketPath: string; hellos: { name: string; data: Buffer }[] }> {
  const dir = await tmpDir();
  const socketPath = path.join(dir, 'X99');
  const hellos: { name: string; data: Buffer }[] = [];
  await listen({ path: socketPath }, (conn) => {
    void readHello(conn).then((hello) => {
      hellos.push(hello);
      answer(hello, conn);
    });
  });
  return { socketPath, hellos };
}

// Bytes that break if the cookie is ever treated as UTF-8 text.
const COOKIE_HEX = '00ff80c3a9fe017f' + '9a'.repeat(8);

describe('probeX11Setup', () => {
  it('reports success with vendor, release and screen size, and sends the cookie bytes intact', async () => {
    const x = await fakeX((_hello, conn) => conn.write(successReply('Fake X.Org', 1024, 768)));
    const res = await probeX11Setup({ kind: 'path', path: x.socketPath }, { name: 'MIT-MAGIC-COOKIE-1', dataHex: COOKIE_HEX }, 1000);
    expect(res).toMatchObject({ ok: true, vendor: 'Fake X.Org', release: 12_101_004, screens: [{ width: 1024, height: 768 }] });
    expect(x.hellos[0]?.name).toBe('MIT-MAGIC-COOKIE-1');
    expect(x.hellos[0]?.data.toString('hex')).toBe(COOKIE_HEX);
  });

  it.each(['Invalid MIT-MAGIC-COOKIE-1 key', 'Authorization required, but no authorization protocol specified', 'No protocol specified'])(
    'passes on the refusal "%s" as stage setup',
    async (reason) => {
      const x = await fakeX((_hello, conn) => conn.end(failureReply(reason + '\n')));
      const res = await probeX11Setup({ kind: 'path', path: x.socketPath }, null, 1000);
      expect(res).toMatchObject({ ok: false, stage: 'setup', errno: null, reason });
      expect(x.hellos[0]).toEqual({ name: '', data: Buffer.alloc(0) });
    },
  );

  it('reports a server that never answers as silent', async () => {
    const x = await fakeX(() => undefined);
    const res = await probeX11Setup({ kind: 'path', path: x.socketPath }, null, 200);
    expect(res).toMatchObject({ ok: false, stage: 'silent' });
    expect(res.elapsedMs).toBeGreaterThanOrEqual(190);
  });

  it('reports a server that hangs up during setup as closed', async () => {
    const x = await fakeX((_hello, conn) => conn.end());
    expect(await probeX11Setup({ kind: 'path', path: x.socketPath }, null, 1000)).toMatchObject({ ok: false, stage: 'closed' });
  });

  it('refuses a reply it cannot parse safely instead of hanging', async () => {
    const x = await fakeX((_hello, conn) => conn.write(Buffer.concat([Buffer.from([1, 0, 11, 0, 0, 0, 20, 0]), Buffer.alloc(80)])));
    const res = await probeX11Setup({ kind: 'path', path: x.socketPath }, null, 1000);
    expect(res).toMatchObject({ ok: false, stage: 'setup', reason: expect.stringContaining('malformed') });
  });

  it('reports a missing socket as stage connect with ENOENT', async () => {
    const dir = await tmpDir();
    expect(await probeX11Setup({ kind: 'path', path: path.join(dir, 'X0') }, null, 500)).toMatchObject({
      ok: false,
      stage: 'connect',
      errno: 'ENOENT',
    });
  });

  it('speaks over TCP and abstract sockets too', async () => {
    const tcp = await listen({ host: '127.0.0.1' }, (conn) => void readHello(conn).then(() => conn.write(successReply('TCP X', 640, 480))));
    expect(await probeX11Setup({ kind: 'tcp', host: '127.0.0.1', port: tcp.port }, null, 1000)).toMatchObject({
      ok: true,
      vendor: 'TCP X',
    });
    const name = `/tmp/.X11-unix/X-ctr-doctor-test-${process.pid}`;
    await listen({ path: '\0' + name }, (conn) => void readHello(conn).then(() => conn.end(failureReply('No protocol specified'))));
    expect(await probeX11Setup({ kind: 'abstract', name }, null, 1000)).toMatchObject({
      ok: false,
      stage: 'setup',
      reason: 'No protocol specified',
    });
  });
});
