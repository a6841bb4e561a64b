/**
 * runProbe end to end: the real child (dist/src/guest/probe-main.js) in a tmp guest root,
 * pooled per place (root, netns, credentials), and probe-main's one-envelope mode.
 * Builds only the probe files first (tsconfig.probe.json), since the full build may be mid-edit.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type * as ProbeClient from '../../../src/guest/probe-client.js';
import type * as LiveChildren from '../../../src/core/live-children.js';
import { cleanupAll, listen, tmpDir } from './fake-sockets.js';
import { reply, startFakeDns } from './fake-dns.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const distClient = path.join(repo, 'dist/src/guest/probe-client.js');
const distMain = path.join(repo, 'dist/src/guest/probe-main.js');
const isRoot = process.getuid?.() === 0;
/** Generous: a loaded CI machine can take most of a second just to start node. */
const CHILD_BUDGET_MS = 5000;
let runProbe: typeof ProbeClient.runProbe;
let pooledProbeChildCount: typeof ProbeClient.pooledProbeChildCount;
let shareProbeChildren: typeof ProbeClient.shareProbeChildren;
let live: typeof LiveChildren;

beforeAll(async () => {
  const build = await execa('npx', ['tsc', '-p', 'test/unit/probes/tsconfig.probe.json'], { cwd: repo, reject: false, all: true });
  if (!existsSync(distClient) || !existsSync(path.join(repo, 'dist/src/guest/probe-main.js'))) {
    throw new Error(`PROBE BUILD FAILED, cannot test the probe child:\n${build.all ?? ''}`);
  }
  // tsc emits despite type errors; the type check proper is `tsc --noEmit`.
  if (build.exitCode !== 0) console.warn(`probe build reported errors (output still emitted):\n${build.all ?? ''}`);
  ({ runProbe, pooledProbeChildCount, shareProbeChildren } = (await import(distClient)) as typeof ProbeClient);
  // The module instance the built client tracks its children in.
  live = (await import(path.join(repo, 'dist/src/core/live-children.js'))) as typeof LiveChildren;
}, 120_000);

/** What the runner does at the end of a run: kill the pooled children, then wait until they are gone. */
async function endOfRun(): Promise<void> {
  live.killLiveChildren();
  for (let i = 0; i < 100 && pooledProbeChildCount() > 0; i++) await new Promise((r) => setTimeout(r, 20));
}

afterEach(async () => {
  await endOfRun();
  await cleanupAll();
});
afterAll(endOfRun);

/** A guest root the unprivileged user can enter (mkdtemp makes it 0700). */
async function guestRoot(): Promise<string> {
  const root = await tmpDir('ctr-doctor-root-');
  await chmod(root, 0o755);
  await mkdir(path.join(root, 'run'), { mode: 0o755 });
  await mkdir(path.join(root, 'tmp'), { mode: 0o1777 });
  return root;
}

const here = (root: string) => ({ rootHostPath: root, netnsPath: null, credentials: null });

describe('runProbe (child process)', () => {
  it('connects to a guest socket by its guest path', async () => {
    const root = await guestRoot();
    const server = await listen({ path: path.join(root, 'run/app.sock') }, (c) => c.end());
    const reply = await runProbe(here(root), 'unix-connect', { path: '/run/app.sock', timeoutMs: 1000 }, CHILD_BUDGET_MS);
    expect(reply).toMatchObject({ ok: true, response: { ok: true, errno: null, resolvedPath: '/run/app.sock' } });
    expect(server.connections).toBe(1);
  });

  it('re-roots an absolute symlink to a host-only socket instead of reaching the host', async () => {
    const root = await guestRoot();
    const hostOnly = path.join(await tmpDir('ctr-doctor-host-only-'), 'sock');
    const host = await listen({ path: hostOnly }, (c) => c.end());
    await symlink(hostOnly, path.join(root, 'tmp/x'));
    // `..` cannot climb out of the root either.
    await symlink('../'.repeat(12) + hostOnly.slice(1), path.join(root, 'run/y'));
    for (const guestPath of ['/tmp/x', '/run/y']) {
      const reply = await runProbe(here(root), 'unix-connect', { path: guestPath, timeoutMs: 1000 }, CHILD_BUDGET_MS);
      expect(reply).toMatchObject({ ok: true, response: { ok: false, errno: 'ENOENT', resolvedPath: hostOnly } });
    }
    expect(host.connections).toBe(0);
    // Inside the root, the same guest path is found.
    await mkdir(path.join(root, path.dirname(hostOnly)), { recursive: true });
    const inGuest = await listen({ path: path.join(root, hostOnly) }, (c) => c.end());
    expect(await runProbe(here(root), 'unix-connect', { path: '/tmp/x', timeoutMs: 1000 }, CHILD_BUDGET_MS)).toMatchObject({
      ok: true,
      response: { ok: true },
    });
    expect([host.connections, inGuest.connections]).toEqual([0, 1]);
  });

  it('reports a symlink loop in the guest as ELOOP', async () => {
    const root = await guestRoot();
    await symlink('/run/b', path.join(root, 'run/a'));
    await symlink('/run/a', path.join(root, 'run/b'));
    expect(await runProbe(here(root), 'unix-connect', { path: '/run/a', timeoutMs: 1000 }, CHILD_BUDGET_MS)).toMatchObject({
      ok: true,
      response: { ok: false, errno: 'ELOOP' },
    });
  });

  it('reaches a socket whose path is too long for sun_path from its directory', async () => {
    const root = await guestRoot();
    const deep = path.join(root, 'run', 'd'.repeat(60), 'e'.repeat(60));
    await mkdir(deep, { recursive: true });
    // Bound at a short name, then moved: the server itself could not bind the long path.
    const short = path.join(root, 'run/s');
    const server = await listen({ path: short }, (c) => c.end());
    await rename(short, path.join(deep, 'native'));
    const guestPath = '/' + path.relative(root, path.join(deep, 'native'));
    const reply = await runProbe(here(root), 'unix-connect', { path: guestPath, timeoutMs: 1000 }, CHILD_BUDGET_MS);
    expect(reply).toMatchObject({ ok: true, response: { ok: true, resolvedPath: guestPath } });
    expect(reply.ok && reply.response.message).toContain('connected through a descriptor walked to it');
    expect(server.connections).toBe(1);
  });

  it('asks a loopback nameserver through the child', async () => {
    const dns = await startFakeDns('127.0.0.1', (q) => reply(q, { addresses: ['203.0.113.10'] }));
    try {
      const request = {
        server: '127.0.0.1',
        port: dns.port,
        name: 'example.test',
        type: 'A',
        timeoutMs: 500,
        attempts: 1,
        transport: 'fallback',
      } as const;
      expect(await runProbe(here(await guestRoot()), 'dns-query', request, CHILD_BUDGET_MS)).toMatchObject({
        ok: true,
        response: { verdict: 'answer', addresses: ['203.0.113.10'] },
      });
    } finally {
      await dns.close();
    }
  });

  it('kills a probe that overruns its time and says so', async () => {
    const root = await guestRoot();
    await listen({ path: path.join(root, 'tmp/X5') }, () => undefined);
    const started = Date.now();
    const reply = await runProbe(here(root), 'x11-setup', { socket: { path: '/tmp/X5' }, auth: null, timeoutMs: 10_000 }, 200);
    expect(reply).toEqual({ ok: false, error: 'probe timed out after 700 ms' });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('reports a missing root, an unknown probe and unusable arguments as one line, never throwing', async () => {
    const missing = await runProbe(
      here('/nonexistent/ctr-doctor-root'),
      'tcp-connect',
      { host: '127.0.0.1', port: 9, timeoutMs: 100 },
      CHILD_BUDGET_MS,
    );
    expect(missing).toMatchObject({
      ok: false,
      error: expect.stringContaining('cannot start probe tcp-connect in /nonexistent/ctr-doctor-root'),
    });
    const unknown = await runProbe(
      here(await guestRoot()),
      'no-such-probe' as 'tcp-connect',
      { host: '127.0.0.1', port: 9, timeoutMs: 100 },
      CHILD_BUDGET_MS,
    );
    expect(unknown).toEqual({ ok: false, error: 'unknown probe "no-such-probe"' });
    const nul = await runProbe(
      { rootHostPath: '/tmp', netnsPath: '/run/netns/a\0b', credentials: null },
      'tcp-connect',
      { host: '127.0.0.1', port: 9, timeoutMs: 100 },
      CHILD_BUDGET_MS,
    );
    expect(nul).toMatchObject({ ok: false, error: expect.stringContaining('cannot start probe tcp-connect') });
  });

  it('reports nsenter failing on a vanished process', async () => {
    const reply = await runProbe(
      { rootHostPath: await guestRoot(), netnsPath: '/proc/999999999/ns/net', credentials: null },
      'tcp-connect',
      { host: '127.0.0.1', port: 9, timeoutMs: 100 },
      CHILD_BUDGET_MS,
    );
    expect(reply.ok).toBe(false);
    expect(!reply.ok && reply.error).toMatch(/^probe tcp-connect failed \(exit code \d+\): nsenter: .*\/proc\/999999999\/ns\/net/);
  });

  it.runIf(isRoot)('enters a network namespace with nsenter (our own, so loopback stays loopback)', async () => {
    const dns = await startFakeDns('127.0.0.1', (q) => reply(q, { rcode: 3 }));
    try {
      const place = { rootHostPath: await guestRoot(), netnsPath: `/proc/${process.pid}/ns/net`, credentials: null };
      const request = {
        server: '127.0.0.1',
        port: dns.port,
        name: 'example.test',
        type: 'A',
        timeoutMs: 500,
        attempts: 1,
        transport: 'fallback',
      } as const;
      expect(await runProbe(place, 'dns-query', request, CHILD_BUDGET_MS)).toMatchObject({ ok: true, response: { verdict: 'nxdomain' } });
    } finally {
      await dns.close();
    }
  });

  it.runIf(isRoot)('connects as the desktop user: EACCES through a 0700 root-owned directory', async () => {
    const root = await guestRoot();
    await mkdir(path.join(root, 'run/private'), { mode: 0o700 });
    await listen({ path: path.join(root, 'run/private/native') }, (c) => c.end());
    await listen({ path: path.join(root, 'tmp/open') }, (c) => c.end());
    // connect() needs write permission on the socket file itself.
    await chmod(path.join(root, 'tmp/open'), 0o666);
    await chmod(path.join(root, 'run/private/native'), 0o666);
    const asUser = { rootHostPath: root, netnsPath: null, credentials: { uid: 1000, gid: 1000, groups: [] } };
    expect(await runProbe(asUser, 'unix-connect', { path: '/run/private/native', timeoutMs: 1000 }, CHILD_BUDGET_MS)).toMatchObject({
      ok: true,
      response: { ok: false, errno: 'EACCES' },
    });
    expect(await runProbe(asUser, 'unix-connect', { path: '/tmp/open', timeoutMs: 1000 }, CHILD_BUDGET_MS)).toMatchObject({
      ok: true,
      response: { ok: true },
    });
    expect(await runProbe(here(root), 'unix-connect', { path: '/run/private/native', timeoutMs: 1000 }, CHILD_BUDGET_MS)).toMatchObject({
      ok: true,
      response: { ok: true },
    });
    const pulse = await runProbe(
      asUser,
      'pulse-connect',
      { socket: { path: '/run/private/native' }, cookieHex: null, timeoutMs: 500 },
      CHILD_BUDGET_MS,
    );
    expect(pulse).toMatchObject({ ok: true, response: { ok: false, stage: 'connect', errno: 'EACCES' } });
    // Two places: one child as the user, one as root.
    expect(pooledProbeChildCount()).toBe(2);
  });

  it.runIf(isRoot)('reaches a too-long path as the user from its directory, and still refuses a 0700 directory on the way', async () => {
    const root = await guestRoot();
    const long = (top: string) => path.join(root, 'run', top, 'd'.repeat(60), 'e'.repeat(60));
    for (const [top, mode] of [
      ['open', 0o755],
      ['private', 0o700],
    ] as const) {
      await mkdir(long(top), { recursive: true, mode: 0o755 });
      await chmod(path.join(root, 'run', top), mode);
      const short = path.join(root, `run/s-${top}`);
      await listen({ path: short }, (c) => c.end());
      await chmod(short, 0o666);
      await rename(short, path.join(long(top), 'native'));
    }
    const asUser = { rootHostPath: root, netnsPath: null, credentials: { uid: 1000, gid: 1000, groups: [] } };
    const guest = (top: string) => '/' + path.relative(root, path.join(long(top), 'native'));
    const open = await runProbe(asUser, 'unix-connect', { path: guest('open'), timeoutMs: 1000 }, CHILD_BUDGET_MS);
    expect(open).toMatchObject({ ok: true, response: { ok: true, resolvedPath: guest('open') } });
    expect(open.ok && open.response.message).toContain('connected through a descriptor walked to it');
    const denied = await runProbe(asUser, 'unix-connect', { path: guest('private'), timeoutMs: 1000 }, CHILD_BUDGET_MS);
    expect(denied).toMatchObject({ ok: true, response: { ok: false, errno: 'EACCES', resolvedPath: guest('private') } });
  });
});

describe('pooled probe children', () => {
  it('runs every probe of one place in one child, concurrently', async () => {
    const root = await guestRoot();
    const silent = await listen({ path: path.join(root, 'tmp/X7') }, () => undefined);
    const app = await listen({ path: path.join(root, 'run/app.sock') }, (c) => c.end());
    const started = Date.now();
    // The X server never answers: the probe's own 1.5 s timeout ends it.
    const slow = runProbe(here(root), 'x11-setup', { socket: { path: '/tmp/X7' }, auth: null, timeoutMs: 1500 }, CHILD_BUDGET_MS);
    const fast = await Promise.all(
      [1, 2, 3].map(() => runProbe(here(root), 'unix-connect', { path: '/run/app.sock', timeoutMs: 1000 }, CHILD_BUDGET_MS)),
    );
    const fastMs = Date.now() - started;
    expect(fast.every((r) => r.ok && r.response.ok)).toBe(true);
    expect(fastMs).toBeLessThan(1400);
    expect(await slow).toMatchObject({ ok: true, response: { ok: false, stage: 'silent' } });
    expect([silent.connections, app.connections]).toEqual([1, 3]);
    expect(pooledProbeChildCount()).toBe(1);
    expect(live.liveChildCount()).toBe(1);
  });

  it('a timed-out request leaves the shared child serving the others', async () => {
    const root = await guestRoot();
    await listen({ path: path.join(root, 'tmp/X8') }, () => undefined);
    const app = await listen({ path: path.join(root, 'run/app.sock') }, (c) => c.end());
    expect(await runProbe(here(root), 'x11-setup', { socket: { path: '/tmp/X8' }, auth: null, timeoutMs: 10_000 }, 100)).toEqual({
      ok: false,
      error: 'probe timed out after 600 ms',
    });
    expect(await runProbe(here(root), 'unix-connect', { path: '/run/app.sock', timeoutMs: 1000 }, CHILD_BUDGET_MS)).toMatchObject({
      ok: true,
      response: { ok: true },
    });
    expect(app.connections).toBe(1);
    expect(live.liveChildCount()).toBe(1);
  });

  it('a child that dies fails its pending requests with one line, and the next probe gets a new child', async () => {
    const root = await guestRoot();
    await listen({ path: path.join(root, 'tmp/X9') }, () => undefined);
    const pending = [1, 2].map(() =>
      runProbe(here(root), 'x11-setup', { socket: { path: '/tmp/X9' }, auth: null, timeoutMs: 4000 }, CHILD_BUDGET_MS),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(live.killLiveChildren()).toBe(1);
    const started = Date.now();
    for (const reply of await Promise.all(pending)) {
      expect(reply).toMatchObject({ ok: false, error: expect.stringMatching(/^probe x11-setup failed \(killed by SIGKILL\): /) });
      expect(!reply.ok && reply.error).not.toContain('\n');
    }
    expect(Date.now() - started).toBeLessThan(1000);
    const app = await listen({ path: path.join(root, 'run/app.sock') }, (c) => c.end());
    expect(await runProbe(here(root), 'unix-connect', { path: '/run/app.sock', timeoutMs: 1000 }, CHILD_BUDGET_MS)).toMatchObject({
      ok: true,
      response: { ok: true },
    });
    expect(app.connections).toBe(1);
  });

  it('an idle pooled child does not keep node alive', async () => {
    const root = await guestRoot();
    const script = `import { runProbe } from ${JSON.stringify(distClient)};
      const r = await runProbe({ rootHostPath: ${JSON.stringify(root)}, netnsPath: null, credentials: null }, 'tcp-connect', { host: '127.0.0.1', port: 9, timeoutMs: 300 }, 5000);
      console.log(JSON.stringify(r));`;
    const started = Date.now();
    const run = await execa(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000, reject: false });
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, response: { ok: false } });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('probe children shared by guests (check --all)', () => {
  it('one child serves every shared root, each request inside its own root only', async () => {
    const [a, b] = [await guestRoot(), await guestRoot()];
    const onlyA = await listen({ path: path.join(a, 'run/a.sock') }, (c) => c.end());
    const onlyB = await listen({ path: path.join(b, 'run/b.sock') }, (c) => c.end());
    await writeFile(path.join(b, 'tmp/note'), 'from b');
    shareProbeChildren([here(a), here(b)]);
    expect(await runProbe(here(a), 'unix-connect', { path: '/run/a.sock', timeoutMs: 1000 }, CHILD_BUDGET_MS)).toMatchObject({
      ok: true,
      response: { ok: true },
    });
    expect(await runProbe(here(b), 'unix-connect', { path: '/run/b.sock', timeoutMs: 1000 }, CHILD_BUDGET_MS)).toMatchObject({
      ok: true,
      response: { ok: true },
    });
    // Neither guest reaches the other's files through the shared child.
    expect(await runProbe(here(b), 'unix-connect', { path: '/run/a.sock', timeoutMs: 1000 }, CHILD_BUDGET_MS)).toMatchObject({
      ok: true,
      response: { ok: false, errno: 'ENOENT' },
    });
    expect(await runProbe(here(a), 'read-file', { path: '/tmp/note', maxBytes: 100 }, CHILD_BUDGET_MS)).toMatchObject({
      ok: true,
      response: { ok: false },
    });
    expect(await runProbe(here(b), 'read-file', { path: '/tmp/note', maxBytes: 100 }, CHILD_BUDGET_MS)).toMatchObject({
      ok: true,
      response: { ok: true, dataBase64: Buffer.from('from b').toString('base64') },
    });
    expect([onlyA.connections, onlyB.connections]).toEqual([1, 1]);
    expect(pooledProbeChildCount()).toBe(1);
  });

  it('a shared child that dies takes no guest with it: each pending request is sent again to a child of its own root', async () => {
    const [a, b] = [await guestRoot(), await guestRoot()];
    for (const root of [a, b]) await listen({ path: path.join(root, 'tmp/X3') }, () => undefined);
    shareProbeChildren([here(a), here(b)]);
    const pending = [a, b].map((root) =>
      runProbe(here(root), 'x11-setup', { socket: { path: '/tmp/X3' }, auth: null, timeoutMs: 800 }, CHILD_BUDGET_MS),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(live.killLiveChildren()).toBe(1);
    for (const reply of await Promise.all(pending)) expect(reply).toMatchObject({ ok: true });
    // From then on these guests do not share.
    expect(pooledProbeChildCount()).toBe(2);
  });
});

describe('sharing groups as they change', () => {
  // Each test its own sharing group (the module's groups outlive a test): our own netns, by a path no other test names.
  const inGroup = (root: string, netnsPath: string) => ({ rootHostPath: root, netnsPath, credentials: null });
  it.runIf(isRoot)(
    'a shared root that cannot be opened leaves its group: the other roots keep one child, it gets its own error',
    async () => {
      const [a, b, gone] = [await guestRoot(), await guestRoot(), await guestRoot()];
      const here = (root: string) => inGroup(root, `/proc/${process.pid}/ns/net`);
      for (const root of [a, b]) await listen({ path: path.join(root, 'run/s.sock') }, (c) => c.end());
      shareProbeChildren([here(a), here(gone), here(b)]);
      await rm(gone, { recursive: true });
      for (const root of [a, b]) {
        expect(await runProbe(here(root), 'unix-connect', { path: '/run/s.sock', timeoutMs: 1000 }, CHILD_BUDGET_MS)).toMatchObject({
          ok: true,
          response: { ok: true },
        });
      }
      expect(pooledProbeChildCount()).toBe(1);
      const refused = await runProbe(here(gone), 'unix-connect', { path: '/run/s.sock', timeoutMs: 1000 }, CHILD_BUDGET_MS);
      expect(refused).toMatchObject({ ok: false });
      expect(refused.ok ? '' : refused.error).toContain(gone);
      expect(pooledProbeChildCount()).toBe(1);
    },
  );

  it.runIf(isRoot)(
    "a root shared after the group's child started is served by a next child that holds every root of the group",
    async () => {
      const [a, b] = [await guestRoot(), await guestRoot()];
      const here = (root: string) => inGroup(root, `/proc/${process.pid}/task/${process.pid}/ns/net`);
      for (const root of [a, b]) await listen({ path: path.join(root, 'run/s.sock') }, (c) => c.end());
      const ask = (root: string) => runProbe(here(root), 'unix-connect', { path: '/run/s.sock', timeoutMs: 1000 }, CHILD_BUDGET_MS);
      shareProbeChildren([here(a)]);
      expect(await ask(a)).toMatchObject({ ok: true, response: { ok: true } });
      expect(pooledProbeChildCount()).toBe(1);
      shareProbeChildren([here(a), here(b)]);
      // Both now go to the group's new child (the first one held a only).
      expect(await ask(b)).toMatchObject({ ok: true, response: { ok: true } });
      expect(await ask(a)).toMatchObject({ ok: true, response: { ok: true } });
      expect(pooledProbeChildCount()).toBe(2);
    },
  );
});

describe('probe-main one-envelope mode (no --serve)', () => {
  it('resolves the guest path itself, answers once and exits', async () => {
    const root = await guestRoot();
    await symlink('/run/app.sock', path.join(root, 'tmp/link'));
    const server = await listen({ path: path.join(root, 'run/app.sock') }, (c) => c.end());
    const envelope = { name: 'unix-connect', request: { path: '/tmp/link', timeoutMs: 1000 }, credentials: null };
    const run = await execa(process.execPath, [distMain], { cwd: root, input: JSON.stringify(envelope), timeout: 10_000, reject: false });
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, response: { ok: true, resolvedPath: '/run/app.sock' } });
    expect(server.connections).toBe(1);
    const bad = await execa(process.execPath, [distMain], {
      cwd: root,
      input: '{"name":"nope","request":{}}',
      timeout: 10_000,
      reject: false,
    });
    expect([bad.exitCode, JSON.parse(bad.stdout)]).toEqual([1, { ok: false, error: 'unknown probe "nope"' }]);
  });
});
