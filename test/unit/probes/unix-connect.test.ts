import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { probeUnixConnect } from '../../../src/guest/probes/unix-connect.js';
import { probeTcpConnect } from '../../../src/guest/probes/tcp-connect.js';
import { cleanupAll, listen, staleSocket, tmpDir } from './fake-sockets.js';

afterEach(cleanupAll);

describe('probeUnixConnect', () => {
  it('connects to a listening socket and says so', async () => {
    const dir = await tmpDir();
    const server = await listen({ path: path.join(dir, 'live') }, (c) => c.end());
    const res = await probeUnixConnect({ kind: 'path', path: path.join(dir, 'live') }, 500, { resolvedPath: '/run/live' });
    expect(res).toMatchObject({ ok: true, errno: null, resolvedPath: '/run/live' });
    expect(server.connections).toBe(1);
  });

  it('reports ENOENT for a missing socket', async () => {
    const dir = await tmpDir();
    const res = await probeUnixConnect({ kind: 'path', path: path.join(dir, 'missing') }, 500);
    expect(res).toMatchObject({ ok: false, errno: 'ENOENT', resolvedPath: null });
  });

  it('reports ECONNREFUSED for a stale socket file', async () => {
    const dir = await tmpDir();
    await staleSocket(path.join(dir, 'stale'));
    expect(await probeUnixConnect({ kind: 'path', path: path.join(dir, 'stale') }, 500)).toMatchObject({
      ok: false,
      errno: 'ECONNREFUSED',
    });
  });

  it('reports a regular file in place of the socket', async () => {
    const dir = await tmpDir();
    await writeFile(path.join(dir, 'file'), 'not a socket');
    // Linux answers connect() on a non-socket with ECONNREFUSED, not ENOTSOCK.
    const res = await probeUnixConnect({ kind: 'path', path: path.join(dir, 'file') }, 500);
    expect(res.ok).toBe(false);
    expect(['ECONNREFUSED', 'ENOTSOCK']).toContain(res.errno);
  });

  it('connects to an abstract socket, and reports a missing one as ECONNREFUSED', async () => {
    const name = `ctr-doctor-test-${process.pid}-${Date.now()}`;
    await listen({ path: '\0' + name }, (c) => c.end());
    expect(await probeUnixConnect({ kind: 'abstract', name }, 500)).toMatchObject({ ok: true });
    expect(await probeUnixConnect({ kind: 'abstract', name: name + '-none' }, 500)).toMatchObject({ ok: false, errno: 'ECONNREFUSED' });
  });

  it('refuses a path longer than sun_path instead of letting it be truncated', async () => {
    const res = await probeUnixConnect({ kind: 'path', path: 'a/'.repeat(60) + 'sock' }, 500);
    expect(res).toMatchObject({ ok: false, errno: 'ENAMETOOLONG' });
  });

  it('passes on a failure found while resolving the guest path', async () => {
    const res = await probeUnixConnect(
      { kind: 'unusable', errno: 'ELOOP', message: '/run/x: too many levels of symbolic links (a loop)' },
      500,
    );
    expect(res).toMatchObject({ ok: false, errno: 'ELOOP', message: '/run/x: too many levels of symbolic links (a loop)' });
  });
});

describe('probeTcpConnect', () => {
  it('connects to a loopback listener', async () => {
    const server = await listen({ host: '127.0.0.1' }, (c) => c.end());
    expect(await probeTcpConnect({ host: '127.0.0.1', port: server.port, timeoutMs: 500 })).toMatchObject({ ok: true, errno: null });
  });

  it('reports ECONNREFUSED for a closed port', async () => {
    const server = await listen({ host: '127.0.0.1' }, () => undefined);
    const port = server.port;
    await new Promise((resolve) => server.server.close(resolve));
    expect(await probeTcpConnect({ host: '127.0.0.1', port, timeoutMs: 500 })).toMatchObject({ ok: false, errno: 'ECONNREFUSED' });
  });

  it('does not resolve host names', async () => {
    expect(await probeTcpConnect({ host: 'localhost', port: 1, timeoutMs: 500 })).toMatchObject({ ok: false, errno: 'EINVAL' });
  });
});
